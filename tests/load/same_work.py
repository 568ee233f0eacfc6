"""The same-work ceiling of the order path (issue 14): a plain redis-py + asyncpg pipeline
that leaves exactly what livecart's orders service leaves for the same checkouts, as fast
as a careful hand-written program can. Not livecart code: the yardstick `make bench`
divides the orders service's throughput by.

For every checkout entry (the storefront's wire format, read in the `orders` group of
`checkout.requested`) it writes what livecart writes:

- PostgreSQL, in livecart's own tables (created by livecart's seed, so the same columns
  and indexes): one `orders` row in its final state, its `order_lines`, one `payments`
  row per charge, the buyer's `sandbox_wallets` row (opened with the demo balance,
  debited), the products' `available`/`sold`, and one `outbox` row per status, marked
  sent once published (the transactional outbox: statuses are committed with the order,
  published after);
- Redis: each status (received, reserved, paid, confirmed, or received, rejected) as
  livecart's contract JSON, byte for byte in shape, XADDed to `order.status` and to the
  buyer's capped history stream (EXPIRE once per buyer per batch), then XACK.

How: a reader task keeps the next XREADGROUP batch ready while the current one is
written; per batch one statement locks the products and wallets and finds checkouts
placed before, the decisions (stock in arrival order, all lines or none; the wallet's
balance) are taken in Python, one statement writes every row, and the statuses are
XADDed in one pipeline (with the XACK) while the next batch's transaction runs; the
outbox rows are marked sent on a second connection.

`observe` reads what either side left and `compare` says whether they agree.
"""

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from redis.asyncio import Redis

from contracts import GROUP_ORDERS, Streams, new_event_id
from contracts.wire import DATA_FIELD

DATA = DATA_FIELD.encode()
FINAL = ("confirmed", "rejected", "expired")
PRODUCER = "orders"
STATUS_TYPE, STATUS_VERSION = "order.status_changed", 2

# Locks the batch's products and the wallets its buyers have, and finds the checkouts
# already placed: one round trip.
LOCK = """
WITH p AS (
  SELECT sku, available, price_minor, currency, seller_id FROM products
  WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE
), held AS (
  SELECT buyer_id, balance_minor, behaviour FROM sandbox_wallets
  WHERE buyer_id = ANY($2::text[]) ORDER BY buyer_id FOR UPDATE
), placed AS (
  SELECT checkout_id FROM orders WHERE checkout_id = ANY($3::text[])
)
SELECT 'p' AS kind, sku AS key, available::bigint AS n, price_minor::bigint AS price,
       currency AS text1, seller_id AS text2 FROM p
UNION ALL SELECT 'w', buyer_id, balance_minor, NULL, behaviour, NULL FROM held
UNION ALL SELECT 'o', checkout_id, NULL, NULL, NULL, NULL FROM placed
"""

# Every row of a batch in one statement.
WRITE = """
WITH o AS (
  INSERT INTO orders (order_id, checkout_id, buyer_id, room_id, status, sequence, reason,
                      detail, total_minor, currency, requested_at, created_at, updated_at,
                      seller_id, tracking_ref)
  SELECT o_id, c_id, b_id, r_id, st, seq, rsn, dtl, tot, cur, req, $15, $15, sel, NULL
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[],
              $7::text[], $8::text[], $9::int[], $10::text[], $11::timestamptz[],
              $12::text[])
       AS t(o_id, c_id, b_id, r_id, st, seq, rsn, dtl, tot, cur, req, sel)
), l AS (
  INSERT INTO order_lines (order_id, sku, quantity, unit_price_minor, deal_id)
  SELECT o_id, sku, q, price, NULL
  FROM unnest($13::text[], $14::text[], $16::int[], $17::int[]) AS t(o_id, sku, q, price)
), pay AS (
  INSERT INTO payments (checkout_id, buyer_id, amount_minor, currency, outcome, detail,
                        created_at)
  SELECT c_id, b_id, amt, cur, outc, dtl, $15
  FROM unnest($18::text[], $19::text[], $20::int[], $21::text[], $22::text[], $23::text[])
       AS t(c_id, b_id, amt, cur, outc, dtl)
), stock AS (
  UPDATE products p SET available = p.available - d.units, sold = p.sold + d.units,
                        version = p.version + 1
  FROM unnest($24::text[], $25::int[]) AS d(sku, units) WHERE p.sku = d.sku
), debit AS (
  UPDATE sandbox_wallets w SET balance_minor = w.balance_minor - d.amt
  FROM unnest($26::text[], $27::bigint[]) AS d(b_id, amt) WHERE w.buyer_id = d.b_id
), opened AS (
  -- a wallet for each buyer charged for the first time, as the sandbox gateway opens it
  INSERT INTO sandbox_wallets (buyer_id, balance_minor, behaviour)
  SELECT b_id, $33::bigint - amt, 'normal'
  FROM unnest($34::text[], $35::bigint[]) AS d(b_id, amt)
)
INSERT INTO outbox (event_id, stream, history_stream, checkout_id, payload, created_at)
SELECT e_id, $28, h, c_id, body, $15
FROM unnest($29::text[], $30::text[], $31::text[], $32::text[]) AS t(e_id, h, c_id, body)
"""

