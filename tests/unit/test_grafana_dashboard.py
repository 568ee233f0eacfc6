"""The Grafana dashboard in infra/ only charts metrics the services really export."""

import importlib
import json
import re
from pathlib import Path

from faststream.redis import RedisBroker
from faststream.redis.prometheus import RedisPrometheusMiddleware
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "infra" / "grafana" / "livecart.json"
# The shared metrics (services/common/metrics.py) and each service's own.
METRICS_MODULES = sorted(ROOT.glob("services/*/metrics.py"))


def exported_metric_names() -> set[str]:
    for path in METRICS_MODULES:  # importing a module registers its livecart_* metrics
        importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
    RedisBroker(middlewares=[RedisPrometheusMiddleware(registry=REGISTRY)])  # faststream_*
    return {m.name for m in REGISTRY.collect()}


def test_every_dashboard_query_uses_a_metric_the_services_export() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    used = {
        re.sub(r"_(total|bucket|count|sum)$", "", name)
        for panel in panels
        for target in panel["targets"]
        for name in re.findall(r"\b(?:livecart|faststream)_\w+", target["expr"])
    }
    assert used, "the dashboard charts nothing"
    assert used <= exported_metric_names(), used - exported_metric_names()
