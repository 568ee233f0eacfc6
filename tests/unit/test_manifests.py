"""infra/k8s, validated offline: every resource against the Kubernetes schemas of a pinned
version (kubernetes-validate, strict), KEDA's against a schema written from its docs, and
the facts that tie the manifests to the code: environment, ports, probes, grace period,
stream and group names, Secrets. Helpers here are shared with test_compose.py."""

import fnmatch
import importlib.util
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from fastapi import FastAPI
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from contracts import GROUP_ORDERS, Streams
from services.common.http import add_operational_routes
from services.common.serve import GRACEFUL_SHUTDOWN_SECONDS
from services.common.settings import ServiceSettings
from services.common.streams.broker import build_broker
from services.notifier.config import NotifierSettings
from services.ops.acl import acl_rules
from services.orders.config import OrdersSettings
from services.orders.entrypoints.app import STOP_LOOPS_SECONDS
from services.storefront.config import StorefrontSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "infra" / "k8s"
KUBERNETES_VERSION = "1.32.0"
KEDA_SCHEMA = K8S / "schemas" / "keda.sh-v1alpha1.schema.json"
SETTINGS = {
    "storefront": StorefrontSettings,
    "orders": OrdersSettings,
    "notifier": NotifierSettings,
}
# Read by KEDA's scaler from the orders pod, not by a service (REDIS_ADDRESSES: on a Cluster).
KEDA_READS = {"REDIS_ADDRESS", "REDIS_ADDRESSES"}
SECRET_PLACEHOLDERS = {
    "redis-url": "redis://{service}:placeholder-password-0123456789@redis.example:6379/0",
    "database-url": "postgresql+asyncpg://{service}:placeholder@db.example:5432/{service}",
    "secret": "placeholder-token-secret-" + "x" * 40,
    "payment-ticket-secret": "placeholder-payment-ticket-secret-" + "x" * 40,
}


# Shared with test_compose.py ---------------------------------------------------------------


def shutdown_bound_seconds() -> float:
    """uvicorn's wait for open responses, then the broker's wait for in-flight handlers,
    then the orders loops' last round."""
    # model_construct: defaults only, whatever this process's environment says.
    broker = build_broker(ServiceSettings.model_construct(), description="shutdown bound")
    return GRACEFUL_SHUTDOWN_SECONDS + float(broker.config.graceful_timeout) + STOP_LOOPS_SECONDS


def env_names(settings_class: type[BaseSettings]) -> set[str]:
    """Every environment variable `settings_class` reads."""
    prefix = str(settings_class.model_config.get("env_prefix") or "")
    names = {f"{prefix}REDIS_URL"}  # ServiceSettings._own_redis_user
    for name, field in settings_class.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c.upper() for c in alias.choices if isinstance(c, str) and c.isupper()}
        else:
            names.add(f"{prefix}{name}".upper())
    return names


def production_settings(
    monkeypatch: pytest.MonkeyPatch, service: str, env: dict[str, str]
) -> ServiceSettings:
    """The settings `service` builds from exactly `env`, nothing from this process."""
    for name in list(os.environ):
        if name.startswith(("LIVECART_", "STOREFRONT_", "ORDERS_", "NOTIFIER_", "OTEL_")) or (
            name in {"REDIS_URL", "DATABASE_URL"}
        ):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = SETTINGS[service]()
    assert settings.is_production, f"{service} does not run in production mode"
    return settings


def service_of(command: list[str]) -> tuple[str, list[str]]:
    """`python -m services.<name> [args]` -> (name, args); fails on anything else."""
    assert command[:2] == ["python", "-m"], command
    module, *args = command[2:]
    assert re.fullmatch(r"services\.[a-z]+", module), command
    assert importlib.util.find_spec(f"{module}.__main__"), f"{module} has no __main__"
    for arg in args:
        source = (ROOT / module.replace(".", "/") / "__main__.py").read_text()
        assert f'"{arg}"' in source, f"{module} has no {arg!r} command"
    return module.split(".")[1], args


def operational_paths() -> set[str]:
    app = FastAPI()
    add_operational_routes(app, {})
    return {getattr(route, "path", "") for route in app.routes}


# The manifests -----------------------------------------------------------------------------


def documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            for doc in yaml.safe_load_all(path.read_text()):
                yield path.name, doc


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in documents() if d["kind"] == kind}


def config_map() -> dict[str, str]:
    data: dict[str, str] = of_kind("ConfigMap")["livecart"]["data"]
    return data


