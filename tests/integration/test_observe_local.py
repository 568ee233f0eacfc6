"""`make observe`'s local path for real: the prometheus on PATH (infra/ci/promtool.sh installs
it) started by infra/local/observe.py against a running orders service, on free ports."""

import functools
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from infra.local.observe import down, up
from infra.local.observe_config import PROMETHEUS_FILES, ObservePaths
from infra.local.processes import is_running, read_pid
from infra.local.redis_server import free_port
from tests.support.stack import ROOT, ServiceProcess, service_env

pytestmark = pytest.mark.slow

T = TypeVar("T")
# Straight to 127.0.0.1, never through an http_proxy from the environment.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
SAMPLED = (
    "livecart_group_lag",
    "livecart_group_oldest_pending_age_seconds",
    "livecart_outbox_backlog",
    "livecart_outbox_oldest_age_seconds",
)
"""Gauges the orders service sets from its first seconds, read by the alert rules."""


@pytest.fixture(autouse=True)
def prometheus_installed() -> None:
    """`make test` installs prometheus (infra/ci/promtool.sh): missing, this fails, as the
    promtool tests do, rather than skip the check."""
    if shutil.which("prometheus") is None:
        pytest.fail("no prometheus on PATH: run `bash infra/ci/promtool.sh` (make test does)")


@pytest.fixture
def orders(tmp_path: Path, redis_url: str, stream_prefix: str) -> Iterator[ServiceProcess]:
    """One orders process (it samples the group and outbox gauges) on its own port."""
    port = free_port()
    env = service_env(
        redis_url=redis_url, stream_prefix=stream_prefix, workdir=tmp_path, ORDERS_PORT=str(port)
    )
    seed = [sys.executable, "-m", "services.orders", "seed-demo"]
    subprocess.run(seed, cwd=ROOT, env=env, check=True, capture_output=True, timeout=60)
    service = ServiceProcess("orders", port, env, tmp_path / "orders.log").start()
    try:
        service.wait_ready()
        yield service
    finally:
        service.terminate()


def get(url: str) -> Any:
    with DIRECT.open(url, timeout=2) as response:
        return json.load(response)


def api(port: int, path: str) -> Any:
    """The `data` of Prometheus's HTTP API answer at `path`."""
    return get(f"http://127.0.0.1:{port}/api/v1/{path}")["data"]


def poll(read: Callable[[], T], done: Callable[[T], bool], *, timeout: float = 45.0) -> T:
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.5)
        value = read()
    return value


def test_observe_starts_prometheus_scraping_the_service_with_the_rules_loaded(
    tmp_path: Path, orders: ServiceProcess
) -> None:
    paths = ObservePaths(tmp_path / "run")
    ports = {"PROMETHEUS_PORT": free_port(), "GRAFANA_PORT": free_port()}
    port = ports["PROMETHEUS_PORT"]
    observed = up(
        paths=paths,
        targets={"orders": [f"127.0.0.1:{orders.port}"]},
        ports=ports,
        environ=os.environ,
        scrape_interval="1s",
    )
    try:
        assert observed.prometheus_port == port
        targets = poll(
            lambda: api(port, "targets")["activeTargets"],
            lambda found: any(t["health"] == "up" for t in found),
        )
        assert [(t["labels"]["job"], t["health"]) for t in targets] == [("orders", "up")], targets

        expected = yaml.safe_load((PROMETHEUS_FILES / "alerts.yml").read_text())["groups"]
        names = {rule["alert"] for group in expected for rule in group["rules"]}
        rules = poll(
            lambda: [rule for group in api(port, "rules")["groups"] for rule in group["rules"]],
            lambda found: bool(found) and all(rule["health"] == "ok" for rule in found),
        )
        assert {rule["name"] for rule in rules} == names
        assert all(rule["health"] == "ok" for rule in rules), rules  # each evaluated cleanly

        # What the stream and outbox alerts read is really there in a scrape of the service.
        for metric in SAMPLED:
            query = functools.partial(api, port, f"query?query={metric}")
            assert poll(query, lambda data: bool(data["result"]))["result"], f"{metric} not seen"
        if observed.grafana_port is not None:  # only where Grafana is installed
            grafana = f"http://127.0.0.1:{observed.grafana_port}/api"
            assert get(f"{grafana}/health")["database"] == "ok"
            found = get(f"{grafana}/search?query=livecart")
            assert [d["uid"] for d in found if d["type"] == "dash-db"] == ["livecart"]
    finally:
        pid = read_pid(paths.pid("prometheus"))
        down(paths)
    assert pid is not None
    assert not is_running(pid, str(paths.prometheus_config))
    assert read_pid(paths.pid("prometheus")) is None
