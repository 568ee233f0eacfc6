"""The rendered Redis ACL on a real redis-server: every user can do exactly what
`role_probes` declares, the default user cannot get in, and the audit's ACL check sees it."""

from collections.abc import Iterator
from pathlib import Path

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


@pytest.mark.parametrize("user", USERS)
async def test_every_probe_of_the_user_is_allowed_or_denied_exactly_as_declared(
    server: AclRedis, user: str
) -> None:
    client = Redis.from_url(server.url_as(user))
    admin = Redis.from_url(server.admin_url)
    try:
        assert await client.ping()
        outcomes = []
        for probe in role_probes(Streams(PREFIX))[user]:
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


async def test_the_audits_acl_check_passes_and_names_every_probe_in_its_evidence(
    server: AclRedis,
) -> None:
    ops = Redis.from_url(server.url_as("ops"))
    try:
        result = await check_acl(
            ops=ops,
            redis_url=server.url_as("ops"),
            streams=server.streams,
            passwords=server.passwords,
        )
    finally:
        await ops.aclose()

    probes = sum(len(p) for p in role_probes(server.streams).values())
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

    def storefront_reads_statuses(streams: Streams) -> dict[str, list[str]]:
        rules = rendered(streams)
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
        f"storefront: `XRANGE {PREFIX}:order.status - + COUNT 1` allowed (sent: answered 0 entries)"
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
