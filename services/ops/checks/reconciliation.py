"""Check 3: what the storefront published, the marketplace received and settled agree.

Checkouts published (unique checkout ids in the checkout partitions) = checkouts received
(orders rows) = orders with a final status (or one after the sale: cancelled, refunded,
shipped), and each order's payment is what its status calls for (`EXPECTED_PAYMENTS`).
A missing checkout is explained (dead-lettered, pending in its partition's group, not yet
delivered, or unknown); anything still moving within `grace` is in flight, not a fault.
"""

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta

from contracts import AFTER_SALE_STATUSES, FINAL_STATUSES, EntryId, OrderStatus
from services.ops.checks.result import CheckResult, plural, verdict
from services.ops.checks.sources import GroupPosition, Published
from services.ops.keys import CHECKOUTS
from services.ops.orders_db import CAPTURED, REFUNDED, OrderSummary

KEY = "reconciliation"
TITLE = "Checkouts reconcile across the boundary"
LISTED = 20
SETTLED = FINAL_STATUSES | AFTER_SALE_STATUSES
"""Statuses at which a checkout's way through the marketplace is over."""
EXPECTED_PAYMENTS: dict[str, frozenset[str]] = {
    OrderStatus.CONFIRMED: frozenset({CAPTURED}),
    OrderStatus.SHIPPED: frozenset({CAPTURED}),
    # The sandbox refund follows the cancellation in its own transaction: until it has,
    # the payment is still captured (refund pending).
    OrderStatus.CANCELLED: frozenset({CAPTURED, REFUNDED}),
    OrderStatus.REFUNDED: frozenset({REFUNDED}),
}
"""The payment outcomes an order's status allows; an order of any other status has no
captured or refunded payment."""


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
    if EntryId.parse(entry_id) > EntryId.parse(group.last_delivered_id):
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
        young = now - EntryId.parse(entry_id).added_at < grace
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
    final = [o for o in received if o.status in SETTLED]
    for order in received:
        if order.status not in SETTLED:
            since = f"{order.updated_at:%H:%M:%S}"
            line = f"checkout {order.checkout_id}: order {order.status} since {since}"
            (in_flight if now - order.updated_at < grace else problems).append(line)
    mismatches = payment_mismatches(orders, payments)
    problems += mismatches
    statuses = Counter(o.status for o in orders)
    captured = sum(outcome == CAPTURED for outcome in payments.values())
    counts = (
        f"{len(published.first_entry)} published = {len(received)} received = {len(final)} final"
    )
    after_sale = ", ".join(f"{statuses[s]} {s}" for s in sorted(AFTER_SALE_STATUSES))
    partitions = len(published.streams)
    where = CHECKOUTS if partitions < 2 else f"{CHECKOUTS} ({partitions} partitions)"
    evidence = [
        f"{where}: {published.entries} entries, {len(published.first_entry)} unique "
        f"checkouts, {len(published.unreadable)} unreadable entries (not checkouts)",
        f"orders DB: {len(orders)} orders, {len(received)} of published checkouts, "
        f"{len(final)} final; {statuses[OrderStatus.CONFIRMED]} confirmed, {captured} captured "
        f"payments; after the sale: {after_sale}",
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
        passed=f"{counts}; {sales_line(orders, payments)}"
        + (f"; {len(in_flight)} in flight" if in_flight else ""),
        failed=f"{plural(len(problems), 'discrepancy', 'discrepancies')} ({counts}; "
        f"{plural(len(mismatches), 'payment mismatch', 'payment mismatches')})",
    )


def sales_line(orders: list[OrderSummary], payments: dict[str, str]) -> str:
    """What the captured payments stand for: `2 confirmed = 2 captured`, with the shipped
    orders and the cancelled ones awaiting their refund added when there are any."""
    statuses = Counter(o.status for o in orders)
    awaiting = sum(
        o.status == OrderStatus.CANCELLED and payments.get(o.checkout_id) == CAPTURED
        for o in orders
    )
    parts = [f"{statuses[OrderStatus.CONFIRMED]} confirmed"]
    if statuses[OrderStatus.SHIPPED]:
        parts.append(f"{statuses[OrderStatus.SHIPPED]} shipped")
    if awaiting:
        parts.append(f"{awaiting} cancelled awaiting the refund")
    captured = sum(outcome == CAPTURED for outcome in payments.values())
    refunded = sum(outcome == REFUNDED for outcome in payments.values())
    return (
        " + ".join(parts)
        + f" = {captured} captured"
        + (f"; {refunded} refunded" if refunded else "")
    )


def payment_mismatches(orders: list[OrderSummary], payments: dict[str, str]) -> list[str]:
    """Orders whose payment is not one their status allows (`EXPECTED_PAYMENTS`), then
    captured or refunded payments of orders whose status allows none (or of no order)."""
    found = []
    statuses = {order.checkout_id: order.status for order in orders}
    for checkout_id, status in statuses.items():
        outcome = payments.get(checkout_id)
        allowed = EXPECTED_PAYMENTS.get(status)
        if allowed is not None and outcome not in allowed:
            found.append(f"checkout {checkout_id}: order {status}, payment {outcome or 'missing'}")
    for checkout_id, outcome in payments.items():
        current = statuses.get(checkout_id)
        if outcome in {CAPTURED, REFUNDED} and current not in EXPECTED_PAYMENTS:
            found.append(f"checkout {checkout_id}: payment {outcome}, order {current or 'missing'}")
    return found
