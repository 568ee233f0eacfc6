"""`python -m services.orders add-seller` and the demo seller of `seed-demo`, against a real
database (the commands run in-process, as `main` of `services/orders/__main__.py`)."""

import asyncio

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select

from services.common.db import make_engine
from services.orders.__main__ import main
from services.orders.adapters.sellers import SellerAccount, SellerAccounts
from services.orders.adapters.tables import ProductRow
from tests.conftest import Database, random_id
from tests.support import demo

PASSWORD = "a long enough password"


@pytest.fixture
def orders_db(database: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """The commands' database, named in the environment as an operator would."""
    monkeypatch.setenv("ORDERS_DATABASE_URL", database.url)
    if database.schema:
        monkeypatch.setenv("ORDERS_DATABASE_SCHEMA", database.schema)
    monkeypatch.delenv("LIVECART_SELLER_PASSWORD", raising=False)
    monkeypatch.delenv("LIVECART_DEMO_SELLER_PASSWORD", raising=False)
    return database


def sign_in(database: Database, email: str, password: str) -> SellerAccount | None:
    async def attempt() -> SellerAccount | None:
        engine = make_engine(database.url, schema=database.schema)
        try:
            return await SellerAccounts(engine).authenticate(email, password)
        finally:
            await engine.dispose()

    return asyncio.run(attempt())


def demo_product_sellers(database: Database) -> set[str | None]:
    async def read() -> set[str | None]:
        engine = make_engine(database.url, schema=database.schema)
        try:
            async with async_sessionmaker(engine)() as session:
                return set(await session.scalars(select(col(ProductRow.seller_id))))
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_add_seller_makes_an_account_that_signs_in_by_its_lower_case_email(
    orders_db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    seller_id = random_id("shop")
    monkeypatch.setenv("LIVECART_SELLER_PASSWORD", PASSWORD)

    assert main(["add-seller", seller_id, f"{seller_id}@Shop.TEST", "Ada's Shop"]) == 0
    account = sign_in(orders_db, f"{seller_id}@shop.test", PASSWORD)
    assert account == SellerAccount(seller_id, f"{seller_id}@shop.test", "Ada's Shop")
    assert sign_in(orders_db, f"{seller_id}@shop.test", PASSWORD + "!") is None

    again = main(["add-seller", seller_id, "other@shop.test", "Again"])
    same_email = main(["add-seller", random_id("shop"), f"{seller_id}@SHOP.test", "Twin"])
    assert again == same_email == 1
    assert "exists" in capsys.readouterr().err


def test_add_seller_asks_twice_for_the_password_and_refuses_a_short_or_differing_one(
    orders_db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter(["short", "short", PASSWORD, PASSWORD + "?", PASSWORD, PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda _prompt="": next(answers))
    seller_id = random_id("shop")
    args = ["add-seller", seller_id, f"{seller_id}@shop.test", "Shop"]

    assert main(args) == 1
    assert "at least 10 characters" in capsys.readouterr().err
    assert main(args) == 1
    assert "differ" in capsys.readouterr().err
    assert main(args) == 0
    assert sign_in(orders_db, f"{seller_id}@shop.test", PASSWORD) is not None


@pytest.mark.parametrize(
    "args",
    [
        ["add-seller", "bad id", "a@shop.test", "Shop"],
        ["add-seller", "shop-1", "not-an-email", "Shop"],
        ["add-seller", "shop-1", "a@shop.test", "   "],
        ["add-seller", "shop-1", "a@shop.test"],
    ],
)
def test_add_seller_with_wrong_arguments_is_a_usage_error(
    orders_db: Database,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
) -> None:
    monkeypatch.setenv("LIVECART_SELLER_PASSWORD", PASSWORD)

    assert main(args) == 2
    assert "usage:" in capsys.readouterr().err


def test_seed_demo_makes_the_demo_seller_once_and_follows_a_new_password(
    orders_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["seed-demo"]) == 0  # without the password: products only
    assert sign_in(orders_db, demo.DEMO_SELLER_EMAIL, PASSWORD) is None
    assert demo_product_sellers(orders_db) == {demo.DEMO_SELLER_ID}

    monkeypatch.setenv("LIVECART_DEMO_SELLER_PASSWORD", PASSWORD)
    assert main(["seed-demo"]) == 0
    assert main(["seed-demo"]) == 0  # again: nothing changes
    account = sign_in(orders_db, demo.DEMO_SELLER_EMAIL, PASSWORD)
    assert account == SellerAccount(
        demo.DEMO_SELLER_ID, demo.DEMO_SELLER_EMAIL, demo.DEMO_SELLER_NAME
    )

    monkeypatch.setenv("LIVECART_DEMO_SELLER_PASSWORD", PASSWORD + " renewed")
    assert main(["seed-demo"]) == 0
    assert sign_in(orders_db, demo.DEMO_SELLER_EMAIL, PASSWORD) is None
    assert sign_in(orders_db, demo.DEMO_SELLER_EMAIL, PASSWORD + " renewed") is not None
