"""What a load-generator process watches in itself while it runs: how late its event
loop wakes up and how long garbage collections stall it (either delays every timestamp)."""

import asyncio
import time
from collections.abc import Callable
from pathlib import Path


class GcPauses:
    """A `gc.callbacks` hook timing each collection: a long one stalls the event loop."""

    def __init__(self) -> None:
        self.total = self.longest = self._started = 0.0

    def __call__(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            pause = time.perf_counter() - self._started
            self.total += pause
            self.longest = max(self.longest, pause)


def runqueue_seconds() -> float:
    """How long this process's main thread has sat runnable, waiting for a CPU."""
    try:
        return int(Path("/proc/self/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


async def until(done: Callable[[], bool], timeout: float) -> None:
    """Poll `done()` every 20 ms until it holds or `timeout` seconds passed."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if done():
            return
        await asyncio.sleep(0.02)


def lag_figures(lags: list[float]) -> dict[str, float | None]:
    ordered = sorted(lags)
    if not ordered:
        return {"loop_lag_p99_ms": None, "loop_lag_max_ms": None}
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {
        "loop_lag_p99_ms": round(p99 * 1000, 1),
        "loop_lag_max_ms": round(ordered[-1] * 1000, 1),
    }


async def loop_lag(lags: list[float], tick: float = 0.01) -> None:
    """How late this process's event loop wakes up: a busy generator shows it here."""
    while True:
        before = time.perf_counter()
        await asyncio.sleep(tick)
        lags.append(max(0.0, time.perf_counter() - before - tick))
