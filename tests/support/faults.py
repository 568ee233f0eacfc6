"""Fault injection for the multi-process tests: a TCP proxy that can cut the database away,
orders replicas as real processes, and one invariant checker over the orders DB and streams."""

import asyncio
import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from redis.asyncio import Redis
from sqlalchemy import text

from contracts import (
    FINAL_STATUSES,
    GROUP_ORDERS,
    CheckoutRequested,
    OrderStatusChangedEvent,
    Streams,
    decode_entry,
)
from infra.local.processes import tail
from infra.local.redis_server import free_port
from services.common.db import make_engine
from services.orders.seed import ProductStock, seed_products
from tests.conftest import Database
from tests.support.flow import checkout
from tests.support.stack import ServiceProcess, service_env


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`; `cut()` drops every connection and refuses new
    ones (the listening socket is closed) until `restore()`. Runs its own loop in a thread."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.dropped = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> "TcpProxy":
        self._thread.start()
        self._call(self._listen())
        return self

    def __exit__(self, *_: object) -> None:
        self._call(self._cut())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(
                self._handle, "127.0.0.1", self.port, reuse_address=True
            )

    async def _cut(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
            self.dropped += 1
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self._server is None:  # cut while this connection was being set up
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()


def orders_env(
    *, redis_url: str, stream_prefix: str, database: Database, workdir: Path, **extra: str
) -> dict[str, str]:
    """The env of an orders replica on `database`, with knobs tuned for fault tests."""
    knobs = {
        "ORDERS_DATABASE_URL": database.url,
        "ORDERS_CLAIM_IDLE_MS": "1500",
        "ORDERS_PAYMENT_TIMEOUT_SECONDS": "0.5",
        "ORDERS_RELAY_IDLE_SECONDS": "0.2",
        "ORDERS_UPKEEP_SECONDS": "0.5",
    }
    if database.schema:
        knobs["ORDERS_DATABASE_SCHEMA"] = database.schema
    knobs.update(extra)
    return service_env(redis_url=redis_url, stream_prefix=stream_prefix, workdir=workdir, **knobs)


def service_process(name: str, env: Mapping[str, str], log: Path) -> ServiceProcess:
    """A (not yet started) `python -m services.<name>` on a free port of its own."""
    port = free_port()
    return ServiceProcess(name, port, {**env, f"{name.upper()}_PORT": str(port)}, log)


@contextlib.contextmanager
def running(processes: list[ServiceProcess]) -> Iterator[list[ServiceProcess]]:
    """Start `processes`, wait until each is ready; stop them all (SIGTERM, then SIGKILL) after."""
    try:
        for process in processes:
            process.start()
        for process in processes:
            process.wait_ready(timeout=60)
        yield processes
    finally:
        for process in processes:
            process.terminate()


def orders_replicas(
    env: Mapping[str, str], workdir: Path, count: int
) -> contextlib.AbstractContextManager[list[ServiceProcess]]:
    """`count` orders processes on distinct ports (logs `orders-<i>.log`), as `running()`."""
    return running(
        [service_process("orders", env, workdir / f"orders-{i}.log") for i in range(count)]
    )


def logs_of(processes: Iterable[ServiceProcess], lines: int = 15) -> str:
    return "\n".join(f"{p.log.name}:\n{tail(p.log, lines)}" for p in processes)


async def seed_stock(database: Database, stock: Mapping[str, int], price_minor: int = 1000) -> None:
    """Products `stock` (sku -> units) in the orders database, before any process starts."""
    engine = make_engine(database.url, schema=database.schema)
    try:
        await seed_products(
            engine,
            [ProductStock(s, f"Product {s}", price_minor, "EUR", n) for s, n in stock.items()],
        )
    finally:
        await engine.dispose()


class StatusLog:
    """Reads `order.status` incrementally; keeps every event once (deduplicated by event id)."""

    def __init__(self, client: Redis, streams: Streams) -> None:
        self.client, self.stream = client, streams.order_status
        self.events: dict[str, OrderStatusChangedEvent] = {}
        self.entries = 0  # more than len(events) when the relay published an event again
        self._last = "-"

    async def read(self) -> "StatusLog":
        while entries := await self.client.xrange(self.stream, min=self._last, count=5000):
            self.entries += len(entries)
            for _, fields in entries:
                event = decode_entry(cast(dict[bytes, bytes], fields), OrderStatusChangedEvent)
                self.events.setdefault(event.event_id, event)
            self._last = "(" + cast(bytes, entries[-1][0]).decode()
        return self

    def finals(self) -> dict[str, list[str]]:
        """The final statuses each checkout reached, one per distinct event."""
        result: dict[str, list[str]] = {}
        for event in self.events.values():
            if event.data.status in FINAL_STATUSES:
                result.setdefault(event.data.checkout_id, []).append(event.data.status.value)
        return result

    def sequences(self) -> dict[str, list[int]]:
        """The sequence numbers of each checkout's distinct events, in stream order."""
        result: dict[str, list[int]] = {}
        for event in self.events.values():
            result.setdefault(event.data.checkout_id, []).append(event.data.sequence)
        return result

    async def wait_count(self, at_least: int, timeout: float) -> int:
        """Poll until `at_least` checkouts have a final status (to time a fault); how many."""
        deadline = time.monotonic() + timeout
        while (done := len((await self.read()).finals())) < at_least:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {done} final statuses within {timeout}s")
            await asyncio.sleep(0.05)
        return done

    async def wait_final(self, checkout_ids: Iterable[str], timeout: float) -> int:
        """Poll until every checkout has a final status; how many still lack one at the end."""
        wanted = set(checkout_ids)
        deadline = time.monotonic() + timeout
        while True:
            missing = len(wanted - (await self.read()).finals().keys())
            if not missing or time.monotonic() > deadline:
                return missing
            await asyncio.sleep(0.25)


def flash_sale(count: int, skus: list[str], *, seed: int) -> list[CheckoutRequested]:
    """`count` checkouts of one or two distinct SKUs, 1-2 units each, from 200 buyers."""
    rng = random.Random(seed)
    return [
        checkout(
            buyer_id=f"buyer-{rng.randrange(200)}",
            items=[(sku, rng.randint(1, 2)) for sku in rng.sample(skus, rng.choice((1, 1, 2)))],
        )
        for _ in range(count)
    ]


async def wait_group_drained(client: Redis, streams: Streams, timeout: float) -> int:
    """Poll until the `orders` group has nothing pending (all acked) on any checkout
    partition; how many are left."""
    deadline = time.monotonic() + timeout
    while True:
        pending = sum(
            [
                int((await client.xpending(stream, GROUP_ORDERS))["pending"])
                for stream in streams.checkout_streams
            ]
        )
        if not pending or time.monotonic() > deadline:
            return pending
        await asyncio.sleep(0.1)


@dataclass
class Invariants:
    """Counts read after a run; each test asserts on them."""

    checkouts: int
    orders: int = 0
    order_checkouts: int = 0
    missing_orders: int = 0
    unexpected_orders: int = 0
    with_one_final: int = 0
    without_final: int = 0
    with_repeated_final: int = 0
    with_conflicting_finals: int = 0
    stream_disagrees_with_db: int = 0
    with_broken_sequence: int = 0  # events not numbered 1..n in order: a lost or extra event
    republished_events: int = 0  # the same event id twice in the stream (allowed, deduplicated)
    orders_of_allowed_extra: int = 0
    final_counts: Counter[str] = field(default_factory=Counter)
    oversold_skus: list[str] = field(default_factory=list)
    unbalanced_skus: list[str] = field(default_factory=list)
    units_sold: int = 0
    units_reserved: int = 0
    units_in_confirmed_orders: int = 0
    confirmed_orders: int = 0
    captured_payments: int = 0
    dead_letters: int = 0
    rejection_reasons: Counter[str] = field(default_factory=Counter)

    def summary(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in vars(self).items())


async def check_invariants(
    database: Database,
    client: Redis,
    streams: Streams,
    checkout_ids: Iterable[str],
    initial_stock: Mapping[str, int],
    *,
    allowed_extra: Iterable[str] = (),
) -> Invariants:
    """Count what the orders DB and the status stream hold for `checkout_ids`.

    `allowed_extra`: checkouts that may or may not have an order (e.g. answered 503)."""
    wanted, extra = set(checkout_ids), set(allowed_extra)
    found = Invariants(checkouts=len(wanted))
    engine = make_engine(database.url, schema=database.schema)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text("SELECT checkout_id, status FROM orders"))).all()
            reasons = await conn.execute(
                text(
                    "SELECT reason, count(*) FROM orders WHERE status = 'rejected' GROUP BY reason"
                )
            )
            found.rejection_reasons.update({str(r): int(n) for r, n in reasons})
            products = (
                await conn.execute(text("SELECT sku, available, reserved, sold FROM products"))
            ).all()
            found.units_in_confirmed_orders = int(
                await conn.scalar(
                    text(
                        "SELECT coalesce(sum(l.quantity), 0) FROM order_lines l "
                        "JOIN orders o ON o.order_id = l.order_id WHERE o.status = 'confirmed'"
                    )
                )
                or 0
            )
            found.captured_payments = int(
                await conn.scalar(text("SELECT count(*) FROM payments WHERE outcome = 'captured'"))
                or 0
            )
    finally:
        await engine.dispose()
    db_status: dict[str, str] = {cid: status for cid, status in rows}  # noqa: C416
    found.orders, found.order_checkouts = len(rows), len(db_status)
    found.missing_orders = len(wanted - db_status.keys())
    found.unexpected_orders = len(db_status.keys() - wanted - extra)
    found.orders_of_allowed_extra = len(db_status.keys() & (extra - wanted))
    found.confirmed_orders = sum(1 for s in db_status.values() if s == "confirmed")
    log = await StatusLog(client, streams).read()
    finals, sequences = log.finals(), log.sequences()
    found.republished_events = log.entries - len(log.events)
    for cid in wanted:
        reached = finals.get(cid, [])
        found.with_one_final += len(reached) == 1
        found.without_final += not reached
        found.with_repeated_final += len(reached) > 1
        found.with_conflicting_finals += len(set(reached)) > 1
        found.final_counts.update(reached[:1])
        found.stream_disagrees_with_db += bool(reached) and db_status.get(cid) != reached[-1]
        numbers = sequences.get(cid, [])
        found.with_broken_sequence += numbers != list(range(1, len(numbers) + 1))
    for sku, available, reserved, sold in products:
        initial = initial_stock.get(sku, 0)
        found.units_sold += sold
        found.units_reserved += reserved
        if sold > initial:
            found.oversold_skus.append(sku)
        if sold + available + reserved != initial:
            found.unbalanced_skus.append(sku)
    found.dead_letters = sum(
        [int(await client.xlen(Streams.dead_letters(s))) for s in streams.checkout_streams]
    )
    return found


def assert_exactly_once_and_no_oversell(found: Invariants) -> None:
    """The invariants every fault test ends with (see ARCHITECTURE.md, guarantees 2-5)."""
    assert found.with_one_final == found.checkouts, found.summary()
    assert found.without_final == 0, found.summary()
    assert found.with_repeated_final == 0, found.summary()
    assert found.with_conflicting_finals == 0, found.summary()
    assert found.missing_orders == 0, found.summary()
    assert found.unexpected_orders == 0, found.summary()
    assert found.orders == found.order_checkouts, found.summary()
    assert found.stream_disagrees_with_db == 0, found.summary()
    assert found.with_broken_sequence == 0, found.summary()
    assert found.oversold_skus == [], found.summary()
    assert found.unbalanced_skus == [], found.summary()
    assert found.units_reserved == 0, found.summary()
    assert found.units_sold == found.units_in_confirmed_orders, found.summary()
    assert found.confirmed_orders == found.captured_payments, found.summary()
