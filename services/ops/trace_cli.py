"""`livecart-ops trace <checkout_id>`: the timeline of one checkout and its rows."""

from dataclasses import replace
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from services.ops.cli_support import config_of, console, print_json, run
from services.ops.config import OpsConfig, OpsError
from services.ops.connections import open_database, open_ops_redis
from services.ops.entries import json_default
from services.ops.orders_db import order_record
from services.ops.stack_check import require_livecart_streams
from services.ops.streams_view import clock, duration
from services.ops.trace import Trace, stream_hops


def trace_command(
    ctx: typer.Context,
    checkout_id: Annotated[str, typer.Argument(help="The checkout id (the 202's checkout_id).")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document.")] = False,
) -> None:
    """Every event of one checkout across all streams, and its rows in the orders DB."""
    trace = run(collect_trace(config_of(ctx), checkout_id))
    if as_json:
        document: dict[str, Any] = json_default(trace)
        document["found"], document["tap_to_last_ms"] = trace.found, trace.tap_to_last_ms
        print_json(document)
    else:
        console().print(render_trace(trace))
    if not trace.found:
        raise typer.Exit(1)


async def collect_trace(config: OpsConfig, checkout_id: str) -> Trace:
    async with open_ops_redis(config) as client:
        await require_livecart_streams(client, config)
        trace = await stream_hops(client, config.streams, checkout_id)
    try:
        async with open_database(
            config.orders_db, what="the orders database", schema=config.orders_schema
        ) as conn:
            return replace(trace, order=await order_record(conn, checkout_id))
    except OpsError as exc:  # the streams alone still tell most of the story
        return replace(trace, orders_db_error=str(exc))


def render_trace(trace: Trace) -> RenderableType:
    if not trace.found:
        return Text(f"No event and no order for checkout {trace.checkout_id}.", style="yellow")
    table = Table(
        title=f"Checkout {trace.checkout_id} (buyer {trace.buyer_id or '?'})", title_justify="left"
    )
    for column in ("time (UTC)", "+", "step", "what", "stream / entry", "detail"):
        table.add_column(column, overflow="fold")
    for hop in trace.hops:
        where = f"{hop.stream} {hop.entry_id or ''}".strip()
        history = {True: " (history ✓)", False: " (not in the buyer's history)", None: ""}
        table.add_row(
            clock(hop.at),
            duration(hop.since_previous_ms),
            hop.step,
            escape(hop.what),
            where,
            escape(hop.detail) + history[hop.in_buyer_history],
        )
    parts: list[RenderableType] = [table]
    if (total := trace.tap_to_last_ms) is not None:
        parts.append(
            Text(
                f"tap → last event: {duration(total)}; "
                f"{trace.history_copies} copies in the buyer's history"
            )
        )
    parts.append(_rows(trace))
    return Group(*parts)


def _rows(trace: Trace) -> RenderableType:
    if trace.orders_db_error:
        return Text(f"Orders DB not read: {trace.orders_db_error}", style="yellow")
    if trace.order is None:
        return Text("No order row in the orders DB for this checkout.", style="yellow")
    order, payment = trace.order.order, trace.order.payment
    table = Table(title="Orders DB (read-only)", title_justify="left", show_header=False)
    table.add_row(
        "order",
        f"{order['order_id']}  status {order['status']}  "
        f"{order['total_minor']} {order['currency']} (minor units)",
    )
    table.add_row(
        "created / updated", f"{clock(order['created_at'])} / {clock(order['updated_at'])}"
    )
    for line in trace.order.lines:
        table.add_row("line", f"{line['sku']} x {line['quantity']} at {line['unit_price_minor']}")
    table.add_row(
        "payment",
        "none"
        if payment is None
        else f"{payment['outcome']} {payment['amount_minor']} {payment['currency']}"
        + (f" ({payment['detail']})" if payment.get("detail") else ""),
    )
    return table
