"""The Redis ACL of the private redis-server `make up` starts: one user per service (see
services/ops/acl.py), random passwords generated once and kept in
run/redis/acl-passwords.json (0600), the ACL file rendered from them at every start."""

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from contracts import Streams
from infra.local.stack_config import RunPaths, StackError
from services.ops.acl import USERS, render_acl_file

SERVICE_URL_VARIABLES = {
    "storefront": "STOREFRONT_REDIS_URL",
    "orders": "ORDERS_REDIS_URL",
    "notifier": "NOTIFIER_REDIS_URL",
}
OPS_USER = "ops"


@dataclass(frozen=True)
class RedisAccess:
    """The Redis the services get: its URL (no credentials) and, when `make up` runs it with
    the ACL, each service's own URL and the ops user's."""

    url: str
    service_urls: dict[str, str] = field(default_factory=dict)
    ops_url: str | None = None
    passwords_file: Path | None = None

    @property
    def acl(self) -> bool:
        return bool(self.service_urls)


def user_url(url: str, user: str, password: str) -> str:
    """`url` signed in as `user` (any credentials it had are replaced)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    creds = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    return urlunsplit((parts.scheme, creds + netloc, parts.path, parts.query, parts.fragment))


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable and writable by the owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(text)
    path.chmod(0o600)  # an older file keeps its mode through O_CREAT


def load_or_create_passwords(path: Path) -> dict[str, str]:
    """The passwords in `path`; users missing there get a new random one (written back)."""
    passwords: dict[str, str] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text())
        except (OSError, ValueError) as error:
            raise StackError(
                f"{path} is not readable JSON ({error}); delete it to generate new "
                "passwords (then `make down` and `make up`)"
            ) from error
        passwords = {k: v for k, v in loaded.items() if isinstance(v, str) and v}
    missing = [user for user in USERS if user not in passwords]
    if missing or not path.exists():
        passwords.update({user: secrets.token_urlsafe(24) for user in missing})
        write_private(path, json.dumps(passwords, indent=2) + "\n")
    return passwords


def write_acl_file(path: Path, streams: Streams, passwords: Mapping[str, str]) -> Path:
    write_private(path, render_acl_file(streams, dict(passwords)))
    return path


def check_acl_prefix(paths: RunPaths, prefix: str) -> None:
    """A running private Redis keeps the ACL of the prefix it started with; refuse another."""
    if paths.acl_prefix_file.exists():
        started_with = paths.acl_prefix_file.read_text().strip()
        if started_with != prefix:
            raise StackError(
                f"the private redis-server runs with the ACL of stream prefix {started_with!r}, "
                f"not {prefix!r}: run `make down` first to start it again for {prefix!r}"
            )


def access_with_acl(url: str, passwords: Mapping[str, str], paths: RunPaths) -> RedisAccess:
    """Each service's URL (`<SERVICE>_REDIS_URL`) and the ops user's, for the server at `url`."""
    service_urls = {
        variable: user_url(url, user, passwords[user])
        for user, variable in SERVICE_URL_VARIABLES.items()
    }
    return RedisAccess(
        url=url,
        service_urls=service_urls,
        ops_url=user_url(url, OPS_USER, passwords[OPS_USER]),
        passwords_file=paths.acl_passwords,
    )


def operations_hint(
    access: RedisAccess, *, stream_prefix: str, checkout_partitions: int = 1
) -> list[str]:
    """What `up` prints about the ACL and how to run livecart-ops; never a password. Ops
    need no options: they read this stack from run/stack.json."""
    found = f"finds prefix {stream_prefix!r}" + (
        f", {checkout_partitions} checkout partitions" if checkout_partitions > 1 else ""
    )
    if not access.acl:
        return [
            f"  Redis ACL        left alone (Redis at {access.url} was already running)",
            f"Operations (livecart-ops {found} and this Redis in run/stack.json):",
            "  .venv/bin/livecart-ops streams",
            "  make audit",
        ]
    return [
        "  Redis ACL        on: one user per service (storefront, orders, notifier, ops, keda); "
        f"passwords in {access.passwords_file} (0600)",
        f"Operations, as the `ops` user (livecart-ops {found}, this Redis and the passwords "
        "in run/stack.json):",
        "  .venv/bin/livecart-ops streams",
        "  make audit",
    ]
