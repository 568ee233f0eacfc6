"""Fixtures shared by the whole suite: real Redis, real databases, one namespace per test."""

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis
from sse_starlette.sse import AppStatus

from infra.local.redis_server import RedisServer
from tests.support.services import postgres_for_tests, redis_for_tests, sqlalchemy_url


@pytest.fixture(autouse=True)
def sse_streams_not_shutting_down() -> Iterator[None]:
    """sse-starlette ends every stream of the process once any uvicorn server in it has
    handled an exit (a process-wide flag nothing resets): a test that stopped an
    in-process server must not end the next test's streams. One server per process in
    production, so only the suite needs this."""
    AppStatus.should_exit = False
    yield
    AppStatus.should_exit = False


def random_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    with redis_for_tests() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    with postgres_for_tests() as dsn:
        yield dsn


@pytest.fixture
async def stream_prefix(redis_url: str) -> AsyncIterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    prefix = random_id("lc-test")
    yield prefix
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator["aioredis.Redis[bytes]"]:
    client: aioredis.Redis[bytes] = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@dataclass(frozen=True)
class Database:
    """A database of this test's own: a SQLite file, or a PostgreSQL schema."""

    url: str
    schema: str | None = None

    @property
    def kind(self) -> str:
        return "postgresql" if self.schema else "sqlite"


@pytest.fixture
def sqlite_database(tmp_path: Path) -> Database:
    return Database(url=f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")


@pytest.fixture
async def postgres_database(postgres_dsn: str) -> AsyncIterator[Database]:
    schema = random_id("t").replace("-", "_")
    conn = await asyncpg.connect(postgres_dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        yield Database(url=sqlalchemy_url(postgres_dsn), schema=schema)
    finally:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> Database:
    """Runs the test once on SQLite and once on PostgreSQL."""
    name = "sqlite_database" if request.param == "sqlite" else "postgres_database"
    db: Database = request.getfixturevalue(name)
    return db


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own on a free port, AOF with `appendfsync always`,
    so the test can crash it, restart it, or lose its data."""
    server = RedisServer(tmp_path / "redis", appendonly=True, appendfsync="always").start()
    try:
        yield server
    finally:
        server.stop()
