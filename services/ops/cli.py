"""`livecart-ops`: watch the streams, handle dead letters, trace a checkout, and audit the
separation of storefront and marketplace. It finds the stack `make up` recorded in run/
(Redis, prefix, partitions, Redis Cluster, ACL passwords, databases); an option, else its
environment variable, says otherwise. Global options come before the command:
`livecart-ops --prefix lc-try streams --watch`."""

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from contracts import DEFAULT_PREFIX, MAX_CHECKOUT_PARTITIONS
from services.ops.audit_cli import audit_command
from services.ops.cli_support import fail
from services.ops.config import (
    DEFAULT_ORDERS_DB,
    DEFAULT_REDIS_URL,
    DEFAULT_STOREFRONT_DB,
    OpsError,
)
from services.ops.dlq_cli import dlq_app
from services.ops.stack_record import (
    DEFAULT_RUN_DIR,
    RUN_DIR_VARIABLE,
    RecordedStack,
    read_recorded_stack,
    stack_file,
)
from services.ops.stack_settings import FROM_RECORD, resolve_config
from services.ops.streams_cli import streams_command
from services.ops.trace_cli import trace_command

app = typer.Typer(
    name="livecart-ops",
    help=__doc__,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("streams")(streams_command)
app.add_typer(dlq_app, name="dlq")
app.command("trace")(trace_command)
app.command("audit")(audit_command)


@app.callback()
def options(
    ctx: typer.Context,
    redis_url: Annotated[
        str,
        typer.Option(
            "--redis-url",
            envvar=["OPS_REDIS_URL", "REDIS_URL"],
            show_envvar=True,
            help="Redis, as the ops user (redis://ops:<password>@host:port/0).",
        ),
    ] = DEFAULT_REDIS_URL,
    prefix: Annotated[
        str,
        typer.Option(
            "--prefix", envvar="LIVECART_STREAM_PREFIX", show_envvar=True, help="Stream key prefix."
        ),
    ] = DEFAULT_PREFIX,
    checkout_partitions: Annotated[
        int,
        typer.Option(
            "--checkout-partitions",
            envvar="LIVECART_CHECKOUT_PARTITIONS",
            show_envvar=True,
            min=1,
            max=MAX_CHECKOUT_PARTITIONS,
            help="Checkout streams the services split checkouts over (the same N as theirs).",
        ),
    ] = 1,
    redis_cluster: Annotated[
        bool,
        typer.Option(
            "--redis-cluster/--no-redis-cluster",
            envvar="LIVECART_REDIS_CLUSTER",
            show_envvar=True,
            help="The Redis URL names a node of a Redis Cluster: follow every key to its node.",
        ),
    ] = False,
    orders_db: Annotated[
        str,
        typer.Option(
            "--orders-db",
            envvar=["ORDERS_DATABASE_URL", "DATABASE_URL"],
            show_envvar=True,
            help="The marketplace's database (read-only).",
        ),
    ] = DEFAULT_ORDERS_DB,
    storefront_db: Annotated[
        str,
        typer.Option(
            "--storefront-db",
            envvar="STOREFRONT_DATABASE_URL",
            show_envvar=True,
            help="The storefront's database (read-only).",
        ),
    ] = DEFAULT_STOREFRONT_DB,
    orders_schema: Annotated[
        str | None,
        typer.Option(
            envvar="ORDERS_DATABASE_SCHEMA", help="PostgreSQL schema of the orders tables."
        ),
    ] = None,
    storefront_schema: Annotated[
        str | None,
        typer.Option(
            envvar="STOREFRONT_DATABASE_SCHEMA", help="PostgreSQL schema of the storefront tables."
        ),
    ] = None,
    acl_passwords: Annotated[
        Path | None,
        typer.Option(
            "--acl-passwords",
            envvar="LIVECART_ACL_PASSWORDS_FILE",
            show_envvar=True,
            help='JSON file {"user": "password"}; else LIVECART_ACL_PASSWORDS holds the JSON '
            "itself; else the file make up recorded, for the Redis it recorded. Signs in as "
            "`ops` when the Redis URL names no user.",
        ),
    ] = None,
    stack_dir: Annotated[
        Path,
        typer.Option(
            "--stack-dir",
            envvar=RUN_DIR_VARIABLE,
            show_envvar=True,
            help="The run/ folder of the `make up` whose stack to look at (its stack.json); "
            "an option or a variable wins over what it recorded.",
        ),
    ] = DEFAULT_RUN_DIR,
) -> None:
    try:
        recorded = _recorded_stack(ctx, stack_dir)
        given = {
            name: (value, _origin(ctx, name))
            for name, value in ctx.params.items()
            if name in FROM_RECORD and _origin(ctx, name)
        }
        passwords_file = (acl_passwords, _origin(ctx, "acl_passwords")) if acl_passwords else None
        ctx.obj = resolve_config(
            given=given,
            recorded=recorded,
            record_origin=str(stack_file(stack_dir)),
            acl_passwords_file=passwords_file,
            acl_passwords_json=os.environ.get("LIVECART_ACL_PASSWORDS"),
        )
    except OpsError as exc:
        fail(str(exc))


def _origin(ctx: typer.Context, name: str) -> str:
    """The option or variable a setting came from; "" when it was left at its default."""
    # typer carries its own click: the source is told by its name, not its class.
    source = getattr(ctx.get_parameter_source(name), "name", "")
    option: Any = next((p for p in ctx.command.params if p.name == name), None)
    if source == "COMMANDLINE":
        return str(option.opts[-1]) if option is not None else name
    if source == "ENVIRONMENT":
        envvar = option.envvar if option is not None else None
        names = [envvar] if isinstance(envvar, str) else list(envvar or [])
        return next((n for n in names if os.environ.get(n)), "the environment")
    return ""


def _recorded_stack(ctx: typer.Context, stack_dir: Path) -> RecordedStack | None:
    """The stack recorded in `stack_dir`; one named by --stack-dir or LIVECART_RUN_DIR must
    be there."""
    recorded = read_recorded_stack(stack_dir)
    if recorded is None and _origin(ctx, "stack_dir"):
        raise OpsError(
            f"no stack recorded in {stack_dir} (no {stack_file(stack_dir).name}): give the "
            "run/ folder of a `make up` that is running"
        )
    return recorded


def main() -> None:
    app()


if __name__ == "__main__":
    main()
