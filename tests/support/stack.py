"""Run livecart's services as real processes for end-to-end and fault-injection tests."""

import asyncio
import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from infra.local.processes import http_status, start_background, tail
from infra.local.redis_server import free_port
from infra.local.stack_config import local_origins
from services.common.db import make_engine
from services.orders.seed import ProductStock, seed_products
from tests.support.demo import DEMO_PRODUCTS

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ServiceProcess:
    """One service started with `python -m services.<name>` on its own port."""

    name: str
    port: int
    env: dict[str, str]
    log: Path
    process: "subprocess.Popen[bytes] | None" = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServiceProcess":
        command = [sys.executable, "-m", f"services.{self.name}"]
        self.process = start_background(command, cwd=ROOT, env=self.env, log=self.log)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{tail(self.log)}")
            if http_status(f"{self.base_url}/ready", timeout=0.5) == 200:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout}s:\n{tail(self.log)}")

    def stop_soon(self) -> None:
        """SIGTERM without waiting, so several services shut down side by side."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()

    def terminate(self) -> int | None:
        """SIGTERM (SIGKILL after 15 s); the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.process.wait(timeout=5)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)


def demo_seller_password(services: Mapping[str, ServiceProcess]) -> str:
    """The demo seller's password in a stack `running_stack` started (the same both sides)."""
    return services["storefront"].env["LIVECART_DEMO_SELLER_PASSWORD"]


RATE_LIMITS_OFF = {
    "STOREFRONT_RATE_LIMIT_SESSIONS_PER_ADDRESS": "off",
    "STOREFRONT_RATE_LIMIT_CHECKOUTS_PER_BUYER": "off",
    "STOREFRONT_RATE_LIMIT_CHECKOUTS_PER_ADDRESS": "off",
    "STOREFRONT_RATE_LIMIT_CANCELLATIONS_PER_BUYER": "off",
    "STOREFRONT_RATE_LIMIT_CHAT_PER_BUYER": "off",
    "STOREFRONT_RATE_LIMIT_REACTIONS_PER_BUYER": "off",
    "NOTIFIER_RATE_LIMIT_CONNECTS_PER_ADDRESS": "off",
}
"""The stacks' tests and benches send thousands of requests from 127.0.0.1 (and from a few
buyers): the rate limits, which have their own tests, are off unless a test turns one on."""


def service_env(
    *, redis_url: str, stream_prefix: str, workdir: Path, **extra: str
) -> dict[str, str]:
    """The environment every service of one test stack shares (rate limits off)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_PORT", "DATABASE_URL"))}
    env.update(
        REDIS_URL=redis_url,
        LIVECART_STREAM_PREFIX=stream_prefix,
        ORDERS_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'orders.db'}",
        STOREFRONT_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'storefront.db'}",
        PYTHONUNBUFFERED="1",
        # Plain http on 127.0.0.1: a Secure buyer cookie would not come back.
        LIVECART_BUYER_COOKIE_SECURE="false",
        # Charged at once, as before hosted payment; a test of the payment page says hosted.
        ORDERS_PAYMENT_MODE="wallet",
    )
    env.update(RATE_LIMITS_OFF)
    env.update(extra)
    return env


def seed_demo(env: Mapping[str, str]) -> None:
    # Both at once: separate databases, and each start-up costs a second or two.
    seeds = [
        subprocess.Popen(
            [sys.executable, "-m", f"services.{name}", "seed-demo"],
            cwd=ROOT,
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in ("orders", "storefront")
    ]
    for seed in seeds:
        out, err = seed.communicate(timeout=60)
        if seed.returncode:
            raise subprocess.CalledProcessError(seed.returncode, seed.args, out, err)


def seed_stock(env: Mapping[str, str], stock: Mapping[str, int]) -> None:
    """Set the marketplace's stock of some demo products (by sku), e.g. 1 unit for a race
    for the last one. Run before the services start."""
    products = [
        ProductStock(p.sku, p.title, p.price_minor, p.currency, stock[p.sku])
        for p in DEMO_PRODUCTS
        if p.sku in stock
    ]

    async def reset() -> None:
        engine = make_engine(env["ORDERS_DATABASE_URL"])
        try:
            await seed_products(engine, products, reset_stock=True)
        finally:
            await engine.dispose()

    # Its own thread: the caller may be inside a test whose event loop must stay untouched.
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, reset()).result(timeout=60)


@contextlib.contextmanager
def running_stack(
    env: Mapping[str, str],
    workdir: Path,
    *,
    stock: Mapping[str, int] | None = None,
    notifier_public_url: str | None = None,
) -> Iterator[dict[str, ServiceProcess]]:
    """Seed the demo data (with `stock` overriding some demo products' units), start orders,
    notifier and storefront, wait until all are ready. Browsers reach the notifier at
    `notifier_public_url` (default: its own port; a test may put a relay in between)."""
    ports = {name: free_port() for name in ("orders", "notifier", "storefront")}
    shared = dict(env)
    shared.update({f"{name.upper()}_PORT": str(port) for name, port in ports.items()})
    shared["NOTIFIER_PUBLIC_URL"] = notifier_public_url or f"http://127.0.0.1:{ports['notifier']}"
    # The demo seller signs in on both sides over plain http with a password of this run's.
    shared.setdefault("LIVECART_DEMO_SELLER_PASSWORD", secrets.token_urlsafe(12))
    shared.setdefault("LIVECART_SELLER_COOKIE_SECURE", "false")
    # The room page's buyer stream carries the buyer cookie: the notifier names its origin.
    storefront = f"http://127.0.0.1:{ports['storefront']}"
    shared.setdefault("NOTIFIER_CORS_ORIGINS", ",".join(local_origins([storefront])))
    # The room frames the marketplace's payment page; only the storefront's pages may.
    shared["ORDERS_PUBLIC_URL"] = f"http://127.0.0.1:{ports['orders']}"
    shared.setdefault("ORDERS_PAYMENT_FRAME_ANCESTORS", ",".join(local_origins([storefront])))
    seed_demo(shared)
    if stock:
        seed_stock(shared, stock)
    services = {
        name: ServiceProcess(name, port, shared, workdir / f"{name}.log")
        for name, port in ports.items()
    }
    try:
        for service in services.values():
            service.start()
        for service in services.values():
            service.wait_ready()
        yield services
    finally:
        for service in services.values():
            service.stop_soon()
        for service in services.values():
            service.terminate()
