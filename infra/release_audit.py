"""The separation audit of a release, on a real stack of its own.

`make up`'s own code starts a private redis-server with the ACL (one user per service) and
every service as its own process, under a temporary run directory, on free ports and with
SQLite databases of their own, so that a developer's `make up` stack is not touched. One
buyer checks out through the storefront's API; once the order is final, `livecart-ops
audit` runs as the `ops` user and files its Markdown report; then the stack is stopped.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import redis

from contracts import DEFAULT_PREFIX, FINAL_STATUSES, OrderStatusChangedEvent, Streams, decode_entry
from infra.local import stack, stack_redis
from infra.local.redis_server import free_port
from infra.local.stack_acl import user_url
from infra.local.stack_config import DEFAULT_REDIS_PORT, RunPaths, demo_checkout_body
from services.storefront.seed import DEMO_ROOM_ID

Entries = list[tuple[bytes, dict[bytes, bytes]]]

FINAL_TIMEOUT = 60.0
AUDIT_TIMEOUT = 180.0
# Whatever the caller's shell says about Redis, ports, databases or replicas does not
# reach the release's stack.
_CLEARED = (
    "REDIS_URL", "OPS_REDIS_URL", "STOREFRONT_REDIS_URL", "ORDERS_REDIS_URL", "NOTIFIER_REDIS_URL",
    "DATABASE_URL", "ORDERS_DATABASE_URL", "STOREFRONT_DATABASE_URL", "ORDERS_DATABASE_SCHEMA",
    "STOREFRONT_DATABASE_SCHEMA", "LIVECART_CHECKOUT_PARTITIONS", "LIVECART_REDIS_CLUSTER",
    "LIVECART_ENV", "LIVECART_ACL_PASSWORDS", "LIVECART_ACL_PASSWORDS_FILE",
    "NOTIFIER_PUBLIC_URL", "NOTIFIER_PUBLIC_URLS", "NOTIFIER_CORS_ORIGINS",
    "SCALE_ORDERS", "SCALE_NOTIFIER", "SCALE_STOREFRONT",
)  # fmt: skip


@dataclass(frozen=True)
class AuditRun:
    """What the audit of a release's stack found: its verdict and the Markdown report."""

    passed: bool
    markdown: str
    output: str


@dataclass(frozen=True)
class _Stack:
    run: RunPaths
    environ: dict[str, str]

    @property
    def redis_url(self) -> str:
        return self.run.redis_url_file.read_text().strip()

    @property
    def ops_url(self) -> str:
        passwords = json.loads(self.run.acl_passwords.read_text())
        return user_url(self.redis_url, "ops", passwords["ops"])


def audit_release_stack(*, prefix: str = DEFAULT_PREFIX) -> AuditRun:
    """Start a stack with the ACL, check out once, audit it, stop it."""
    with (
        tempfile.TemporaryDirectory(prefix="livecart-release-") as directory,
        _running_stack(Path(directory), prefix) as started,
    ):
        checkout_id = _check_out(started)
        _wait_final(started, prefix, checkout_id)
        return _audit(started, prefix, Path(directory) / "audit.md")


@contextmanager
def _running_stack(directory: Path, prefix: str) -> Iterator[_Stack]:
    run = RunPaths(directory / "run")
    environ = {key: value for key, value in os.environ.items() if key not in _CLEARED}
    environ |= {
        # Nothing answers here, so `up` starts its private redis-server with the ACL.
        "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "LIVECART_STREAM_PREFIX": prefix,
        "STOREFRONT_PORT": str(free_port()),
        "ORDERS_PORT": str(free_port()),
        "NOTIFIER_PORT": str(free_port()),
        "ORDERS_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'orders.db'}",
        "STOREFRONT_DATABASE_URL": f"sqlite+aiosqlite:///{directory / 'storefront.db'}",
        # The audit's one checkout must end without a buyer at the payment page.
        "ORDERS_PAYMENT_MODE": "wallet",
    }
    saved = (dict(os.environ), stack.PATHS, stack.REPLICAS_FILE)
    os.environ.clear()
    os.environ.update(environ)
    stack.PATHS, stack.REPLICAS_FILE = run, run.root / "replicas.json"
    # `up` takes Redis's usual port when it is free: the release's Redis takes another one.
    stack_redis.DEFAULT_REDIS_PORT = free_port()  # type: ignore[attr-defined]
    try:
        stack.up()
        yield _Stack(run, environ)
    finally:
        try:
            stack.down()
        finally:
            os.environ.clear()
            os.environ.update(saved[0])
            stack.PATHS, stack.REPLICAS_FILE = saved[1], saved[2]
            stack_redis.DEFAULT_REDIS_PORT = DEFAULT_REDIS_PORT  # type: ignore[attr-defined]


def _post(url: str, body: str | None = None, token: str | None = None) -> dict[str, object]:
    request = urllib.request.Request(url, data=(body or "").encode(), method="POST")
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        answer: dict[str, object] = json.loads(response.read())
        return answer


def _check_out(started: _Stack) -> str:
    """One buyer's checkout of the demo product, through the storefront's API."""
    store = f"http://127.0.0.1:{started.environ['STOREFRONT_PORT']}"
    token = str(_post(f"{store}/api/sessions")["token"])
    accepted = _post(f"{store}/api/checkouts", demo_checkout_body(), token)
    print(f"Checked out {accepted['checkout_id']} in room {DEMO_ROOM_ID}")
    return str(accepted["checkout_id"])


def _wait_final(started: _Stack, prefix: str, checkout_id: str) -> None:
    """Poll `order.status`, as the ops user, until the checkout's order is final."""
    client = redis.Redis.from_url(started.ops_url)
    deadline = time.monotonic() + FINAL_TIMEOUT
    try:
        while time.monotonic() < deadline:
            entries = cast(Entries, client.xrange(Streams(prefix).order_status))
            for _, fields in entries:
                event = decode_entry(fields, OrderStatusChangedEvent)
                if event.correlation_id == checkout_id and event.data.is_final:
                    print(f"Order of {checkout_id} is {event.data.status}")
                    return
            time.sleep(0.25)
    finally:
        client.close()
    statuses = ", ".join(sorted(FINAL_STATUSES))
    raise RuntimeError(f"checkout {checkout_id} reached none of {statuses} in {FINAL_TIMEOUT}s")


def _audit(started: _Stack, prefix: str, report: Path) -> AuditRun:
    command = [
        sys.executable, "-c", "from services.ops.cli import main; main()",
        # Everything named, and the stack's own run/: a stack.json that a developer's
        # `make up` left in the repository's run/ has no say.
        "--stack-dir", str(started.run.root),
        "--redis-url", started.redis_url, "--prefix", prefix,
        "--checkout-partitions", "1", "--no-redis-cluster",
        "--acl-passwords", str(started.run.acl_passwords),
        "--orders-db", started.environ["ORDERS_DATABASE_URL"],
        "--storefront-db", started.environ["STOREFRONT_DATABASE_URL"],
        "audit", "--markdown", str(report),
    ]  # fmt: skip
    result = subprocess.run(
        command,
        cwd=stack.ROOT,
        env=started.environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=AUDIT_TIMEOUT,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode not in (0, 1) or not report.exists():
        raise RuntimeError(f"livecart-ops audit ended with {result.returncode}:\n{output}")
    return AuditRun(result.returncode == 0, report.read_text(encoding="utf-8"), output)