MARK_SENT = "UPDATE outbox SET sent_at = $2 WHERE event_id = ANY($1::text[])"


@dataclass
class Checkout:
    entry_id: bytes
    checkout_id: str
    buyer_id: str
    room_id: str
    items: list[tuple[str, int]]
    requested_at: str


@dataclass
class Decided:
    """What a batch writes: column arrays of every table, and the statuses to publish."""

    orders: list[list[Any]] = field(default_factory=lambda: [[] for _ in range(12)])
    lines: list[list[Any]] = field(default_factory=lambda: [[] for _ in range(4)])
    payments: list[list[Any]] = field(default_factory=lambda: [[] for _ in range(6)])
    stock: Counter[str] = field(default_factory=Counter)
    debits: Counter[str] = field(default_factory=Counter)
    opened: Counter[str] = field(default_factory=Counter)  # new wallets and their debits
    outbox: list[list[str]] = field(default_factory=lambda: [[], [], [], []])


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class SameWorkPipeline:
    """Drains the `orders` group of one checkout stream until `stop()`; counts finals."""

    def __init__(
        self,
        redis: Redis,
        db: asyncpg.Connection,
        marker: asyncpg.Connection,
        streams: Streams,
        *,
        batch: int = 500,
        demo_balance_minor: int = 1_000_000,
        history_maxlen: int = 200,
        history_ttl_seconds: int = 86_400,
        consumer: str = "same-work-1",
    ) -> None:
        self.redis, self.db, self.marker, self.streams = redis, db, marker, streams
        self.batch, self.demo_balance = batch, demo_balance_minor
        self.history_maxlen, self.history_ttl = history_maxlen, history_ttl_seconds
        self.consumer = consumer
        self.inbox = streams.checkout_requested
        self._stopping = False
        self.checkouts = 0

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        batches: asyncio.Queue[list[Any] | None] = asyncio.Queue(maxsize=2)
        reader = asyncio.create_task(self._read(batches))
        published: asyncio.Task[None] | None = None
        try:
            while (entries := await batches.get()) is not None:
                decided = await self._place(entries)
                if published is not None:
                    await published  # statuses leave in batch order; one batch in flight
                acks = [entry_id for entry_id, _ in entries]
                published = asyncio.create_task(self._publish(decided, acks))
                self.checkouts += len(entries)
            if published is not None:
                await published
        finally:
            reader.cancel()
            if published is not None and not published.done():
                published.cancel()

    async def _read(self, batches: "asyncio.Queue[list[Any] | None]") -> None:
        while not self._stopping:
            reply = await self.redis.xreadgroup(
                GROUP_ORDERS, self.consumer, {self.inbox: ">"}, count=self.batch, block=100
            )
            if reply:
                await batches.put(reply[0][1])
        await batches.put(None)

    async def _place(self, entries: Sequence[tuple[bytes, dict[bytes, bytes]]]) -> "Decided":
        checkouts: dict[str, Checkout] = {}
        for entry_id, fields in entries:
            envelope = json.loads(fields[DATA])
            data = envelope["data"]
            checkouts.setdefault(
                data["checkout_id"],
                Checkout(
                    entry_id,
                    data["checkout_id"],
                    data["buyer_id"],
                    data["room_id"],
                    [(i["sku"], i["quantity"]) for i in data["items"]],
                    envelope["occurred_at"],
                ),
            )
        skus = sorted({sku for c in checkouts.values() for sku, _ in c.items})
        buyers = sorted({c.buyer_id for c in checkouts.values()})
        async with self.db.transaction():
            locked = await self.db.fetch(LOCK, skus, buyers, list(checkouts))
            products = {r["key"]: r for r in locked if r["kind"] == "p"}
            wallets = {r["key"]: (r["n"], r["text1"]) for r in locked if r["kind"] == "w"}
            placed = {r["key"] for r in locked if r["kind"] == "o"}
            fresh = [c for c in checkouts.values() if c.checkout_id not in placed]
            decided = self._decide(fresh, products, wallets)
            if fresh:
                await self._write(decided)
        return decided

    def _decide(
        self,
        fresh: Sequence[Checkout],
        products: dict[str, Any],
        wallets: dict[str, tuple[int, str]],
    ) -> Decided:
        out = Decided()
        left = {sku: int(row["n"]) for sku, row in products.items()}
        spent: Counter[str] = Counter()
        now = datetime.now(UTC)
        stamp = _stamp(now)
        for c in fresh:
            order_id = new_event_id()
            known = all(sku in products for sku, _ in c.items)
            lines = [(sku, q, int(products[sku]["price"])) for sku, q in c.items] if known else []
            total = sum(q * price for _, q, price in lines)
            currency = products[lines[0][0]]["text1"] if lines else "XXX"
            seller = products[lines[0][0]]["text2"] if lines else None
            path: list[tuple[str, str | None, str | None]] = [("received", None, None)]
            if not known:
                path.append(("rejected", "invalid", "unknown sku"))
            elif not all(left[sku] >= q for sku, q, _ in lines):
                path.append(("rejected", "out_of_stock", None))
            else:
                path.append(("reserved", None, None))
                if c.buyer_id not in wallets:  # opened with the demo balance when charged
                    wallets[c.buyer_id] = (self.demo_balance, "normal")
                    out.opened[c.buyer_id] += 0
                balance, behaviour = wallets[c.buyer_id]
                outcome, detail = "captured", None
                if behaviour == "decline":
                    outcome, detail = "declined", "declined"
                elif balance - spent[c.buyer_id] < total:
                    outcome, detail = "declined", "insufficient_funds"
                elif behaviour == "timeout":
                    outcome, detail = "", "timeout"  # no answer: nothing recorded
                if outcome == "captured":
                    spent[c.buyer_id] += total
                    (out.opened if c.buyer_id in out.opened else out.debits)[c.buyer_id] += total
                    for sku, q, _ in lines:
                        left[sku] -= q
                        out.stock[sku] += q
                    path += [("paid", None, None), ("confirmed", None, None)]
                else:
                    path.append(("rejected", "payment_failed", detail))
                if outcome:
                    for column, value in zip(
                        out.payments,
                        (c.checkout_id, c.buyer_id, total, currency, outcome, detail),
                        strict=True,
                    ):
                        column.append(value)
            status, reason, detail = path[-1]
            row = (
                order_id, c.checkout_id, c.buyer_id, c.room_id, status, len(path), reason,
                detail, total, currency, datetime.fromisoformat(c.requested_at), seller,
            )  # fmt: skip
            for column, value in zip(out.orders, row, strict=True):
                column.append(value)
            for sku, q, price in lines:
                for column, value in zip(out.lines, (order_id, sku, q, price), strict=True):
                    column.append(value)
            items = [{"sku": sku, "quantity": q} for sku, q, _ in lines]
            history = self.streams.buyer_status(c.buyer_id)
            previous = None
            for sequence, (status, reason, detail) in enumerate(path, start=1):
                event_id = new_event_id()
                body = {
                    "event_id": event_id, "type": STATUS_TYPE, "version": STATUS_VERSION,
                    "occurred_at": stamp, "correlation_id": c.checkout_id, "producer": PRODUCER,
                    "data": {
                        "checkout_id": c.checkout_id, "order_id": order_id,
                        "buyer_id": c.buyer_id, "room_id": c.room_id, "status": status,
                        "previous_status": previous, "sequence": sequence, "reason": reason,
                        "detail": detail, "total_minor": total, "currency": currency,
                        "items": items, "requested_at": c.requested_at, "seller_id": seller,
                        "tracking_ref": None,
                    },
                }  # fmt: skip
                previous = status
                for column, value in zip(
                    out.outbox,
                    (event_id, history, c.checkout_id, json.dumps(body, separators=(",", ":"))),
                    strict=True,
                ):
                    column.append(value)
        return out

    async def _write(self, d: Decided) -> None:
        now = datetime.now(UTC)
        await self.db.execute(
            WRITE,
            *d.orders[:12],
            d.lines[0],
            d.lines[1],
            now,
            d.lines[2],
            d.lines[3],
            *d.payments,
            list(d.stock),
            list(d.stock.values()),
            list(d.debits),
            list(d.debits.values()),
            self.streams.order_status,
            *d.outbox,
            self.demo_balance,
            list(d.opened),
            list(d.opened.values()),
        )

    async def _publish(self, decided: "Decided", acks: list[bytes]) -> None:
        """The batch's statuses to `order.status` and the buyers' histories, the XACK, then
        the outbox rows marked sent (the relay's work, after the commit)."""
        event_ids, histories, _, bodies = decided.outbox
        pipe = self.redis.pipeline(transaction=False)
        status_stream = self.streams.order_status
        for body, history in zip(bodies, histories, strict=True):
            fields = {DATA_FIELD: body}
            pipe.xadd(status_stream, fields)  # type: ignore[arg-type]
            pipe.xadd(history, fields, maxlen=self.history_maxlen, approximate=True)  # type: ignore[arg-type]
        for history in set(histories):  # once per buyer per batch, after its last XADD
            pipe.expire(history, self.history_ttl)
        if acks:
            pipe.xack(self.inbox, GROUP_ORDERS, *acks)
        await pipe.execute()
        if event_ids:
            await self.marker.execute(MARK_SENT, event_ids, datetime.now(UTC))


