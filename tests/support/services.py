"""Find the Redis and PostgreSQL the suite talks to.

Order of preference: testcontainers when a Docker engine answers; else the URL in
`REDIS_URL` / `DATABASE_URL`; else the services on this machine's default ports;
else (Redis only) a private `redis-server` on a free port.
"""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from infra.local.redis_server import RedisServer, redis_answers

LOCAL_REDIS = "redis://127.0.0.1:6379/0"
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def docker_answers() -> bool:
    if os.environ.get("LIVECART_TEST_NO_DOCKER"):
        return False
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def redis_for_tests() -> Iterator[str]:
    if docker_answers():
        from testcontainers.redis import RedisContainer

        with RedisContainer("redis:7") as container:
            host = container.get_container_host_ip()
            yield f"redis://{host}:{container.get_exposed_port(6379)}/0"
        return
    for url in (os.environ.get("REDIS_URL"), LOCAL_REDIS):
        if url and redis_answers(url):
            yield url
            return
    with tempfile.TemporaryDirectory(prefix="livecart-redis-") as tmp:
        server = RedisServer(Path(tmp), appendonly=False).start()
        try:
            yield server.url
        finally:
            server.stop()


async def _postgres_answers(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@contextlib.contextmanager
def postgres_for_tests() -> Iterator[str]:
    """A plain `postgresql://` DSN (asyncpg form); callers add `+asyncpg` for SQLAlchemy."""
    import asyncio

    if docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16", driver=None) as container:
            yield container.get_connection_url()
        return
    for dsn in (os.environ.get("DATABASE_URL"), LOCAL_POSTGRES):
        if dsn and dsn.startswith("postgresql") and asyncio.run(_postgres_answers(_plain(dsn))):
            yield _plain(dsn)
            return
    raise RuntimeError(
        "no PostgreSQL for the suite: start one (`make test` does on this machine) "
        "or set DATABASE_URL=postgresql://user@host:port/db"
    )


def _plain(dsn: str) -> str:
    return dsn.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
