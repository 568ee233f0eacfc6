"""run/stack.json: what `make up` ran its services with, for livecart-ops and `make audit` to
find this stack without flags (services/ops/stack_record.py reads it)."""

import os
from collections.abc import Mapping
from pathlib import Path

from sqlalchemy.engine import make_url

from infra.local.stack_acl import RedisAccess
from services.ops.config import DEFAULT_ORDERS_DB, DEFAULT_STOREFRONT_DB
from services.ops.stack_record import RecordedStack, stack_file

TRUE = {"1", "true", "yes", "on"}


def recorded_stack(
    environ: Mapping[str, str],
    *,
    access: RedisAccess,
    stream_prefix: str,
    checkout_partitions: int,
    root: Path,
) -> RecordedStack:
    """The settings the services got from `environ` and `access`, SQLite paths made absolute
    against `root` (the services' working directory) so ops may run from anywhere."""
    orders = environ.get("ORDERS_DATABASE_URL") or environ.get("DATABASE_URL") or DEFAULT_ORDERS_DB
    storefront = environ.get("STOREFRONT_DATABASE_URL") or DEFAULT_STOREFRONT_DB
    passwords = access.passwords_file
    return RecordedStack(
        redis_url=access.url,
        stream_prefix=stream_prefix,
        checkout_partitions=checkout_partitions,
        redis_cluster=environ.get("LIVECART_REDIS_CLUSTER", "").strip().lower() in TRUE,
        acl=access.acl,
        acl_passwords_file=str(passwords.resolve()) if access.acl and passwords else None,
        orders_database_url=absolute_sqlite(orders, root),
        orders_database_schema=environ.get("ORDERS_DATABASE_SCHEMA") or None,
        storefront_database_url=absolute_sqlite(storefront, root),
        storefront_database_schema=environ.get("STOREFRONT_DATABASE_SCHEMA") or None,
    )


def absolute_sqlite(url: str, root: Path) -> str:
    """`url` with a relative SQLite path made absolute against `root`; others unchanged."""
    try:
        parsed = make_url(url)
    except Exception:  # the services refuse it at start: record it as it was given
        return url
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return url
    if database.startswith("file:") or Path(database).is_absolute():
        return url
    return parsed.set(database=str(root / database)).render_as_string(hide_password=False)


def write_stack_record(run_dir: Path, stack: RecordedStack) -> Path:
    """Write run/stack.json, owner-only (0600): a database URL may carry a password."""
    path = stack_file(run_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(stack.to_json())
    path.chmod(0o600)
    return path