@dataclass
class SameWorkRun:
    events: int
    seconds: float
    finals: int

    @property
    def per_second(self) -> float:
        return self.finals / self.seconds if self.seconds else 0.0


Publish = Callable[[], Any]
"""XADDs the run's checkouts (a coroutine function): the same for both sides."""


async def connect(dsn: str, schema: str) -> asyncpg.Connection:
    return await asyncpg.connect(dsn, server_settings={"search_path": schema})


async def run_same_work(
    *,
    redis_url: str,
    dsn: str,
    schema: str,
    streams: Streams,
    events: int,
    publish: Publish,
    timeout: float,
    progress: Callable[[str], None],
    batch: int = 500,
) -> SameWorkRun:
    """Drain `events` checkouts that `publish` XADDs to `streams.checkout_requested` through
    the same-work pipeline, on livecart's tables (seeded) in `schema`; timed from the first
    XADD to the last final status read on `order.status`, as the orders service is."""
    redis = Redis.from_url(redis_url)
    db, marker = await connect(dsn, schema), await connect(dsn, schema)
    try:
        await redis.xgroup_create(streams.checkout_requested, GROUP_ORDERS, id="0", mkstream=True)
        pipeline = SameWorkPipeline(redis, db, marker, streams, batch=batch)
        running = asyncio.create_task(pipeline.run())
        started = time.perf_counter()
        await publish()
        finals = await wait_for_finals(
            redis, streams.order_status, events, timeout, progress, running
        )
        seconds = time.perf_counter() - started
        pipeline.stop()
        await running
        return SameWorkRun(events, seconds, finals)
    finally:
        await db.close()
        await marker.close()
        await redis.aclose()


