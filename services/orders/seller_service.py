"""The seller's half of the marketplace: their products and stock, their orders after the
sale, and the flash deals they start from the storefront.

Every function is keyword-only and takes `uow`, the unit-of-work factory of the running
service (`OrdersRuntime.uow`; elsewhere `adapters.repository.unit_of_work_factory(engine,
streams=settings.streams)`); `cancel_order` also takes the payment `gateway`
(`OrdersRuntime.gateway`). Each call is its own transaction(s).

Errors are domain exceptions with a `reason`, for the console to map once:
`NotFound` → 404, `NotYours` → 403, `ProductExists` → 409, `InvalidProduct` and
`InvalidTrackingRef` (both `InvalidInput`) → 422, `IllegalTransition` → 409.
After a change, the console calls `OrdersRuntime.changed(skus=..., room_id=...)` so the
product's snapshot (and the room's sales) go out in the next round.
"""

import re

from pydantic import TypeAdapter, ValidationError

from contracts import FlashDealRequested
from contracts.events import Sku
from services.orders import service
from services.orders.deals import Deal, check_deal
from services.orders.domain import InvalidProduct, NotFound, NotYours, StockMove
from services.orders.media import own_media
from services.orders.ports import OrderView, PaymentGateway, ProductView, UnitOfWork
from services.orders.service import UnitOfWorkFactory

__all__ = [
    "OrderView",
    "ProductView",
    "cancel_order",
    "change_stock",
    "create_product",
    "get_order",
    "list_orders",
    "list_products",
    "own_product",
    "record_flash_deal",
    "ship_order",
    "update_product",
]

MAX_TITLE = 200
MAX_PRICE_MINOR = 100_000_000
MAX_STOCK = 1_000_000
MAX_IMAGE_URL = 500
_SKU = TypeAdapter(Sku)
_CURRENCY = re.compile(r"[A-Z]{3}")


async def list_products(*, uow: UnitOfWorkFactory, seller_id: str) -> list[ProductView]:
    """The seller's products, by sku."""
    async with uow() as work:
        return await work.seller_products(seller_id)


async def create_product(
    *,
    uow: UnitOfWorkFactory,
    seller_id: str,
    sku: str,
    title: str,
    price_minor: int,
    currency: str,
    image_url: str | None,
    stock: int,
    media: str | None = None,
) -> ProductView:
    """A new product of the seller's with `stock` units available (ProductExists if the
    sku is anyone's already); `media` as in update_product."""
    _check_sku(sku)
    _check_details(title, price_minor, image_url, media)
    if not _CURRENCY.fullmatch(currency):
        raise InvalidProduct("currency is 3 upper-case letters (ISO 4217)")
    _check_units("stock", stock, low=0)
    product = ProductView(
        sku, seller_id, title, price_minor, currency, image_url, stock, 0, 0, version=0
    )
    async with uow() as work:
        await work.add_product(product)
        await work.commit()
    return product


async def update_product(
    *,
    uow: UnitOfWorkFactory,
    seller_id: str,
    sku: str,
    title: str | None = None,
    price_minor: int | None = None,
    image_url: str | None = None,
    media: str | None = None,
) -> ProductView:
    """Change the title, price or image of the seller's product (None keeps it). An
    image address under `media` (the marketplace's own, media.media_prefix) is accepted
    besides https:// and /static/ ones."""
    _check_details(title, price_minor, image_url, media)
    async with uow() as work:
        await _own_product(work, seller_id, sku)
        await work.update_product(sku, title=title, price_minor=price_minor, image_url=image_url)
        return await _commit_and_view(work, sku)


async def change_stock(
    *,
    uow: UnitOfWorkFactory,
    seller_id: str,
    sku: str,
    set_to: int | None = None,
    add: int | None = None,
) -> ProductView:
    """Set the available units (`set_to` >= 0) or restock (`add` >= 1); exactly one."""
    if (set_to is None) == (add is None):
        raise InvalidProduct("give exactly one of set_to and add")
    if set_to is not None:
        _check_units("set_to", set_to, low=0)
    if add is not None:
        _check_units("add", add, low=1)
    async with uow() as work:
        current = await _own_product(work, seller_id, sku)
        if add is not None and current.available + add > MAX_STOCK:
            raise InvalidProduct(f"at most {MAX_STOCK} units available")
        if add is not None:
            await work.move_stock(StockMove.of("restock", {sku: add}))
        else:
            assert set_to is not None  # exactly one of them, checked above
            await work.set_available(sku, set_to)
        return await _commit_and_view(work, sku)


