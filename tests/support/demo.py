"""The demo of `make up` as tests read it: each product with the storefront's pinned copy
and the marketplace's stock together. Each side owns its half (services/*/seed.py)."""

from dataclasses import dataclass

from services.orders import seed as marketplace
from services.storefront import seed as storefront
from services.storefront.seed import (
    DEMO_ROOM_ID,
    DEMO_ROOM_TITLE,
    DEMO_SELLER_EMAIL,
    DEMO_SELLER_ID,
    DEMO_SELLER_NAME,
)

__all__ = [
    "DEMO_PRODUCTS",
    "DEMO_ROOM_ID",
    "DEMO_ROOM_TITLE",
    "DEMO_SELLER_EMAIL",
    "DEMO_SELLER_ID",
    "DEMO_SELLER_NAME",
    "DemoProduct",
]


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    title: str
    price_minor: int
    currency: str
    stock: int
    max_per_checkout: int = 5


_STOCK = {product.sku: product.stock for product in marketplace.DEMO_PRODUCTS}
DEMO_PRODUCTS = tuple(
    DemoProduct(
        p.sku,
        p.title,
        p.price_minor,
        p.currency,
        _STOCK[p.sku],
        max_per_checkout=p.max_per_checkout,
    )
    for p in storefront.DEMO_PRODUCTS
)
"""The demo room's products in pin order, with the stock the marketplace seeds."""
