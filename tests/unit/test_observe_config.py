"""`make observe`: what its local path writes for Prometheus and Grafana, and that the
compose path's files (infra/prometheus/prometheus.compose.yml, the `observability` profile
of infra/compose.yaml, infra/grafana/provisioning) agree with it."""

import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.local.observe_config import (
    GRAFANA_FILES,
    GRAFANA_INSTALL_HINT,
    PROMETHEUS_FILES,
    ObservePaths,
    grafana_command,
    grafana_environment,
    grafana_ini,
    observe_ports,
    observe_summary,
    prometheus_config,
    scrape_targets,
)
from infra.local.stack_config import ConfigError
from infra.local.stack_replicas import plan_replicas
from tests.unit.test_compose import raw

PROVISIONING = GRAFANA_FILES / "provisioning"


def jobs(config: dict[str, Any]) -> dict[str, list[str]]:
    return {
        job["job_name"]: [t for static in job["static_configs"] for t in static["targets"]]
        for job in config["scrape_configs"]
    }


def checked_in(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROMETHEUS_FILES / name).read_text())
    return loaded


def test_the_checked_in_configuration_is_what_observe_writes_for_the_default_stack() -> None:
    written = prometheus_config(targets=scrape_targets(plan_replicas({})), rules=Path("alerts.yml"))
    config = checked_in("prometheus.yml")
    assert config["global"] == written["global"]
    assert config["rule_files"] == written["rule_files"]
    assert (
        jobs(config)
        == jobs(written)
        == {
            "storefront": ["127.0.0.1:8000"],
            "notifier": ["127.0.0.1:8001"],
            "orders": ["127.0.0.1:8002"],
        }
    )


def test_the_compose_configuration_scrapes_each_compose_service_at_its_port() -> None:
    local, composed = checked_in("prometheus.yml"), checked_in("prometheus.compose.yml")
    assert {k: v for k, v in composed.items() if k != "scrape_configs"} == {
        k: v for k, v in local.items() if k != "scrape_configs"
    }
    services = raw()["services"]
    expected = {}
    for job in jobs(local):
        (mapping,) = services[job]["ports"]
        expected[job] = [f"{job}:{mapping.split(':')[-1]}"]
    assert jobs(composed) == expected


def test_every_replica_of_the_stack_is_scraped() -> None:
    replicas = plan_replicas({"SCALE_ORDERS": "3", "STOREFRONT_PORT": "9000"})
    targets = jobs(prometheus_config(targets=scrape_targets(replicas), rules=Path("/r.yml")))
    assert targets["orders"] == ["127.0.0.1:8002", "127.0.0.1:8012", "127.0.0.1:8022"]
    assert targets["storefront"] == ["127.0.0.1:9000"]


def test_ports_default_to_9090_and_3000_and_refuse_what_is_not_a_port() -> None:
    assert observe_ports({}) == {"PROMETHEUS_PORT": 9090, "GRAFANA_PORT": 3000}
    assert observe_ports({"GRAFANA_PORT": "3300"})["GRAFANA_PORT"] == 3300
    with pytest.raises(ConfigError, match="PROMETHEUS_PORT"):
        observe_ports({"PROMETHEUS_PORT": "http"})


def executable(folder: Path, name: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_grafana_runs_as_grafana_server_from_the_folder_it_was_unpacked_in(tmp_path: Path) -> None:
    home = tmp_path / "grafana-11.2.0"
    (home / "conf").mkdir(parents=True)
    (home / "conf" / "defaults.ini").write_text("")
    binary = executable(home / "bin", "grafana")
    config = tmp_path / "grafana.ini"
    command = grafana_command({"PATH": str(home / "bin")}, config)
    assert command == [str(binary), "server", "--homepath", str(home), "--config", str(config)]


def test_an_older_grafana_server_binary_is_used_and_none_is_none(tmp_path: Path) -> None:
    binary = executable(tmp_path / "bin", "grafana-server")
    env = {"PATH": str(tmp_path / "bin"), "GRAFANA_HOME": "/srv/grafana"}
    command = grafana_command(env, tmp_path / "g.ini")
    assert command is not None
    assert command[:3] == [str(binary), "--homepath", "/srv/grafana"]
    assert grafana_command({"PATH": str(tmp_path / "empty")}, tmp_path / "g.ini") is None


def test_without_grafana_the_summary_says_how_to_install_it() -> None:
    alone = observe_summary(prometheus_port=9090, grafana_port=None)
    assert "http://127.0.0.1:9090" in alone
    assert GRAFANA_INSTALL_HINT in alone
    assert "apt-get install grafana" in GRAFANA_INSTALL_HINT
    both = observe_summary(prometheus_port=9090, grafana_port=3000)
    assert "http://127.0.0.1:3000/d/livecart" in both
    assert GRAFANA_INSTALL_HINT not in both


def test_grafana_gets_the_provisioning_its_files_ask_for_locally_and_under_compose() -> None:
    datasource = (PROVISIONING / "datasources" / "livecart.yml").read_text()
    dashboards = (PROVISIONING / "dashboards" / "livecart.yml").read_text()
    assert "url: http://${LIVECART_PROMETHEUS_ADDRESS}" in datasource
    assert "path: ${LIVECART_DASHBOARDS}" in dashboards
    paths = ObservePaths(Path("/tmp/run"))
    local = grafana_environment({}, paths=paths, prometheus_port=19090)
    assert local["LIVECART_PROMETHEUS_ADDRESS"] == "127.0.0.1:19090"
    assert (Path(local["LIVECART_DASHBOARDS"]) / "livecart.json").is_file()
    assert local["GF_PATHS_PROVISIONING"] == str(PROVISIONING)
    assert f"provisioning = {PROVISIONING}" in grafana_ini(paths, port=3000)
    grafana = raw()["services"]["grafana"]
    assert grafana["environment"]["LIVECART_PROMETHEUS_ADDRESS"] == "prometheus:9090"
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"])
    folder = grafana["environment"]["LIVECART_DASHBOARDS"]
    assert mounts["./grafana/livecart.json"] == f"{folder}/livecart.json"
    for provisioned in PROVISIONING.rglob("*.yml"):
        relative = provisioned.relative_to(PROVISIONING)
        assert (
            mounts[f"./grafana/provisioning/{relative}"] == f"/etc/grafana/provisioning/{relative}"
        )


def test_the_observability_profile_runs_prometheus_with_the_rules_on_this_host_only() -> None:
    services = raw()["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["observability"]
        assert all(port.startswith("127.0.0.1:") for port in services[name]["ports"])
    others = [spec for name, spec in services.items() if name not in {"prometheus", "grafana"}]
    assert all("profiles" not in spec for spec in others), "a plain `up` runs the stack"
    prometheus = services["prometheus"]
    mounts = dict(volume.split(":")[:2] for volume in prometheus["volumes"])
    assert mounts["./prometheus/prometheus.compose.yml"] == "/etc/prometheus/prometheus.yml"
    # rule_files are relative to the configuration's folder
    assert mounts["./prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
