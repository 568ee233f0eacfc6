"""infra/compose.yaml, checked offline against the Compose Specification schema (vendored in
infra/compose/), by `docker compose config` where the client has the plugin, and against the
code: production settings, /ready health checks, grace period, Redis AOF and ACL users."""

import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from infra.compose.new_env import env_text
from infra.compose.render_acl import password_variable
from services.ops.acl import USERS
from tests.unit.test_manifests import (
    SETTINGS,
    env_names,
    production_settings,
    service_of,
    shutdown_bound_seconds,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "infra" / "compose.yaml"
SCHEMA = ROOT / "infra" / "compose" / "compose-spec.json"
# `$$` (a literal `$`), or `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `${NAME:?error}`…
VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\})")


class MissingVariable(Exception):
    pass


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable interpolation, applied to every string of the file."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"]
        present = env.get(name)
        if op and op.endswith("?") and not present:
            raise MissingVariable(f"{name}: {arg}")
        if op and op.endswith("-") and not present:
            return str(arg)
        return present or ""

    return VARIABLE.sub(replace, value)


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


@functools.cache
def generated_env() -> dict[str, str]:
    """What `python -m infra.compose.new_env` writes, the env file of `make compose-up`."""
    pairs = (line.split("=", 1) for line in env_text("livecart.example.com").splitlines())
    return dict(pairs)


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = interpolate(raw(), generated_env())
    return loaded


def test_the_compose_file_matches_the_compose_specification_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(raw()))
    assert not errors, [(list(e.absolute_path), e.message) for e in errors]


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run([docker, "compose", "version"], capture_output=True).returncode
    ):
        pytest.skip("no `docker compose` plugin here: the schema test above checked the file")
    env_file = tmp_path / "compose.env"
    env_file.write_text(env_text("livecart.example.com"))
    command = [docker, "compose", "--env-file", str(env_file), "-f", str(COMPOSE), "config", "-q"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_no_secret_is_written_in_the_file_and_each_one_is_required() -> None:
    required = {name for value in strings(raw()) for name in re.findall(r"\$\{(\w+):\?", value)}
    assert required == set(generated_env()), "new_env writes exactly what compose requires"
    urls = [
        value
        for spec in raw()["services"].values()
        if isinstance(spec.get("environment"), dict)
        for value in spec["environment"].values()
        if re.match(r"\w+(\+\w+)?://", str(value))
    ]
    assert len(urls) >= 5
    for url in urls:
        assert re.match(r"[\w+]+://\w+:\$\{\w+:\?[^}]*\}@", url), f"a hard-coded password: {url}"
    with pytest.raises(MissingVariable):
        interpolate(raw(), {})


@pytest.mark.parametrize("service", sorted(SETTINGS))
def test_each_service_starts_in_production_as_its_own_redis_and_database_user(
    monkeypatch: pytest.MonkeyPatch, service: str
) -> None:
    spec = compose()["services"][service]
    assert service_of(spec["command"]) == (service, [])
    env = {name: str(value) for name, value in spec["environment"].items()}
    unknown = set(env) - env_names(SETTINGS[service])
    assert not unknown, f"{service} reads no {sorted(unknown)}"
    settings = production_settings(monkeypatch, service, env)
    assert settings.host == "0.0.0.0"
    assert settings.redis_url.username == service, "each service signs in as its own ACL user"
    assert service in USERS
    database = getattr(settings, "database_url", None)
    if database is not None:
        assert urlsplit(database).username == service
        assert urlsplit(database).path == f"/{service}"
        init = (ROOT / "infra" / "compose" / "postgres-init.sh").read_text()
        assert f"CREATE DATABASE {service} OWNER {service};" in init
        migrate = compose()["services"][f"{service}-migrate"]
        assert service_of(migrate["command"]) == (service, ["migrate"])
        assert migrate["environment"] == spec["environment"]
        assert spec["depends_on"][f"{service}-migrate"] == {
            "condition": "service_completed_successfully"
        }
    port = getattr(settings, "port", None)
    assert spec["ports"] == [f"{port}:{port}"]
    health = " ".join(spec["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/ready" in health
    assert seconds(spec["stop_grace_period"]) > shutdown_bound_seconds()
    assert spec["read_only"] is True


def seconds(duration: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert match, duration
    return int(match[1] or 0) * 60 + int(match[2] or 0)


def test_redis_keeps_an_append_only_file_and_loads_the_rendered_acl_users() -> None:
    services = compose()["services"]
    command = services["redis"]["command"]
    options = dict(zip(command[1::2], command[2::2], strict=True))
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] in {"everysec", "always"}
    renderer = services["redis-acl"]
    assert renderer["command"][:3] == ["python", "-m", "infra.compose.render_acl"]
    assert {password_variable(user) for user in USERS} <= set(renderer["environment"])
    written = Path(renderer["command"][3])
    (acl_volume,) = [v for v in renderer["volumes"] if v.endswith(f":{written.parent}")]
    volume = acl_volume.split(":")[0]
    (mount,) = [v for v in services["redis"]["volumes"] if v.startswith(f"{volume}:")]
    assert options["--aclfile"] == f"{mount.split(':')[1]}/{written.name}"
    assert services["redis"]["depends_on"]["redis-acl"] == {
        "condition": "service_completed_successfully"
    }
    binds = [v.split(":")[0] for spec in services.values() for v in spec.get("volumes", [])]
    for source in (b for b in binds if b.startswith(".")):
        assert (COMPOSE.parent / source).is_file(), f"{source} (relative to infra/) is missing"


def test_the_image_runs_a_service_as_a_non_root_user_with_nothing_secret_in_it() -> None:
    dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
    shipped = dockerfile.split("\nFROM ")[-1]  # the last stage is the image
    user = re.search(r"^USER (\d+)(?::\d+)?$", shipped, re.M)
    assert user, "the image names a numeric USER"
    assert int(user[1]) != 0
    assert not re.search(r"(PASSWORD|SECRET|TOKEN|_URL)\w*=", dockerfile, re.I)
    command = re.search(r"^CMD (\[.+\])$", shipped, re.M)
    assert command, "the image has a CMD in exec form"
    service_of(json.loads(command[1]))
    # Every file the image copies exists and is let through the build context's ignore file.
    allowed = {
        line[1:].rstrip("/")
        for line in (ROOT / "infra" / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    copies = re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", dockerfile, re.M)
    sources = [source.rstrip("/") for line in copies for source in line.split()]
    assert "services" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source in allowed, f"{source} is ignored by infra/Dockerfile.dockerignore"


@pytest.mark.parametrize("partitions", ["1", "4"])
def test_every_service_gets_the_same_checkout_partitions(
    monkeypatch: pytest.MonkeyPatch, partitions: str
) -> None:
    env_file = {**generated_env(), "LIVECART_CHECKOUT_PARTITIONS": partitions}
    if partitions == "1":
        del env_file["LIVECART_CHECKOUT_PARTITIONS"]  # the default
    services = interpolate(raw(), env_file)["services"]
    seen = set()
    for service in sorted(SETTINGS):
        env = {name: str(value) for name, value in services[service]["environment"].items()}
        seen.add(production_settings(monkeypatch, service, env).streams.checkout_partitions)
    assert seen == {int(partitions)}
    assert "LIVECART_CHECKOUT_PARTITIONS" in raw()["x-common-env"]
