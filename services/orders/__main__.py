"""`python -m services.orders` serves the orders service; `... migrate` brings its database to
the newest schema; `... new-migration MESSAGE` drafts the next revision from the models;
`... seed-demo` seeds demo stock."""

import asyncio
import sys

from services.common.db import make_engine
from services.common.serve import serve
from services.orders.config import OrdersSettings
from services.orders.migrations import ORDERS_MIGRATIONS
from services.orders.seed import ProductStock, seed_products

USAGE = "usage: python -m services.orders [serve|migrate|new-migration MESSAGE|seed-demo]"


async def _seed_demo(settings: OrdersSettings) -> None:
    from infra.local.demo import DEMO_PRODUCTS  # the demo data lives with the local runner

    engine = make_engine(settings.database_url, schema=settings.database_schema)
    try:
        await ORDERS_MIGRATIONS.upgrade(engine)
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
    command, *rest = argv or ["serve"]
    url, schema = settings.database_url, settings.database_schema
    if command == "seed-demo" and not rest:
        asyncio.run(_seed_demo(settings))
    elif command == "migrate" and not rest:
        print(asyncio.run(ORDERS_MIGRATIONS.migrate(url, schema=schema)))
    elif command == "new-migration" and len(rest) == 1:
        asyncio.run(ORDERS_MIGRATIONS.new_revision(url, rest[0], schema=schema))
    elif command == "serve" and not rest:
        from services.orders.entrypoints.app import create_app  # the rest need none of it

        serve(create_app(settings), settings, port=settings.port)
    else:
        print(f"{USAGE}, not {' '.join(argv)!r}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
