"""`GET /metrics` answers 200 in place on every service (no 307 to /metrics/, which some
scrapers and probes do not follow), and /metrics/ still answers. Real processes."""

from pathlib import Path

import httpx
import pytest

from tests.support.stack import running_stack, service_env

pytestmark = pytest.mark.slow


def test_every_service_answers_metrics_without_a_redirect(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    env = service_env(redis_url=redis_url, stream_prefix=stream_prefix, workdir=tmp_path)
    with running_stack(env, tmp_path) as services:
        for name, service in services.items():
            with httpx.Client(base_url=service.base_url, follow_redirects=False) as client:
                plain, slashed = client.get("/metrics"), client.get("/metrics/")
            assert plain.status_code == 200, (name, plain.status_code, plain.headers)
            assert plain.headers["content-type"].startswith("text/plain"), name
            assert "# TYPE" in plain.text, name
            assert slashed.status_code == 200, (name, slashed.status_code)
            assert "# TYPE" in slashed.text, name
