"""The seller console's JSON API: the signed-in seller's products, stock and orders.
Writing needs the `X-CSRF-Token` header; another seller's product or order is a 403."""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import AfterValidator

from contracts import OrderStatus, parse_order_reference
from contracts.references import MAX_REFERENCE_INPUT
from services.orders import seller_service
from services.orders.entrypoints import console_images
from services.orders.entrypoints.console_auth import ApiSeller, ConsoleDep
from services.orders.entrypoints.console_schemas import (
    OrderOut,
    Problem,
    ProductCreate,
    ProductOut,
    ProductUpdate,
    Shipment,
    StockChange,
)

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
SkuPath = Annotated[str, Path(min_length=1, max_length=64, pattern=SKU_PATTERN)]
OrderIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
REFERENCE_SEARCH_DEPTH = 1000
"""A short reference is a hash of the checkout id, stored nowhere: a lookup by it searches
the seller's newest orders, this many."""
OrderReferenceQuery = Annotated[
    str | None,
    Query(
        max_length=MAX_REFERENCE_INPUT,
        description="Only the order(s) with this short reference, as the buyer's page shows it "
        "(`LC-7K3M-9QX2`; any case, dashes and the `LC` optional), among the seller's newest "
        f"{REFERENCE_SEARCH_DEPTH:,} orders.",
    ),
    AfterValidator(lambda text: None if text is None else parse_order_reference(text)),
]


async def seller_orders(
    console: ConsoleDep, seller_id: str, *, status: OrderStatus | None, reference: str | None
) -> list[OrderOut]:
    """The seller's orders, newest first, of one status and one short reference if given."""
    orders = await seller_service.list_orders(
        uow=console.runtime.uow,
        seller_id=seller_id,
        status=None if status is None else status.value,
        limit=REFERENCE_SEARCH_DEPTH if reference else 200,
    )
    found = [OrderOut.of(o) for o in orders]
    return [o for o in found if o.reference == reference] if reference else found


Responses = dict[int | str, dict[str, Any]]
_SESSION: Responses = {401: {"model": Problem, "description": "Not signed in"}}
_WRITE: Responses = {**_SESSION, 403: {"model": Problem, "description": "No CSRF token, not yours"}}
_ONE: Responses = {**_WRITE, 404: {"model": Problem, "description": "No such product or order"}}
_CHANGE: Responses = {**_ONE, 409: {"model": Problem, "description": "Not possible in its state"}}

router = APIRouter(prefix="/api/seller", responses={422: {"model": Problem}})


@router.get("/products", tags=["seller products"], summary="My products", responses=_SESSION)
async def list_products(seller: ApiSeller, console: ConsoleDep) -> list[ProductOut]:
    products = await seller_service.list_products(
        uow=console.runtime.uow, seller_id=seller.seller_id
    )
    return [ProductOut.of(p) for p in products]


@router.post(
    "/products",
    tags=["seller products"],
    summary="Add a product",
    status_code=201,
    responses={**_WRITE, 409: {"model": Problem, "description": "The sku is taken"}},
)
async def create_product(body: ProductCreate, seller: ApiSeller, console: ConsoleDep) -> ProductOut:
    product = await seller_service.create_product(
        uow=console.runtime.uow,
        seller_id=seller.seller_id,
        **body.model_dump(),
        media=console.media,
    )
    console.runtime.changed(skus=[product.sku])
    return ProductOut.of(product)


@router.patch(
    "/products/{sku}",
    tags=["seller products"],
    summary="Change a product's title, price or image",
    responses=_ONE,
)
async def update_product(
    sku: SkuPath, body: ProductUpdate, seller: ApiSeller, console: ConsoleDep
) -> ProductOut:
    product = await seller_service.update_product(
        uow=console.runtime.uow,
        seller_id=seller.seller_id,
        sku=sku,
        **body.changes(),
        media=console.media,
    )
    console.runtime.changed(skus=[sku])
    return ProductOut.of(product)


@router.post(
    "/products/{sku}/image",
    tags=["seller products"],
    summary="Upload a product's image (multipart field `file`: PNG, JPEG, WebP or GIF)",
    responses={
        **_ONE,
        413: {"model": Problem, "description": "Larger than ORDERS_MAX_IMAGE_BYTES"},
        415: {"model": Problem, "description": "Not a PNG, JPEG, WebP or GIF"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload_image(
    request: Request, sku: SkuPath, seller: ApiSeller, console: ConsoleDep
) -> ProductOut:
    product = await console_images.upload_image(
        request, console, seller_id=seller.seller_id, sku=sku
    )
    return ProductOut.of(product)


@router.post(
    "/products/{sku}/stock",
    tags=["seller products"],
    summary='Set the available units ({"set": n}) or restock ({"add": n})',
    responses=_ONE,
)
async def change_stock(
    sku: SkuPath, body: StockChange, seller: ApiSeller, console: ConsoleDep
) -> ProductOut:
    product = await seller_service.change_stock(
        uow=console.runtime.uow,
        seller_id=seller.seller_id,
        sku=sku,
        set_to=body.set_to,
        add=body.add,
    )
    console.runtime.changed(skus=[sku])
    return ProductOut.of(product)


@router.get(
    "/orders", tags=["seller orders"], summary="My orders, newest first", responses=_SESSION
)
async def list_orders(
    seller: ApiSeller,
    console: ConsoleDep,
    status: Annotated[OrderStatus | None, Query(description="Only orders in this state")] = None,
    ref: OrderReferenceQuery = None,
) -> list[OrderOut]:
    return await seller_orders(console, seller.seller_id, status=status, reference=ref)


@router.get("/orders/{order_id}", tags=["seller orders"], summary="One order", responses=_ONE)
async def get_order(order_id: OrderIdPath, seller: ApiSeller, console: ConsoleDep) -> OrderOut:
    order = await seller_service.get_order(
        uow=console.runtime.uow, seller_id=seller.seller_id, order_id=order_id
    )
    return OrderOut.of(order)


@router.post(
    "/orders/{order_id}/cancel",
    tags=["seller orders"],
    summary="Cancel a confirmed order: stock back, the buyer refunded",
    responses=_CHANGE,
)
async def cancel_order(order_id: OrderIdPath, seller: ApiSeller, console: ConsoleDep) -> OrderOut:
    runtime = console.runtime
    order = await seller_service.cancel_order(
        uow=runtime.uow, gateway=runtime.gateway, seller_id=seller.seller_id, order_id=order_id
    )
    runtime.changed(skus=[sku for sku, _, _ in order.items], room_id=order.room_id)
    return OrderOut.of(order)


@router.post(
    "/orders/{order_id}/ship",
    tags=["seller orders"],
    summary="Mark a confirmed order shipped, with the carrier's tracking reference",
    responses=_CHANGE,
)
async def ship_order(
    order_id: OrderIdPath, body: Shipment, seller: ApiSeller, console: ConsoleDep
) -> OrderOut:
    order = await seller_service.ship_order(
        uow=console.runtime.uow,
        seller_id=seller.seller_id,
        order_id=order_id,
        tracking_ref=body.tracking_ref,
    )
    console.runtime.changed(skus=[sku for sku, _, _ in order.items], room_id=order.room_id)
    return OrderOut.of(order)