async def wait_for_finals(
    redis: Redis,
    stream: str,
    expected: int,
    timeout: float,
    progress: Callable[[str], None],
    worker: "asyncio.Task[Any] | None" = None,
) -> int:
    """Read `stream` until `expected` final statuses went by (or `timeout`); how many did."""
    deadline, last = time.monotonic() + timeout, "0-0"
    finals = 0
    while finals < expected and time.monotonic() < deadline:
        if worker is not None and worker.done():
            worker.result()  # its exception, if it failed
        reply = await redis.xread({stream: last}, count=5000, block=500)
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                finals += json.loads(fields[DATA])["data"]["status"] in FINAL
        progress(f"  {finals}/{expected} final statuses")
    return finals


async def observe(
    redis: Redis, dsn: str, schema: str, streams: Streams, *, settle: float = 10.0
) -> dict[str, Any]:
    """What a run left: rows per table, stock per sku, statuses per checkout on both
    streams, the payload sizes, the entries left unacknowledged. Waits up to `settle`
    seconds for the outbox rows still being marked sent."""
    db = await connect(dsn, schema)
    try:
        deadline = time.monotonic() + settle
        unsent = "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
        while await db.fetchval(unsent) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        orders = {
            f"{r['status']}/{r['reason'] or '-'}": r["n"]
            for r in await db.fetch(
                "SELECT status, reason, count(*) AS n FROM orders GROUP BY 1, 2 ORDER BY 1, 2"
            )
        }
        payments = {
            r["outcome"]: r["n"]
            for r in await db.fetch("SELECT outcome, count(*) AS n FROM payments GROUP BY 1")
        }
        wallets = await db.fetchrow(
            "SELECT count(*) AS n, coalesce(sum(balance_minor), 0) AS total FROM sandbox_wallets"
        )
        stock = {
            r["sku"]: (r["available"], r["reserved"], r["sold"])
            for r in await db.fetch("SELECT sku, available, reserved, sold FROM products")
        }
        outbox = await db.fetchrow(
            "SELECT count(*) AS n, count(*) FILTER (WHERE sent_at IS NULL) AS unsent, "
            "count(history_stream) AS with_history FROM outbox"
        )
        lines = await db.fetchval("SELECT count(*) FROM order_lines")
    finally:
        await db.close()
    paths: dict[str, list[str]] = {}
    buyers: dict[str, str] = {}
    sizes: dict[str, list[int]] = {}
    last = "-"
    while entries := await redis.xrange(streams.order_status, min=last, count=5000):
        for _, fields in entries:
            raw = fields[DATA]
            data = json.loads(raw)["data"]
            paths.setdefault(data["checkout_id"], []).append(data["status"])
            buyers[data["checkout_id"]] = data["buyer_id"]
            sizes.setdefault(data["status"], []).append(len(raw))
        last = "(" + entries[-1][0].decode()
    pipe = redis.pipeline(transaction=False)
    by_buyer = sorted(set(buyers.values()))
    for buyer in by_buyer:
        pipe.xlen(streams.buyer_status(buyer))
    history = dict(zip(by_buyer, await pipe.execute(), strict=True))
    per_buyer = Counter(buyers.values())
    status_per_buyer = Counter[str]()
    for checkout_id, path in paths.items():
        status_per_buyer[buyers[checkout_id]] += len(path)
    pending = (await redis.xpending(streams.checkout_requested, GROUP_ORDERS))["pending"]
    return {
        "orders": orders,
        "order_lines": lines,
        "payments": payments,
        "wallets": {"count": wallets["n"], "balance_total": int(wallets["total"])},
        "stock": {sku: list(v) for sku, v in sorted(stock.items())},
        "outbox": dict(outbox),
        "status_paths": {
            ",".join(p): n for p, n in sorted(Counter(map(tuple, paths.values())).items())
        },
        "status_entries": sum(map(len, paths.values())),
        "history_entries": sum(history.values()),
        "history_mismatched_buyers": sum(1 for b in by_buyer if history[b] != status_per_buyer[b]),
        "buyers": len(per_buyer),
        "payload_bytes": {s: round(sum(v) / len(v), 1) for s, v in sorted(sizes.items())},
        "unacknowledged": pending,
    }


