"""Exponential back-off: how long to pause after another failure in a row.

The consumer groups pause on infrastructure failures (streams/delivery.py) and the
outbox relay on failed rounds with it. Redis connections back off inside redis-py
(`ExponentialBackoff`, see streams/broker.py).
"""

import random
from dataclasses import dataclass, field

# 2**62 times any sensible base is past every cap, and still a float: a long outage
# never overflows the arithmetic.
_MAX_DOUBLINGS = 62


@dataclass
class Backoff:
    """`base` seconds after the first failure in a row, doubled after each further one, at
    most `cap`. With `jitter` (0 to 1), each pause is shortened by up to that fraction at
    random, so processes that failed together do not all come back at the same instant."""

    base: float
    cap: float
    jitter: float = 0.0
    failures: int = field(default=0, init=False)

    def failed(self) -> float:
        """Seconds to pause after one more failure."""
        self.failures += 1
        pause = min(self.base * 2.0 ** min(self.failures - 1, _MAX_DOUBLINGS), self.cap)
        if self.jitter:
            pause *= 1.0 - self.jitter * random.random()
        return float(pause)

    def succeeded(self) -> None:
        """Back to `base` for the next failure."""
        self.failures = 0
