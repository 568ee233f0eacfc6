"""`python -m services.orders` serves the orders service; `... migrate` brings its database to
the newest schema; `... new-migration MESSAGE` drafts the next revision from the models;
`... seed-demo` seeds demo stock (and the demo seller's account when
`LIVECART_DEMO_SELLER_PASSWORD` is set); `... add-seller SELLER_ID EMAIL NAME` makes a
seller's console account (password from `LIVECART_SELLER_PASSWORD`, or asked for)."""

import asyncio
import os
import sys

from pydantic import ValidationError

from services.common.db import make_engine
from services.common.seller_auth import MIN_PASSWORD_LENGTH, read_new_password
from services.common.serve import serve
from services.orders.adapters.sellers import SellerAccounts, SellerExists
from services.orders.config import OrdersSettings
from services.orders.entrypoints.console_schemas import NewSeller
from services.orders.migrations import ORDERS_MIGRATIONS
from services.orders.seed import (
    DEMO_PRODUCTS,
    DEMO_SELLER_EMAIL,
    DEMO_SELLER_ID,
    DEMO_SELLER_NAME,
    seed_products,
)

USAGE = (
    "usage: python -m services.orders "
    "[serve|migrate|new-migration MESSAGE|seed-demo|add-seller SELLER_ID EMAIL NAME]"
)
DEMO_SELLER_PASSWORD_ENV = "LIVECART_DEMO_SELLER_PASSWORD"


class CommandFailed(Exception):
    """A command that cannot do what it was asked; the message says why."""


async def _seed_demo(settings: OrdersSettings) -> None:
    password = os.environ.get(DEMO_SELLER_PASSWORD_ENV)
    if password and len(password) < MIN_PASSWORD_LENGTH:
        raise CommandFailed(f"{DEMO_SELLER_PASSWORD_ENV} is shorter than {MIN_PASSWORD_LENGTH}")
    engine = make_engine(settings.database_url, schema=settings.database_schema)
    try:
        await ORDERS_MIGRATIONS.upgrade(engine)
        await seed_products(engine, DEMO_PRODUCTS)
        if password:
            accounts = SellerAccounts(engine)
            if await accounts.get(DEMO_SELLER_ID) is None:
                await accounts.create(
                    seller_id=DEMO_SELLER_ID,
                    email=DEMO_SELLER_EMAIL,
                    name=DEMO_SELLER_NAME,
                    password=password,
                )
                print(f"orders: demo seller account {DEMO_SELLER_EMAIL} created")
            elif await accounts.set_password_unless_same(DEMO_SELLER_ID, password):
                print(f"orders: demo seller account {DEMO_SELLER_EMAIL}: password updated")
    finally:
        await engine.dispose()
    print(f"orders: demo products seeded into {settings.database_url}")


async def _add_seller(settings: OrdersSettings, seller: NewSeller, password: str) -> None:
    engine = make_engine(settings.database_url, schema=settings.database_schema)
    try:
        await ORDERS_MIGRATIONS.prepare(engine, production=settings.is_production)
        await SellerAccounts(engine).create(
            seller_id=seller.seller_id, email=seller.email, name=seller.name, password=password
        )
    except SellerExists as exc:
        raise CommandFailed(str(exc)) from exc
    finally:
        await engine.dispose()


def _seller_password() -> str:
    try:
        return read_new_password()
    except ValueError as exc:
        raise CommandFailed(str(exc)) from exc


def add_seller(settings: OrdersSettings, args: list[str]) -> int:
    try:
        fields = dict(zip(("seller_id", "email", "name"), args, strict=True))
        seller = NewSeller.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors())
        print(f"{USAGE}\nadd-seller: {problems}", file=sys.stderr)
        return 2
    try:
        asyncio.run(_add_seller(settings, seller, _seller_password()))
    except CommandFailed as exc:
        print(f"add-seller: {exc}", file=sys.stderr)
        return 1
    print(f"orders: seller {seller.seller_id} <{seller.email.lower()}> can sign in at /seller")
    return 0


def main(argv: list[str]) -> int:
    settings = OrdersSettings()
    command, *rest = argv or ["serve"]
    url, schema = settings.database_url, settings.database_schema
    if command == "seed-demo" and not rest:
        try:
            asyncio.run(_seed_demo(settings))
        except CommandFailed as exc:
            print(f"seed-demo: {exc}", file=sys.stderr)
            return 1
    elif command == "add-seller" and len(rest) == 3:
        return add_seller(settings, rest)
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
