"""The ceiling: a minimal checkout pipeline in plain redis-py + asyncpg, batched, doing the
same writes as livecart's order path (order row, conditional stock update, status XADD,
XACK). Not livecart code: the yardstick livecart's throughput is divided by."""

import asyncio
import json
import time
import uuid
from dataclasses import dataclass

import asyncpg
from redis.asyncio import Redis

BATCH = 100
SCHEMA = """
CREATE TABLE IF NOT EXISTS base_products (sku text PRIMARY KEY, available int NOT NULL);
CREATE TABLE IF NOT EXISTS base_orders (
  checkout_id text PRIMARY KEY, sku text NOT NULL, quantity int NOT NULL, status text NOT NULL
);
"""
# One statement per batch: each checkout takes stock only while enough is left, in
# arrival order (a running sum per sku), so the batch cannot oversell.
RESERVE = """
WITH wanted AS (
  SELECT c.checkout_id, c.sku, c.quantity, c.ord,
         sum(c.quantity) OVER (PARTITION BY c.sku ORDER BY c.ord) AS running
  FROM unnest($1::text[], $2::text[], $3::int[], $4::int[]) AS c(checkout_id, sku, quantity, ord)
), stock AS (
  SELECT p.sku, p.available FROM base_products p
  WHERE p.sku IN (SELECT DISTINCT sku FROM wanted) FOR UPDATE
), granted AS (
  SELECT w.checkout_id, w.sku, w.quantity, w.running <= s.available AS ok
  FROM wanted w JOIN stock s USING (sku)
), taken AS (
  UPDATE base_products p SET available = p.available - g.units
  FROM (SELECT sku, sum(quantity) AS units FROM granted WHERE ok GROUP BY sku) g
  WHERE p.sku = g.sku
)
INSERT INTO base_orders (checkout_id, sku, quantity, status)
SELECT checkout_id, sku, quantity, CASE WHEN ok THEN 'confirmed' ELSE 'rejected' END
FROM granted
ON CONFLICT (checkout_id) DO NOTHING
RETURNING checkout_id, status
"""


@dataclass
class BaselineResult:
    events: int
    seconds: float
    confirmed: int

    @property
    def per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def run_baseline(
    *, redis_url: str, dsn: str, schema: str, events: int, skus: int, stock_per_sku: int
) -> BaselineResult:
    """Publish `events` checkouts, drain them through the minimal pipeline; time it all."""
    prefix = f"baseline-{uuid.uuid4().hex[:8]}"
    inbox, outbox = f"{prefix}:checkouts", f"{prefix}:statuses"
    redis = Redis.from_url(redis_url)
    db = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        await db.execute(SCHEMA)
        await db.executemany(
            "INSERT INTO base_products VALUES ($1, $2)",
            [(f"SKU-{i}", stock_per_sku) for i in range(skus)],
        )
        await redis.xgroup_create(inbox, "g", id="0", mkstream=True)
        started = time.perf_counter()
        producer = asyncio.create_task(_produce(redis, inbox, events, skus))
        confirmed = await _consume(redis, db, inbox, outbox, events)
        await producer
        return BaselineResult(events, time.perf_counter() - started, confirmed)
    finally:
        await redis.delete(inbox, outbox)
        await db.close()
        await redis.aclose()


async def _produce(redis: Redis, stream: str, events: int, skus: int) -> None:
    for start in range(0, events, 500):
        pipe = redis.pipeline(transaction=False)
        for n in range(start, min(start + 500, events)):
            body = {
                "checkout_id": f"c-{n}",
                "sku": f"SKU-{n % skus}",
                "quantity": 1,
                "buyer_id": f"b-{n}",
                "room_id": "demo",
                "pad": "x" * 150,
            }
            pipe.xadd(stream, {"__data__": json.dumps(body)})
        await pipe.execute()


async def _consume(
    redis: Redis, db: asyncpg.Connection, inbox: str, outbox: str, events: int
) -> int:
    done = confirmed = 0
    while done < events:
        reply = await redis.xreadgroup("g", "c1", {inbox: ">"}, count=BATCH, block=1000)
        if not reply:
            continue
        entries = reply[0][1]
        rows = [json.loads(fields[b"__data__"]) for _, fields in entries]
        async with db.transaction():
            results = await db.fetch(
                RESERVE,
                [r["checkout_id"] for r in rows],
                [r["sku"] for r in rows],
                [r["quantity"] for r in rows],
                list(range(len(rows))),
            )
        pipe = redis.pipeline(transaction=False)
        for record in results:
            pipe.xadd(outbox, {"__data__": json.dumps(dict(record))})
        pipe.xack(inbox, "g", *[entry_id for entry_id, _ in entries])
        await pipe.execute()
        done += len(entries)
        confirmed += sum(1 for r in results if r["status"] == "confirmed")
    return confirmed
