"""infra/prometheus: promtool accepts the alert rules and both configurations, the rules'
unit tests (alerts_test.yml) pass and fire every alert, and the rules only use metrics the
services export, so a renamed metric breaks here and not silently in production.
`make test` installs promtool first (infra/ci/promtool.sh)."""

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.local.observe_config import JOBS
from tests.unit.test_grafana_dashboard import exported_metric_names

PROMETHEUS = Path(__file__).resolve().parents[2] / "infra" / "prometheus"
RULES = PROMETHEUS / "alerts.yml"
RULE_TESTS = PROMETHEUS / "alerts_test.yml"
CONFIGS = [PROMETHEUS / "prometheus.yml", PROMETHEUS / "prometheus.compose.yml"]


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.fail("promtool is not installed: run `bash infra/ci/promtool.sh` (make test does)")
    return subprocess.run(
        [binary, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60
    )


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def test_promtool_accepts_the_alert_rules() -> None:
    result = promtool("check", "rules", RULES.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout


@pytest.mark.parametrize("config", CONFIGS, ids=lambda path: path.name)
def test_promtool_accepts_the_configuration_and_the_rules_it_loads(config: Path) -> None:
    result = promtool("check", "config", config.name)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 1 rule files found" in result.stdout


def test_the_rules_unit_tests_pass() -> None:
    result = promtool("test", "rules", RULE_TESTS.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test_where_it_fires_and_one_where_it_does_not() -> None:
    checks = [
        check for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for check in test["alert_rule_test"]
    ]  # fmt: skip
    for rule in alert_rules():
        mine = [check for check in checks if check["alertname"] == rule["alert"]]
        assert any(check["exp_alerts"] for check in mine), f"{rule['alert']} never fires"
        assert any(not check["exp_alerts"] for check in mine), f"{rule['alert']} never quiet"


def test_every_metric_the_rules_use_is_one_the_services_export() -> None:
    used = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for rule in alert_rules()
        for name in re.findall(r"\blivecart_\w+", rule["expr"])
    }
    assert {"livecart_group_lag", "livecart_dead_letters", "livecart_outbox_backlog"} <= used
    assert used <= exported_metric_names(), used - exported_metric_names()


def test_every_alert_says_how_bad_it_is_and_what_to_do() -> None:
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), rule["alert"]
        assert re.search(r"`(livecart-ops [a-z ]+|make status)", annotations["description"]), (
            f"{rule['alert']} does not say which command to run"
        )


def test_the_service_down_alert_watches_exactly_the_scraped_jobs() -> None:
    (down,) = [rule for rule in alert_rules() if rule["alert"] == "LivecartServiceDown"]
    watched = re.search(r'job=~"([^"]+)"', down["expr"])
    assert watched, down["expr"]
    for config in CONFIGS:
        jobs = {job["job_name"] for job in yaml.safe_load(config.read_text())["scrape_configs"]}
        assert set(watched[1].split("|")) == jobs == set(JOBS), config.name
