"""The storefront's Prometheus metrics (the shared ones are in services/common/metrics.py)."""

from prometheus_client import Counter

CHECKOUTS = Counter(
    "livecart_checkouts_total",
    "Checkouts at the storefront, by outcome (accepted / rejected) and reason.",
    ["outcome", "reason"],
)
