"""The marketplace's Prometheus metrics (the shared ones are in services/common/metrics.py)."""

from prometheus_client import Counter, Gauge

ORDER_TRANSITIONS = Counter(
    "livecart_order_transitions_total",
    "Order state transitions committed by the marketplace, by new status and reason.",
    ["status", "reason"],
)
OUTBOX_BACKLOG = Gauge("livecart_outbox_backlog", "Outbox rows not yet published.")
OUTBOX_OLDEST_AGE = Gauge(
    "livecart_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row."
)
