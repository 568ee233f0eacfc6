"""The rendered Redis ACL on a real redis-server: every user can do exactly what
`role_probes` declares (with one checkout partition and with four: the same ACL serves
both), the default user cannot get in, and the audit's ACL check sees it."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

from contracts import Streams
from services.ops import acl
from services.ops.acl import USERS, Probe, role_probes
from services.ops.checks.acl import check_acl
from services.ops.checks.result import Outcome
from tests.integration.test_ops_support import AclRedis, acl_redis, ops

PREFIX = "lc-acl"
PARTITIONS = (1, 4)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[AclRedis]:
    with acl_redis(tmp_path / "redis", PREFIX) as running:
        yield running


async def really_allowed(client: Redis, probe: Probe) -> bool:
    """Send the probe for real (a throwaway server): only NOPERM means denied."""
    try:
        await client.execute_command(*probe.args)  # type: ignore[no-untyped-call]
    except NoPermissionError:
        return False
    except ResponseError:  # e.g. NOGROUP: the ACL let it through
        return True
    return True


@pytest.mark.parametrize("partitions", PARTITIONS)
@pytest.mark.parametrize("user", USERS)
async def test_every_probe_of_the_user_is_allowed_or_denied_exactly_as_declared(
    server: AclRedis, user: str, partitions: int
) -> None:
    client = Redis.from_url(server.url_as(user))
    admin = Redis.from_url(server.admin_url)
    try:
        assert await client.ping()
        outcomes = []
        for probe in role_probes(Streams(PREFIX, partitions))[user]:
            sent = await really_allowed(client, probe)
            dry = await admin.execute_command("ACL", "DRYRUN", user, *probe.args)  # type: ignore[no-untyped-call]
            outcomes.append((probe.args[:2], probe.allowed, sent, dry == b"OK"))
    finally:
        await client.aclose()
        await admin.aclose()

    wrong = [
        (args, want, sent, dry) for args, want, sent, dry in outcomes if not want == sent == dry
    ]
    assert wrong == [], "(command, declared, sent for real, ACL DRYRUN)"


async def test_with_four_partitions_the_storefront_appends_to_each_and_orders_consume_each(
    server: AclRedis,
) -> None:
    """Sent for real on this throwaway server: the storefront XADDs to every partition but
    to no DLQ; the orders group reads every partition, dead-letters and reads the DLQ."""
    streams = Streams(PREFIX, 4)
    storefront = Redis.from_url(server.url_as("storefront"))
    orders = Redis.from_url(server.url_as("orders"))
    notifier = Redis.from_url(server.url_as("notifier"))
    try:
        for key in streams.checkout_streams:
            dlq = Streams.dead_letters(key)
            entry_id = await storefront.xadd(key, {"__data__": "{}"})
            with pytest.raises(NoPermissionError):
                await storefront.xadd(dlq, {"__data__": "{}"})
            with pytest.raises(NoPermissionError):
                await notifier.xrange(key)
            await orders.xgroup_create(key, "orders", id="0")
            delivered: Any = await orders.xreadgroup("orders", "o-1", {key: ">"})
            assert delivered[0][1][0][0] == entry_id
            await orders.xadd(dlq, {"__data__": "{}", "dlq.reason": "handler_error"})
            assert await orders.xack(key, "orders", entry_id) == 1
            assert await orders.xlen(dlq) == 1
        with pytest.raises(NoPermissionError):  # a key no partition has: not the storefront's
            await storefront.xadd(f"{PREFIX}:checkout.requested", {"__data__": "{}"})
    finally:
        for client in (storefront, orders, notifier):
            await client.aclose()


async def test_the_sellers_streams_go_from_the_storefront_to_their_readers_only(
    server: AclRedis, tmp_path: Path
) -> None:
    """Sent for real: the storefront appends a flash deal, a cancel request and a room
    change; the orders group consumes and dead-letters the first two; the notifier reads
    room changes but no request; ops replays a dead flash deal into its stream."""
    streams = server.streams
    users = {user: Redis.from_url(server.url_as(user)) for user in USERS}
    storefront, orders, notifier = users["storefront"], users["orders"], users["notifier"]
    try:
        for key in streams.live_requests:
            entry_id = await storefront.xadd(key, {"__data__": "{}"})
            with pytest.raises(NoPermissionError):
                await storefront.xrange(key)
            with pytest.raises(NoPermissionError):
                await notifier.xrange(key)
            await orders.xgroup_create(key, "orders", id="0")
            delivered: Any = await orders.xreadgroup("orders", "o-1", {key: ">"})
            assert delivered[0][1][0][0] == entry_id
            await orders.xadd(Streams.dead_letters(key), {"__data__": "{}", "dlq.reason": "x"})
            assert await orders.xack(key, "orders", entry_id) == 1
        await storefront.xadd(streams.room_changed, {"__data__": "{}"})
        assert len(await notifier.xrange(streams.room_changed)) == 1
        assert len(await storefront.xrevrange(streams.room_changed, count=1)) == 1
        with pytest.raises(NoPermissionError):
            await orders.xrange(streams.room_changed)
        assert await storefront.xrange(streams.room_sales) == []
        with pytest.raises(NoPermissionError):
            await storefront.xadd(streams.order_status, {"__data__": "{}"})
        args = server.ops_args()
        replayed = await ops(*args, "dlq", "replay", "--stream", "flash_deal.requested", "--yes")
        assert "Replayed 1 dead letter into" in replayed.stdout, replayed.output
        assert await orders.xlen(streams.flash_deals) == 2
        assert await orders.xlen(Streams.dead_letters(streams.flash_deals)) == 0
    finally:
        for client in users.values():
            await client.aclose()


async def test_the_default_user_cannot_connect_with_or_without_a_password(
    server: AclRedis,
) -> None:
    for url in (server.server.url, server.server.url_for("default", "anything")):
        client = Redis.from_url(url)
        try:
            with pytest.raises((AuthenticationError, ResponseError)):
                await client.ping()
        finally:
            await client.aclose()


@pytest.mark.parametrize("partitions", PARTITIONS)
async def test_the_audits_acl_check_passes_and_names_every_probe_in_its_evidence(
    server: AclRedis, partitions: int
) -> None:
    streams = Streams(PREFIX, partitions)
    ops = Redis.from_url(server.url_as("ops"))
    try:
        result = await check_acl(
            ops=ops,
            redis_url=server.url_as("ops"),
            streams=streams,
            passwords=server.passwords,
        )
    finally:
        await ops.aclose()

    probes = sum(len(p) for p in role_probes(streams).values())
    assert result.outcome is Outcome.PASSED, result.problems
    assert sum(" — ok" in line for line in result.evidence) == probes
    assert any(
        line.startswith("default user without credentials: refused") for line in result.evidence
    )
    assert any("(dry run: OK)" in line for line in result.evidence)
    assert any("(sent: NOPERM" in line for line in result.evidence)


async def test_the_acl_check_fails_when_the_storefront_may_read_order_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = acl.acl_rules

    def storefront_reads_statuses(streams: Streams, *, cluster: bool) -> dict[str, list[str]]:
        rules = rendered(streams, cluster=cluster)
        rules["storefront"].append(f"%R~{streams.order_status}")
        return rules

    monkeypatch.setattr(acl, "acl_rules", storefront_reads_statuses)
    with acl_redis(tmp_path / "redis", PREFIX) as broken:
        ops = Redis.from_url(broken.url_as("ops"))
        try:
            result = await check_acl(
                ops=ops,
                redis_url=broken.url_as("ops"),
                streams=broken.streams,
                passwords=broken.passwords,
            )
        finally:
            await ops.aclose()

    assert result.outcome is Outcome.FAILED
    assert result.problems == [
        f"storefront: `XRANGE {PREFIX}:{{order.status}} - + COUNT 1` allowed "
        "(sent: answered 0 entries)"
        " — MUST BE DENIED"
    ]


async def test_the_acl_check_fails_without_passwords_and_with_a_wrong_one(
    server: AclRedis,
) -> None:
    ops = Redis.from_url(server.url_as("ops"))
    try:
        without = await check_acl(
            ops=ops, redis_url=server.url_as("ops"), streams=server.streams, passwords={}
        )
        wrong = await check_acl(
            ops=ops,
            redis_url=server.url_as("ops"),
            streams=server.streams,
            passwords={**server.passwords, "notifier": "wrong"},
        )
    finally:
        await ops.aclose()

    assert without.outcome is Outcome.FAILED
    assert "no ACL passwords given" in without.problems[0]
    assert wrong.outcome is Outcome.FAILED
    assert [p.split(" (")[0] for p in wrong.problems] == [
        "notifier: cannot sign in with the given password"
    ]


async def test_the_ops_user_lists_replays_and_purges_dead_letters_under_the_acl(
    server: AclRedis, tmp_path: Path
) -> None:
    admin = Redis.from_url(server.admin_url)
    key = server.streams.checkout_requested
    dlq = Streams.dead_letters(key)
    try:
        for reason in ("handler_error", "invalid_json"):
            await admin.xadd(dlq, {"__data__": "{}", "dlq.reason": reason})
        args = server.ops_args(server.write_passwords(tmp_path / "acl-passwords.json"))

        streams = await ops(*args, "streams", "--json")
        replayed = await ops(*args, "dlq", "replay", "--reason", "handler_error", "--yes")
        purged = await ops(*args, "dlq", "purge", "--yes")

        assert streams.exit_code == 0, streams.output
        assert "Replayed 1 dead letter into" in replayed.stdout, replayed.output
        assert "Purged 1 dead letter of" in purged.stdout, purged.output
        assert (await admin.xlen(key), await admin.xlen(dlq)) == (1, 0)
    finally:
        await admin.aclose()


async def test_the_ops_user_replays_dead_letters_of_every_partition_into_their_own(
    tmp_path: Path,
) -> None:
    with acl_redis(tmp_path / "redis", PREFIX, partitions=4) as server:
        admin = Redis.from_url(server.admin_url)
        first, third = server.streams.checkout_streams[0], server.streams.checkout_streams[2]
        try:
            for key in (first, third, third):
                dlq = Streams.dead_letters(key)
                await admin.xadd(dlq, {"__data__": "{}", "dlq.reason": "handler_error"})
            args = server.ops_args()

            listed = await ops(*args, "dlq", "list", "--json")
            replayed = await ops(*args, "dlq", "replay", "--yes")

            assert listed.exit_code == 0, listed.output
            document = json.loads(listed.stdout)
            assert document["stream"] == f"{PREFIX}:{{checkout.requested*}}"
            assert [x["stream"] for x in document["dead_letters"]] == [first, third, third]
            assert "Replayed 3 dead letters into" in replayed.stdout, replayed.output
            lengths = [await admin.xlen(key) for key in server.streams.checkout_streams]
            assert lengths == [1, 0, 2, 0]
            assert [
                await admin.xlen(Streams.dead_letters(key))
                for key in server.streams.checkout_streams
            ] == [0, 0, 0, 0]
        finally:
            await admin.aclose()
