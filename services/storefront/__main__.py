"""Run the storefront: `python -m services.storefront` serves it with uvicorn;
`python -m services.storefront seed-demo` seeds the demo seller, room and products."""

import argparse
import asyncio

from sqlalchemy.engine import make_url

from services.common.serve import serve_workers
from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints.app import create_app
from services.storefront.seed import seed_demo


async def seed_demo_room(settings: StorefrontSettings) -> str:
    """Seed the demo of `make up` into the storefront's database."""
    return await seed_demo(settings.database_url, schema=settings.database_schema)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.storefront", description=__doc__)
    parser.add_argument(
        "command", nargs="?", choices=["serve", "seed-demo"], default="serve",
        help="serve (default) or seed-demo",
    )  # fmt: skip
    args = parser.parse_args(argv)
    settings = StorefrontSettings()
    if args.command == "seed-demo":
        room_id = asyncio.run(seed_demo_room(settings))
        database = make_url(settings.database_url).render_as_string(hide_password=True)
        print(f"storefront: seeded room {room_id!r} into {database}")
        return
    serve_workers(create_app, settings, port=settings.port, workers=settings.worker_processes)


if __name__ == "__main__":
    main()
