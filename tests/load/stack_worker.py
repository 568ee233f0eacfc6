"""One load-generator process: its share of the buyers, their SSE streams and their taps,
driven by the parent (tests/load/stack_load.py) over multiprocessing queues.

Every time is `time.perf_counter()` (CLOCK_MONOTONIC on Linux, shared by all processes),
so the parent can line up taps and finals from every worker.
"""

import asyncio
import gc
import multiprocessing.queues
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.load.stack_probes import GcPauses, lag_figures, loop_lag, runqueue_seconds, until
from tests.support.load_clients import (
    BuyerSession,
    FinalStatus,
    buyer_stream_url,
    checkout_stream_url,
    follow_finals,
    open_session,
    tap_buy,
)

Queue = multiprocessing.queues.Queue
TapRecord = tuple[float, float, float, int, str | None, str, str | None, str | None, float | None]
"""scheduled, sent, answered, HTTP status, checkout id, sku, final status, reason, final at."""
STREAM_ERRORS = (aiohttp.ClientError, TimeoutError, ValueError)


@dataclass(frozen=True)
class Setup:
    storefront_url: str
    notifier_url: str
    buyers: int
    sse: str  # "buyer": one stream per buyer; "checkout": one per accepted tap
    concurrency: int  # taps in flight (and keep-alive connections) per worker
    tap_timeout: float
    connect_timeout: float


@dataclass(frozen=True)
class Run:
    label: str
    start_at: float
    taps: int
    rate: float | None  # this worker's taps/s, open loop; None: as fast as possible
    room_id: str
    skus: tuple[str, ...]
    final_timeout: float
    first_buyer: int = 0


@dataclass
class _Tally:
    sent: int = 0
    answered: int = 0
    accepted: int = 0
    errors: int = 0
    ids: list[str] = field(default_factory=list)


