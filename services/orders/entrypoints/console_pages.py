"""The seller console's pages: products (with their create, edit and stock forms) and
orders (cancel & refund, mark shipped). Each form posts, then redirects back with a
flash message; a refusal (not yours, wrong state, bad input) comes back the same way."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from contracts import OrderStatus
from services.orders import seller_service
from services.orders.entrypoints import console_images
from services.orders.entrypoints.console_api import (
    OrderIdPath,
    OrderReferenceQuery,
    SkuPath,
    seller_orders,
)
from services.orders.entrypoints.console_auth import ConsoleDep, PageSeller
from services.orders.entrypoints.console_forms import read_form, read_stock_form
from services.orders.entrypoints.console_schemas import (
    ProductCreate,
    ProductOut,
    ProductUpdate,
    Shipment,
)
from services.orders.entrypoints.console_web import back_to, redirect, render

router = APIRouter(include_in_schema=False)

ORDER_TABS = (
    OrderStatus.CONFIRMED,
    OrderStatus.SHIPPED,
    OrderStatus.CANCELLED,
    OrderStatus.REFUNDED,
    OrderStatus.REJECTED,
    OrderStatus.EXPIRED,
    OrderStatus.RESERVED,
    OrderStatus.PAID,
    OrderStatus.RECEIVED,
)


@router.get("/seller", response_class=HTMLResponse)
async def products_page(request: Request, seller: PageSeller, console: ConsoleDep) -> Response:
    products = await seller_service.list_products(
        uow=console.runtime.uow, seller_id=seller.seller_id
    )
    context = {"section": "products", "products": [ProductOut.of(p) for p in products]}
    return render(request, "products.html", context, seller=seller)


@router.post("/seller/products")
async def create_product(request: Request, seller: PageSeller, console: ConsoleDep) -> Response:
    body = await read_form(request, ProductCreate)
    product = await seller_service.create_product(
        uow=console.runtime.uow,
        seller_id=seller.seller_id,
        **body.model_dump(),
        media=console.media,
    )
    console.runtime.changed(skus=[product.sku])
    return redirect(request, "/seller", f"Added {product.sku}: {product.title}")


@router.post("/seller/products/{sku}")
async def update_product(
    request: Request, sku: SkuPath, seller: PageSeller, console: ConsoleDep
) -> Response:
    body = await read_form(request, ProductUpdate)
    product = await seller_service.update_product(
        uow=console.runtime.uow,
        seller_id=seller.seller_id,
        sku=sku,
        **body.changes(),
        media=console.media,
    )
    console.runtime.changed(skus=[sku])
    return redirect(request, back_to(request, "/seller"), f"Saved {product.sku}")


@router.post("/seller/products/{sku}/image")
async def upload_image(
    request: Request, sku: SkuPath, seller: PageSeller, console: ConsoleDep
) -> Response:
    product = await console_images.upload_image(
        request, console, seller_id=seller.seller_id, sku=sku
    )
    return redirect(request, back_to(request, "/seller"), f"New image for {product.sku}")


@router.post("/seller/products/{sku}/stock")
async def change_stock(
    request: Request, sku: SkuPath, seller: PageSeller, console: ConsoleDep
) -> Response:
    body = await read_stock_form(request)
    product = await seller_service.change_stock(
        uow=console.runtime.uow,
        seller_id=seller.seller_id,
        sku=sku,
        set_to=body.set_to,
        add=body.add,
    )
    console.runtime.changed(skus=[sku])
    message = f"{product.sku}: {product.available} available"
    return redirect(request, back_to(request, "/seller"), message)


@router.get("/seller/orders", response_class=HTMLResponse)
async def orders_page(
    request: Request,
    seller: PageSeller,
    console: ConsoleDep,
    status: Annotated[OrderStatus | None, Query()] = None,
    ref: OrderReferenceQuery = None,
) -> Response:
    orders = await seller_orders(console, seller.seller_id, status=status, reference=ref)
    context = {
        "section": "orders",
        "orders": orders,
        "status": status,
        "tabs": ORDER_TABS,
        "ref": ref,
    }
    return render(request, "orders.html", context, seller=seller)


@router.post("/seller/orders/{order_id}/cancel")
async def cancel_order(
    request: Request, order_id: OrderIdPath, seller: PageSeller, console: ConsoleDep
) -> Response:
    runtime = console.runtime
    order = await seller_service.cancel_order(
        uow=runtime.uow, gateway=runtime.gateway, seller_id=seller.seller_id, order_id=order_id
    )
    runtime.changed(skus=[sku for sku, _, _ in order.items], room_id=order.room_id)
    refunded = order.status == OrderStatus.REFUNDED
    message = f"Order {order_id} cancelled" + (
        " and refunded" if refunded else "; the refund follows in a moment"
    )
    return redirect(request, back_to(request, "/seller/orders"), message)


@router.post("/seller/orders/{order_id}/ship")
async def ship_order(
    request: Request, order_id: OrderIdPath, seller: PageSeller, console: ConsoleDep
) -> Response:
    body = await read_form(request, Shipment)
    order = await seller_service.ship_order(
        uow=console.runtime.uow,
        seller_id=seller.seller_id,
        order_id=order_id,
        tracking_ref=body.tracking_ref,
    )
    console.runtime.changed(skus=[sku for sku, _, _ in order.items], room_id=order.room_id)
    message = f"Order {order_id} shipped ({order.tracking_ref})"
    return redirect(request, back_to(request, "/seller/orders"), message)
