"""`livecart-ops`: watch the streams, handle dead letters, trace a checkout, and audit the
separation of storefront and marketplace. Global options come before the command:
`livecart-ops --prefix lc-try streams --watch`. Give it the services' own
`LIVECART_CHECKOUT_PARTITIONS` and `LIVECART_REDIS_CLUSTER` (or the options) so it sees
every checkout partition, on a single Redis or a Redis Cluster."""

import os
from pathlib import Path
from typing import Annotated

import typer

from contracts import DEFAULT_PREFIX, MAX_CHECKOUT_PARTITIONS
from services.ops.audit_cli import audit_command
from services.ops.cli_support import fail
from services.ops.config import (
    DEFAULT_ORDERS_DB,
    DEFAULT_REDIS_URL,
    DEFAULT_STOREFRONT_DB,
    OpsConfig,
    OpsError,
    load_acl_passwords,
)
from services.ops.dlq_cli import dlq_app
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
            help='JSON file {"user": "password"} (make up writes run/redis/acl-passwords.json); '
            "else LIVECART_ACL_PASSWORDS holds the JSON itself. Signs in as `ops` when the "
            "Redis URL names no user.",
        ),
    ] = None,
) -> None:
    try:
        passwords = load_acl_passwords(
            env_json=os.environ.get("LIVECART_ACL_PASSWORDS"), path=acl_passwords
        )
        ctx.obj = OpsConfig(
            redis_url=redis_url,
            prefix=prefix,
            orders_db=orders_db,
            storefront_db=storefront_db,
            orders_schema=orders_schema,
            storefront_schema=storefront_schema,
            acl_passwords=passwords,
            checkout_partitions=checkout_partitions,
            redis_cluster=redis_cluster,
        )
    except OpsError as exc:
        fail(str(exc))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
