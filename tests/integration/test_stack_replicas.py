"""`make up SCALE_ORDERS=2 SCALE_NOTIFIER=2` for real: every replica starts on its own port
with its own pid and log file, `status` lists them all, `down` stops them all."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local import stack
from infra.local.processes import is_running, port_in_use, read_pid
from infra.local.redis_server import free_port
from infra.local.stack_config import RunPaths

pytestmark = pytest.mark.slow

REPLICA_NAMES = ["orders", "orders-2", "notifier", "notifier-2", "storefront"]


def free_base_port() -> int:
    """A free port whose +10 is free too (replica 2 listens there)."""
    while True:
        port = free_port()
        if port + 10 < 65536 and not port_in_use(port + 10):
            return port


@pytest.fixture
def local_stack(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str, stream_prefix: str
) -> Iterator[RunPaths]:
    """`stack` pointed at a run/ of this test's own, its databases in tmp_path."""
    paths = RunPaths(tmp_path / "run")
    monkeypatch.setattr(stack, "PATHS", paths)
    monkeypatch.setattr(stack, "REPLICAS_FILE", paths.root / "replicas.json")
    for name in ("DATABASE_URL", "NOTIFIER_PUBLIC_URL", "NOTIFIER_PUBLIC_URLS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("LIVECART_STREAM_PREFIX", stream_prefix)
    monkeypatch.setenv("ORDERS_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'orders.db'}")
    monkeypatch.setenv("STOREFRONT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'sf.db'}")
    for variable in ("STOREFRONT_PORT", "NOTIFIER_PORT", "ORDERS_PORT"):
        monkeypatch.setenv(variable, str(free_base_port()))
    monkeypatch.setenv("SCALE_ORDERS", "2")
    monkeypatch.setenv("SCALE_NOTIFIER", "2")
    try:
        yield paths
    finally:
        stack.down()


def test_up_runs_every_replica_status_lists_them_and_down_stops_them(
    local_stack: RunPaths, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.up()
    printed = capsys.readouterr().out
    pids = {name: read_pid(local_stack.pid(name)) for name in REPLICA_NAMES}
    assert all(pid and is_running(pid, "services.") for pid in pids.values()), pids
    assert len(set(pids.values())) == len(REPLICA_NAMES)
    assert all(local_stack.log(name).exists() for name in REPLICA_NAMES)
    assert "orders x2" in printed
    assert "notifier x2" in printed
    assert "share the SQLite file" in printed

    for variable in ("SCALE_ORDERS", "SCALE_NOTIFIER"):  # status reads what up recorded
        monkeypatch.delenv(variable)
    stack.status()
    lines = capsys.readouterr().out.splitlines()
    for name in REPLICA_NAMES:
        line = next(line for line in lines if line.split()[0] == name)
        assert "running" in line
        assert line.endswith("/ready 200"), line

    stack.down()
    assert "orders-2" in capsys.readouterr().out
    assert not any(is_running(pid, "services.") for pid in pids.values() if pid)
    assert list(local_stack.pids.glob("*.pid")) == []
