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
    if len(report.checkouts) > 1:
        parts.append(_checkouts_line(report))
    stray = [s.name for s in report.checkouts if not s.configured and _unread(s)]
    if stray:
        parts.append(
            Text(
                f"Checkouts no replica reads, in partitions beyond the "
                f"{report.checkout_partitions} configured: {', '.join(stray)}",
                style="bold red",
            )
        )
    if report.other_streams:
        parts.append(
            Text(
                f"Other streams under {report.prefix}: (livecart does not use them): "
                + ", ".join(f"{key} ({n})" for key, n in report.other_streams.items()),
                style="yellow",
            )
        )
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


def _unread(stream: StreamStats) -> bool:
    """Whether `stream` may hold entries its group has not finished (lag unknown counts)."""
    if not stream.groups:
        return stream.length > 0
    return any(g.lag is None or g.lag > 0 or g.pending > 0 for g in stream.groups)


def _checkouts_line(report: StreamsReport) -> Text:
    groups = [g for s in report.checkouts for g in s.groups]
    lag = sum(g.lag or 0 for g in groups)
    pending = sum(g.pending for g in groups)
    unknown = " (lag unknown on some)" if any(g.lag is None for g in groups) else ""
    return Text(
        f"Checkouts over {len(report.checkouts)} partitions: "
        f"{sum(s.length for s in report.checkouts)} entries, "
        f"lag {lag}{unknown} and pending {pending} in all groups",
        style="bold yellow" if lag or pending else "bold",
    )


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
    groups = ", ".join(g.name for g in stream.groups) or "-"
    return [
        stream.name,
        str(stream.length),
        clock(stream.first_entry_at),
        clock(stream.last_entry_at),
        str(stream.entries_added),
        groups if stream.configured else f"{groups} (not a configured partition)",
    ]


def _stream_style(stream: StreamStats) -> str:
    if stream.is_dead_letters:
        return "bold red" if stream.length else "dim"
    if not stream.configured:
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
