"""The rate-limit counters on real Redis as the services sign in: under the rendered ACL
(a single server and a three-node Cluster) the storefront's and the notifier's users count
their limits and nothing refuses them; a Redis that does not answer lets requests through
(fail open), counted and logged once."""

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from infra.local.redis_server import free_port
from services.common.rate_limits import RateLimit, RateLimited, SharedRateLimits, redis_storage
from services.common.settings import ServiceSettings
from services.notifier.config import NotifierSettings
from services.storefront.config import StorefrontSettings
from tests.conftest import Database
from tests.integration.test_ops_support import AclRedis, acl_redis, acl_redis_cluster
from tests.support.storefront import running_storefront

PREFIX = "lc-limits-acl"


def settings_of(user: str, url: str, *, cluster: bool = False) -> ServiceSettings:
    kind: type[ServiceSettings] = StorefrontSettings if user == "storefront" else NotifierSettings
    return kind(redis_url=url, stream_prefix=PREFIX, redis_cluster=cluster)


async def hits_until_refused(limits: SharedRateLimits, name: str, subject: str) -> int:
    """How many hits pass before one is refused (a refusal is the proof that Redis counted:
    a denied command would have let every hit through)."""
    for passed in range(10):
        refused = await refusal(limits, name, subject)
        if refused is not None:
            assert 1 <= refused.retry_after <= 60
            return passed
    raise AssertionError("never refused: the counter is not counted")


async def refusal(limits: SharedRateLimits, name: str, subject: str) -> RateLimited | None:
    try:
        await limits.hit(name, subject)
    except RateLimited as refused:
        return refused
    return None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclRedis]:
    with acl_redis(tmp_path_factory.mktemp("redis-acl"), PREFIX) as running:
        yield running


@pytest.mark.parametrize("user", ["storefront", "notifier"])
async def test_under_the_acl_each_user_counts_its_limits_under_the_prefix(
    server: AclRedis, user: str
) -> None:
    limits = SharedRateLimits(
        redis_storage(settings_of(user, server.url_as(user))),
        [RateLimit.of("audit", "audits", "2/minute")],
    )
    admin = Redis.from_url(server.admin_url)
    try:
        assert await hits_until_refused(limits, "audit", f"{user}-client") == 2
        keys = await admin.keys(f"{PREFIX}:ratelimit:*{user}-client*")
        ttls = [await admin.ttl(key) for key in keys]
    finally:
        await limits.close()
        await admin.aclose()
    assert len(ttls) == 1
    assert 0 < ttls[0] <= 60


@pytest.mark.slow
async def test_on_a_redis_cluster_under_its_acl_the_limits_are_counted(tmp_path: Path) -> None:
    with acl_redis_cluster(tmp_path / "cluster", PREFIX, partitions=1) as cluster:
        for user in ("storefront", "notifier"):
            settings = settings_of(user, cluster.url_as(user), cluster=True)
            limits = SharedRateLimits(
                redis_storage(settings), [RateLimit.of("audit", "audits", "3/minute")]
            )
            try:
                subjects = [f"{user}-{n}" for n in range(4)]  # spread over the nodes' slots
                for subject in subjects:
                    assert await hits_until_refused(limits, "audit", subject) == 3
            finally:
                await limits.close()


def unchecked(limit: str) -> float:
    value = REGISTRY.get_sample_value("livecart_rate_limit_unchecked_total", {"limit": limit})
    return value or 0.0


async def test_an_unreachable_redis_lets_every_request_through_counted_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = StorefrontSettings(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    limits = SharedRateLimits(
        redis_storage(settings), [RateLimit.of("unreachable", "tries", "1/minute")]
    )
    before = unchecked("unreachable")
    try:
        with caplog.at_level(logging.WARNING, logger="services.common.rate_limits"):
            for _ in range(5):
                await limits.hit("unreachable", "127.0.0.1")  # never RateLimited
    finally:
        await limits.close()

    assert unchecked("unreachable") == before + 5
    assert len([r for r in caplog.records if "unchecked" in r.getMessage()]) == 1


@pytest.mark.slow  # the storefront's start waits for its readers a few seconds
async def test_the_storefront_starts_sessions_while_its_redis_is_unreachable(
    sqlite_database: Database, stream_prefix: str
) -> None:
    settings = StorefrontSettings(
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        stream_prefix=stream_prefix,
        database_url=sqlite_database.url,
        rate_limit_sessions_per_address="1/minute",
    )
    async for storefront in running_storefront(settings):
        answers = [await storefront.client.post("/api/sessions") for _ in range(3)]
        assert [answer.status_code for answer in answers] == [201] * 3
