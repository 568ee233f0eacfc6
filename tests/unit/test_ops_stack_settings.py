"""livecart-ops finds the stack `make up` recorded in run/: an option wins over its variable,
the variable over run/stack.json, run/stack.json over the built-in default; the recorded ACL
passwords only ever go to the recorded Redis. And `make up` records what ops need."""

import json
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from infra.local.stack_acl import RedisAccess
from infra.local.stack_state import absolute_sqlite, recorded_stack, write_stack_record
from services.ops.cli import app, options
from services.ops.cli_support import config_of
from services.ops.config import OpsConfig, OpsError
from services.ops.stack_record import RecordedStack, read_recorded_stack
from services.ops.stack_settings import DEFAULT, resolve_config

RECORDED_REDIS = "redis://127.0.0.1:6390/0"
VARIABLES = (
    "OPS_REDIS_URL", "REDIS_URL", "LIVECART_STREAM_PREFIX", "LIVECART_CHECKOUT_PARTITIONS",
    "LIVECART_REDIS_CLUSTER", "ORDERS_DATABASE_URL", "DATABASE_URL",
    "STOREFRONT_DATABASE_URL", "ORDERS_DATABASE_SCHEMA", "STOREFRONT_DATABASE_SCHEMA",
    "LIVECART_ACL_PASSWORDS", "LIVECART_ACL_PASSWORDS_FILE", "LIVECART_RUN_DIR",
)  # fmt: skip
UNSET: dict[str, str | None] = dict.fromkeys(VARIABLES)


def a_run_dir(tmp_path: Path, **recorded: object) -> Path:
    """A run/ folder as `make up` leaves it: stack.json and the ACL passwords file."""
    run = tmp_path / "run"
    passwords = run / "redis" / "acl-passwords.json"
    passwords.parent.mkdir(parents=True)
    passwords.write_text(json.dumps({"ops": "recorded-pw"}))
    stack = {
        "redis_url": RECORDED_REDIS,
        "stream_prefix": "lc-try",
        "checkout_partitions": 3,
        "redis_cluster": False,
        "acl": True,
        "acl_passwords_file": str(passwords),
        "orders_database_url": f"sqlite+aiosqlite:///{run / 'orders.db'}",
        "storefront_database_url": f"sqlite+aiosqlite:///{run / 'storefront.db'}",
        **recorded,
    }
    (run / "stack.json").write_text(json.dumps(stack))
    return run


def seen(args: list[str], env: dict[str, str | None]) -> OpsConfig:
    """The OpsConfig the CLI builds (its command not run), with only `env` set."""
    found: list[OpsConfig] = []
    probe = typer.Typer()
    probe.callback()(options)

    @probe.command()
    def show(ctx: typer.Context) -> None:
        found.append(config_of(ctx))

    result = CliRunner().invoke(probe, [*args, "show"], env={**UNSET, **env})
    assert result.exit_code == 0, result.output
    return found[0]


def test_every_setting_comes_from_run_when_no_option_or_variable_gives_it(
    tmp_path: Path,
) -> None:
    run = a_run_dir(tmp_path)

    config = seen(["--stack-dir", str(run)], {})

    assert config.redis_url == RECORDED_REDIS
    assert (config.prefix, config.checkout_partitions, config.redis_cluster) == ("lc-try", 3, False)
    assert config.orders_db == f"sqlite+aiosqlite:///{run / 'orders.db'}"
    assert config.storefront_db == f"sqlite+aiosqlite:///{run / 'storefront.db'}"
    assert config.ops_url == "redis://ops:recorded-pw@127.0.0.1:6390/0"
    assert config.origin("prefix") == str(run / "stack.json")


def test_an_option_wins_over_its_variable_which_wins_over_run(tmp_path: Path) -> None:
    run = a_run_dir(tmp_path)
    env: dict[str, str | None] = {"LIVECART_RUN_DIR": str(run), "LIVECART_STREAM_PREFIX": "env"}

    from_env = seen([], {**env, "LIVECART_CHECKOUT_PARTITIONS": "2"})
    from_option = seen(["--prefix", "flag", "--checkout-partitions", "5"], env)

    assert (from_env.prefix, from_env.checkout_partitions) == ("env", 2)
    assert from_env.origin("prefix") == "LIVECART_STREAM_PREFIX"
    assert from_env.redis_url == RECORDED_REDIS, "what no option or variable gives: from run/"
    assert (from_option.prefix, from_option.checkout_partitions) == ("flag", 5)
    assert from_option.origin("prefix") == "--prefix"


def test_without_a_recorded_stack_the_built_in_defaults_hold(tmp_path: Path) -> None:
    (tmp_path / "stack.json").write_text("{}")

    config = seen(["--stack-dir", str(tmp_path)], {})

    assert config == OpsConfig()
    assert config.origin("redis_url") == DEFAULT


