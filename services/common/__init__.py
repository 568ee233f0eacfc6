"""Plumbing every service uses the same way: the Redis Streams layer (`streams/`), settings,
database engine, HTTP health and metrics, back-off, times, tokens, rate limits.

Not a service and not a contract: nothing domain-specific lives here. Each service keeps
its own metrics in its `metrics.py`; `metrics.py` here holds only the shared ones.
"""
