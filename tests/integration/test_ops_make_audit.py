"""The README's second-stack recipe, for real: `make up` with other ports and another stream
prefix in a copy of the repository, then a plain `make audit` there. The audit finds that
stack in run/stack.json (its Redis, prefix and ACL passwords) and passes, printing one line
per check; it once read the default prefix and failed with 14 bogus ACL errors."""

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.local.redis_server import free_port
from tests.support.stack import ROOT

pytestmark = pytest.mark.slow

COPIED = ("contracts", "infra", "services", "Makefile", "pyproject.toml")
VENV = Path(sys.executable).parents[1]
NOWHERE = "redis://127.0.0.1:1/0"
"""No Redis answers there: `make up` starts its private one, with the ACL."""


def a_copy_of_the_repository(directory: Path) -> Path:
    directory.mkdir()
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "node_modules")
            shutil.copytree(source, directory / name, ignore=ignore)
        else:
            shutil.copy2(source, directory / name)
    return directory


def shell_environment(**variables: str) -> dict[str, str]:
    """A new shell's environment: nothing of livecart's set but `variables`."""
    kept = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LIVECART_", "OPS_", "SCALE_", "STOREFRONT_", "ORDERS_"))
        and not key.startswith(("NOTIFIER_", "REDIS_URL", "DATABASE_URL"))
    }
    return {**kept, **variables}


@pytest.fixture
def second_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """`STOREFRONT_PORT=… NOTIFIER_PORT=… ORDERS_PORT=… LIVECART_STREAM_PREFIX=lc-try make
    up` in a copy of the repository (the stack's Redis: `request.param`); `make down` after."""
    repo = a_copy_of_the_repository(tmp_path / "livecart")
    prefix = f"lc-try-{tmp_path.name[-12:]}".replace("_", "-")
    env = shell_environment(
        STOREFRONT_PORT=str(free_port()),
        NOTIFIER_PORT=str(free_port()),
        ORDERS_PORT=str(free_port()),
        LIVECART_STREAM_PREFIX=prefix,
        REDIS_URL=request.param,
    )
    stack = [sys.executable, "-m", "infra.local.stack"]
    try:
        up = subprocess.run(
            [*stack, "up"], cwd=repo, env=env, capture_output=True, text=True, timeout=240
        )
        assert up.returncode == 0, up.stdout + up.stderr
        yield repo
    finally:
        subprocess.run(
            [*stack, "down"], cwd=repo, env=shell_environment(), capture_output=True, timeout=60
        )


def make_audit(repo: Path) -> "subprocess.CompletedProcess[str]":
    """`make audit` in `repo`, with this suite's virtualenv (never rebuilt from the copy)."""
    stamp = VENV / ".livecart-installed"
    return subprocess.run(
        ["make", "-s", "-o", str(stamp), "audit", f"VENV={VENV}"],
        cwd=repo,
        env=shell_environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("second_stack", [NOWHERE], indirect=True, ids=["private-redis-acl"])
def test_make_audit_passes_on_the_second_stack_it_finds_in_run(second_stack: Path) -> None:
    audit = make_audit(second_stack)

    assert audit.returncode == 0, audit.stdout + audit.stderr
    lines = audit.stdout.splitlines()
    assert lines[0].startswith("livecart separation audit: PASSED")
    assert "prefix 'lc-try-" in lines[0]
    checks = [line for line in lines if line.startswith("✓ ")]
    assert [line.split()[1] for line in checks] == [
        "storefront-schema",
        "redis-acl",
        "reconciliation",
        "payment-data",
        "seller-credentials",
    ]
    assert not any(line.startswith("    ") for line in lines), "no evidence of passing checks"
    assert "Audit PASSED" in audit.stdout
    report = (second_stack / "run" / "audit.md").read_text()
    assert report.startswith("# livecart separation audit: PASSED")
    assert "## 2. Each Redis user can do exactly its role: passed" in report
    assert "Evidence" in report, "the report keeps every check's evidence"


@pytest.mark.parametrize("second_stack", [NOWHERE], indirect=True, ids=["private-redis-acl"])
def test_ops_elsewhere_find_no_streams_and_say_where_they_looked(second_stack: Path) -> None:
    """Pointed at another prefix on the stack's own Redis (its ACL lets ops read only its
    prefix), every command exits non-zero with one line naming what it read."""
    ops = str(VENV / "bin" / "livecart-ops")
    for command in (["streams"], ["dlq", "list"], ["trace", "co-1"], ["audit"]):
        result = subprocess.run(
            [ops, "--prefix", "lc-elsewhere", *command],
            cwd=second_stack,
            env=shell_environment(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert result.stdout == "", command
        [line] = result.stderr.splitlines()
        assert "under prefix 'lc-elsewhere' (Redis from " in line, line
        assert "prefix from --prefix" in line, line
        assert "--stack-dir" in line, line
