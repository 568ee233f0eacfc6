"""Fuzz the storefront's HTTP API from its own OpenAPI document (schemathesis): whatever
a client sends, the answer is never a 5xx and never shows a traceback."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.openapi import from_url

from infra.local.redis_server import free_port
from tests.support.stack import ROOT, ServiceProcess, seed_demo, service_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def storefront(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[ServiceProcess]:
    workdir: Path = tmp_path_factory.mktemp("fuzz")
    port = free_port()
    env = service_env(
        redis_url=redis_url, stream_prefix=f"lc-fuzz-{port}", workdir=workdir,
        STOREFRONT_PORT=str(port),
    )  # fmt: skip
    seed_demo(env)
    service = ServiceProcess("storefront", port, env, workdir / "storefront.log").start()
    try:
        service.wait_ready()
        yield service
    finally:
        service.terminate()
        subprocess.run(
            [sys.executable, "-c", _CLEANUP, redis_url, f"lc-fuzz-{port}:*"], cwd=ROOT, check=False
        )


_CLEANUP = """
import sys, redis
client = redis.Redis.from_url(sys.argv[1])
keys = list(client.scan_iter(match=sys.argv[2]))
if keys:
    client.delete(*keys)
"""


@pytest.fixture(scope="module")
def token(storefront: ServiceProcess) -> str:
    answer = httpx.post(f"{storefront.base_url}/api/sessions", timeout=10)
    answer.raise_for_status()
    return str(answer.json()["token"])


def test_no_input_makes_the_storefront_answer_5xx_or_show_a_traceback(
    storefront: ServiceProcess, token: str
) -> None:
    # schemathesis's own pytest plugin does not load under pytest 9, so its strategies
    # are driven here with hypothesis directly, one operation at a time.
    schema = from_url(f"{storefront.base_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {"/api/checkouts", "/api/sessions"} <= {op.path for op in operations}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        def answers_without_a_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            assert "Traceback" not in response.text

        answers_without_a_server_error()