class LoadWorker:
    def __init__(self, index: int, results: "Queue[Any]") -> None:
        self.index, self.results = index, results
        self.finals: dict[str, FinalStatus] = {}
        self.awaited: set[str] = set()  # accepted checkouts whose final has not come yet
        self.buyers: list[BuyerSession] = []
        self.streams: set[asyncio.Task[None]] = set()
        self.open_streams = self.reconnects = 0
        self._sessions: list[aiohttp.ClientSession] = []

    def _on_final(self, final: FinalStatus) -> None:
        self.finals.setdefault(final.checkout_id, final)
        self.awaited.discard(final.checkout_id)

    async def setup(self, setup: Setup) -> dict[str, Any]:
        """Open the buyers' sessions and (in buyer mode) their SSE streams; time both."""
        self.config = setup
        self.taps_http = self._session(setup.concurrency, total=setup.tap_timeout)
        self.sse_http = self._session(0, total=None)
        started = time.perf_counter()
        gate = asyncio.Semaphore(32)

        async def one() -> BuyerSession:
            async with gate:
                return await open_session(self.taps_http, setup.storefront_url)

        self.buyers = list(await asyncio.gather(*(one() for _ in range(setup.buyers))))
        opened = time.perf_counter()
        if setup.sse == "buyer":
            self._connect_gate = asyncio.Semaphore(64)
            for buyer in self.buyers:
                self._spawn(self._follow_buyer(buyer))
            await until(lambda: self.open_streams >= len(self.buyers), setup.connect_timeout)
        # Thousands of long-lived connections: keep the collector from walking them all.
        # Fewer young-generation collections too: each one stalls every timestamp.
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        return {
            "sessions_seconds": opened - started,
            "streams_seconds": time.perf_counter() - opened,
            "streams_open": self.open_streams,
        }

    def _session(self, limit: int, *, total: float | None) -> aiohttp.ClientSession:
        http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit),
            timeout=aiohttp.ClientTimeout(total=total, sock_connect=30),
        )
        self._sessions.append(http)
        return http

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self.streams.add(task)
        task.add_done_callback(self.streams.discard)

    async def _follow_buyer(self, buyer: BuyerSession) -> None:
        """The buyer's stream for as long as the worker lives; resumes with Last-Event-ID."""
        url, last = buyer_stream_url(self.config.notifier_url), None
        while True:
            opened = False

            def on_open() -> None:
                nonlocal opened
                opened = True
                self.open_streams += 1
                self._connect_gate.release()

            await self._connect_gate.acquire()
            try:
                last = await follow_finals(self.sse_http, url, buyer, self._on_final,
                                           last_event_id=last, on_open=on_open)  # fmt: skip
            except STREAM_ERRORS:
                pass
            finally:
                if opened:
                    self.open_streams -= 1
                else:
                    self._connect_gate.release()
            self.reconnects += 1
            await asyncio.sleep(0.2)

    async def _follow_checkout(self, buyer: BuyerSession, checkout_id: str, until: float) -> None:
        url = checkout_stream_url(self.config.notifier_url, checkout_id)
        last = None
        while checkout_id not in self.finals and time.perf_counter() < until:
            try:
                last = await follow_finals(
                    self.sse_http, url, buyer, self._on_final, last_event_id=last
                )
            except STREAM_ERRORS:
                self.reconnects += 1
                await asyncio.sleep(0.2)

    async def run(self, run: Run) -> None:
        """Send the run's taps (paced or burst), wait for their finals, report the records."""
        records: list[TapRecord | None] = [None] * run.taps
        tally, gate = _Tally(), asyncio.Semaphore(self.config.concurrency)
        self.awaited.clear()  # an earlier step's lost taps are counted there, not waited for
        lags: list[float] = []
        watchers = [
            asyncio.create_task(self._report(run.label, tally)),
            asyncio.create_task(loop_lag(lags)),
        ]
        cpu, waited, reconnects = time.process_time(), runqueue_seconds(), self.reconnects
        pauses = GcPauses()
        gc.callbacks.append(pauses)
        try:
            await self._send(run, records, tally, gate)
            sending = (time.process_time() - cpu, time.perf_counter() - run.start_at)
            await until(lambda: not self.awaited, run.final_timeout)
        finally:
            gc.callbacks.remove(pauses)
            for watcher in watchers:
                watcher.cancel()
        stats = {
            "gc_pause_total_ms": round(pauses.total * 1000, 1),
            "gc_pause_max_ms": round(pauses.longest * 1000, 1),
            "sending_cpu_seconds": sending[0],
            "sending_wall_seconds": sending[1],
            "cpu_seconds": time.process_time() - cpu,
            "waited_seconds": runqueue_seconds() - waited,
            "wall_seconds": time.perf_counter() - run.start_at,
            **lag_figures(lags),
            "reconnects": self.reconnects - reconnects,
            "open_streams": self.open_streams,
        }
        done = [self._with_final(r) for r in records if r is not None]
        self.results.put(("done", self.index, run.label, done, stats))

    async def _send(
        self, run: Run, records: list[TapRecord | None], tally: _Tally, gate: asyncio.Semaphore
    ) -> None:
        await asyncio.sleep(max(0.0, run.start_at - time.perf_counter()))
        if run.rate is None:  # burst: `concurrency` buyers tapping back to back
            pending = iter(range(run.taps))

            async def tapper() -> None:
                for n in pending:
                    await self._tap(n, time.perf_counter(), run, records, tally, gate)

            await asyncio.gather(*(tapper() for _ in range(self.config.concurrency)))
            return
        interval, tasks = 1.0 / run.rate, []
        for n in range(run.taps):
            due = run.start_at + n * interval
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(self._tap(n, due, run, records, tally, gate)))
        await asyncio.gather(*tasks)

    async def _tap(
        self,
        n: int,
        due: float,
        run: Run,
        records: list[TapRecord | None],
        tally: _Tally,
        gate: asyncio.Semaphore,
    ) -> None:
        buyer = self.buyers[(run.first_buyer + n) % len(self.buyers)]
        sku = run.skus[n % len(run.skus)]
        async with gate:
            tally.sent += 1
            answer = await tap_buy(
                self.taps_http, self.config.storefront_url, buyer, room_id=run.room_id, sku=sku
            )
        tally.answered += 1
        if answer.checkout_id:
            tally.accepted += 1
            tally.ids.append(answer.checkout_id)
            if answer.checkout_id not in self.finals:  # it may beat its own 202
                self.awaited.add(answer.checkout_id)
            if self.config.sse == "checkout":
                until = time.perf_counter() + run.final_timeout
                self._spawn(self._follow_checkout(buyer, answer.checkout_id, until))
        else:
            tally.errors += 1
        records[n] = (due, answer.sent_at, answer.answered_at, answer.http_status,
                      answer.checkout_id, sku, None, None, None)  # fmt: skip

    def _with_final(self, record: TapRecord) -> TapRecord:
        final = self.finals.get(record[4] or "")
        if final is None:
            return record
        return (*record[:6], final.status, final.reason, final.at)

    async def _report(self, label: str, tally: _Tally) -> None:
        while True:
            await asyncio.sleep(1.0)
            finals = sum(1 for c in tally.ids if c in self.finals)
            counts = {"sent": tally.sent, "answered": tally.answered, "accepted": tally.accepted,
                      "errors": tally.errors, "finals": finals}  # fmt: skip
            self.results.put(("progress", self.index, label, counts))

    async def close(self) -> None:
        for task in list(self.streams):
            task.cancel()
        await asyncio.gather(*self.streams, return_exceptions=True)
        for http in self._sessions:
            await http.close()


def worker_main(index: int, commands: "Queue[Any]", results: "Queue[Any]") -> None:
    """Entry point of a worker process: obey commands until `stop`."""
    asyncio.run(_serve(index, commands, results))


async def _serve(index: int, commands: "Queue[Any]", results: "Queue[Any]") -> None:
    worker = LoadWorker(index, results)
    try:
        while True:
            kind, payload = await asyncio.to_thread(commands.get)
            if kind == "stop":
                break
            try:
                if kind == "setup":
                    results.put(("ready", index, await worker.setup(payload)))
                elif kind == "run":
                    await worker.run(payload)
            except Exception as exc:  # reported to the parent, which stops the run
                results.put(("error", index, f"{type(exc).__name__}: {exc}"))
    finally:
        await worker.close()
        results.put(("stopped", index, None))
