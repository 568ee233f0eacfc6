"""`livecart-ops audit`: run the separation audit, print it, file it as Markdown or HTML.

Exit code 0 when every check passed (or was skipped), 1 when one failed.
"""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from services.ops.audit import CHECKS, AuditReport, AuditSettings, run_audit
from services.ops.audit_report import MARKS, to_html, to_markdown, verdict_word
from services.ops.checks.result import Outcome, plural
from services.ops.cli_support import config_of, console, fail, print_json, run
from services.ops.entries import json_default

STYLES = {Outcome.PASSED: "green", Outcome.FAILED: "bold red", Outcome.SKIPPED: "dim"}


def audit_command(
    ctx: typer.Context,
    markdown: Annotated[
        Path | None, typer.Option("--markdown", help="Also write the report as Markdown here.")
    ] = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Also write the report as HTML here.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document instead.")
    ] = False,
    sample: Annotated[
        int, typer.Option(min=1, help="Recent entries per stream to search for payment fields.")
    ] = 200,
    grace: Annotated[
        float,
        typer.Option(
            min=0, help="Seconds a checkout may be in flight before it counts as missing."
        ),
    ] = 300.0,
    skip: Annotated[
        list[str] | None, typer.Option("--skip", help=f"Skip a check: {', '.join(CHECKS)}.")
    ] = None,
) -> None:
    """The separation audit: storefront schema, Redis ACL, reconciliation, payment data,
    seller credentials."""
    unknown = set(skip or ()) - set(CHECKS)
    if unknown:
        raise typer.BadParameter(f"unknown check {', '.join(sorted(unknown))}", param_hint="--skip")
    settings = AuditSettings(
        config_of(ctx), sample=sample, grace_seconds=grace, skip=frozenset(skip or ())
    )
    report = run(run_audit(settings))
    for path, render in ((markdown, to_markdown), (html, to_html)):
        if path is not None:
            try:
                path.write_text(render(report), encoding="utf-8")
            except OSError as exc:
                fail(f"cannot write the report to {path}: {exc.strerror}")
    if as_json:
        print_json(audit_document(report))
    else:
        console().print(render_audit(report))
        for path in (p for p in (markdown, html) if p is not None):
            console().print(f"Report written to {path}")
    if not report.passed:
        raise typer.Exit(1)


def audit_document(report: AuditReport) -> dict[str, Any]:
    document: dict[str, Any] = json_default(report)
    document["passed"], document["failed"] = report.passed, report.failed
    return document


def render_audit(report: AuditReport) -> RenderableType:
    word = verdict_word(report)
    table = Table(
        title=f"livecart separation audit: {word}  ({report.seconds:.2f}s, "
        f"{escape(report.redis)}{', Redis Cluster' if report.redis_cluster else ''}, "
        f"prefix {report.prefix!r}, "
        f"{plural(report.checkout_partitions, 'checkout partition', 'checkout partitions')})",
        title_justify="left",
    )
    for column in ("#", "check", "result", "summary"):
        table.add_column(column, overflow="fold")
    for n, check in enumerate(report.checks, 1):
        table.add_row(
            str(n),
            f"{escape(check.title)}\n[dim]{check.key}[/]",
            Text(f"{MARKS[check.outcome]} {check.outcome}", style=STYLES[check.outcome]),
            escape(check.summary),
        )
    parts: list[RenderableType] = [table]
    for n, check in enumerate(report.checks, 1):
        parts.append(
            Text(
                f"\n{n}. {check.title} ({check.key}): {check.outcome}", style=STYLES[check.outcome]
            )
        )
        parts += [Text(f"  ✗ {problem}", style="red") for problem in check.problems]
        parts += [Text(f"  · {item}") for item in check.evidence]
    parts.append(
        Text(f"\nAudit {word}", style="bold green" if report.passed else "bold red")
        + Text("" if report.passed else f": failed {', '.join(report.failed)}")
    )
    return Group(*parts)
