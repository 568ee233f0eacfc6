"""Prometheus and Grafana for the stack `make up` runs, without Docker:
`python -m infra.local.observe up|down` (`make observe`, `make observe-down`).

`up` writes Prometheus's configuration for the running stack's replicas and starts
`prometheus` from PATH with the rules of infra/prometheus/alerts.yml, then Grafana, when it
is installed, with the livecart dashboard provisioned; both in the background, state under
run/prometheus and run/grafana. Started again, it restarts them with the stack's current
ports. `down` stops them.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from infra.local.observe_config import (
    PROMETHEUS_FILES,
    ROOT,
    SCRAPE_INTERVAL,
    ObservePaths,
    grafana_command,
    grafana_environment,
    grafana_ini,
    observe_ports,
    observe_summary,
    prometheus_config,
    scrape_targets,
)
from infra.local.processes import (
    http_status,
    is_running,
    port_in_use,
    read_pid,
    start_background,
    stop,
    tail,
    write_pid,
)
from infra.local.stack_config import StackError, Started
from infra.local.stack_replicas import load_replicas, plan_replicas

PATHS = ObservePaths(ROOT / "run")
REPLICAS_FILE = ROOT / "run" / "replicas.json"
READY_TIMEOUT = 60.0  # Grafana migrates its database on a first start: tens of seconds
PROMETHEUS_INSTALL_HINT = (
    "`prometheus` is not on PATH. Install it (Debian/Ubuntu: sudo apt-get install prometheus; "
    "macOS: brew install prometheus; else https://prometheus.io/download/) and run "
    "`make observe` again."
)


@dataclass(frozen=True)
class Observed:
    """Where `up` left Prometheus and Grafana (None: Grafana is not installed)."""

    prometheus_port: int
    grafana_port: int | None


def up(
    *,
    paths: ObservePaths,
    targets: Mapping[str, Sequence[str]],
    ports: Mapping[str, int],
    environ: Mapping[str, str],
    scrape_interval: str = SCRAPE_INTERVAL,
) -> Observed:
    """Start Prometheus scraping `targets`, then Grafana when installed; each ready."""
    prometheus = shutil.which("prometheus", path=environ.get("PATH", os.defpath))
    if prometheus is None:
        raise StackError(PROMETHEUS_INSTALL_HINT)
    grafana = grafana_command(environ, paths.grafana_config)
    down(paths, quiet=True)  # a second `up` restarts both with the stack's current ports
    started: Started = []
    try:
        config = paths.prometheus_config
        config.parent.mkdir(parents=True, exist_ok=True)
        settings = prometheus_config(
            targets=targets, rules=PROMETHEUS_FILES / "alerts.yml", scrape_interval=scrape_interval
        )
        config.write_text(json.dumps(settings, indent=2) + "\n")
        command = [
            prometheus,
            f"--config.file={config}",
            f"--storage.tsdb.path={paths.prometheus / 'data'}",
            f"--web.listen-address=127.0.0.1:{ports['PROMETHEUS_PORT']}",
        ]
        launch("prometheus", command, port=ports["PROMETHEUS_PORT"], ready="/-/ready",
               paths=paths, env=environ, started=started)  # fmt: skip
        if grafana is None:
            return Observed(ports["PROMETHEUS_PORT"], None)
        paths.grafana_config.write_text(grafana_ini(paths, port=ports["GRAFANA_PORT"]))
        env = grafana_environment(environ, paths=paths, prometheus_port=ports["PROMETHEUS_PORT"])
        launch("grafana", grafana, port=ports["GRAFANA_PORT"], ready="/api/health",
               paths=paths, env=env, started=started)  # fmt: skip
    except BaseException:  # Ctrl-C included: leave nothing half-started
        for name, marker, pid in reversed(started):
            stop(pid, marker=marker)
            paths.pid(name).unlink(missing_ok=True)
        raise
    return Observed(ports["PROMETHEUS_PORT"], ports["GRAFANA_PORT"])


def launch(
    name: str,
    command: list[str],
    *,
    port: int,
    ready: str,
    paths: ObservePaths,
    env: Mapping[str, str],
    started: Started,
) -> None:
    """Start `command` in the background (log under run/<name>/), listening on `port`, and
    wait until its `ready` path answers 200."""
    if port_in_use(port):
        raise StackError(f"port {port} for {name} is taken by another program; free it or "
                         f"set {name.upper()}_PORT")  # fmt: skip
    log = paths.root / name / f"{name}.log"
    process = start_background(command, cwd=ROOT, env=env, log=log)
    write_pid(paths.pid(name), process.pid)
    started.append((name, marker_of(name, paths), process.pid))
    wait_ready(name, process, f"http://127.0.0.1:{port}{ready}", log)
    print(f"Started {name} (pid {process.pid}), log in {log}")


def marker_of(name: str, paths: ObservePaths) -> str:
    """What only our process's command line holds: the path of its generated config."""
    return str(paths.prometheus_config if name == "prometheus" else paths.grafana_config)


def wait_ready(name: str, process: "subprocess.Popen[bytes]", url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StackError(
                f"{name} exited with code {process.returncode}; last lines of {log}:\n{tail(log)}"
            )
        if http_status(url) == 200:
            return
        time.sleep(0.25)
    raise StackError(f"{name} did not answer {url} within {READY_TIMEOUT:.0f}s; "
                     f"last lines of {log}:\n{tail(log)}")  # fmt: skip


def down(paths: ObservePaths, *, quiet: bool = False) -> None:
    """Stop Grafana, then Prometheus, where `up` started them."""
    stopped = []
    for name in ("grafana", "prometheus"):
        pid = read_pid(paths.pid(name))
        if pid and is_running(pid, marker_of(name, paths)):
            stop(pid, marker=marker_of(name, paths))
            stopped.append(f"{name} (pid {pid})")
        paths.pid(name).unlink(missing_ok=True)
    if stopped:
        print("Stopped " + ", ".join(stopped))
    elif not quiet:
        print("Nothing to stop: nothing `make observe` started is running.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.observe", description=__doc__)
    parser.add_argument("command", choices=("up", "down"))
    args = parser.parse_args(argv)
    try:
        if args.command == "down":
            down(PATHS)
            return 0
        replicas = load_replicas(REPLICAS_FILE) or plan_replicas(os.environ)
        ports = observe_ports(os.environ)
        observed = up(paths=PATHS, targets=scrape_targets(replicas), ports=ports,
                      environ=os.environ)  # fmt: skip
    except StackError as error:
        print(f"observe {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    if not any(http_status(f"http://127.0.0.1:{r.port}/health") == 200 for r in replicas):
        print("No livecart service answers yet: `make up` starts them, and Prometheus "
              "scrapes them as soon as they run.")  # fmt: skip
    print(observe_summary(prometheus_port=observed.prometheus_port,
                          grafana_port=observed.grafana_port))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
