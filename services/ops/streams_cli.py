"""`livecart-ops streams`: lengths, groups, lag, pending and dead letters; `--watch` keeps
the view up to date in place, `--json` prints one document for machines. Read-only."""

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Group
from rich.live import Live
from rich.text import Text

from services.ops.cli_support import config_of, console, print_json, run
from services.ops.config import OpsConfig
from services.ops.connections import open_ops_redis
from services.ops.entries import json_default
from services.ops.stack_check import require_livecart_streams
from services.ops.stream_stats import StreamsReport, collect_streams
from services.ops.streams_view import render_streams, streams_document


def streams_command(
    ctx: typer.Context,
    watch: Annotated[bool, typer.Option("--watch", help="Refresh in place until Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option(min=0.1, help="Seconds between refreshes.")] = 2.0,
    count: Annotated[
        int, typer.Option(min=0, help="With --watch: stop after this many refreshes (0: never).")
    ] = 0,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document (one per line with --watch).")
    ] = False,
) -> None:
    """Every stream under the prefix: length, entry times, groups, consumers, DLQ sizes."""
    run(_streams(config_of(ctx), watch=watch, interval=interval, count=count, as_json=as_json))


async def _streams(
    config: OpsConfig, *, watch: bool, interval: float, count: int, as_json: bool
) -> None:
    async with open_ops_redis(config) as client:
        await require_livecart_streams(client, config)
        report = await collect_streams(client, config.streams)
        if as_json and not watch:
            print_json(streams_document(report))
            return
        if not watch:
            console().print(render_streams(report))
            return
        refreshes = 0
        if as_json:
            while True:
                typer.echo(json.dumps(streams_document(report), default=json_default))
                if count and (refreshes := refreshes + 1) >= count:
                    return
                await asyncio.sleep(interval)
                report = await collect_streams(client, config.streams)
        with Live(_watched(report, interval), console=console(), auto_refresh=False) as live:
            while not count or refreshes < count:
                await asyncio.sleep(interval)
                report = await collect_streams(client, config.streams)
                live.update(_watched(report, interval), refresh=True)
                refreshes += 1


def _watched(report: StreamsReport, interval: float) -> Group:
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    header = Text(f"{stamp} UTC, every {interval:g}s (Ctrl-C to stop)", style="dim")
    return Group(header, render_streams(report))
