"""Run the storefront: `python -m services.storefront` serves it with uvicorn;
`... migrate` brings its database to the newest schema; `... new-migration MESSAGE` drafts
the next revision from the models; `... seed-demo` seeds the demo seller, room and products
(and the demo seller's account when LIVECART_DEMO_SELLER_PASSWORD is set);
`... add-seller SELLER_ID EMAIL NAME` makes a seller's storefront account (the password
from LIVECART_SELLER_PASSWORD, or asked for twice)."""

import argparse
import asyncio
import os
import sys

from sqlalchemy.engine import make_url

from services.common.db import make_engine
from services.common.seller_auth import read_new_password
from services.common.serve import serve_workers
from services.storefront.config import StorefrontSettings
from services.storefront.migrations import STOREFRONT_MIGRATIONS
from services.storefront.seed import seed_demo

DEMO_PASSWORD_VARIABLE = "LIVECART_DEMO_SELLER_PASSWORD"
COMMANDS = {"serve": 0, "migrate": 0, "new-migration": 1, "seed-demo": 0, "add-seller": 3}


async def _migrated(settings: StorefrontSettings) -> None:
    engine = make_engine(settings.database_url, schema=settings.database_schema)
    try:
        await STOREFRONT_MIGRATIONS.upgrade(engine)
    finally:
        await engine.dispose()


async def seed_demo_room(settings: StorefrontSettings) -> str:
    """Seed the demo of `make up` into the storefront's database, migrated first."""
    await _migrated(settings)
    password = os.environ.get(DEMO_PASSWORD_VARIABLE, "").strip() or None
    return await seed_demo(
        settings.database_url, schema=settings.database_schema, seller_password=password
    )


async def add_seller(settings: StorefrontSettings, seller_id: str, email: str, name: str) -> None:
    from services.storefront.adapters.sellers import SqlSellerAccounts

    password = _new_password()
    await _migrated(settings)
    engine = make_engine(settings.database_url, schema=settings.database_schema)
    try:
        await SqlSellerAccounts(engine).create(
            seller_id=seller_id, email=email, name=name, password=password
        )
    finally:
        await engine.dispose()


def _new_password() -> str:
    try:
        return read_new_password()
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.storefront", description=__doc__)
    parser.add_argument(
        "command", nargs="?", choices=list(COMMANDS), default="serve",
        help="serve (default), migrate, new-migration MESSAGE, seed-demo, "
        "or add-seller SELLER_ID EMAIL NAME",
    )  # fmt: skip
    parser.add_argument("arguments", nargs="*", help="what the command takes")
    args = parser.parse_args(argv)
    if len(args.arguments) != COMMANDS[args.command]:
        parser.error(f"{args.command} takes {COMMANDS[args.command]} argument(s)")
    settings = StorefrontSettings()
    url, schema = settings.database_url, settings.database_schema
    if args.command == "seed-demo":
        room_id = asyncio.run(seed_demo_room(settings))
        database = make_url(url).render_as_string(hide_password=True)
        print(f"storefront: seeded room {room_id!r} into {database}")
    elif args.command == "add-seller":
        _add_seller(settings, *args.arguments)
    elif args.command == "migrate":
        print(asyncio.run(STOREFRONT_MIGRATIONS.migrate(url, schema=schema)))
    elif args.command == "new-migration":
        asyncio.run(STOREFRONT_MIGRATIONS.new_revision(url, args.arguments[0], schema=schema))
    else:
        from services.storefront.entrypoints.app import create_app  # the rest need none of it

        serve_workers(create_app, settings, port=settings.port, workers=settings.worker_processes)


def _add_seller(settings: StorefrontSettings, seller_id: str, email: str, name: str) -> None:
    from services.storefront.adapters.sellers import SellerExists
    from services.storefront.domain import is_identifier

    if not is_identifier(seller_id) or "@" not in email or not name.strip():
        raise SystemExit(
            "add-seller needs a SELLER_ID (letters, digits, . _ : -), an EMAIL, a NAME"
        )
    try:
        asyncio.run(add_seller(settings, seller_id, email, name.strip()))
    except SellerExists as exc:
        print(f"storefront: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"storefront: seller {seller_id!r} ({email}) can sign in at /seller/login")


if __name__ == "__main__":
    main()
