"""Check 3: what the storefront published, the marketplace received and settled agree.

Checkouts published (unique checkout ids in the checkout partitions) = checkouts received
(orders rows) = orders with a final status, and confirmed orders = captured payments.
A missing checkout is explained (dead-lettered, pending in its partition's group, not yet
delivered, or unknown); anything still moving within `grace` is in flight, not a fault.
"""

from collections.abc import Mapping
from datetime import datetime, timedelta

from contracts import FINAL_STATUSES, OrderStatus
from services.ops.checks.result import CheckResult, plural, verdict
from services.ops.checks.sources import GroupPosition, Published
from services.ops.entries import entry_key, entry_time
from services.ops.keys import CHECKOUTS
from services.ops.orders_db import CAPTURED, OrderSummary

KEY = "reconciliation"
TITLE = "Checkouts reconcile across the boundary"
LISTED = 20


def _capped(lines: list[str]) -> list[str]:
    return lines[:LISTED] + ([f"… and {len(lines) - LISTED} more"] if len(lines) > LISTED else [])


def why_missing(
    checkout_id: str,
    entry_id: str,
    *,
    group: GroupPosition,
    dead_letters: dict[str, str],
    stream: str = CHECKOUTS,
) -> tuple[str, bool]:
    """Why the marketplace has no order for a checkout published at `entry_id` of `stream`
    (the partition's short name), read by `group`, and whether it is moving."""
    if checkout_id in dead_letters:
        return f"in the DLQ ({dead_letters[checkout_id]}): `livecart-ops dlq replay`", False
    if not group.exists:
        return f"no consumer group `orders` reads {stream}", False
    if entry_id in group.pending_ids:
        return "pending in the group (being processed or retried)", True
    if entry_key(entry_id) > entry_key(group.last_delivered_id):
        return "not yet delivered to the group (lag)", True
    return "unknown: delivered and acknowledged, but no order and no dead letter", False


def reconcile(
    *,
    published: Published,
    orders: list[OrderSummary],
    payments: dict[str, str],
    groups: Mapping[str, GroupPosition],
    dead_letters: dict[str, str],
    now: datetime,
    grace: timedelta,
) -> CheckResult:
    """`groups`: where the `orders` group stands on each partition, by short name."""
    problems: list[str] = []
    in_flight: list[str] = []
    by_checkout = {order.checkout_id: order for order in orders}
    for checkout_id, entry_id in published.first_entry.items():
        if checkout_id in by_checkout:
            continue
        stream = published.stream_of.get(checkout_id, CHECKOUTS)
        why, moving = why_missing(
            checkout_id,
            entry_id,
            group=groups.get(stream, GroupPosition(exists=False)),
            dead_letters=dead_letters,
            stream=stream,
        )
        young = now - entry_time(entry_id) < grace
        (in_flight if moving and young else problems).append(f"checkout {checkout_id}: {why}")
    received = [o for o in orders if o.checkout_id in published.first_entry]
    for order in orders:
        if order.checkout_id in published.first_entry:
            continue
        trimmed = published.first_entry_at and order.created_at < published.first_entry_at
        if not trimmed:
            problems.append(
                f"order {order.order_id} for checkout {order.checkout_id} "
                "that checkout.requested never carried"
            )
    final = [o for o in received if o.status in FINAL_STATUSES]
    for order in received:
        if order.status not in FINAL_STATUSES:
            since = f"{order.updated_at:%H:%M:%S}"
            line = f"checkout {order.checkout_id}: order {order.status} since {since}"
            (in_flight if now - order.updated_at < grace else problems).append(line)
    mismatches = payment_mismatches(orders, payments)
    problems += mismatches
    confirmed = sum(o.status == OrderStatus.CONFIRMED for o in orders)
    captured = sum(outcome == CAPTURED for outcome in payments.values())
    counts = (
        f"{len(published.first_entry)} published = {len(received)} received = {len(final)} final"
    )
    partitions = len(published.streams)
    where = CHECKOUTS if partitions < 2 else f"{CHECKOUTS} ({partitions} partitions)"
    evidence = [
        f"{where}: {published.entries} entries, {len(published.first_entry)} unique "
        f"checkouts, {len(published.unreadable)} unreadable entries (not checkouts)",
        f"orders DB: {len(orders)} orders, {len(received)} of published checkouts, "
        f"{len(final)} final; {confirmed} confirmed, {captured} captured payments",
        *(
            f"group `orders` on {name}: last delivered {group.last_delivered_id}, "
            f"{len(group.pending_ids)} pending"
            if group.exists
            else f"group `orders` on {name}: none"
            for name, group in groups.items()
        ),
        f"{len(dead_letters)} checkouts in the DLQ",
        *(f"in flight (under {grace.total_seconds():.0f}s): {x}" for x in _capped(in_flight)),
    ]
    return verdict(
        KEY,
        TITLE,
        problems=_capped(problems),
        evidence=evidence,
        passed=f"{counts}; {confirmed} confirmed = {captured} captured"
        + (f"; {len(in_flight)} in flight" if in_flight else ""),
        failed=f"{plural(len(problems), 'discrepancy', 'discrepancies')} ({counts}; "
        f"{plural(len(mismatches), 'payment mismatch', 'payment mismatches')})",
    )


def payment_mismatches(orders: list[OrderSummary], payments: dict[str, str]) -> list[str]:
    """Confirmed orders without a captured payment, and captured payments of orders that are
    not confirmed (a refunded payment counts as not captured)."""
    found = []
    statuses = {order.checkout_id: order.status for order in orders}
    for checkout_id, status in statuses.items():
        outcome = payments.get(checkout_id)
        if status == OrderStatus.CONFIRMED and outcome != CAPTURED:
            found.append(f"checkout {checkout_id}: order confirmed, payment {outcome or 'missing'}")
    for checkout_id, outcome in payments.items():
        current = statuses.get(checkout_id)
        if outcome == CAPTURED and current != OrderStatus.CONFIRMED:
            found.append(f"checkout {checkout_id}: payment captured, order {current or 'missing'}")
    return found
