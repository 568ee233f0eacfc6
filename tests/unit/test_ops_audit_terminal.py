"""The audit on a terminal: one line per check, the problems and evidence of a failed check
only (every check's with --verbose), colour only where rich allows it (a terminal, no
NO_COLOR); the Markdown report keeps everything."""

import io
from datetime import UTC, datetime

import pytest
from rich.console import Console

from services.ops.audit import AuditReport
from services.ops.audit_cli import render_audit
from services.ops.audit_report import to_markdown
from services.ops.checks.result import CheckResult, Outcome

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PROBES = [f"ops: `XRANGE lc:{{order.status}} - +` allowed (sent) — ok #{n}" for n in range(38)]
PASSED = CheckResult("redis-acl", "ACL", Outcome.PASSED, "38 probes as declared", PROBES)
FAILED = CheckResult(
    "storefront-schema", "Schema", Outcome.FAILED, "1 table", ["`orders`: id"], ["an orders table"]
)
SKIPPED = CheckResult("payment-data", "Payment", Outcome.SKIPPED, "skipped on request (--skip)")


def report(*checks: CheckResult) -> AuditReport:
    return AuditReport(T0, 0.5, "redis://ops:***@h:1/0", "lc-try", "o", "s", list(checks))


def printed(audit: AuditReport, *, verbose: bool = False, terminal: bool = False) -> str:
    out = io.StringIO()
    console = Console(file=out, width=100, force_terminal=terminal)
    console.print(render_audit(audit, verbose=verbose), soft_wrap=True)
    return out.getvalue()


def test_a_passing_audit_prints_one_line_per_check_and_none_of_the_probes() -> None:
    text = printed(report(PASSED, SKIPPED))

    assert text.splitlines() == [
        "livecart separation audit: PASSED  (0.50s, redis://ops:***@h:1/0, prefix 'lc-try', "
        "1 checkout partition)",
        "✓ redis-acl          38 probes as declared",
        "- payment-data       skipped on request (--skip)",
        "Audit PASSED  (--verbose: every check's evidence)",
    ]
    assert all(probe in to_markdown(report(PASSED)) for probe in PROBES), "the report has all"


def test_a_failed_check_shows_its_problems_and_evidence_under_its_line() -> None:
    lines = printed(report(PASSED, FAILED)).splitlines()

    assert lines[1:5] == [
        "✓ redis-acl          38 probes as declared",
        "✗ storefront-schema  1 table",
        "    ✗ an orders table",
        "    · `orders`: id",
    ]
    assert lines[-1] == "Audit FAILED: failed storefront-schema"


def test_verbose_shows_the_evidence_of_every_check() -> None:
    text = printed(report(PASSED), verbose=True)

    assert all(f"    · {probe}" in text for probe in PROBES)


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = printed(report(PASSED, FAILED), terminal=True)
    piped = printed(report(PASSED, FAILED))
    monkeypatch.setenv("NO_COLOR", "1")
    no_color = printed(report(PASSED, FAILED), terminal=True)

    assert "\x1b[32m✓" in coloured
    assert "\x1b[" not in piped
    assert "\x1b[3" not in no_color, "no colour (bold may stay)"