def compare(
    live: dict[str, Any], base: dict[str, Any], *, size_tolerance: float = 0.05
) -> list[str]:
    """Where the same-work baseline left something other than livecart did (empty: none).
    Payload sizes may differ by `size_tolerance` (ids and times are fresh on each side)."""
    problems = [
        f"{name}: livecart {live[name]} vs same-work {base[name]}"
        for name in (
            "orders", "order_lines", "payments", "wallets", "stock", "status_paths",
            "status_entries", "history_entries", "buyers",
        )
        if live[name] != base[name]
    ]  # fmt: skip
    for side, seen in (("livecart", live), ("same-work", base)):
        if seen["outbox"]["n"] != seen["status_entries"]:
            problems.append(
                f"{side}: {seen['outbox']['n']} outbox rows, {seen['status_entries']} statuses"
            )
        if seen["outbox"]["unsent"]:
            problems.append(f"{side}: {seen['outbox']['unsent']} outbox rows left unsent")
        if seen["history_mismatched_buyers"]:
            problems.append(
                f"{side}: {seen['history_mismatched_buyers']} buyers' history streams "
                "differ from order.status"
            )
        if seen["unacknowledged"]:
            problems.append(f"{side}: {seen['unacknowledged']} checkout entries unacknowledged")
    if live["outbox"]["n"] != base["outbox"]["n"]:
        problems.append(
            f"outbox rows: livecart {live['outbox']['n']} vs same-work {base['outbox']['n']}"
        )
    for status, size in live["payload_bytes"].items():
        other = base["payload_bytes"].get(status)
        if other is None or abs(other / size - 1) > size_tolerance:
            problems.append(f"{status} payload: livecart {size} B vs same-work {other} B")
    return problems
