"""livecart-ops settings: URLs per ACL user, passwords never shown, passwords loaded, and the
services' prefix, checkout partitions and Redis Cluster switch read as they read them."""

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pytest
import typer
from pydantic import ValidationError
from typer.testing import CliRunner

from services.common.settings import ServiceSettings
from services.ops.cli import app, options
from services.ops.cli_support import config_of
from services.ops.config import OpsConfig, OpsError, load_acl_passwords, redact, url_for_user


def test_a_user_url_replaces_the_credentials_and_quotes_the_password() -> None:
    assert url_for_user("redis://old:pw@10.0.0.5:6380/2", "ops", "p@ss/w:rd") == (
        "redis://ops:p%40ss%2Fw%3Ard@10.0.0.5:6380/2"
    )
    assert url_for_user("rediss://u:p@host/0", None, None) == "rediss://host/0"


def test_a_redacted_url_shows_the_user_but_never_the_password() -> None:
    assert redact("redis://ops:very-secret@127.0.0.1:6379/0") == "redis://ops:***@127.0.0.1:6379/0"
    assert redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_ops_sign_in_as_the_ops_user_when_the_url_names_no_user_and_a_password_is_known() -> None:
    plain = OpsConfig(redis_url="redis://h:1/0", acl_passwords={"ops": "pw"})
    named = OpsConfig(redis_url="redis://notifier:x@h:1/0", acl_passwords={"ops": "pw"})
    unknown = OpsConfig(redis_url="redis://h:1/0")

    assert plain.ops_url == "redis://ops:pw@h:1/0"
    assert named.ops_url == "redis://notifier:x@h:1/0"
    assert unknown.ops_url == "redis://h:1/0"


def test_passwords_come_from_the_file_before_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "passwords.json"
    path.write_text(json.dumps({"ops": "from-file"}))

    assert load_acl_passwords(env_json='{"ops": "from-env"}', path=path) == {"ops": "from-file"}
    assert load_acl_passwords(env_json='{"ops": "from-env"}', path=None) == {"ops": "from-env"}
    assert load_acl_passwords(env_json=None, path=None) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [("{oops", "is not JSON"), ('["ops"]', "must be a JSON object"), ('{"ops": 1}', "JSON object")],
)
def test_passwords_that_are_not_a_json_object_of_strings_are_refused(
    text: str, message: str
) -> None:
    with pytest.raises(OpsError, match=message):
        load_acl_passwords(env_json=text, path=None)


def test_the_streams_carry_the_configured_checkout_partitions() -> None:
    assert OpsConfig().streams.checkout_streams == ("livecart:{checkout.requested}",)
    assert OpsConfig(prefix="lc", checkout_partitions=3).streams.checkout_streams == (
        "lc:{checkout.requested.0}",
        "lc:{checkout.requested.1}",
        "lc:{checkout.requested.2}",
    )


@pytest.mark.parametrize(
    ("prefix", "accepted"),
    [
        ("livecart", True),
        ("lc-test_1.a:b", True),
        ("{livecart}", False),
        ("a b", False),
        ("", False),
    ],
)
def test_a_prefix_is_refused_exactly_when_the_services_refuse_it(
    prefix: str, accepted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("LIVECART_ENV", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    try:
        ServiceSettings(stream_prefix=prefix)
        services_accept = True
    except ValidationError:
        services_accept = False
    try:
        OpsConfig(prefix=prefix)
        ops_accept = True
    except OpsError:
        ops_accept = False

    assert services_accept == ops_accept == accepted


def test_partitions_out_of_range_are_refused() -> None:
    with pytest.raises(OpsError, match=r"checkout partitions must be 1\.\.256"):
        OpsConfig(checkout_partitions=0)


def options_seen(args: list[str], env: Mapping[str, str | None]) -> OpsConfig:
    """The OpsConfig the CLI builds from `args` and `env` (the command itself not run); the
    run/ folder of the repository is not read unless `env` names it (LIVECART_RUN_DIR)."""
    seen: list[OpsConfig] = []
    probe = typer.Typer()
    probe.callback()(options)

    @probe.command()
    def show(ctx: typer.Context) -> None:
        seen.append(config_of(ctx))

    with tempfile.TemporaryDirectory() as nothing_recorded:
        (Path(nothing_recorded) / "stack.json").write_text("{}")
        env = {"LIVECART_RUN_DIR": nothing_recorded, **env}
        result = CliRunner().invoke(probe, [*args, "show"], env=env)
    assert result.exit_code == 0, result.output
    return seen[0]


def test_the_cli_reads_partitions_and_cluster_from_the_services_environment() -> None:
    clean = {"LIVECART_CHECKOUT_PARTITIONS": None, "LIVECART_REDIS_CLUSTER": None}

    default = options_seen([], clean)
    from_env = options_seen(
        [], {"LIVECART_CHECKOUT_PARTITIONS": "4", "LIVECART_REDIS_CLUSTER": "true"}
    )
    from_options = options_seen(
        ["--checkout-partitions", "2", "--no-redis-cluster"],
        {"LIVECART_CHECKOUT_PARTITIONS": "4", "LIVECART_REDIS_CLUSTER": "true"},
    )

    assert (default.checkout_partitions, default.redis_cluster) == (1, False)
    assert (from_env.checkout_partitions, from_env.redis_cluster) == (4, True)
    assert (from_options.checkout_partitions, from_options.redis_cluster) == (2, False)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--checkout-partitions", "0"], "--checkout-partitions"),
        (["--prefix", "{livecart}"], "no braces"),
    ],
)
def test_a_bad_partition_count_or_prefix_stops_the_cli_with_the_reason(
    args: list[str], message: str
) -> None:
    env = {"LIVECART_STREAM_PREFIX": None, "LIVECART_RUN_DIR": None}
    result = CliRunner().invoke(app, [*args, "streams"], env=env)

    assert result.exit_code == 2
    assert message in result.output
