"""`make up`'s Redis: a private redis-server it starts gets the rendered ACL, with passwords
generated once (0600) and one URL per service; a Redis that already answers is left alone."""

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from contracts import Streams
from infra.local import stack_redis
from infra.local.processes import stop
from infra.local.redis_server import free_port, redis_answers
from infra.local.stack_config import RunPaths, StackError, Started
from infra.local.stack_redis import ensure_redis
from infra.local.stack_state import recorded_stack, write_stack_record
from tests.integration.test_ops_support import run_ops

NOWHERE = {"REDIS_URL": "redis://127.0.0.1:1/0"}
PREFIX = "lc-up"


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[Started]:
    """What the test's `ensure_redis` calls started, stopped afterwards."""
    monkeypatch.setattr(stack_redis, "DEFAULT_REDIS_PORT", free_port())
    processes: Started = []
    yield processes
    for _, marker, pid in reversed(processes):
        stop(pid, marker=marker)


def test_a_private_redis_starts_with_one_acl_user_per_service_and_the_default_user_off(
    tmp_path: Path, started: Started, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = RunPaths(tmp_path / "run")

    access = ensure_redis(paths, NOWHERE, started, stream_prefix=PREFIX)

    assert "ACL with one user per service" in capsys.readouterr().out
    assert set(access.service_urls) == {
        "STOREFRONT_REDIS_URL",
        "ORDERS_REDIS_URL",
        "NOTIFIER_REDIS_URL",
    }
    assert not redis_answers(access.url), "the default user is off"
    assert access.ops_url is not None
    assert redis_answers(access.ops_url)
    streams = Streams(PREFIX)
    storefront = redis.Redis.from_url(access.service_urls["STOREFRONT_REDIS_URL"])
    notifier = redis.Redis.from_url(access.service_urls["NOTIFIER_REDIS_URL"])
    try:
        assert storefront.xadd(streams.checkout_requested, {"__data__": "{}"})
        with pytest.raises(redis.exceptions.NoPermissionError):
            notifier.xadd(streams.checkout_requested, {"__data__": "{}"})
        # The same ACL serves any number of checkout partitions.
        for key in Streams(PREFIX, 4).checkout_streams:
            assert storefront.xadd(key, {"__data__": "{}"})
            with pytest.raises(redis.exceptions.NoPermissionError):
                storefront.xadd(Streams.dead_letters(key), {"__data__": "{}"})
    finally:
        storefront.close()
        notifier.close()


def test_the_passwords_are_generated_once_kept_0600_and_never_written_in_the_acl_file(
    tmp_path: Path, started: Started
) -> None:
    paths = RunPaths(tmp_path / "run")
    first = ensure_redis(paths, NOWHERE, started, stream_prefix=PREFIX)
    passwords = json.loads(paths.acl_passwords.read_text())

    again = ensure_redis(paths, NOWHERE, started, stream_prefix=PREFIX)

    assert len(started) == 1, "the running private Redis is used again"
    assert again == first
    assert json.loads(paths.acl_passwords.read_text()) == passwords
    for path in (paths.acl_passwords, paths.acl_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    acl_text = paths.acl_file.read_text()
    assert not any(password in acl_text for password in passwords.values())
    with pytest.raises(StackError, match="make down"):
        ensure_redis(paths, NOWHERE, started, stream_prefix="another-prefix")


def test_livecart_ops_finds_the_stack_make_up_recorded_and_signs_in_as_ops(
    tmp_path: Path, started: Started
) -> None:
    paths = RunPaths(tmp_path / "run")
    access = ensure_redis(paths, NOWHERE, started, stream_prefix=PREFIX)
    write_stack_record(paths.root, recorded_stack(
        {}, access=access, stream_prefix=PREFIX, checkout_partitions=2, root=tmp_path,
    ))  # fmt: skip
    before_any_stream = run_ops("--stack-dir", str(paths.root), "streams")
    orders = redis.Redis.from_url(access.service_urls["ORDERS_REDIS_URL"])
    try:
        orders.xadd(Streams(PREFIX).order_status, {"__data__": "{}"})
    finally:
        orders.close()

    result = run_ops("--stack-dir", str(paths.root), "streams", "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["prefix"], document["checkout_partitions"]) == (PREFIX, 2)
    assert before_any_stream.exit_code == 2
    assert f"no livecart stream at redis://ops:***@{access.url.split('//')[1]}" in (
        before_any_stream.stderr
    )


def test_a_redis_that_already_answers_is_used_as_it_is_and_its_acl_left_alone(
    tmp_path: Path, started: Started, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = RunPaths(tmp_path / "run")

    access = ensure_redis(paths, {"REDIS_URL": redis_url}, started, stream_prefix=PREFIX)

    assert (access.url, access.service_urls, access.acl) == (redis_url, {}, False)
    assert started == []
    assert not paths.acl_passwords.exists()
    assert "its ACL is left alone" in capsys.readouterr().out
