"""When Redis or a database cannot be reached or refuses, livecart-ops says so in one line
and exits 2: no traceback."""

from pathlib import Path

import pytest
from redis.asyncio import Redis

from contracts import Streams
from tests.integration.test_ops_support import AclRedis, acl_redis, ops, ops_json

NOWHERE = "redis://127.0.0.1:1/0"


@pytest.fixture
def server(tmp_path: Path, stream_prefix: str) -> object:
    with acl_redis(tmp_path / "redis", stream_prefix) as running:
        yield running


@pytest.mark.parametrize(
    "command", [["streams"], ["streams", "--json"], ["dlq", "list"], ["trace", "co-1"]]
)
async def test_an_unreachable_redis_is_named_in_one_line_without_a_traceback(
    command: list[str],
) -> None:
    result = await ops("--redis-url", NOWHERE, *command)

    assert result.exit_code == 2
    assert "livecart-ops: cannot reach Redis at redis://127.0.0.1:1/0" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


async def test_a_redis_that_wants_credentials_says_how_to_give_the_ops_users(
    server: AclRedis,
) -> None:
    result = await ops("--redis-url", server.server.url, "streams")

    assert result.exit_code == 2
    assert "refused to sign in" in result.stderr
    assert "--acl-passwords" in result.stderr


async def test_a_password_in_the_url_is_never_printed(server: AclRedis) -> None:
    wrong = server.server.url_for("ops", "s3cret-wrong")

    result = await ops("--redis-url", wrong, "streams")

    assert result.exit_code == 2
    assert "redis://ops:***@127.0.0.1" in result.stderr
    assert "s3cret-wrong" not in result.output


async def test_a_command_the_ops_user_may_not_run_is_refused_with_a_clear_message(
    server: AclRedis,
) -> None:
    admin = Redis.from_url(server.admin_url)
    dlq = Streams.dead_letters(server.streams.order_status)
    await admin.xadd(dlq, {"__data__": "{}", "dlq.reason": "handler_error"})
    await admin.aclose()

    result = await ops(*server.ops_args(), "dlq", "replay", "--stream", "order.status", "--yes")

    assert result.exit_code == 2
    assert "Redis refused" in result.stderr
    assert "Traceback" not in result.output


async def test_a_missing_orders_db_fails_the_reconciliation_saying_where_it_looked(
    server: AclRedis, tmp_path: Path
) -> None:
    missing = f"sqlite+aiosqlite:///{tmp_path / 'nothing-here.db'}"
    admin = Redis.from_url(server.admin_url)
    await admin.xadd(server.streams.order_status, {"__data__": "{}"})  # a livecart stack
    await admin.aclose()
    result = await ops(
        *server.ops_args(), "--orders-db", missing, "--storefront-db", missing, "audit", "--json"
    )

    document = ops_json(result)
    problems = {c["key"]: c["problems"] for c in document["checks"]}
    assert result.exit_code == 1
    assert f"no database file at {tmp_path / 'nothing-here.db'}" in problems["reconciliation"][0]
    assert "no database file" in problems["storefront-schema"][0]
    assert not (tmp_path / "nothing-here.db").exists(), "read-only: never creates a database"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dlq", "list", "--since", "yesterday"], "is not an ISO 8601 time"),
        (["dlq", "list", "--stream", "orders.secret"], "unknown stream 'orders.secret'"),
        (["audit", "--skip", "everything"], "unknown check everything"),
    ],
)
async def test_bad_options_are_refused_with_the_reason(
    redis_url: str, args: list[str], message: str
) -> None:
    result = await ops("--redis-url", redis_url, *args)

    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output


async def test_an_unreadable_passwords_file_is_named(tmp_path: Path, redis_url: str) -> None:
    broken = tmp_path / "passwords.json"
    broken.write_text("not json")

    missing = await ops("--acl-passwords", str(tmp_path / "none.json"), "streams")
    invalid = await ops("--acl-passwords", str(broken), "streams")

    assert missing.exit_code == invalid.exit_code == 2
    assert "cannot read the ACL passwords file" in missing.stderr
    assert "is not JSON" in invalid.stderr
