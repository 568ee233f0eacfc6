"""The load generator seen from the parent: worker processes (tests/load/stack_worker.py),
each with its share of buyers, started, set up, given runs and stopped; their progress
summed up on screen once a second."""

import asyncio
import multiprocessing
import queue
import time
from collections.abc import Callable, Sequence
from typing import Any

from tests.load.stack_worker import Run, Setup, TapRecord, worker_main


def shares(total: int, parts: int) -> list[int]:
    """`total` split into `parts` near-equal whole shares."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class LoadGenerator:
    def __init__(self, workers: int, progress: Callable[[str], None]) -> None:
        context = multiprocessing.get_context("spawn")
        self.progress = progress
        self.results: Any = context.Queue()
        self.commands: list[Any] = [context.Queue() for _ in range(workers)]
        self.processes = [
            context.Process(
                target=worker_main, args=(i, self.commands[i], self.results), daemon=True
            )
            for i in range(workers)
        ]

    @property
    def size(self) -> int:
        return len(self.processes)

    def start(self) -> "LoadGenerator":
        for process in self.processes:
            process.start()
        return self

    async def setup(self, setups: Sequence[Setup], timeout: float) -> list[dict[str, Any]]:
        """Sessions and streams of every worker's buyers; each worker's setup figures."""
        for commands, setup in zip(self.commands, setups, strict=True):
            commands.put(("setup", setup))
        ready: dict[int, dict[str, Any]] = {}
        deadline = time.monotonic() + timeout
        while len(ready) < self.size:
            kind, index, *payload = await self._next(deadline)
            if kind == "ready":
                ready[index] = payload[0]
        return [ready[i] for i in range(self.size)]

    async def run(
        self, runs: Sequence[Run], timeout: float
    ) -> tuple[list[TapRecord], list[dict[str, Any]]]:
        """Give each worker its run; print summed progress; every tap record and each
        worker's own figures once all are done."""
        for commands, run in zip(self.commands, runs, strict=True):
            commands.put(("run", run))
        label, latest = runs[0].label, {}
        records: list[TapRecord] = []
        stats: dict[int, dict[str, Any]] = {}
        deadline, shown = time.monotonic() + timeout, time.monotonic()
        while len(stats) < self.size:
            kind, index, *payload = await self._next(deadline)
            if kind == "progress":
                latest[index] = payload[1]
                if time.monotonic() - shown >= 1.0:
                    shown = time.monotonic()
                    self.progress(f"  {label}: {_summed(latest)}")
            elif kind == "done":
                records.extend(payload[1])
                stats[index] = payload[2]
        return records, [stats[i] for i in range(self.size)]

    async def _next(self, deadline: float) -> tuple[Any, ...]:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("load generator workers did not answer in time")
            try:
                message = await asyncio.to_thread(self.results.get, True, min(left, 1.0))
            except queue.Empty:
                if any(not p.is_alive() for p in self.processes):
                    raise RuntimeError("a load generator worker died") from None
                continue
            if message[0] == "error":
                raise RuntimeError(f"load generator worker {message[1]}: {message[2]}")
            return tuple(message)

    def stop(self) -> None:
        for commands in self.commands:
            commands.put(("stop", None))
        for process in self.processes:
            process.join(timeout=15)
            if process.is_alive():
                process.terminate()


def _summed(latest: dict[int, dict[str, int]]) -> str:
    total: dict[str, int] = {}
    for counts in latest.values():
        for name, n in counts.items():
            total[name] = total.get(name, 0) + n
    return ", ".join(f"{n} {name}" for name, n in total.items())
