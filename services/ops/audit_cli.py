"""`livecart-ops audit`: run the separation audit, print it, file it as Markdown or HTML.

Exit code 0 when every check passed (or was skipped), 1 when one failed.
"""

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.text import Text

from services.ops.audit import CHECKS, AuditReport, AuditSettings, run_audit
from services.ops.audit_report import to_html, to_markdown, verdict_word
from services.ops.checks.acl import KEY as ACL_KEY
from services.ops.checks.result import Outcome, plural
from services.ops.cli_support import config_of, console, fail, print_json, run
from services.ops.entries import json_default

STYLES = {Outcome.PASSED: "green", Outcome.FAILED: "bold red", Outcome.SKIPPED: "dim"}
LINE_MARKS = {Outcome.PASSED: "✓", Outcome.FAILED: "✗", Outcome.SKIPPED: "-"}
NO_ACL = (
    "skipped: `make up` used a Redis it did not start, which has no livecart ACL users "
    "(give --acl-passwords to audit one that has)"
)


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
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose", "-v", help="Print every check's evidence, not only the failed ones'."
        ),
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
    seller credentials. One line per check; a failed one's evidence follows it."""
    unknown = set(skip or ()) - set(CHECKS)
    if unknown:
        raise typer.BadParameter(f"unknown check {', '.join(sorted(unknown))}", param_hint="--skip")
    config = config_of(ctx)
    skipped, reasons = set(skip or ()), {}
    if config.stack_without_acl and not config.acl_passwords and ACL_KEY not in skipped:
        skipped.add(ACL_KEY)
        reasons[ACL_KEY] = NO_ACL
    settings = AuditSettings(
        config,
        sample=sample,
        grace_seconds=grace,
        skip=frozenset(skipped),
        skip_reasons=reasons,
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
        out = console()
        out.print(render_audit(report, verbose=verbose), soft_wrap=True)
        for path in (p for p in (markdown, html) if p is not None):
            out.print(f"Report written to {path} (every check's evidence)", soft_wrap=True)
    if not report.passed:
        raise typer.Exit(1)


def audit_document(report: AuditReport) -> dict[str, Any]:
    document: dict[str, Any] = json_default(report)
    document["passed"], document["failed"] = report.passed, report.failed
    return document


def render_audit(report: AuditReport, *, verbose: bool = False) -> RenderableType:
    """A title, then one line per check; the problems and evidence of a failed check (of
    every check with `verbose`) under its line. Colour only on a terminal without NO_COLOR
    (rich's own rule)."""
    word = verdict_word(report)
    title = Text.assemble(
        "livecart separation audit: ",
        (word, _verdict_style(report)),
        (
            f"  ({report.seconds:.2f}s, {report.redis}"
            f"{', Redis Cluster' if report.redis_cluster else ''}, prefix {report.prefix!r}, "
            f"{plural(report.checkout_partitions, 'checkout partition', 'checkout partitions')})",
            "dim",
        ),
    )
    parts: list[RenderableType] = [title]
    for check in report.checks:
        parts.append(
            Text.assemble(
                (f"{LINE_MARKS[check.outcome]} ", STYLES[check.outcome]),
                (f"{check.key:<19}", "bold"),
                check.summary,
            )
        )
        if verbose or check.outcome is Outcome.FAILED:
            parts += [Text(f"    ✗ {problem}", style="red") for problem in check.problems]
            parts += [Text(f"    · {item}", style="dim") for item in check.evidence]
    ending = Text.assemble((f"Audit {word}", _verdict_style(report)))
    if not report.passed:
        ending.append(f": failed {', '.join(report.failed)}")
    elif not verbose:
        ending.append("  (--verbose: every check's evidence)", style="dim")
    parts.append(ending)
    return Group(*parts)


def _verdict_style(report: AuditReport) -> str:
    return "bold green" if report.passed else "bold red"
