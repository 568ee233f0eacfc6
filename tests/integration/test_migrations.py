"""Each service's migrations build exactly the tables its models declare, on SQLite and on
a PostgreSQL schema of the test's own, and go down and up again cleanly."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import Migrations, create_tables, make_engine
from services.orders.migrations import ORDERS_MIGRATIONS
from services.storefront.migrations import STOREFRONT_MIGRATIONS
from tests.conftest import Database

VERSION_TABLE = "alembic_version"
ORDERS_TABLES = {
    "products", "orders", "order_lines", "payments", "sandbox_wallets", "outbox",
    "flash_deals", "seller_accounts", "seller_sessions", "product_images",
}  # fmt: skip
STOREFRONT_TABLES = {
    "sellers", "rooms", "pinned_products", "seller_accounts", "seller_sessions",
    "catalog_products", "room_deals", "room_viewers", "room_figures",
}  # fmt: skip
SERVICES = ["orders", "storefront"]


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database.url, schema=database.schema)
    yield engine
    await engine.dispose()


def tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def schema_of(conn: Connection) -> dict[str, Any]:
    """What the database holds, table by table, in a form two databases can be compared in."""
    inspector = inspect(conn)
    found: dict[str, Any] = {}
    for table in sorted(tables(conn) - {VERSION_TABLE}):
        columns = inspector.get_columns(table)
        found[table] = {
            "columns": [
                (c["name"], str(c["type"]), c["nullable"], c.get("default"), c.get("autoincrement"))
                for c in columns
            ],
            "primary key": inspector.get_pk_constraint(table)["constrained_columns"],
            "foreign keys": sorted(
                (
                    tuple(fk["constrained_columns"]),
                    fk["referred_table"],
                    tuple(fk["referred_columns"]),
                )
                for fk in inspector.get_foreign_keys(table)
            ),
            "indexes": sorted(
                (i["name"], tuple(i["column_names"]), i["unique"])
                for i in inspector.get_indexes(table)
            ),
            "unique": sorted(
                (str(u["name"]), tuple(u["column_names"]))
                for u in inspector.get_unique_constraints(table)
            ),
        }
    return found


@pytest.mark.parametrize(
    ("migrations", "expected"),
    [(ORDERS_MIGRATIONS, ORDERS_TABLES), (STOREFRONT_MIGRATIONS, STOREFRONT_TABLES)],
    ids=SERVICES,
)
async def test_upgrade_to_head_leaves_nothing_for_autogenerate_to_change(
    engine: AsyncEngine, migrations: Migrations, expected: set[str]
) -> None:
    await migrations.upgrade(engine)

    async with engine.connect() as conn:
        assert await conn.run_sync(migrations.differences) == []
        assert await conn.run_sync(tables) == expected | {VERSION_TABLE}
    assert await migrations.current(engine) == migrations.head


@pytest.mark.parametrize("migrations", [ORDERS_MIGRATIONS, STOREFRONT_MIGRATIONS], ids=SERVICES)
async def test_a_migrated_database_is_the_one_create_all_makes(
    engine: AsyncEngine, migrations: Migrations
) -> None:
    await migrations.upgrade(engine)
    async with engine.connect() as conn:
        migrated = await conn.run_sync(schema_of)
    await migrations.downgrade(engine)
    await create_tables(engine, migrations.metadata)
    async with engine.connect() as conn:
        created = await conn.run_sync(schema_of)

    assert set(migrated) == set(migrations.metadata.tables)
    assert migrated == created


@pytest.mark.parametrize("migrations", [ORDERS_MIGRATIONS, STOREFRONT_MIGRATIONS], ids=SERVICES)
async def test_upgrade_downgrade_upgrade_ends_at_head_with_every_table(
    engine: AsyncEngine, migrations: Migrations
) -> None:
    await migrations.upgrade(engine)
    await migrations.downgrade(engine)

    async with engine.connect() as conn:
        assert await conn.run_sync(tables) <= {VERSION_TABLE}
    assert await migrations.current(engine) is None

    await migrations.upgrade(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(migrations.differences) == []
    assert await migrations.current(engine) == migrations.head


async def test_the_version_tables_live_in_each_services_own_postgresql_schema(
    postgres_database: Database,
) -> None:
    base = postgres_database.schema
    assert base is not None
    schemas = {"orders": f"{base}_orders", "storefront": f"{base}_storefront"}
    admin = make_engine(postgres_database.url)
    try:
        async with admin.begin() as conn:
            for schema in schemas.values():
                await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        for migrations in (ORDERS_MIGRATIONS, STOREFRONT_MIGRATIONS):
            engine = make_engine(postgres_database.url, schema=schemas[migrations.service])
            try:
                await migrations.upgrade(engine)
            finally:
                await engine.dispose()
        async with admin.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT table_schema, table_name FROM information_schema.tables"
                    " WHERE table_schema = ANY(:schemas) OR table_name = :version"
                ),
                {"schemas": list(schemas.values()), "version": VERSION_TABLE},
            )
            found = {(schema, table) for schema, table in rows}
    finally:
        async with admin.begin() as conn:
            for schema in schemas.values():
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()

    expected = {(schemas["orders"], t) for t in ORDERS_TABLES | {VERSION_TABLE}} | {
        (schemas["storefront"], t) for t in STOREFRONT_TABLES | {VERSION_TABLE}
    }
    # Other tests' schemas may hold a version table too; none may be outside a schema of ours.
    ours = {(s, t) for s, t in found if s.startswith(base)}
    assert ours == expected
    assert ("public", VERSION_TABLE) not in found
