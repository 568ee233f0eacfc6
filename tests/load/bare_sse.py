"""The baseline of tests/load/sse_memory.py: a bare uvloop SSE writer with the same bounds.

`python -m tests.load.bare_sse REDIS_URL STREAM SEND_TIMEOUT` listens on a free port and
prints `ready <port>`. Every `GET` is an SSE stream: a small `snapshot`, then, unless its
query names `skus=` (an idle viewer of products that do not change), every stock change
XADDed to STREAM (`catalog.changed`) as one `stock` frame, written as it arrives; a
comment ping every 15 s to all. A connection whose writes are paused (a 16 KiB
high-water mark and SO_SNDBUF 64 KiB, as the notifier's) skips frames,
and is aborted once paused for SEND_TIMEOUT seconds. `GET /stats` answers
`{"open": n, "dropped": n}`.

With a fourth argument, STATUS_STREAM (`order.status`), a `GET /buyers/<buyer_id>` is a
buyer's stream: each status XADDed there for that buyer is written to the buyer's
connections as one `status` frame (the entry id as the SSE id, the status's `data` as
JSON), the notifier's buyer stream at its barest (tests/load/same_work_chain.py), and each
confirmed one to every live room connection as a `purchase` frame (the room's ticker, as
tests/load/fanout.py measures it).

No framework, no per-connection task, no parsing beyond the request line: what a
connection costs here is what any Python SSE server must pay.
"""

import asyncio
import json
import socket
import sys
from typing import Any, cast

import uvloop
from redis.asyncio import Redis

HEARTBEAT_SECONDS = 15.0
SEND_BUFFER_BYTES = 65_536
WRITE_HIGH_WATER = 16 * 1024
COMPACT = (",", ":")  # JSON as the notifier writes it
HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


def chunk(body: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(body), body)


SNAPSHOT = chunk(b'id: 1\r\nevent: snapshot\r\ndata: {"stock":[],"sales":null,"viewers":0}\r\n\r\n')
PING = chunk(b": ping\r\n\r\n")


class Writer:
    """The open connections, the live ones (sent stock) among them, and the drop count."""

    def __init__(self, send_timeout: float) -> None:
        self.send_timeout = send_timeout
        self.open: set[Stream] = set()
        self.live: set[Stream] = set()
        self.buyers: dict[bytes, set[Stream]] = {}
        self.dropped = 0

    def push(self, frame: bytes) -> None:
        data = chunk(frame)
        for stream in self.live:
            if stream.paused_since is None:
                stream.transport.write(data)

    def upkeep(self, now: float) -> None:
        for stream in list(self.open):
            if stream.paused_since is not None and now - stream.paused_since >= self.send_timeout:
                self.dropped += 1
                stream.transport.abort()


class Stream(asyncio.Protocol):
    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.request = b""
        self.paused_since: float | None = None
        self.buyer: bytes | None = None
        self.transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        # The notifier's bounds: its transports' high-water mark, its default
        # `send_buffer_bytes` in the kernel.
        self.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES
        )

    def data_received(self, data: bytes) -> None:
        if self in self.writer.open:
            return
        self.request += data
        if b"\r\n\r\n" not in self.request:
            return
        path = self.request.split(b" ", 2)[1]
        if path == b"/stats":
            body = json.dumps({"open": len(self.writer.open), "dropped": self.writer.dropped})
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%b"
                % (len(body), body.encode())
            )
            self.transport.close()
            return
        self.writer.open.add(self)
        if path.startswith(b"/buyers/"):
            self.buyer = path.removeprefix(b"/buyers/")
            self.writer.buyers.setdefault(self.buyer, set()).add(self)
        elif b"skus=" not in path:
            self.writer.live.add(self)
        self.transport.write(HEAD + SNAPSHOT)

    def pause_writing(self) -> None:
        self.paused_since = asyncio.get_running_loop().time()

    def resume_writing(self) -> None:
        self.paused_since = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.writer.open.discard(self)
        self.writer.live.discard(self)
        if self.buyer is not None:
            self.writer.buyers.get(self.buyer, set()).discard(self)


async def follow_stock(writer: Writer, redis: Redis, stream: str) -> None:
    last: bytes | str = "$"
    while True:
        reply = cast(list[Any], await redis.xread({stream: last}, block=1000, count=100))
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                products = json.loads(fields[b"__data__"])["data"]["products"]
                writer.push(
                    b"event: stock\r\ndata: %b\r\n\r\n"
                    % json.dumps(products, separators=COMPACT).encode()
                )


async def follow_statuses(writer: Writer, redis: Redis, stream: str) -> None:
    last: bytes | str = "$"
    while True:
        reply = cast(list[Any], await redis.xread({stream: last}, block=1000, count=500))
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                data = json.loads(fields[b"__data__"])["data"]
                if data["status"] == "confirmed":  # the room's purchase ticker
                    writer.push(
                        b"event: purchase\r\ndata: %b\r\n\r\n"
                        % json.dumps(data, separators=COMPACT).encode()
                    )
                streams = writer.buyers.get(data["buyer_id"].encode())
                if not streams:
                    continue
                frame = chunk(
                    b"id: %b\r\nevent: status\r\ndata: %b\r\n\r\n"
                    % (entry_id, json.dumps(data, separators=COMPACT).encode())
                )
                for one in streams:
                    if one.paused_since is None:
                        one.transport.write(frame)


async def keep_up(writer: Writer) -> None:
    loop = asyncio.get_running_loop()
    last_ping = loop.time()
    while True:
        await asyncio.sleep(1.0)
        now = loop.time()
        writer.upkeep(now)
        if now - last_ping >= HEARTBEAT_SECONDS:
            last_ping = now
            for stream in writer.open:
                if stream.paused_since is None:
                    stream.transport.write(PING)


async def main(
    redis_url: str, stream: str, send_timeout: float, status_stream: str | None = None
) -> None:
    writer = Writer(send_timeout)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Stream(writer), "127.0.0.1", 0, backlog=4096)
    print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
    redis = Redis.from_url(redis_url)
    tasks = [follow_stock(writer, redis, stream), keep_up(writer)]
    if status_stream:
        tasks.append(follow_statuses(writer, redis, status_stream))
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]), *sys.argv[4:5]))
