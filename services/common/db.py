"""Async SQLAlchemy engines for SQLite (default) and PostgreSQL, set up the same way everywhere."""

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, MetaData, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

SQLITE_BUSY_TIMEOUT_MS = 10_000


def make_engine(
    url: str, *, schema: str | None = None, pool_size: int = 10, max_overflow: int | None = None
) -> AsyncEngine:
    """An engine for `url`; `schema` sets PostgreSQL's search_path (tests use one per test).

    PostgreSQL keeps up to `pool_size` connections open and opens up to `max_overflow`
    (default: `pool_size`) more under load; SQLite ignores both.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    connect_args: dict[str, Any] = {}
    if schema:
        connect_args["server_settings"] = {"search_path": schema}
    return create_async_engine(
        url,
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def _sqlite_engine(url: str) -> AsyncEngine:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers run beside the single writer; busy_timeout waits for
        # the writer instead of failing at once when replicas share the file.
        # Transactions are begun by hand (below), so the driver must not begin its own.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _switch_to_wal(cursor)
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin_immediate(conn: Any) -> None:
        # Take the write lock up front: a deferred transaction that reads and then
        # writes fails at once with "database is locked" when another process wrote
        # in between, instead of waiting for busy_timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _switch_to_wal(cursor: Any, *, tries: int = 200, pause: float = 0.01) -> None:
    """`PRAGMA journal_mode=WAL`, retried: on a new file, connections switching at once
    (replicas starting together) get "database is locked" at once, as SQLite does not
    wait on the busy handler for this pragma. Once one succeeded the file stays WAL.
    The pause blocks the caller's event loop (SQLAlchemy runs connect hooks in it), but
    only in that race, at start-up, for milliseconds."""
    for attempt in range(tries):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == tries - 1:
                raise
            time.sleep(pause)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


async def create_tables(engine: AsyncEngine, metadata: Any = None) -> None:
    """Create the tables of `metadata` (default: every SQLModel table imported so far)."""
    async with engine.begin() as conn:
        await conn.run_sync((metadata or SQLModel.metadata).create_all)


class DatabaseNotMigrated(RuntimeError):
    """The database is not at the schema revision this code was written for."""


@dataclass(frozen=True)
class Migrations:
    """One service's Alembic environment (its own scripts and version table) and the
    metadata its head revision must match. Config lives here, not in an alembic.ini."""

    service: str
    script_location: Path
    metadata: MetaData

    @property
    def head(self) -> str:
        head = ScriptDirectory(str(self.script_location)).get_current_head()
        if head is None:
            raise DatabaseNotMigrated(f"{self.script_location} holds no revision")
        return head

    def config(self, connection: Connection) -> Config:
        """An Alembic config whose env.py migrates on `connection`, in its transaction."""
        config = Config()
        config.set_main_option("script_location", str(self.script_location))
        # A valid module name (mypy checks revisions), and one that says whose it is.
        config.set_main_option("file_template", f"{self.service}_%%(rev)s_%%(slug)s")
        config.attributes["connection"] = connection
        return config

    async def migrate(self, url: str, *, schema: str | None = None) -> str:
        """`python -m services.<service> migrate`: bring the database to head; what it did."""
        engine = make_engine(url, schema=schema)
        try:
            before = await self.current(engine)
            await self.upgrade(engine)
            after = await self.current(engine)
        finally:
            await engine.dispose()
        where = make_url(url).render_as_string(hide_password=True)
        where += f" (schema {schema})" if schema else ""
        return f"{self.service}: {where} is at revision {after} (was {before or 'none'})"

    async def new_revision(self, url: str, message: str, *, schema: str | None = None) -> None:
        """Autogenerate the next revision from the models' changes (review it by hand)."""
        engine = make_engine(url, schema=schema)
        try:
            await self.upgrade(engine)
            async with engine.begin() as conn:
                await conn.run_sync(self._draft, message)
        finally:
            await engine.dispose()

    async def upgrade(self, engine: AsyncEngine, revision: str = "head") -> None:
        """Migrate to `revision` in one transaction (PostgreSQL and SQLite both roll DDL back)."""
        async with engine.begin() as conn:
            await conn.run_sync(self._upgrade, revision)

    async def downgrade(self, engine: AsyncEngine, revision: str = "base") -> None:
        async with engine.begin() as conn:
            await conn.run_sync(lambda c: command.downgrade(self.config(c), revision))

    async def current(self, engine: AsyncEngine) -> str | None:
        """The database's revision; None when it has no version table (or an empty one)."""
        async with engine.connect() as conn:
            return await conn.run_sync(_revision)

    async def check(self, engine: AsyncEngine) -> None:
        """Refuse (DatabaseNotMigrated, saying what to run) unless the database is at head."""
        current, head = await self.current(engine), self.head
        if current != head:
            raise DatabaseNotMigrated(
                f"the {self.service} database is at revision {current or 'none'}, this code "
                f"needs {head}: run `python -m services.{self.service} migrate` first"
            )

    async def prepare(self, engine: AsyncEngine, *, production: bool) -> None:
        """At start-up. Production only checks: migrating is a deploy step of its own, not
        something each replica races to do. Development migrates, as create_all used to."""
        await (self.check(engine) if production else self.upgrade(engine))

    def differences(self, conn: Connection) -> list[Any]:
        """What autogenerate would change to make the database match the models."""
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, self.metadata))

    def _draft(self, conn: Connection, message: str) -> None:
        config = self.config(conn)
        # Drafts come out as `make lint` wants them (ruff is a dev tool, as drafting is).
        for key, value in {
            "hooks": "ruff",
            "ruff.type": "module",
            "ruff.module": "ruff",
            "ruff.options": "format REVISION_SCRIPT_FILENAME",
        }.items():
            config.set_section_option("post_write_hooks", key, value)
        command.revision(config, message, autogenerate=True)

    def _upgrade(self, conn: Connection, revision: str) -> None:
        if conn.dialect.name == "postgresql":
            # Replicas starting together in development migrate one after the other.
            conn.exec_driver_sql(
                "SELECT pg_advisory_xact_lock(hashtext("
                "'livecart-migrations:' || coalesce(current_schema(), '')))"
            )
        if _revision(conn) is None and set(inspect(conn).get_table_names()) & set(
            self.metadata.tables
        ):
            self._adopt(conn)
        else:
            command.upgrade(self.config(conn), revision)

    def _adopt(self, conn: Connection) -> None:
        # Tables made by create_all before migrations existed (or by a test's seed): take
        # them as head when they match the models exactly, rather than fail on CREATE TABLE.
        differences = self.differences(conn)
        if differences:
            raise DatabaseNotMigrated(
                f"the {self.service} database has tables but no migration revision, and they "
                f"differ from the models: {differences[:3]}; migrate it by hand or start afresh"
            )
        command.stamp(self.config(conn), "head")


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def run_migrations(metadata: MetaData) -> None:
    """The body of each service's env.py: migrate on the connection `Migrations` handed over."""
    from alembic import context  # a proxy that exists only while Alembic runs an env.py

    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations with `python -m services.<service> migrate`")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=True,  # SQLite alters a table by copying it; PostgreSQL just alters
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def _render_item(type_: str, obj: Any, _context: Any) -> str | Literal[False]:
    # Revisions spell plain SQLAlchemy types, so they never import SQLModel.
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    return False
