"""The audit report as a document to file: Markdown or a standalone HTML page."""

from html import escape

from services.ops.audit import AuditReport
from services.ops.checks.result import CheckResult, Outcome, plural

MARKS = {Outcome.PASSED: "✅", Outcome.FAILED: "❌", Outcome.SKIPPED: "⏭️"}


def verdict_word(report: AuditReport) -> str:
    return "PASSED" if report.passed else "FAILED"


def _facts(report: AuditReport) -> list[tuple[str, str]]:
    return [
        ("run at", f"{report.started_at:%Y-%m-%d %H:%M:%S} UTC ({report.seconds:.2f} s)"),
        ("Redis", f"{report.redis}{' (a Redis Cluster)' if report.redis_cluster else ''}"),
        (
            "streams",
            f"prefix `{report.prefix}`, "
            + plural(report.checkout_partitions, "checkout partition", "checkout partitions"),
        ),
        ("orders DB", report.orders_db),
        ("storefront DB", report.storefront_db),
    ]


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: AuditReport) -> str:
    lines = [f"# livecart separation audit: {verdict_word(report)}", "", "| | |", "|---|---|"]
    lines += [f"| {name} | {_cell(value)} |" for name, value in _facts(report)]
    lines += ["", "| # | check | result | summary |", "|---|---|---|---|"]
    for n, check in enumerate(report.checks, 1):
        lines.append(
            f"| {n} | {_cell(check.title)} (`{check.key}`) | "
            f"{MARKS[check.outcome]} {check.outcome} | {_cell(check.summary)} |"
        )
    for n, check in enumerate(report.checks, 1):
        lines += ["", f"## {n}. {check.title}: {check.outcome}", "", check.summary]
        lines += _markdown_list("Problems", check.problems)
        lines += _markdown_list("Evidence", check.evidence)
    return "\n".join(lines) + "\n"


def _markdown_list(heading: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return ["", f"**{heading}**", "", *(f"- {item}" for item in items)]


_STYLE = """body{font-family:system-ui,sans-serif;max-width:70rem;margin:2rem auto;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}
.passed{color:#11772d}.failed{color:#b00020}.skipped{color:#777}code{background:#f4f4f4}"""


def to_html(report: AuditReport) -> str:
    word = verdict_word(report)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>livecart separation audit: {word}</title><style>{_STYLE}</style></head><body>",
        f'<h1>livecart separation audit: <span class="{word.lower()}">{word}</span></h1>',
        "<table>",
        *(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in _facts(report)),
        "</table>",
        "<h2>Checks</h2><table><tr><th>#</th><th>check</th><th>result</th><th>summary</th></tr>",
        *(_html_row(n, check) for n, check in enumerate(report.checks, 1)),
        "</table>",
    ]
    for n, check in enumerate(report.checks, 1):
        parts.append(
            f'<h2 id="{escape(check.key)}">{n}. {escape(check.title)}: '
            f'<span class="{check.outcome}">{check.outcome}</span></h2>'
        )
        parts.append(f"<p>{escape(check.summary)}</p>")
        parts += _html_list("Problems", check.problems) + _html_list("Evidence", check.evidence)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_row(n: int, check: CheckResult) -> str:
    return (
        f'<tr><td>{n}</td><td><a href="#{escape(check.key)}">{escape(check.title)}</a></td>'
        f'<td class="{check.outcome}">{MARKS[check.outcome]} {check.outcome}</td>'
        f"<td>{escape(check.summary)}</td></tr>"
    )


def _html_list(heading: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [f"<h3>{heading}</h3><ul>", *(f"<li>{escape(item)}</li>" for item in items), "</ul>"]
