"""Prometheus metrics shared by several services: consumer groups, dead letters, rate limits.

Each service defines its own metrics in its `metrics.py` (services/orders/metrics.py,
...). FastStream's own middleware metrics (`faststream_*`) come with every broker (see
streams/broker.py). All live in the default registry that `/metrics` serves.
"""

from prometheus_client import Counter, Gauge

RECLAIMED = Counter(
    "livecart_reclaimed_entries_total",
    "Entries claimed from another (dead or stuck) consumer and processed here.",
    ["stream", "group"],
)
DEAD_LETTERS = Counter(
    "livecart_dead_letters_total", "Entries moved to a dead-letter stream.", ["stream", "reason"]
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
