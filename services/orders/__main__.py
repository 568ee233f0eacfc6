"""`python -m services.orders` serves the orders service; `... seed-demo` seeds demo stock."""

import asyncio
import sys

from services.common.db import make_engine
from services.common.serve import serve
from services.orders.config import OrdersSettings
from services.orders.entrypoints.app import create_app
from services.orders.seed import ProductStock, seed_products


async def _seed_demo(settings: OrdersSettings) -> None:
    from infra.local.demo import DEMO_PRODUCTS  # the demo data lives with the local runner

    engine = make_engine(settings.database_url, schema=settings.database_schema)
    try:
        await seed_products(
            engine,
            (
                ProductStock(p.sku, p.title, p.price_minor, p.currency, p.stock)
                for p in DEMO_PRODUCTS
            ),
        )
    finally:
        await engine.dispose()
    print(f"orders: demo products seeded into {settings.database_url}")


def main(argv: list[str]) -> int:
    settings = OrdersSettings()
    command = argv[0] if argv else "serve"
    if command == "seed-demo":
        asyncio.run(_seed_demo(settings))
        return 0
    if command != "serve":
        print(
            f"usage: python -m services.orders [serve|seed-demo], not {command!r}", file=sys.stderr
        )
        return 2
    serve(create_app(settings), settings, port=settings.port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