def test_the_recorded_passwords_never_go_to_another_redis(tmp_path: Path) -> None:
    run = a_run_dir(tmp_path)

    elsewhere = seen(["--stack-dir", str(run), "--redis-url", "redis://10.1.1.1:6379/0"], {})
    same = seen(["--stack-dir", str(run)], {"REDIS_URL": "redis://127.0.0.1:6390/0"})

    assert elsewhere.acl_passwords == {}
    assert elsewhere.ops_url == "redis://10.1.1.1:6379/0"
    assert same.acl_passwords == {"ops": "recorded-pw"}


def test_passwords_given_by_option_or_variable_win_over_the_recorded_file(tmp_path: Path) -> None:
    run = a_run_dir(tmp_path)
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"ops": "from-option"}))

    by_option = seen(["--stack-dir", str(run), "--acl-passwords", str(mine)], {})
    by_json = seen(["--stack-dir", str(run)], {"LIVECART_ACL_PASSWORDS": '{"ops": "from-json"}'})

    assert by_option.acl_passwords == {"ops": "from-option"}
    assert by_json.acl_passwords == {"ops": "from-json"}


def test_a_stack_dir_that_records_nothing_is_refused_naming_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--stack-dir", str(tmp_path / "none"), "streams"], env=UNSET)

    assert result.exit_code == 2
    assert f"no stack recorded in {tmp_path / 'none'}" in result.output


def test_a_stack_recorded_without_the_acl_says_so_for_its_redis_only() -> None:
    recorded = RecordedStack(redis_url=RECORDED_REDIS, acl=False)

    on_it = resolve_config(given={}, recorded=recorded, record_origin="run/stack.json")
    elsewhere = resolve_config(
        given={"redis_url": ("redis://10.1.1.1:6379/0", "--redis-url")},
        recorded=recorded,
        record_origin="run/stack.json",
    )

    assert on_it.stack_without_acl
    assert not elsewhere.stack_without_acl


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{oops", "cannot read"),
        ("[]", "not a JSON object"),
        ('{"checkout_partitions": "3"}', "must be a whole number"),
    ],
)
def test_a_broken_stack_file_is_refused_saying_how_to_rewrite_it(
    tmp_path: Path, text: str, message: str
) -> None:
    (tmp_path / "stack.json").write_text(text)

    with pytest.raises(OpsError, match=message):
        read_recorded_stack(tmp_path)


def test_a_stack_an_older_make_up_started_is_found_from_its_redis_files(tmp_path: Path) -> None:
    redis = tmp_path / "redis"
    redis.mkdir()
    (redis / "url").write_text(RECORDED_REDIS + "\n")
    (redis / "acl-prefix").write_text("lc-old\n")
    (redis / "acl-passwords.json").write_text("{}")

    found = read_recorded_stack(tmp_path)

    assert found == RecordedStack(
        redis_url=RECORDED_REDIS,
        stream_prefix="lc-old",
        acl=True,
        acl_passwords_file=str(redis / "acl-passwords.json"),
    )


def test_make_up_records_its_settings_with_absolute_sqlite_paths_owner_only(
    tmp_path: Path,
) -> None:
    access = RedisAccess(
        RECORDED_REDIS,
        service_urls={"ORDERS_REDIS_URL": "redis://orders:pw@127.0.0.1:6390/0"},
        passwords_file=tmp_path / "run" / "redis" / "acl-passwords.json",
    )
    environ = {"LIVECART_REDIS_CLUSTER": "true", "ORDERS_DATABASE_SCHEMA": "shop"}

    stack = recorded_stack(
        environ, access=access, stream_prefix="lc-try", checkout_partitions=4, root=tmp_path
    )
    path = write_stack_record(tmp_path / "run", stack)

    assert read_recorded_stack(tmp_path / "run") == stack
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (stack.stream_prefix, stack.checkout_partitions, stack.redis_cluster) == (
        "lc-try",
        4,
        True,
    )
    assert stack.acl
    assert stack.acl_passwords_file == str(access.passwords_file)
    assert stack.orders_database_url == f"sqlite+aiosqlite:///{tmp_path / 'run' / 'orders.db'}"
    assert stack.orders_database_schema == "shop"
    assert "pw" not in path.read_text(), "no Redis password is recorded"


def test_only_relative_sqlite_paths_are_made_absolute() -> None:
    root = Path("/srv/livecart")
    assert absolute_sqlite("sqlite+aiosqlite:///run/x.db", root) == (
        "sqlite+aiosqlite:////srv/livecart/run/x.db"
    )
    for kept in (
        "sqlite+aiosqlite:////abs/x.db",
        "postgresql+asyncpg://u:p@db/x",
        "sqlite+aiosqlite:///:memory:",
    ):
        assert absolute_sqlite(kept, root) == kept
