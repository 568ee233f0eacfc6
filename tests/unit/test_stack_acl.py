"""The Redis ACL `make up` gives its private redis-server: passwords generated once and kept
0600, the ACL file rendered without them, one URL per service, and what `up` prints."""

import json
import stat
from pathlib import Path

import pytest

from contracts import Streams
from infra.local.stack_acl import (
    RedisAccess,
    access_with_acl,
    load_or_create_passwords,
    operations_hint,
    user_url,
    write_acl_file,
)
from infra.local.stack_config import RunPaths, StackError, service_environment, summary
from services.ops.acl import USERS

PASSWORDS = {user: f"pw-of-{user}" for user in USERS}
PORTS = {"storefront": 8000, "notifier": 8001, "orders": 8002}


def test_passwords_are_generated_once_for_every_user_and_kept_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "run" / "redis" / "acl-passwords.json"

    first = load_or_create_passwords(path)
    second = load_or_create_passwords(path)

    assert set(first) == set(USERS)
    assert len(set(first.values())) == len(USERS)
    assert all(len(password) >= 24 for password in first.values())
    assert second == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_user_missing_from_the_passwords_file_gets_one_and_the_others_are_kept(
    tmp_path: Path,
) -> None:
    path = tmp_path / "acl-passwords.json"
    path.write_text(json.dumps({"ops": "kept"}))

    passwords = load_or_create_passwords(path)

    assert passwords["ops"] == "kept"
    assert set(passwords) == set(USERS)
    assert json.loads(path.read_text()) == passwords


def test_a_passwords_file_that_is_not_json_is_refused_with_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "acl-passwords.json"
    path.write_text("{")

    with pytest.raises(StackError, match="delete it"):
        load_or_create_passwords(path)


def test_the_acl_file_holds_password_hashes_only_and_is_owner_only(tmp_path: Path) -> None:
    path = write_acl_file(tmp_path / "users.acl", Streams("lc"), PASSWORDS)

    text = path.read_text()
    assert text.startswith("user default off")
    assert all(f"user {user} on #" in text for user in USERS)
    assert not any(password in text for password in PASSWORDS.values())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_acl_file_carries_the_sellers_streams_for_each_user(tmp_path: Path) -> None:
    text = write_acl_file(tmp_path / "users.acl", Streams("lc"), PASSWORDS).read_text()
    lines = {line.split()[1]: line.split() for line in text.splitlines()}

    for stream in ("flash_deal.requested", "order.cancellation_requested"):
        assert f"%W~lc:{{{stream}}}" in lines["storefront"]
    assert "%RW~lc:{room.changed}" in lines["storefront"]
    assert "%R~lc:{room.sales}" in lines["storefront"]
    for stream in ("flash_deal.requested", "order.cancellation_requested"):
        assert f"~lc:{{{stream}}}" in lines["orders"]
        assert f"~lc:{{{stream}}}.dlq" in lines["orders"]
        assert f"%W~lc:{{{stream}}}" in lines["ops"]
    assert "%R~lc:{room.changed}" in lines["notifier"]
    assert not any("room.changed" in rule for rule in lines["keda"] + lines["orders"])


def test_each_service_gets_a_url_signed_in_as_its_own_user() -> None:
    access = access_with_acl("redis://127.0.0.1:6390/0", PASSWORDS, RunPaths(Path("/r/run")))

    assert access.service_urls == {
        "STOREFRONT_REDIS_URL": "redis://storefront:pw-of-storefront@127.0.0.1:6390/0",
        "ORDERS_REDIS_URL": "redis://orders:pw-of-orders@127.0.0.1:6390/0",
        "NOTIFIER_REDIS_URL": "redis://notifier:pw-of-notifier@127.0.0.1:6390/0",
    }
    assert access.ops_url == "redis://ops:pw-of-ops@127.0.0.1:6390/0"
    assert access.passwords_file == Path("/r/run/redis/acl-passwords.json")
    assert access.acl
    assert user_url("redis://a:b@h:1/0", "x", "p/q") == "redis://x:p%2Fq@h:1/0"


def test_the_services_environment_carries_each_services_own_redis_url() -> None:
    access = access_with_acl("redis://127.0.0.1:6390/0", PASSWORDS, RunPaths(Path("/r/run")))

    env = service_environment(
        {}, redis_url=access.url, ports=PORTS, service_urls=access.service_urls
    )

    assert "REDIS_URL" not in env, "a shared URL would win over each service's own"
    assert env["ORDERS_REDIS_URL"].startswith("redis://orders:")
    assert env["STOREFRONT_REDIS_URL"].startswith("redis://storefront:")
    assert "OPS_REDIS_URL" not in env, "no service runs as ops"


def test_up_prints_how_to_run_livecart_ops_but_never_a_password() -> None:
    access = access_with_acl("redis://127.0.0.1:6390/0", PASSWORDS, RunPaths(Path("/r/run")))

    text = summary(
        ports=PORTS,
        redis_url=access.url,
        stream_prefix="lc",
        logs=Path("/r/run/logs"),
        operations=operations_hint(access, stream_prefix="lc"),
    )

    assert "passwords in /r/run/redis/acl-passwords.json (0600)" in text
    assert "in run/stack.json" in text
    assert "\n  .venv/bin/livecart-ops streams\n  make audit\n" in text, "no option needed"
    assert not any(password in text for password in PASSWORDS.values())


def test_up_says_it_left_the_acl_of_an_existing_redis_alone() -> None:
    lines = operations_hint(RedisAccess("redis://localhost:6379/0"), stream_prefix="lc")

    assert "left alone" in lines[0]
    assert "finds prefix 'lc' and this Redis in run/stack.json" in lines[1]
    assert lines[2:] == ["  .venv/bin/livecart-ops streams", "  make audit"]
