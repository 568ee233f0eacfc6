"""What `make up` runs and where: services, ports, run/ paths, the services' environment and
the summary it prints. Pure functions of the environment, so they are unit-tested."""

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.storefront.seed import DEMO_ROOM_ID

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_REDIS_PORT = 6379
DEMO_CHECKOUT_SKU = "LC-MUG-LIVE"
DEMO_RATE_LIMITS = {
    "STOREFRONT_RATE_LIMIT_SESSIONS_PER_ADDRESS": "120/minute",
    "STOREFRONT_RATE_LIMIT_CHECKOUTS_PER_BUYER": "30/10 seconds",
    "STOREFRONT_RATE_LIMIT_CHECKOUTS_PER_ADDRESS": "1200/minute",
    "NOTIFIER_RATE_LIMIT_CONNECTS_PER_ADDRESS": "600/minute",
}
"""`make up`'s rate limits unless set: still limits, but a demo (several browser tabs, a
person tapping buy and a curl loop, all from localhost) does not run into them."""


@dataclass(frozen=True)
class Service:
    """One livecart service as `make up` runs it: `python -m services.<name>`."""

    name: str
    port_variable: str
    default_port: int
    seeds_demo: bool

    @property
    def module(self) -> str:
        return f"services.{self.name}"


# Start order: the marketplace first, so the checkout consumer group exists before
# the storefront accepts checkouts.
SERVICES = (
    Service("orders", "ORDERS_PORT", 8002, seeds_demo=True),
    Service("notifier", "NOTIFIER_PORT", 8001, seeds_demo=False),
    Service("storefront", "STOREFRONT_PORT", 8000, seeds_demo=True),
)


Started = list[tuple[str, str, int]]
"""(name, command-line marker, pid) of each process one `up` started, to undo on failure."""


class StackError(Exception):
    """Why a stack command gave up, in words for the person who ran it."""


class ConfigError(StackError, ValueError):
    """A setting `make up` cannot use; the message says which and why."""


@dataclass(frozen=True)
class RunPaths:
    """Everything `make up` keeps lives under `run/` in the repository root."""

    root: Path

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def redis_data(self) -> Path:
        return self.root / "redis"

    @property
    def redis_url_file(self) -> Path:
        """The URL of the private redis-server `up` started, for the next `up` and `status`."""
        return self.redis_data / "url"

    @property
    def acl_passwords(self) -> Path:
        """The private Redis's per-user passwords, generated once (0600, never committed)."""
        return self.redis_data / "acl-passwords.json"

    @property
    def acl_file(self) -> Path:
        """The ACL file rendered from the passwords at every start (`--aclfile`)."""
        return self.redis_data / "users.acl"

    @property
    def acl_prefix_file(self) -> Path:
        """The stream prefix the running private Redis's ACL was rendered for."""
        return self.redis_data / "acl-prefix"

    @property
    def seller_login(self) -> Path:
        """The demo seller's password, made once by `up` (0600, never committed)."""
        return self.root / "seller-login.txt"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    def pid(self, name: str) -> Path:
        return self.pids / f"{name}.pid"


def missing_entry_points(root: Path) -> list[str]:
    """The services under `root` that have no `__main__.py` yet, as module names."""
    return [s.module for s in SERVICES if not (root / "services" / s.name / "__main__.py").exists()]


def resolve_ports(environ: Mapping[str, str]) -> dict[str, int]:
    """Each service's port: its `<NAME>_PORT` variable, else its default. Ports must differ."""
    ports: dict[str, int] = {}
    for service in SERVICES:
        raw = environ.get(service.port_variable, "").strip()
        if not raw:
            ports[service.name] = service.default_port
            continue
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise ConfigError(f"{service.port_variable}={raw!r} is not a TCP port (1-65535)")
        ports[service.name] = int(raw)
    if len(set(ports.values())) < len(ports):
        raise ConfigError(f"two services would share a port: {ports}")
    return ports


def requested_redis_url(environ: Mapping[str, str]) -> str:
    return environ.get("REDIS_URL", "").strip() or DEFAULT_REDIS_URL


