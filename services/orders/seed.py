"""Put products and their stock into the marketplace's database (idempotent), and the
marketplace's side of the demo that `make up` seeds."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from services.common.db import create_tables
from services.orders.adapters.tables import OrdersTable, ProductRow


@dataclass(frozen=True)
class ProductStock:
    sku: str
    title: str
    price_minor: int
    currency: str
    stock: int
    seller_id: str | None = None
    # Keyword-only: `seller_id` stays the last positional field.
    image_url: str | None = field(default=None, kw_only=True)


DEMO_SELLER_ID = "demo-seller"
DEMO_SELLER_NAME = "Mia's Merch (demo seller)"
DEMO_SELLER_EMAIL = "mia@demo.livecart.test"
"""The demo seller's console login. Its password is made afresh by `make up`
(run/seller-login.txt) and handed to the seed as `LIVECART_DEMO_SELLER_PASSWORD`."""
_IMAGES = "/static/demo-images"
DEMO_PRODUCTS = (
    ProductStock("LC-HOODIE-YEL", "Yellow Cart Hoodie", 4990, "EUR", 50, DEMO_SELLER_ID,
                 image_url=f"{_IMAGES}/hoodie.svg"),
    ProductStock("LC-MUG-LIVE", "On-Air Mug", 1490, "EUR", 100, DEMO_SELLER_ID,
                 image_url=f"{_IMAGES}/mug.svg"),
    ProductStock("LC-CAP-STREAM", "Streamer Cap", 2490, "EUR", 30, DEMO_SELLER_ID,
                 image_url=f"{_IMAGES}/cap.svg"),
)  # fmt: skip
"""The demo seller's products and stock of record, which `make up` seeds (`seed-demo`).
Their images are the storefront's (/static/ is its static files). The storefront seeds its
own copy of them (services/storefront/seed.py)."""


async def seed_products(
    engine: AsyncEngine, products: Iterable[ProductStock], *, reset_stock: bool = False
) -> None:
    """Add missing products with their stock; with `reset_stock`, also reset existing ones."""
    await create_tables(engine, OrdersTable.metadata)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions.begin() as session:
        for product in products:
            row = await session.get(ProductRow, product.sku)
            if row is None:
                session.add(
                    ProductRow(
                        sku=product.sku,
                        title=product.title,
                        price_minor=product.price_minor,
                        currency=product.currency,
                        available=product.stock,
                        seller_id=product.seller_id,
                        image_url=product.image_url,
                    )
                )
            else:
                if row.seller_id is None and product.seller_id is not None:
                    # Seeded before products had sellers: give them to their seller.
                    row.seller_id, row.version = product.seller_id, row.version + 1
                if reset_stock:
                    row.available, row.reserved, row.sold = product.stock, 0, 0
