"""Run the storefront: `python -m services.storefront` serves it with uvicorn;
`... migrate` brings its database to the newest schema; `... new-migration MESSAGE` drafts
the next revision from the models; `... seed-demo` seeds the demo seller, room and products."""

import argparse
import asyncio

from sqlalchemy.engine import make_url

from services.common.db import make_engine
from services.common.serve import serve_workers
from services.storefront.config import StorefrontSettings
from services.storefront.migrations import STOREFRONT_MIGRATIONS
from services.storefront.seed import seed_demo


async def seed_demo_room(settings: StorefrontSettings) -> str:
    """Seed the demo of `make up` into the storefront's database, migrated first."""
    engine = make_engine(settings.database_url, schema=settings.database_schema)
    try:
        await STOREFRONT_MIGRATIONS.upgrade(engine)
    finally:
        await engine.dispose()
    return await seed_demo(settings.database_url, schema=settings.database_schema)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.storefront", description=__doc__)
    parser.add_argument(
        "command", nargs="?", choices=["serve", "migrate", "new-migration", "seed-demo"],
        default="serve", help="serve (default), migrate, new-migration MESSAGE or seed-demo",
    )  # fmt: skip
    parser.add_argument("message", nargs="?", help="what the new migration does")
    args = parser.parse_args(argv)
    if (args.command == "new-migration") != (args.message is not None):
        parser.error("a MESSAGE goes with new-migration, and only with it")
    settings = StorefrontSettings()
    url, schema = settings.database_url, settings.database_schema
    if args.command == "seed-demo":
        room_id = asyncio.run(seed_demo_room(settings))
        database = make_url(url).render_as_string(hide_password=True)
        print(f"storefront: seeded room {room_id!r} into {database}")
    elif args.command == "migrate":
        print(asyncio.run(STOREFRONT_MIGRATIONS.migrate(url, schema=schema)))
    elif args.command == "new-migration":
        asyncio.run(STOREFRONT_MIGRATIONS.new_revision(url, args.message, schema=schema))
    else:
        from services.storefront.entrypoints.app import create_app  # the rest need none of it

        serve_workers(create_app, settings, port=settings.port, workers=settings.worker_processes)


if __name__ == "__main__":
    main()