async def own_product(*, uow: UnitOfWorkFactory, seller_id: str, sku: str) -> ProductView:
    """The seller's product `sku` (NotFound, or NotYours when it is another seller's)."""
    async with uow() as work:
        return await _own_product(work, seller_id, sku)


async def list_orders(
    *, uow: UnitOfWorkFactory, seller_id: str, status: str | None = None, limit: int = 200
) -> list[OrderView]:
    """The seller's orders, newest first, of one status if given."""
    async with uow() as work:
        return await work.seller_orders(seller_id, status=status, limit=max(1, min(limit, 1000)))


async def get_order(*, uow: UnitOfWorkFactory, seller_id: str, order_id: str) -> OrderView:
    async with uow() as work:
        return await _own_order(work, seller_id, order_id)


async def cancel_order(
    *, uow: UnitOfWorkFactory, gateway: PaymentGateway, seller_id: str, order_id: str
) -> OrderView:
    """Cancel the seller's confirmed order: stock back, money back; it ends `refunded`."""
    order = await get_order(uow=uow, seller_id=seller_id, order_id=order_id)
    await service.cancel_order(uow=uow, gateway=gateway, checkout_id=order.checkout_id)
    return await get_order(uow=uow, seller_id=seller_id, order_id=order_id)


async def ship_order(
    *, uow: UnitOfWorkFactory, seller_id: str, order_id: str, tracking_ref: str
) -> OrderView:
    """Mark the seller's confirmed order shipped with the carrier's `tracking_ref`."""
    order = await get_order(uow=uow, seller_id=seller_id, order_id=order_id)
    await service.ship_order(uow=uow, checkout_id=order.checkout_id, tracking_ref=tracking_ref)
    return await get_order(uow=uow, seller_id=seller_id, order_id=order_id)


async def record_flash_deal(*, uow: UnitOfWorkFactory, request: FlashDealRequested) -> Deal:
    """Keep (or replace, by deal id) a seller's flash deal; DealRefused, changing nothing,
    unless the product is theirs and the deal price at most its list price."""
    deal = Deal(
        deal_id=request.deal_id,
        seller_id=request.seller_id,
        room_id=request.room_id,
        sku=request.sku,
        price_minor=request.price_minor,
        units_cap=request.units_cap,
        per_buyer_limit=request.per_buyer_limit,
        starts_at=request.starts_at,
        ends_at=request.ends_at,
    )
    async with uow() as work:
        check_deal(deal, (await work.products([deal.sku])).get(deal.sku))
        await work.upsert_deal(deal)
        await work.commit()
    return deal


async def _own_product(work: UnitOfWork, seller_id: str, sku: str) -> ProductView:
    product = await work.product_view(sku)
    if product is None:
        raise NotFound(f"no product {sku}")
    if product.seller_id != seller_id:
        raise NotYours(f"product {sku} is not {seller_id}'s")
    return product


async def _own_order(work: UnitOfWork, seller_id: str, order_id: str) -> OrderView:
    order = await work.order_view(order_id)
    if order is None:
        raise NotFound(f"no order {order_id}")
    if order.seller_id != seller_id:
        raise NotYours(f"order {order_id} is not {seller_id}'s")
    return order


async def _commit_and_view(work: UnitOfWork, sku: str) -> ProductView:
    product = await work.product_view(sku)
    assert product is not None  # locked by the update in this transaction
    await work.commit()
    return product


def _check_sku(sku: str) -> None:
    try:
        _SKU.validate_python(sku)
    except ValidationError as exc:
        raise InvalidProduct(f"sku {sku!r} is 1..64 letters, digits, '.', '_' or '-'") from exc


def _check_details(
    title: str | None, price_minor: int | None, image_url: str | None, media: str | None = None
) -> None:
    if title is not None and (not title.strip() or len(title) > MAX_TITLE):
        raise InvalidProduct(f"a title is 1..{MAX_TITLE} characters")
    if price_minor is not None and not 0 <= price_minor <= MAX_PRICE_MINOR:
        raise InvalidProduct(f"price_minor is 0..{MAX_PRICE_MINOR}")
    if image_url is not None and (
        len(image_url) > MAX_IMAGE_URL
        or not (image_url.startswith(("https://", "/static/")) or own_media(image_url, media))
    ):
        raise InvalidProduct(
            f"image_url starts with https:// or /static/ (or is an uploaded image's address), "
            f"{MAX_IMAGE_URL} at most"
        )


def _check_units(name: str, units: int, *, low: int) -> None:
    if not low <= units <= MAX_STOCK:
        raise InvalidProduct(f"{name} is {low}..{MAX_STOCK}")
