"""What `make observe` runs without Docker and where: Prometheus's configuration for the
running stack's replicas, Grafana's configuration and environment, the run/ paths and the
summary it prints. Pure but for finding Grafana, so they are unit-tested
(tests/unit/test_observe_config.py)."""

import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.local.stack_config import SERVICES, ConfigError
from infra.local.stack_replicas import Replica

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_FILES = ROOT / "infra" / "prometheus"
GRAFANA_FILES = ROOT / "infra" / "grafana"
PORT_DEFAULTS = {"PROMETHEUS_PORT": 9090, "GRAFANA_PORT": 3000}
SCRAPE_INTERVAL = "15s"
JOBS = sorted(service.name for service in SERVICES)
# Where Grafana's own files are (conf/defaults.ini, public/) for its packages and tarballs.
GRAFANA_HOMES = (
    Path("/usr/share/grafana"),
    Path("/usr/local/share/grafana"),
    Path("/opt/homebrew/share/grafana"),
    Path("/opt/grafana"),
)
GRAFANA_INSTALL_HINT = """\
Grafana is not installed, so only Prometheus runs. For the dashboard too, install Grafana OSS
(https://grafana.com/docs/grafana/latest/setup-grafana/installation/):
  Debian/Ubuntu  add Grafana's APT repository (https://apt.grafana.com), then
                 sudo apt-get install grafana
  macOS          brew install grafana
  elsewhere      unpack the standalone tarball and put its bin/ on PATH
                 (or set GRAFANA_HOME to its folder)
then run `make observe` again."""


@dataclass(frozen=True)
class ObservePaths:
    """Prometheus's and Grafana's files under `run/`, next to the stack's."""

    root: Path

    def pid(self, name: str) -> Path:
        return self.root / "pids" / f"{name}.pid"

    @property
    def prometheus(self) -> Path:
        return self.root / "prometheus"

    @property
    def prometheus_config(self) -> Path:
        return self.prometheus / "prometheus.yml"

    @property
    def grafana(self) -> Path:
        return self.root / "grafana"

    @property
    def grafana_config(self) -> Path:
        return self.grafana / "grafana.ini"


def observe_ports(environ: Mapping[str, str]) -> dict[str, int]:
    """Prometheus's and Grafana's ports: `PROMETHEUS_PORT`, `GRAFANA_PORT`, else 9090, 3000."""
    ports = {}
    for variable, default in PORT_DEFAULTS.items():
        raw = environ.get(variable, "").strip() or str(default)
        if not (raw.isdigit() and 0 < int(raw) < 65536):
            raise ConfigError(f"{variable}={raw!r}: give a port number, 1-65535")
        ports[variable] = int(raw)
    return ports


def scrape_targets(replicas: Sequence[Replica]) -> dict[str, list[str]]:
    """host:port of each replica, by service (Prometheus's job names)."""
    targets: dict[str, list[str]] = {}
    for replica in replicas:
        targets.setdefault(replica.service.name, []).append(f"127.0.0.1:{replica.port}")
    return targets


def prometheus_config(
    *,
    targets: Mapping[str, Sequence[str]],
    rules: Path,
    scrape_interval: str = SCRAPE_INTERVAL,
) -> dict[str, Any]:
    """Prometheus's configuration: a job per service with `targets`, scraping them, and the
    alert rules of `rules`. infra/prometheus/prometheus.yml is this for the default ports (a
    unit test holds them together); written as JSON, which is YAML too."""
    return {
        "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": list(targets[job])}]}
            for job in JOBS
            if targets.get(job)
        ],
    }


def grafana_command(environ: Mapping[str, str], config: Path) -> list[str] | None:
    """`grafana server` (Grafana 10 and later) or `grafana-server`, with its home folder and
    `config`; None when neither is on PATH."""
    for name, subcommand in (("grafana", ["server"]), ("grafana-server", [])):
        binary = shutil.which(name, path=environ.get("PATH", os.defpath))
        if binary:
            home = grafana_home(Path(binary), environ)
            return [binary, *subcommand, "--homepath", str(home), "--config", str(config)]
    return None


def grafana_home(binary: Path, environ: Mapping[str, str]) -> Path:
    """GRAFANA_HOME, else the tarball the binary came from, else a packaged home."""
    if environ.get("GRAFANA_HOME"):
        return Path(environ["GRAFANA_HOME"])
    candidates = (binary.resolve().parents[1], *GRAFANA_HOMES)
    found = [home for home in candidates if (home / "conf" / "defaults.ini").is_file()]
    return found[0] if found else GRAFANA_HOMES[0]


def grafana_ini(paths: ObservePaths, *, port: int) -> str:
    """Grafana's configuration: its state under run/grafana, the livecart dashboard as the
    home page, anyone on this machine a viewer (admin/admin, asked to change, to edit)."""
    return "\n".join([
        "; Written by `make observe` (infra/local/observe_config.py).",
        "[paths]",
        f"data = {paths.grafana / 'data'}",
        f"logs = {paths.grafana / 'logs'}",
        f"plugins = {paths.grafana / 'plugins'}",
        f"provisioning = {GRAFANA_FILES / 'provisioning'}",
        "[server]",
        "http_addr = 127.0.0.1",
        f"http_port = {port}",
        "[auth.anonymous]",
        "enabled = true",
        "org_role = Viewer",
        "[dashboards]",
        f"default_home_dashboard_path = {GRAFANA_FILES / 'livecart.json'}",
        "[analytics]",
        "reporting_enabled = false",
        "check_for_updates = false",
        "",
    ])  # fmt: skip


def grafana_environment(
    environ: Mapping[str, str], *, paths: ObservePaths, prometheus_port: int
) -> dict[str, str]:
    """`environ` plus what the provisioning files in infra/grafana/provisioning read."""
    return {
        **environ,
        "GF_PATHS_PROVISIONING": str(GRAFANA_FILES / "provisioning"),
        "GF_PATHS_DATA": str(paths.grafana / "data"),
        "LIVECART_PROMETHEUS_ADDRESS": f"127.0.0.1:{prometheus_port}",
        "LIVECART_DASHBOARDS": str(GRAFANA_FILES),
    }


def observe_summary(*, prometheus_port: int, grafana_port: int | None) -> str:
    """The URLs `make observe` prints."""
    prometheus = f"http://127.0.0.1:{prometheus_port}"
    lines = [
        f"Prometheus  {prometheus}  (targets: {prometheus}/targets, alerts: {prometheus}/alerts)"
    ]
    if grafana_port is None:
        lines.append(GRAFANA_INSTALL_HINT)
    else:
        grafana = f"http://127.0.0.1:{grafana_port}"
        lines.append(
            f"Grafana     {grafana}/d/livecart  (anyone here may view; sign in as admin/admin, "
            "then a new password, to edit)"
        )
    lines.append("Stop them with `make observe-down`.")
    return "\n".join(lines)
