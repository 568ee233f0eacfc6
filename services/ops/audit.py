"""The separation audit: proof that the storefront and the marketplace stay apart.

`run_audit` runs five checks against the live system and returns their results with the
evidence; the CLI renders them (terminal, Markdown, HTML). A check that cannot run (Redis
or a database away) fails, saying why: an audit that did not look has not passed.
"""

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisClusterException, RedisError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from services.ops.checks import acl, credentials, payment_data, reconciliation, schema
from services.ops.checks.result import CheckResult, Outcome
from services.ops.checks.sources import (
    dead_lettered_checkouts,
    read_group_position,
    read_published,
)
from services.ops.config import OpsConfig, OpsError, redact
from services.ops.connections import open_database, open_ops_redis
from services.ops.keys import checkout_streams_in
from services.ops.orders_db import order_summaries, payment_outcomes
from services.ops.stack_check import require_livecart_streams

CHECKS = {
    schema.KEY: schema.TITLE,
    acl.KEY: acl.TITLE,
    reconciliation.KEY: reconciliation.TITLE,
    payment_data.KEY: payment_data.TITLE,
    credentials.KEY: credentials.TITLE,
}


@dataclass(frozen=True)
class AuditSettings:
    config: OpsConfig
    sample: int = 200
    grace_seconds: float = 300.0
    skip: frozenset[str] = frozenset()
    skip_reasons: dict[str, str] = field(default_factory=dict)
    """Why a check in `skip` is left out, when not on request."""

    def skip_reason(self, key: str) -> str | None:
        if key not in self.skip:
            return None
        return self.skip_reasons.get(key, "skipped on request (--skip)")


@dataclass(frozen=True)
class AuditReport:
    started_at: datetime
    seconds: float
    redis: str
    prefix: str
    orders_db: str
    storefront_db: str
    checks: list[CheckResult] = field(default_factory=list)
    checkout_partitions: int = 1
    redis_cluster: bool = False

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed(self) -> list[str]:
        return [check.key for check in self.checks if check.outcome is Outcome.FAILED]


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


Work = Callable[[], Awaitable[CheckResult]]


async def _guarded(key: str, settings: AuditSettings, work: Work) -> CheckResult:
    if (reason := settings.skip_reason(key)) is not None:
        return CheckResult(key, CHECKS[key], Outcome.SKIPPED, reason)
    try:
        return await work()
    except (OpsError, RedisError, RedisClusterException, SQLAlchemyError, OSError) as exc:
        return CheckResult(key, CHECKS[key], Outcome.FAILED, "could not run", [], [f"{exc}"])


async def run_audit(settings: AuditSettings) -> AuditReport:
    """Run every check (but those in `settings.skip`) and collect their results."""
    config = settings.config
    started, clock = datetime.now(UTC), time.monotonic()
    where = _shown(config.storefront_db)
    storefront, storefront_error = await _read_storefront(config)

    async def schema_check() -> CheckResult:
        if storefront is None:
            raise OpsError(storefront_error)
        return schema.check_storefront_schema(storefront, where=where)

    checks = [await _guarded(schema.KEY, settings, schema_check)]
    async with contextlib.AsyncExitStack() as stack:
        client: Redis | None = None
        redis_error = ""
        try:
            client = await stack.enter_async_context(open_ops_redis(config))
        except OpsError as exc:
            redis_error = str(exc)
        if client is not None:  # a Redis of no livecart stack: no verdict at all, say why
            await require_livecart_streams(client, config)

        def on_redis(work: Callable[[Redis], Awaitable[CheckResult]]) -> Work:
            async def guarded() -> CheckResult:
                if client is None:
                    raise OpsError(redis_error)
                return await work(client)

            return guarded

        async def acl_check(c: Redis) -> CheckResult:
            return await acl.check_acl(
                ops=c,
                redis_url=config.ops_url,
                streams=config.streams,
                passwords=config.acl_passwords,
                cluster=config.redis_cluster,
            )

        async def payment_check(c: Redis) -> CheckResult:
            return await payment_data.check_payment_data(
                client=c,
                streams=config.streams,
                sample=settings.sample,
                schema=storefront,
                where=where if storefront is not None else storefront_error,
            )

        async def reconcile_check(c: Redis) -> CheckResult:
            return await _reconcile(c, settings)

        for key, work in (
            (acl.KEY, acl_check),
            (reconciliation.KEY, reconcile_check),
            (payment_data.KEY, payment_check),
        ):
            checks.append(await _guarded(key, settings, on_redis(work)))
    checks.append(await _guarded(credentials.KEY, settings, lambda: _seller_credentials(config)))
    return AuditReport(
        started_at=started,
        seconds=time.monotonic() - clock,
        redis=redact(config.ops_url),
        prefix=config.prefix,
        orders_db=_shown(config.orders_db),
        storefront_db=where,
        checks=checks,
        checkout_partitions=config.checkout_partitions,
        redis_cluster=config.redis_cluster,
    )


async def _read_storefront(config: OpsConfig) -> tuple[schema.Schema | None, str]:
    try:
        async with open_database(
            config.storefront_db, what="the storefront database", schema=config.storefront_schema
        ) as conn:
            return await schema.read_schema(conn, config.storefront_schema), ""
    except OpsError as exc:
        return None, str(exc)


async def _seller_credentials(config: OpsConfig) -> CheckResult:
    """Both databases, each on its own: one that cannot be read fails the check, saying
    why, and the other is still looked at."""
    stored: list[credentials.StoredCredentials] = []
    unread: list[str] = []
    for what, url, schema_name in (
        ("orders DB", config.orders_db, config.orders_schema),
        ("storefront DB", config.storefront_db, config.storefront_schema),
    ):
        try:
            async with open_database(url, what=f"the {what}", schema=schema_name) as conn:
                found = await credentials.read_credentials(conn, where=what, schema=schema_name)
        except OpsError as exc:
            unread.append(f"{what} not read: {exc}")
        else:
            stored.append(found)
    return credentials.check_seller_credentials(stored, unread=unread)


async def _reconcile(client: Redis, settings: AuditSettings) -> CheckResult:
    """Over every checkout partition: the configured ones, and any other Redis holds."""
    config = settings.config
    keys = await checkout_streams_in(client, config.streams)
    names = {key: config.streams.short_name(key) for key in keys}
    published = await read_published(client, names)
    groups = {names[key]: await read_group_position(client, key) for key in keys}
    letters: dict[str, str] = {}
    for key in keys:
        letters |= await dead_lettered_checkouts(client, key)
    async with open_database(
        config.orders_db, what="the orders database", schema=config.orders_schema
    ) as conn:
        orders, payments = await order_summaries(conn), await payment_outcomes(conn)
    return reconciliation.reconcile(
        published=published,
        orders=orders,
        payments=payments,
        groups=groups,
        dead_letters=letters,
        now=datetime.now(UTC),
        grace=timedelta(seconds=settings.grace_seconds),
    )
