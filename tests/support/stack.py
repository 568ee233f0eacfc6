"""Run livecart's services as real processes for end-to-end and fault-injection tests."""

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.local.processes import http_status, start_background, tail
from infra.local.redis_server import free_port

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


def service_env(
    *, redis_url: str, stream_prefix: str, workdir: Path, **extra: str
) -> dict[str, str]:
    """The environment every service of one test stack shares."""
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_PORT", "DATABASE_URL"))}
    env.update(
        REDIS_URL=redis_url,
        LIVECART_STREAM_PREFIX=stream_prefix,
        ORDERS_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'orders.db'}",
        STOREFRONT_DATABASE_URL=f"sqlite+aiosqlite:///{workdir / 'storefront.db'}",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def seed_demo(env: Mapping[str, str]) -> None:
    for name in ("orders", "storefront"):
        subprocess.run(
            [sys.executable, "-m", f"services.{name}", "seed-demo"],
            cwd=ROOT,
            env=dict(env),
            check=True,
            capture_output=True,
            timeout=60,
        )


@contextlib.contextmanager
def running_stack(env: Mapping[str, str], workdir: Path) -> Iterator[dict[str, ServiceProcess]]:
    """Seed the demo data, start orders, notifier and storefront, wait until all are ready."""
    ports = {name: free_port() for name in ("orders", "notifier", "storefront")}
    shared = dict(env)
    shared.update({f"{name.upper()}_PORT": str(port) for name, port in ports.items()})
    shared["NOTIFIER_PUBLIC_URL"] = f"http://127.0.0.1:{ports['notifier']}"
    seed_demo(shared)
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
            service.terminate()
