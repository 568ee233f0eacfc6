"""A local Redis Cluster of private `redis-server` masters, for tests that need the services
to follow slots across nodes: N masters (default 3, no replicas) on free ports, the 16384
slots split between them by `redis-cli --cluster create`."""

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import redis

from infra.local.redis_server import RedisServer, free_port

CLUSTER_SLOTS = 16384


def _distinct_free_ports(count: int, taken: set[int]) -> list[int]:
    """`count` free ports, none in `taken` nor twice (free_port() may hand one out again)."""
    ports: list[int] = []
    while len(ports) < count:
        port = free_port()
        if port not in taken and port not in ports:
            ports.append(port)
    return ports


@dataclass
class RedisClusterNodes:
    """`masters` cluster-enabled redis-servers under `directory` (one sub-directory and
    `nodes.conf` each), joined into one cluster; `url` is any node's, as clients need."""

    directory: Path
    masters: int = 3
    node_timeout_ms: int = 5000
    extra_args: tuple[str, ...] = ()  # for every node, e.g. ("--aclfile", path)
    user: str | None = None  # who creates and probes the cluster, when there is an ACL
    password: str | None = None
    nodes: list[RedisServer] = field(default_factory=list)
    create_output: str = ""

    @property
    def url(self) -> str:
        """A node's URL: cluster clients discover the others (and the slots) from it."""
        if not self.nodes:
            raise RuntimeError("the cluster is not started")
        return self.nodes[0].url

    @property
    def addresses(self) -> list[str]:
        return [f"127.0.0.1:{node.port}" for node in self.nodes]

    @staticmethod
    def cli_binary() -> str:
        binary = shutil.which("redis-cli")
        if binary is None:
            raise RuntimeError(
                "redis-cli is not installed: it creates the cluster (it comes with "
                "redis-server; Debian/Ubuntu: `apt-get install redis-tools`, macOS: "
                "`brew install redis`)"
            )
        return binary

    def start(self, *, timeout: float = 30.0) -> Self:
        """Start every node, create the cluster and wait until every node reports
        `cluster_state:ok` with all 16384 slots assigned; every node stopped on failure."""
        if self.masters < 3:
            raise ValueError(
                f"redis-cli creates a cluster of 3 masters or more, not {self.masters}"
            )
        cli = self.cli_binary()
        if RedisServer.binary() is None:
            RedisServer(self.directory).command()  # raises its "not installed" error
        deadline = time.monotonic() + timeout
        try:
            self._start_nodes(timeout)
            self._create(cli, max(deadline - time.monotonic(), 1.0))
            self._wait_ok(deadline)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_nodes(self, timeout: float) -> None:
        ports = _distinct_free_ports(2 * self.masters, set())
        for i in range(self.masters):
            port, bus_port = ports[2 * i], ports[2 * i + 1]
            directory = self.directory / f"node-{i}"
            node = RedisServer(
                directory,
                port=port,
                appendonly=False,
                extra_args=(
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", str(directory / "nodes.conf"),
                    "--cluster-node-timeout", str(self.node_timeout_ms),
                    # The bus port would be port + 10000: it may be taken, or past 65535.
                    "--cluster-port", str(bus_port),
                    *self.extra_args,
                ),
            )  # fmt: skip
            self.nodes.append(node)
            node.start(
                timeout=timeout,
                log=self.directory / f"node-{i}.log",
                probe_url=self.admin_url(node),
            )

    def admin_url(self, node: RedisServer) -> str:
        """`node`'s URL, signed in as `user` when one is given."""
        return node.url_for(self.user, self.password or "") if self.user else node.url

    def _create(self, cli: str, timeout: float) -> None:
        auth = ["--user", self.user or "", "--pass", self.password or "", "--no-auth-warning"]
        command = [
            cli, *(auth if self.user else []), "--cluster", "create", *self.addresses,
            "--cluster-replicas", "0", "--cluster-yes",
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            output = _text(exc.stdout) + _text(exc.stderr)
            raise RuntimeError(
                f"`{' '.join(command)}` did not finish within {timeout:.0f}s:\n{output}"
            ) from None
        self.create_output = done.stdout + done.stderr
        if done.returncode != 0:
            raise RuntimeError(
                f"`{' '.join(command)}` failed (exit {done.returncode}):\n{self.create_output}"
            )

    def _wait_ok(self, deadline: float) -> None:
        states: dict[str, str] = {}
        while True:
            states = {address: self._state(node) for address, node in zip(
                self.addresses, self.nodes, strict=True)}  # fmt: skip
            if all(state == "ok" for state in states.values()):
                return
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        raise RuntimeError(
            f"the cluster is not ready: {states}\nredis-cli said:\n{self.create_output}"
        )

    def _state(self, node: RedisServer) -> str:
        """`ok` once the node says `cluster_state:ok`, knows every node and sees all
        16384 slots assigned; else what it reports instead."""
        client = redis.Redis.from_url(
            self.admin_url(node), socket_timeout=1.0, socket_connect_timeout=1.0
        )
        try:
            info = client.cluster("INFO")
        except (redis.RedisError, OSError) as exc:
            return f"unreachable ({exc})"
        finally:
            client.close()
        state = str(info.get("cluster_state"))
        assigned = int(info.get("cluster_slots_assigned", 0))
        known = int(info.get("cluster_known_nodes", 0))
        if state == "ok" and assigned == CLUSTER_SLOTS and known == len(self.nodes):
            return "ok"
        return f"cluster_state:{state} slots_assigned:{assigned} known_nodes:{known}"

    def stop(self) -> None:
        """Stop every node started (SIGTERM, then SIGKILL if one hangs)."""
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _text(output: bytes | str | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output
