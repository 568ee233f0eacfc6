"""How `livecart-ops streams` shows a `StreamsReport`: rich tables, or one JSON document."""

from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from services.ops.entries import json_default
from services.ops.stream_stats import GroupStats, StreamsReport, StreamStats


def duration(ms: int | None) -> str:
    """`ms` as a short human duration: 850ms, 12.3s, 4m05s, 2h10m, 3d04h."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def clock(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z" if moment else "-"


def streams_document(report: StreamsReport) -> dict[str, Any]:
    """The report as plain JSON-able data (what `--json` prints)."""
    document: dict[str, Any] = json_default(report)
    document["dead_letters"] = report.dead_letters
    return document


def render_streams(report: StreamsReport) -> RenderableType:
    parts: list[RenderableType] = [_streams_table(report)]
    for stream in report.streams:
        parts += [_group_table(stream, group) for group in stream.groups]
    letters = report.dead_letters
    total = sum(letters.values())
    style = "bold red" if total else "green"
    parts.append(
        Text(f"Dead letters: {total} in all", style=style)
        + Text(
            "  (" + ", ".join(f"{n} {k}" for k, n in letters.items() if n) + ")" if total else ""
        )
    )
    history = report.buyer_history
    parts.append(
        Text(f"Buyer history: {history.streams} streams, {history.entries} entries in all")
    )
    return Group(*parts)


def _streams_table(report: StreamsReport) -> Table:
    table = Table(title=f"Streams under {report.prefix}:", title_justify="left")
    for column in ("stream", "length", "first entry", "last entry", "added", "groups"):
        table.add_column(column, justify="right" if column in {"length", "added"} else "left")
    for stream in report.streams:
        table.add_row(*_stream_row(stream), style=_stream_style(stream))
    return table


def _stream_row(stream: StreamStats) -> list[str]:
    if not stream.exists:
        return [stream.name, "0", "-", "-", "-", "(no stream yet)"]
    return [
        stream.name,
        str(stream.length),
        clock(stream.first_entry_at),
        clock(stream.last_entry_at),
        str(stream.entries_added),
        ", ".join(g.name for g in stream.groups) or "-",
    ]


def _stream_style(stream: StreamStats) -> str:
    if stream.is_dead_letters:
        return "bold red" if stream.length else "dim"
    return "" if stream.exists else "dim"


def _group_table(stream: StreamStats, group: GroupStats) -> RenderableType:
    lag = "-" if group.lag is None else str(group.lag)
    header = Text(
        f"Group {group.name!r} on {stream.name}: {group.consumers} consumers, "
        f"pending {group.pending}, lag {lag}, "
        f"oldest pending {duration(group.oldest_pending_age_ms)}, "
        f"most deliveries {group.max_deliveries}",
        style="bold yellow" if group.pending or group.lag else "bold",
    )
    table = Table()
    table.add_column("consumer")
    table.add_column("pending", justify="right")
    table.add_column("idle", justify="right")
    for consumer in group.consumer_list:
        table.add_row(consumer.name, str(consumer.pending), duration(consumer.idle_ms))
    return Group(header, table)
