"""How the services meet their database at start-up: production refuses one not at head
(and creates nothing), development migrates it; `python -m services.<name> migrate` does it
by hand; the pool settings reach the engine."""

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common import db
from services.common.db import DatabaseNotMigrated, create_tables, make_engine
from services.orders.config import OrdersSettings
from services.orders.entrypoints.app import build_runtime
from services.orders.entrypoints.app import create_app as create_orders_app
from services.orders.migrations import ORDERS_MIGRATIONS
from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints import app as storefront_app
from services.storefront.migrations import STOREFRONT_MIGRATIONS
from tests.conftest import Database

ROOT = Path(__file__).resolve().parents[2]
# Production settings that pass the development-defaults check; nothing connects to Redis
# before the database check, which is what these tests look at.
PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "redis_url": "redis://svc:not-a-real-password@127.0.0.1:1/0",
}


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: set(inspect(c).get_table_names()))


@pytest.fixture
def storefront_engines(monkeypatch: pytest.MonkeyPatch) -> list[AsyncEngine]:
    """The engines the storefront app builds (it keeps them to itself)."""
    engines: list[AsyncEngine] = []

    def recording(url: str, **kwargs: Any) -> AsyncEngine:
        engines.append(make_engine(url, **kwargs))
        return engines[-1]

    monkeypatch.setattr(storefront_app, "make_engine", recording)
    return engines


async def test_production_orders_refuse_to_start_on_a_database_not_at_head(
    postgres_database: Database,
) -> None:
    settings = OrdersSettings(
        **PRODUCTION,
        payment_ticket_secret="a-production-secret-of-at-least-32-characters!",
        database_url=postgres_database.url,
        database_schema=postgres_database.schema,
    )
    app = create_orders_app(settings)
    engine = app.state.runtime.engine
    try:
        with pytest.raises(DatabaseNotMigrated, match=r"python -m services\.orders migrate"):
            async with app.router.lifespan_context(app):
                pass
        assert await table_names(engine) == set()

        await ORDERS_MIGRATIONS.upgrade(engine)
        await ORDERS_MIGRATIONS.prepare(engine, production=True)  # at head: no complaint
    finally:
        await engine.dispose()


async def test_production_storefront_refuses_to_start_on_a_database_not_at_head(
    postgres_database: Database, storefront_engines: list[AsyncEngine]
) -> None:
    settings = StorefrontSettings(
        **PRODUCTION,
        token_secret="s" * 48,
        notifier_public_url="https://live.example.com",
        database_url=postgres_database.url,
        database_schema=postgres_database.schema,
    )
    app = storefront_app.create_app(settings)
    [engine] = storefront_engines
    try:
        with pytest.raises(DatabaseNotMigrated, match=r"python -m services\.storefront migrate"):
            async with app.router.lifespan_context(app):
                pass
        assert await table_names(engine) == set()
    finally:
        await engine.dispose()


async def test_development_adopts_tables_create_all_made_and_migrates_from_there(
    sqlite_database: Database,
) -> None:
    engine = make_engine(sqlite_database.url)
    try:
        await create_tables(engine, ORDERS_MIGRATIONS.metadata)  # as before migrations existed
        await ORDERS_MIGRATIONS.prepare(engine, production=False)
        assert await ORDERS_MIGRATIONS.current(engine) == ORDERS_MIGRATIONS.head
    finally:
        await engine.dispose()


async def test_development_refuses_unversioned_tables_that_differ_from_the_models(
    sqlite_database: Database,
) -> None:
    engine = make_engine(sqlite_database.url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE products (sku VARCHAR(64) PRIMARY KEY)"))
        with pytest.raises(DatabaseNotMigrated, match="differ from the models"):
            await ORDERS_MIGRATIONS.prepare(engine, production=False)
        assert await ORDERS_MIGRATIONS.current(engine) is None
    finally:
        await engine.dispose()


async def run_module(module: str, *args: str, env: dict[str, str]) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, *args,
        cwd=ROOT, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return out.decode()


@pytest.mark.parametrize(
    ("module", "variable", "migrations"),
    [
        ("services.orders", "ORDERS_DATABASE_URL", ORDERS_MIGRATIONS),
        ("services.storefront", "STOREFRONT_DATABASE_URL", STOREFRONT_MIGRATIONS),
    ],
    ids=["orders", "storefront"],
)
async def test_the_migrate_command_brings_the_database_to_head_and_says_so(
    tmp_path: Path, module: str, variable: str, migrations: db.Migrations
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
    head = migrations.head

    first = await run_module(module, "migrate", env={variable: url})
    again = await run_module(module, "migrate", env={variable: url})

    assert f"is at revision {head} (was none)" in first
    assert f"is at revision {head} (was {head})" in again
    engine = make_engine(url)
    try:
        assert await migrations.current(engine) == head
        assert await table_names(engine) == {*migrations.metadata.tables, "alembic_version"}
    finally:
        await engine.dispose()


async def test_pool_settings_reach_the_engines(
    monkeypatch: pytest.MonkeyPatch, storefront_engines: list[AsyncEngine]
) -> None:
    url = "postgresql+asyncpg://livecart@db.invalid/livecart"  # never connected to
    monkeypatch.setenv("ORDERS_DATABASE_POOL_SIZE", "3")
    monkeypatch.setenv("ORDERS_DATABASE_MAX_OVERFLOW", "2")
    monkeypatch.setenv("STOREFRONT_DATABASE_POOL_SIZE", "4")
    monkeypatch.setenv("STOREFRONT_DATABASE_MAX_OVERFLOW", "0")

    orders = build_runtime(OrdersSettings(database_url=url)).engine
    storefront_app.create_app(StorefrontSettings(database_url=url))
    [storefront] = storefront_engines

    try:
        assert (orders.pool.size(), orders.pool._max_overflow) == (3, 2)  # type: ignore[attr-defined]
        assert (storefront.pool.size(), storefront.pool._max_overflow) == (4, 0)  # type: ignore[attr-defined]
    finally:
        await orders.dispose()
        await storefront.dispose()


async def test_replicas_starting_at_once_migrate_one_after_the_other(database: Database) -> None:
    engines = [make_engine(database.url, schema=database.schema) for _ in range(4)]
    try:
        results = await asyncio.gather(
            *(ORDERS_MIGRATIONS.prepare(engine, production=False) for engine in engines),
            return_exceptions=True,
        )
        assert results == [None] * len(engines)
        assert await ORDERS_MIGRATIONS.current(engines[0]) == ORDERS_MIGRATIONS.head
    finally:
        for engine in engines:
            await engine.dispose()
