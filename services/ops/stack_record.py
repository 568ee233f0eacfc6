"""What `make up` records in run/ about the stack it started (run/stack.json), so livecart-ops
finds that stack without flags: the Redis URL (no credentials), the stream prefix, the
checkout partitions, the Redis Cluster switch, the ACL passwords file (its path: the
passwords stay in it) and both databases. infra/local/stack_state.py writes it.

A stack started before stack.json existed left run/redis/url, run/redis/acl-prefix and
run/redis/acl-passwords.json: those are read instead.
"""

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from services.ops.config import OpsError

STACK_FILE = "stack.json"
RUN_DIR_VARIABLE = "LIVECART_RUN_DIR"
DEFAULT_RUN_DIR = Path("run")
"""Relative to the current directory: `make audit` and the README's commands run from the
repository root, where `make up` keeps run/."""


@dataclass(frozen=True)
class RecordedStack:
    """The settings one `make up` ran its services with; None where it recorded nothing."""

    redis_url: str | None = None
    stream_prefix: str | None = None
    checkout_partitions: int | None = None
    redis_cluster: bool | None = None
    acl: bool | None = None
    acl_passwords_file: str | None = None
    orders_database_url: str | None = None
    orders_database_schema: str | None = None
    storefront_database_url: str | None = None
    storefront_database_schema: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


FIELD_TYPES: dict[str, type] = {
    f.name: {"checkout_partitions": int, "redis_cluster": bool, "acl": bool}.get(f.name, str)
    for f in fields(RecordedStack)
}


KIND_WORDS = {int: "a whole number", bool: "true or false", str: "a string"}


def stack_file(run_dir: Path) -> Path:
    return run_dir / STACK_FILE


def read_recorded_stack(run_dir: Path) -> RecordedStack | None:
    """The stack recorded in `run_dir`, None when nothing is recorded there."""
    path = stack_file(run_dir)
    if path.exists():
        return _parse(path)
    return _legacy(run_dir)


def _parse(path: Path) -> RecordedStack:
    try:
        loaded: Any = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise OpsError(f"cannot read {path} ({exc}): run `make up` again to rewrite it") from exc
    if not isinstance(loaded, dict):
        raise OpsError(f"{path} is not a JSON object: run `make up` again to rewrite it")
    values: dict[str, Any] = {}
    for name, kind in FIELD_TYPES.items():
        value = loaded.get(name)
        # bool is an int: a partition count of `true` is refused too.
        wrong = not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool)
        if value is not None and wrong:
            raise OpsError(f"{path}: {name} must be {KIND_WORDS[kind]}, not {value!r}")
        values[name] = value
    return RecordedStack(**values)


def _legacy(run_dir: Path) -> RecordedStack | None:
    """What an older `make up` left: the private Redis's URL, ACL prefix and passwords."""
    redis = run_dir / "redis"
    url_file, prefix_file = redis / "url", redis / "acl-prefix"
    if not url_file.exists():
        return None
    passwords = redis / "acl-passwords.json"
    with_acl = prefix_file.exists() and passwords.exists()
    return RecordedStack(
        redis_url=url_file.read_text().strip() or None,
        stream_prefix=prefix_file.read_text().strip() or None if prefix_file.exists() else None,
        acl=with_acl,
        acl_passwords_file=str(passwords) if with_acl else None,
    )
