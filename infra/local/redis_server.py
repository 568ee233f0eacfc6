"""Start and stop a private `redis-server` process: for `make up` when no Redis answers,
and for tests that need persistence, a crash or a restart."""

import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_answers(url: str, timeout: float = 1.0) -> bool:
    """True when a Redis at `url` answers PING (auth included)."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError):
        return False


@dataclass
class RedisServer:
    """One redis-server on 127.0.0.1, its data (AOF when asked) under `directory`."""

    directory: Path
    port: int = field(default_factory=free_port)
    appendonly: bool = True
    appendfsync: str = "everysec"
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @staticmethod
    def binary() -> str | None:
        return shutil.which("redis-server")

    def command(self) -> list[str]:
        binary = self.binary()
        if binary is None:
            raise RuntimeError(
                "redis-server is not installed: install Redis 7+ "
                "(Debian/Ubuntu: `apt-get install redis-server`, macOS: `brew install redis`) "
                "or set REDIS_URL to a running Redis"
            )
        return [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.directory),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            self.appendfsync,
            "--protected-mode",
            "no",
            *self.extra_args,
        ]

    def url_for(self, user: str, password: str) -> str:
        return f"redis://{user}:{password}@127.0.0.1:{self.port}/0"

    def start(
        self, *, timeout: float = 10.0, log: Path | None = None, probe_url: str | None = None
    ) -> "RedisServer":
        """Start and wait until `probe_url` (default: no auth) answers PING."""
        self.directory.mkdir(parents=True, exist_ok=True)
        out = log.open("ab") if log else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.command(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            if redis_answers(probe_url or self.url, timeout=0.2):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not answer in {timeout}s")

    def kill(self) -> None:
        """Crash it: SIGKILL, no chance to flush anything."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
