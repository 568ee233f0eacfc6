"""One load-generator process of tests/load/fanout.py: many minimal SSE clients of one room.

`python -m tests.load.fanout_client HOST PORT PATH COUNT [slow]` opens COUNT connections
(raw asyncio protocols on uvloop: no HTTP library per connection) and prints progress lines
(`progress <connected> <failed>`). A connection counts as connected once its `snapshot`
event arrived. Each `purchase` / `stock` event is recorded with the monotonic time its
bytes were read, keyed by the number the harness put in it (`total_minor` / `version`).
On `stop` from stdin it prints one JSON line with everything and exits.
With `slow`, each connection has a tiny receive buffer and stops reading after its
snapshot (tests/load/sse_memory.py): the server's writes to it fill the buffers and wait.
CLOCK_MONOTONIC is shared by every process of the machine, so the harness compares it
with the time it published each event.
"""

import asyncio
import json
import re
import socket
import sys
import time
from collections import defaultdict
from typing import Any, cast

import uvloop

CONNECT_TIMEOUT = 60.0
HANDSHAKES_IN_FLIGHT = 64
"""Connections being opened at once per process: enough to fill the listen backlog
steadily without refusals."""
_TOTAL = re.compile(rb'"total_minor":(\d+)')
_VERSION = re.compile(rb'"version":(\d+)')
SLOW_RECEIVE_BUFFER = 4096


class Tally:
    """What every connection of this process saw."""

    def __init__(self) -> None:
        self.connected = 0
        self.failed = 0
        self.dropped = 0
        self.failures: dict[str, int] = defaultdict(int)
        self.received: dict[str, list[float]] = defaultdict(list)


class SseClient(asyncio.Protocol):
    """An HTTP/1.1 GET of an SSE stream, chunked body decoded by hand; only event names
    and the numbers the harness planted are looked at."""

    def __init__(self, request: bytes, tally: Tally, *, slow: bool = False) -> None:
        self.request = request
        self.tally = tally
        self.slow = slow
        self.snapshot: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.headers_done = False
        self.raw = b""
        self.body = b""
        self.transport: asyncio.Transport | None = None
        self.stopping = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.raw += data
        if not self.headers_done:
            head, sep, rest = self.raw.partition(b"\r\n\r\n")
            if not sep:
                return
            if not head.startswith(b"HTTP/1.1 200"):
                self._fail("status " + head.split(b"\r\n", 1)[0].decode(errors="replace"))
                return
            self.headers_done, self.raw = True, rest
        self._dechunk()
        while True:
            end = self.body.find(b"\r\n\r\n")
            if end < 0:
                end = self.body.find(b"\n\n")
                if end < 0:
                    return
                event, self.body = self.body[:end], self.body[end + 2 :]
            else:
                event, self.body = self.body[:end], self.body[end + 4 :]
            self._event(event, now)

    def _dechunk(self) -> None:
        while True:
            line_end = self.raw.find(b"\r\n")
            if line_end < 0:
                return
            size = int(self.raw[:line_end].split(b";")[0] or b"0", 16)
            start = line_end + 2
            if len(self.raw) < start + size + 2:
                return
            self.body += self.raw[start : start + size]
            self.raw = self.raw[start + size + 2 :]

    def _event(self, event: bytes, now: float) -> None:
        if b"event: purchase" in event:
            match = _TOTAL.search(event)
            if match:
                self.tally.received["p" + match.group(1).decode()].append(now)
        elif b"event: stock" in event:
            for match in _VERSION.finditer(event):
                self.tally.received["s" + match.group(1).decode()].append(now)
        elif b"event: snapshot" in event and not self.snapshot.done():
            self.snapshot.set_result(None)
            if self.slow and self.transport is not None:
                self.transport.pause_reading()

    def _fail(self, reason: str) -> None:
        if not self.snapshot.done():
            self.snapshot.set_exception(ConnectionError(reason))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.snapshot.done():
            self.snapshot.set_exception(ConnectionError(f"closed before snapshot: {exc}"))
        elif not self.stopping:
            self.tally.dropped += 1


async def open_one(
    host: str, port: int, request: bytes, tally: Tally, gate: asyncio.Semaphore, slow: bool
) -> SseClient | None:
    loop = asyncio.get_running_loop()
    async with gate:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                if slow:  # before connect, so the window it offers stays small
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_RECEIVE_BUFFER)
                sock.setblocking(False)
                await loop.sock_connect(sock, (host, port))
                _, client = await loop.create_connection(
                    lambda: SseClient(request, tally, slow=slow), sock=sock
                )
                await client.snapshot
        except (OSError, TimeoutError) as exc:
            tally.failed += 1
            tally.failures[type(exc).__name__ + (f": {exc}" if str(exc) else "")[:80]] += 1
            return None
    tally.connected += 1
    return client


async def report_progress(tally: Tally, done: asyncio.Event) -> None:
    while not done.is_set():
        print(f"progress {tally.connected} {tally.failed}", flush=True)
        await asyncio.sleep(0.5)
    print(f"progress {tally.connected} {tally.failed}", flush=True)
    print("ready", flush=True)


async def main(host: str, port: int, path: str, count: int, slow: bool = False) -> None:
    tally = Tally()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
        "Cache-Control: no-cache\r\n\r\n"
    ).encode()
    gate = asyncio.Semaphore(HANDSHAKES_IN_FLIGHT)
    done = asyncio.Event()
    reporter = asyncio.create_task(report_progress(tally, done))
    opened = await asyncio.gather(
        *(open_one(host, port, request, tally, gate, slow) for _ in range(count))
    )
    done.set()
    await reporter
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    for client in opened:
        if client is not None and client.transport is not None:
            client.stopping = True
            client.transport.close()
    result: dict[str, Any] = {
        "connected": tally.connected,
        "failed": tally.failed,
        "dropped": tally.dropped,
        "failures": dict(tally.failures),
        "received": tally.received,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    host, port, path, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    uvloop.run(main(host, port, path, count, slow=sys.argv[5:] == ["slow"]))
