"""Helpers of the ops integration tests (this module holds no tests): run `livecart-ops`
through typer's CliRunner, start a redis-server (or a three-node Redis Cluster) with the
rendered ACL, publish checkouts to their partitions as the storefront does, and create a
storefront database from its own metadata."""

import asyncio
import contextlib
import functools
import json
import secrets
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from typer.testing import CliRunner, Result

from contracts import CheckoutRequested, CheckoutRequestedEvent, Streams, encode_entry
from infra.local.redis_cluster import RedisClusterNodes
from infra.local.redis_server import RedisServer
from services.common.db import create_tables, make_engine
from services.ops.acl import USERS, render_acl_file
from services.ops.cli import app
from services.storefront.adapters.tables import storefront_metadata
from tests.support.flow import checkout

ADMIN = "test-admin"
"""A user only the tests have, to set up and break things; the audit never uses it."""


@functools.cache
def no_recorded_stack() -> str:
    """A run/ folder whose stack.json records nothing: the tests' commands never read the
    stack a `make up` of the repository recorded."""
    directory = Path(tempfile.mkdtemp(prefix="livecart-ops-run-"))
    (directory / "stack.json").write_text("{}")
    return str(directory)


def run_ops(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """`livecart-ops *args` in this thread (the CLI runs its own event loop)."""
    clean = {
        "LIVECART_RUN_DIR": no_recorded_stack(),
        "OPS_REDIS_URL": None,
        "REDIS_URL": None,
        "LIVECART_ACL_PASSWORDS": None,
        "LIVECART_ACL_PASSWORDS_FILE": None,
        "LIVECART_STREAM_PREFIX": None,
        "LIVECART_CHECKOUT_PARTITIONS": None,
        "LIVECART_REDIS_CLUSTER": None,
        "ORDERS_DATABASE_URL": None,
        "DATABASE_URL": None,
        "STOREFRONT_DATABASE_URL": None,
    }
    result: Result = CliRunner().invoke(app, list(args), input=input, env={**clean, **(env or {})})
    return result


async def ops(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """`livecart-ops *args` from an async test: in a thread, so the test's loop (and an
    orders service running in it) keeps going."""
    return await asyncio.to_thread(run_ops, *args, input=input, env=env)


def ops_json(result: Result) -> Any:
    assert result.exit_code in (0, 1), f"exit {result.exit_code}: {result.output}"
    return json.loads(result.stdout)


@dataclass
class AclRedis:
    """A redis-server (or the first node of a Redis Cluster) started with the ACL rendered
    for `prefix`; its streams split checkouts over `partitions`."""

    server: RedisServer
    prefix: str
    passwords: dict[str, str]
    acl_file: Path
    partitions: int = 1
    cluster: bool = False

    def url_as(self, user: str) -> str:
        return self.server.url_for(user, self.passwords[user])

    @property
    def admin_url(self) -> str:
        return self.url_as(ADMIN)

    @property
    def streams(self) -> Streams:
        return Streams(self.prefix, self.partitions)

    def ops_args(self, passwords_file: Path | None = None) -> list[str]:
        """Global options that sign in as `ops` (through the passwords file when given)."""
        url = self.server.url if passwords_file else self.url_as("ops")
        args = ["--redis-url", url, "--prefix", self.prefix]
        args += ["--checkout-partitions", str(self.partitions)]
        args += ["--redis-cluster"] if self.cluster else []
        if passwords_file is not None:
            args += ["--acl-passwords", str(passwords_file)]
        return args

    def write_passwords(self, path: Path) -> Path:
        path.write_text(json.dumps({u: self.passwords[u] for u in USERS}))
        return path


def write_acl(
    directory: Path, prefix: str, *, cluster: bool = False
) -> tuple[Path, dict[str, str]]:
    """`render_acl_file`'s ACL, plus the tests' admin user, and the passwords."""
    passwords = {user: secrets.token_urlsafe(16) for user in (*USERS, ADMIN)}
    acl_file = directory / "users.acl"
    directory.mkdir(parents=True, exist_ok=True)
    rendered = render_acl_file(Streams(prefix), passwords, cluster=cluster)
    acl_file.write_text(rendered + f"user {ADMIN} on >{passwords[ADMIN]} ~* &* +@all\n")
    return acl_file, passwords


@contextlib.contextmanager
def acl_redis(directory: Path, prefix: str, *, partitions: int = 1) -> Iterator[AclRedis]:
    """A private redis-server with `render_acl_file`'s ACL (plus the tests' admin user)."""
    acl_file, passwords = write_acl(directory, prefix)
    server = RedisServer(
        directory / "data", appendonly=False, extra_args=("--aclfile", str(acl_file))
    )
    server.start(probe_url=server.url_for("ops", passwords["ops"]))
    try:
        yield AclRedis(server, prefix, passwords, acl_file, partitions)
    finally:
        server.stop()


@contextlib.contextmanager
def acl_redis_cluster(directory: Path, prefix: str, *, partitions: int) -> Iterator[AclRedis]:
    """A three-node Redis Cluster with the ACL rendered for a Cluster on every node; the
    AclRedis names its first node."""
    acl_file, passwords = write_acl(directory, prefix, cluster=True)
    cluster = RedisClusterNodes(
        directory, extra_args=("--aclfile", str(acl_file)), user=ADMIN, password=passwords[ADMIN]
    )
    with cluster:
        yield AclRedis(cluster.nodes[0], prefix, passwords, acl_file, partitions, cluster=True)


def new_checkouts(count: int, **fields: Any) -> list[CheckoutRequested]:
    return [checkout(**fields) for _ in range(count)]


def checkout_fields(item: CheckoutRequested) -> dict[str, str]:
    return encode_entry(
        CheckoutRequestedEvent.new(
            correlation_id=item.checkout_id, producer="storefront", data=item
        )
    )


def partition_of(streams: Streams, item: CheckoutRequested) -> str:
    """The checkout partition the storefront appends `item` to."""
    return streams.checkout_stream_for(line.sku for line in item.items)


async def publish(client: Redis, streams: Streams, items: Iterable[CheckoutRequested]) -> list[str]:
    """XADD each checkout to its partition as the storefront does; the entry ids."""
    ids = []
    for item in items:
        entry_id = await client.xadd(partition_of(streams, item), checkout_fields(item))  # type: ignore[arg-type]
        ids.append(entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id))
    return ids


async def entries(client: Redis, key: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """XRANGE `key`, typed as a bytes client answers."""
    found: list[tuple[bytes, dict[bytes, bytes]]] = await client.xrange(key)  # type: ignore[assignment]
    return found


async def storefront_database(path: Path) -> str:
    """A SQLite storefront DB created by the storefront's own metadata; its URL."""
    url = f"sqlite+aiosqlite:///{path}"
    engine = make_engine(url)
    try:
        await create_tables(engine, storefront_metadata)
    finally:
        await engine.dispose()
    return url