def service_environment(
    environ: Mapping[str, str],
    *,
    redis_url: str,
    ports: Mapping[str, int],
    service_urls: Mapping[str, str] | None = None,
    notifier_urls: Sequence[str] = (),
    storefront_urls: Sequence[str] = (),
) -> dict[str, str]:
    """The environment every service and seed command gets: the caller's, plus the Redis in
    use (and each service's own ACL user's URL, `<SERVICE>_REDIS_URL`, when there is an ACL),
    every (first replica's) port, and where browsers reach the notifier (unless already set):
    with several `notifier_urls`, the storefront sends each buyer to one of them. The
    notifier lets the pages of every storefront (`storefront_urls`, default: the first
    replica's) open its streams with the buyer cookie (unless NOTIFIER_CORS_ORIGINS is set)."""
    env = dict(environ)
    env["REDIS_URL"] = redis_url
    if service_urls:
        # Each service signs in with its own `<SERVICE>_REDIS_URL`; a REDIS_URL beside it
        # would win in the services' settings (both feed `redis_url`), so it is left out.
        del env["REDIS_URL"]
        env.update(service_urls)
    for service in SERVICES:
        env[service.port_variable] = str(ports[service.name])
    if len(notifier_urls) > 1 and not (
        environ.get("NOTIFIER_PUBLIC_URL") or environ.get("NOTIFIER_PUBLIC_URLS")
    ):
        env["NOTIFIER_PUBLIC_URLS"] = ",".join(notifier_urls)
    env.setdefault("NOTIFIER_PUBLIC_URL", f"http://localhost:{ports['notifier']}")
    storefronts = storefront_urls or [f"http://localhost:{ports['storefront']}"]
    env.setdefault("NOTIFIER_CORS_ORIGINS", ",".join(local_origins(storefronts)))
    for variable, limit in DEMO_RATE_LIMITS.items():
        env.setdefault(variable, limit)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def local_origins(urls: Sequence[str]) -> list[str]:
    """Each local URL's origin, under both names of this machine (a page at 127.0.0.1 sends
    that origin, not localhost's)."""
    origins: dict[str, None] = {}
    for url in urls:
        origin = url.rstrip("/")
        origins[origin] = None
        for name, twin in (("//localhost:", "//127.0.0.1:"), ("//127.0.0.1:", "//localhost:")):
            if name in origin:
                origins[origin.replace(name, twin)] = None
    return list(origins)


def demo_checkout_body() -> str:
    item = {"sku": DEMO_CHECKOUT_SKU, "quantity": 1}
    body = {"room_id": DEMO_ROOM_ID, "items": [item]}  # the buyer comes from the token
    return json.dumps(body, separators=(",", ":"))


def checkout_partitions(environ: Mapping[str, str]) -> int:
    """`LIVECART_CHECKOUT_PARTITIONS` as the services read it (they refuse a bad one at start)."""
    raw = environ.get("LIVECART_CHECKOUT_PARTITIONS", "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else 1


def summary(
    *,
    ports: Mapping[str, int],
    redis_url: str,
    stream_prefix: str,
    logs: Path,
    operations: Sequence[str] = (),
    replica_urls: Mapping[str, Sequence[str]] | None = None,
    checkout_partitions: int = 1,
    seller_login: tuple[str, str, Path] | None = None,
) -> str:
    """What `up` prints once every service is ready; `operations`: lines about the Redis ACL
    and livecart-ops (see stack_acl.operations_hint); `replica_urls`: every process of each
    service, when some run more than one; `seller_login`: the demo seller's email,
    password and the file keeping it."""
    store = f"http://localhost:{ports['storefront']}"
    notifier = f"http://localhost:{ports['notifier']}"
    orders = f"http://localhost:{ports['orders']}"
    session = (
        f"TOKEN=$(curl -sS -X POST {store}/api/sessions | "
        "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')"
    )
    checkout = (
        f'curl -sS -X POST {store}/api/checkouts -H "Authorization: Bearer $TOKEN" '
        f"-H 'content-type: application/json' -d {shlex.quote(demo_checkout_body())}"
    )
    return "\n".join(
        [
            "livecart is up.",
            f"  room page        {store}/rooms/{DEMO_ROOM_ID}",
            f"  storefront API   {store}/api/rooms/{DEMO_ROOM_ID}",
            f"  notifier (SSE)   {notifier}/events/checkouts/<checkout_id>",
            f"  orders           {orders}/health  {orders}/metrics",
            f"  seller, live     {store}/seller  (rooms, go live, pins, flash deals, reports)",
            f"  seller, shop     {orders}/seller  (products, stock, orders: cancel, ship)",
            f"  dashboard        {store}/rooms/{DEMO_ROOM_ID}/dashboard",
            *seller_lines(seller_login),
            *replica_lines(replica_urls or {}),
            f"  Redis            {redis_url}  (stream prefix {stream_prefix!r}"
            + (f", {checkout_partitions} checkout partitions)" if checkout_partitions > 1 else ")"),
            f"  logs             {logs}/  (make logs)",
            *operations,
            "",
            "Get a buyer token, then place a checkout (the answer carries its events_url):",
            f"  {session}",
            f"  {checkout}",
            "Watch its statuses (the token goes in the header, never in the URL):",
            "  curl -N -H \"Authorization: Bearer $TOKEN\" '<events_url>'",
            "",
            "Stop everything with: make down",
        ]
    )


def seller_lines(login: tuple[str, str, Path] | None) -> list[str]:
    """The demo seller's login (the same on both sides, each side with its own account)."""
    if login is None:
        return []
    email, password, file = login
    return [f"  seller login     {email} / {password}  (kept in {file})"]


REPLICA_NOTES = {
    "storefront": "stateless, any of them",
    "notifier": "the storefront sends each buyer to one; any resumes any buyer",
    "orders": "one consumer group; each /metrics counts its own",
}


def replica_lines(replica_urls: Mapping[str, Sequence[str]]) -> list[str]:
    """One line per service that runs more than one process, listing every process."""
    return [
        f"  {name} x{len(urls)}".ljust(19) + " ".join(urls) + f"  ({REPLICA_NOTES.get(name, '')})"
        for name, urls in replica_urls.items()
        if len(urls) > 1
    ]
