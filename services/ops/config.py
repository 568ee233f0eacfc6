"""Where livecart-ops looks: Redis (as the `ops` user; a single server or a Redis Cluster),
the stream prefix and the number of checkout partitions, both databases read-only, and the
ACL passwords the audit signs in with."""

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from contracts import DEFAULT_PREFIX, MAX_CHECKOUT_PARTITIONS, Streams

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_ORDERS_DB = "sqlite+aiosqlite:///run/orders.db"
DEFAULT_STOREFRONT_DB = "sqlite+aiosqlite:///run/storefront.db"
OPS_USER = "ops"
PREFIX_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
"""What the services accept as `LIVECART_STREAM_PREFIX` (ServiceSettings.stream_prefix): no
braces, since every key's Redis Cluster hash tag is the stream's own name."""


class OpsError(Exception):
    """A problem told to the operator in one line, without a traceback."""


@dataclass(frozen=True)
class OpsConfig:
    """What every livecart-ops command may need; built once from options and environment."""

    redis_url: str = DEFAULT_REDIS_URL
    prefix: str = DEFAULT_PREFIX
    orders_db: str = DEFAULT_ORDERS_DB
    storefront_db: str = DEFAULT_STOREFRONT_DB
    orders_schema: str | None = None
    storefront_schema: str | None = None
    acl_passwords: dict[str, str] = field(default_factory=dict)
    checkout_partitions: int = 1
    redis_cluster: bool = False
    origins: dict[str, str] = field(default_factory=dict, compare=False)
    """Where each setting came from (a flag, a variable, run/stack.json, the default)."""
    stack_without_acl: bool = False
    """The Redis is the one `make up` recorded, and it runs without livecart's ACL users."""

    def __post_init__(self) -> None:
        if not PREFIX_PATTERN.fullmatch(self.prefix):
            raise OpsError(
                f"stream prefix {self.prefix!r} is not one the services accept: 1 to 64 of "
                "A-Z a-z 0-9 _ . : - (no braces: each stream's name is its own hash tag)"
            )
        if not 1 <= self.checkout_partitions <= MAX_CHECKOUT_PARTITIONS:
            raise OpsError(
                f"checkout partitions must be 1..{MAX_CHECKOUT_PARTITIONS}, "
                f"not {self.checkout_partitions}"
            )

    @property
    def streams(self) -> Streams:
        """Every stream key, with as many checkout partitions as the services use."""
        return Streams(self.prefix, self.checkout_partitions)

    def origin(self, setting: str) -> str:
        return self.origins.get(setting, "built-in default")

    @property
    def ops_url(self) -> str:
        """`redis_url`, signed in as `ops` when it names no user and the passwords know one."""
        if has_credentials(self.redis_url) or OPS_USER not in self.acl_passwords:
            return self.redis_url
        return url_for_user(self.redis_url, OPS_USER, self.acl_passwords[OPS_USER])


def has_credentials(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.username or parts.password)


def url_for_user(url: str, user: str | None, password: str | None) -> str:
    """`url` with its credentials replaced by `user` / `password` (none when both are None)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    if user is not None or password is not None:
        netloc = f"{quote(user or '', safe='')}:{quote(password or '', safe='')}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def redact(url: str) -> str:
    """`url` fit to print: any password replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url_for_user(url, parts.username or "", "***").replace("%2A%2A%2A", "***")


def load_acl_passwords(*, env_json: str | None, path: Path | None) -> dict[str, str]:
    """Passwords per ACL user: from the file at `path` if given, else the JSON text of
    `LIVECART_ACL_PASSWORDS`; empty when neither is set."""
    if path is not None:
        try:
            text, origin = path.read_text(), str(path)
        except OSError as exc:
            raise OpsError(f"cannot read the ACL passwords file {path}: {exc.strerror}") from exc
    elif env_json:
        text, origin = env_json, "LIVECART_ACL_PASSWORDS"
    else:
        return {}
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise OpsError(f"{origin} is not JSON: {exc}") from exc
    if not isinstance(loaded, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
    ):
        raise OpsError(f'{origin} must be a JSON object {{"user": "password", ...}}')
    return dict(loaded)
