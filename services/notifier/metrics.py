"""The notifier's Prometheus metrics (the shared ones are in services/common/metrics.py)."""

from prometheus_client import Counter, Gauge, Histogram

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
HISTORY_UNAVAILABLE = Counter(
    "livecart_notifier_history_unavailable_total",
    "Reads of a buyer's status stream that Redis did not answer (no free connection in "
    "time, or Redis away); each is read again after a pause, the client's stream stays open.",
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
