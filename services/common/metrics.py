"""Prometheus metrics of livecart, defined once; each service updates the ones it owns.

FastStream's own middleware metrics (`faststream_*`) come with every broker
(see broker.py); these are the domain's. All live in the default registry that
`/metrics` serves.
"""

from prometheus_client import Counter, Gauge, Histogram

CHECKOUTS = Counter(
    "livecart_checkouts_total",
    "Checkouts at the storefront, by outcome (accepted / rejected) and reason.",
    ["outcome", "reason"],
)
ORDER_TRANSITIONS = Counter(
    "livecart_order_transitions_total",
    "Order state transitions committed by the marketplace, by new status and reason.",
    ["status", "reason"],
)
OUTBOX_BACKLOG = Gauge("livecart_outbox_backlog", "Outbox rows not yet published.")
OUTBOX_OLDEST_AGE = Gauge(
    "livecart_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row."
)
RECLAIMED = Counter(
    "livecart_reclaimed_entries_total",
    "Entries claimed from another (dead or stuck) consumer and processed here.",
    ["stream", "group"],
)
DEAD_LETTERS = Counter(
    "livecart_dead_letters_total", "Entries moved to a dead-letter stream.", ["stream", "reason"]
)
SSE_CONNECTIONS = Gauge(
    "livecart_sse_connections", "Open Server-Sent Events connections, by kind.", ["kind"]
)
SSE_DROPPED = Counter(
    "livecart_sse_dropped_total",
    "SSE connections the notifier closed on a client too slow to keep up, by kind and "
    "reason (queue_full: past its bound of pending events; send_timeout: a write waited "
    "longer than the send timeout).",
    ["kind", "reason"],
)
SSE_REFUSED = Counter(
    "livecart_sse_refused_total",
    "SSE requests refused before any stream started, by reason (too_many_connections).",
    ["reason"],
)
TAP_TO_FINAL = Histogram(
    "livecart_tap_to_final_seconds",
    "From the buyer's tap (checkout occurred_at) to the final status, as seen by the notifier.",
    ["status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
STREAM_LENGTH = Gauge("livecart_stream_length", "Entries in a stream.", ["stream"])
GROUP_PENDING = Gauge(
    "livecart_group_pending", "Entries delivered but not acked.", ["stream", "group"]
)
GROUP_LAG = Gauge(
    "livecart_group_lag", "Entries not yet delivered to the group.", ["stream", "group"]
)
GROUP_OLDEST_PENDING_AGE = Gauge(
    "livecart_group_oldest_pending_age_seconds",
    "Age of the oldest pending entry (from its id).",
    ["stream", "group"],
)
RATE_LIMITED = Counter(
    "livecart_rate_limited_total",
    "Requests refused with 429 by a rate limit shared across replicas, by limit.",
    ["limit"],
)
RATE_LIMITS_UNCHECKED = Counter(
    "livecart_rate_limit_unchecked_total",
    "Requests let through without a rate-limit check because Redis did not answer "
    "(limits fail open), by limit.",
    ["limit"],
)