def pod_env(container: dict[str, Any]) -> dict[str, str]:
    """The container's environment, Secrets replaced by placeholders of the same shape."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == "livecart", source
        env |= config_map()
    for item in container.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            service = ref["name"].removeprefix("livecart-")
            env[item["name"]] = SECRET_PLACEHOLDERS[ref["key"]].format(service=service)
        else:
            env[item["name"]] = item["value"]
    return env


def deployments() -> dict[str, dict[str, Any]]:
    return of_kind("Deployment")


def main_container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


def test_every_resource_is_valid_for_the_pinned_kubernetes_version() -> None:
    checked = 0
    for name, doc in documents():
        if doc["apiVersion"].startswith("keda.sh/"):
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata']['name']}: {error.message}")
        checked += 1
    assert checked >= 10


def test_keda_resources_match_the_schema_written_from_kedas_documentation() -> None:
    schema = json.loads(KEDA_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    keda = [(name, doc) for name, doc in documents() if doc["apiVersion"].startswith("keda.sh/")]
    assert {doc["kind"] for _, doc in keda} == {"ScaledObject", "TriggerAuthentication"}
    for name, doc in keda:
        # Against the definition of its kind, so an error says what is wrong, not "no match".
        by_kind = {"$ref": f"#/$defs/{doc['kind']}", "$defs": schema["$defs"]}
        errors = list(jsonschema.Draft202012Validator(by_kind).iter_errors(doc))
        assert not errors, f"{name}: {[(list(e.absolute_path), e.message) for e in errors]}"
        assert jsonschema.Draft202012Validator(schema).is_valid(doc)


def test_the_kustomization_lists_every_manifest_and_builds() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    assert [image["name"] for image in kustomization["images"]] == ["livecart"]
    images = {c["image"] for d in deployments().values() for c in containers(d)}
    assert images == {"livecart"}, "every container runs the one livecart image"
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    built = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    for doc in yaml.safe_load_all(built):
        assert doc["metadata"].get("namespace", "livecart") == "livecart"
        if not doc["apiVersion"].startswith("keda.sh/"):
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec["containers"], *spec.get("initContainers", [])]


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_service_starts_in_production_mode_on_what_the_manifests_give_it(
    monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    deployment = deployments()[service]
    container = main_container(deployment)
    assert service_of(container["command"]) == (service, [])
    env = pod_env(container)
    settings = production_settings(monkeypatch, service, env)
    assert settings.host == "0.0.0.0", "the service must listen beyond the pod's loopback"
    (port,) = container["ports"]
    assert (port["name"], port["containerPort"]) == ("http", getattr(settings, "port", None))
    unknown = set(env) - env_names(SETTINGS[service]) - set(config_map())
    assert not unknown, f"{service} reads no {sorted(unknown)}"
    # A Service named like the app would inject <NAME>_PORT=tcp://…, read as the port.
    assert deployment["spec"]["template"]["spec"]["enableServiceLinks"] is False


def test_every_config_map_key_is_read_by_a_service_or_by_keda() -> None:
    read = set().union(*(env_names(cls) for cls in SETTINGS.values())) | KEDA_READS
    assert set(config_map()) <= read, set(config_map()) - read


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_a_pod_gets_only_its_own_secrets(service: str) -> None:
    for container in containers(deployments()[service]):
        names = {
            item["valueFrom"]["secretKeyRef"]["name"]
            for item in container.get("env", [])
            if "valueFrom" in item
        }
        assert names <= {f"livecart-{service}", "livecart-buyer-tokens"}, names
        assert f"{service.upper()}_REDIS_URL" in {item["name"] for item in container["env"]}


def test_every_secret_the_manifests_reference_is_documented() -> None:
    referenced = {
        (ref["name"], ref["key"])
        for d in deployments().values()
        for c in containers(d)
        for item in c.get("env", [])
        if (ref := item.get("valueFrom", {}).get("secretKeyRef"))
    } | {
        (ref["name"], ref["key"])
        for auth in of_kind("TriggerAuthentication").values()
        for ref in auth["spec"]["secretTargetRef"]
    }
    # Each `kubectl create secret generic NAME --from-literal=KEY=…` command, joined up.
    commands = (K8S / "README.md").read_text().replace("\\\n", " ").splitlines()
    documented = {
        (name, key)
        for line in commands
        for name in re.findall(r"create secret generic (\S+)", line)
        for key in re.findall(r"--from-literal=([\w-]+)=", line)
    }
    assert referenced == documented
    assert not of_kind("Secret"), "no Secret (and so no secret value) is committed"


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_probes_grace_period_and_security_of_each_deployment(service: str) -> None:
    pod = deployments()[service]["spec"]["template"]["spec"]
    container = main_container(deployments()[service])
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert {"/ready", "/health"} <= operational_paths()
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # What SIGTERM leaves to the service, once preStop has had its share of the grace period.
    assert pod["terminationGracePeriodSeconds"] - int(pre_stop[1]) > shutdown_bound_seconds()
    assert pod["securityContext"]["runAsNonRoot"] is True
    dockerfile_user = re.search(r"^USER (\d+)", (ROOT / "infra" / "Dockerfile").read_text(), re.M)
    assert dockerfile_user, "infra/Dockerfile names no numeric USER"
    assert pod["securityContext"]["runAsUser"] == int(dockerfile_user[1])
    for each in containers(deployments()[service]):
        assert set(each["resources"]) == {"requests", "limits"}, each["name"]
        assert each["securityContext"]["allowPrivilegeEscalation"] is False
        assert each["securityContext"]["readOnlyRootFilesystem"] is True
        assert each["securityContext"]["capabilities"]["drop"] == ["ALL"]
    for init in pod.get("initContainers", []):
        assert service_of(init["command"]) == (service, ["migrate"])
        assert init["env"] == container["env"], "the migration sees the service's own settings"


@pytest.mark.parametrize("kind", ["Service", "PodDisruptionBudget"])
def test_each_service_and_disruption_budget_selects_its_deployments_pods(kind: str) -> None:
    resources = of_kind(kind)
    assert set(resources) == set(deployments())
    for name, resource in resources.items():
        labels = deployments()[name]["spec"]["template"]["metadata"]["labels"]
        selector = resource["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert selector.items() <= labels.items(), name
        if kind == "Service":
            (port,) = resource["spec"]["ports"]
            assert port["targetPort"] in {
                p["name"] for p in main_container(deployments()[name])["ports"]
            }


def configured_streams() -> Streams:
    """The streams every service derives from the ConfigMap (prefix, checkout partitions)."""
    data = config_map()
    return Streams(data["LIVECART_STREAM_PREFIX"], int(data["LIVECART_CHECKOUT_PARTITIONS"]))


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_every_service_splits_checkouts_over_the_partitions_of_the_config_map(
    monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    env = pod_env(main_container(deployments()[service]))
    assert "LIVECART_CHECKOUT_PARTITIONS" not in {
        item["name"] for item in main_container(deployments()[service]).get("env", [])
    }, "set only in the ConfigMap, so no service can differ"
    settings = production_settings(monkeypatch, service, env)
    assert settings.streams == configured_streams()
    assert settings.redis_cluster is (config_map()["LIVECART_REDIS_CLUSTER"] == "true")


def test_keda_has_one_trigger_per_checkout_partition_of_the_config_map() -> None:
    scaled = of_kind("ScaledObject")["orders"]["spec"]
    streams = configured_streams()
    cluster = config_map()["LIVECART_REDIS_CLUSTER"] == "true"
    orders_env = pod_env(main_container(deployments()["orders"]))
    assert [t["metadata"]["stream"] for t in scaled["triggers"]] == list(streams.checkout_streams)
    for trigger in scaled["triggers"]:
        assert trigger["type"] == ("redis-cluster-streams" if cluster else "redis-streams")
        address = "addressesFromEnv" if cluster else "addressFromEnv"
        assert trigger["metadata"][address] in orders_env
        assert trigger["metadata"]["consumerGroup"] == GROUP_ORDERS
        assert "lagCount" in trigger["metadata"]
        assert trigger["authenticationRef"]["name"] in of_kind("TriggerAuthentication")
    names = [t.get("name") for t in scaled["triggers"]]
    formula = scaled.get("advanced", {}).get("scalingModifiers", {}).get("formula")
    if formula is not None:  # a sum of the partitions' lags: each trigger named, each used
        assert all(names), "scalingModifiers refer to the triggers by name"
        assert set(re.findall(r"[A-Za-z_]\w*", formula)) == set(names)


def test_keda_scales_orders_on_the_orders_groups_lag_and_owns_the_only_hpa() -> None:
    scaled = of_kind("ScaledObject")["orders"]["spec"]
    assert scaled["triggers"], "see test_keda_has_one_trigger_per_checkout_partition…"
    target = scaled["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "orders")
    assert "replicas" not in deployments()["orders"]["spec"], "KEDA sets the orders replicas"
    assert not of_kind("HorizontalPodAutoscaler"), "KEDA's HPA is the only one"
    # Reclaiming a dead replica's entries needs a live one beside it.
    assert 2 <= scaled["minReplicaCount"] < scaled["maxReplicaCount"]
    # The HPA KEDA makes from it, checked with Kubernetes' own schema (behavior included).
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "keda-hpa-orders"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders"},
            "minReplicas": scaled["minReplicaCount"],
            "maxReplicas": scaled["maxReplicaCount"],
            "behavior": scaled["advanced"]["horizontalPodAutoscalerConfig"]["behavior"],
        },
    }
    kubernetes_validate.validate(hpa, KUBERNETES_VERSION, strict=True)


def test_kedas_redis_user_may_read_the_groups_lag() -> None:
    auth = of_kind("TriggerAuthentication")["livecart-keda-redis"]["spec"]["secretTargetRef"]
    assert {ref["parameter"] for ref in auth} == {"username", "password"}
    assert "--from-literal=username=keda" in (K8S / "README.md").read_text()
    streams = configured_streams()
    cluster = config_map()["LIVECART_REDIS_CLUSTER"] == "true"
    keda = acl_rules(streams, cluster=cluster)["keda"]
    assert {"+xinfo|groups", "+xpending", "+xlen"} <= set(keda)
    assert f"%R~{streams.checkout_pattern}" in keda
    for trigger in of_kind("ScaledObject")["orders"]["spec"]["triggers"]:
        stream = trigger["metadata"]["stream"]
        assert fnmatch.fnmatchcase(stream, streams.checkout_pattern), "the keda user reads it"
        if cluster:  # KEDA's Cluster client asks for the slot map
            assert "+cluster|slots" in keda
