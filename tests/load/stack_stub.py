"""A stand-in for storefront and notifier that answers at once, to measure the load
generator's own ceiling: `python -m tests.load.stack_stub --port 8765`, then
`python -m tests.load.stack_load --storefront-url http://127.0.0.1:8765
--notifier-url http://127.0.0.1:8765 --room stub ...`.

Every checkout is confirmed on the spot with the four statuses a real order emits
(received, reserved, paid, confirmed) on the buyer's stream. No stock, no Redis.
"""

import argparse
import asyncio
import json
import uuid
from collections import defaultdict

from aiohttp import web

STATUSES = ("received", "reserved", "paid", "confirmed")


class StubStack:
    def __init__(self) -> None:
        self.buyers: dict[str, str] = {}  # token -> buyer id
        self.streams: dict[str, set[asyncio.Queue[bytes]]] = defaultdict(set)
        self.serial = 0

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/sessions", self.session),
            web.post("/api/checkouts", self.checkout),
            web.get("/api/rooms/{room}", self.room),
            web.get("/events/buyers/me", self.buyer_stream),
        ]

    async def session(self, _request: web.Request) -> web.Response:
        token, buyer = uuid.uuid4().hex, f"buyer-{uuid.uuid4().hex[:12]}"
        self.buyers[token] = buyer
        return web.json_response(
            {"buyer_id": buyer, "token": token, "expires_in": 3600}, status=201
        )

    async def room(self, _request: web.Request) -> web.Response:
        return web.json_response({"products": [{"sku": "STUB", "available": None}]})

    async def checkout(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        buyer = self.buyers.get(token)
        if buyer is None:
            return web.json_response({"detail": "who?"}, status=401)
        await request.json()
        checkout_id = uuid.uuid4().hex
        for queue in self.streams[buyer]:
            for status in STATUSES:
                self.serial += 1
                data = json.dumps({"checkout_id": checkout_id, "buyer_id": buyer,
                                   "status": status, "reason": None})  # fmt: skip
                queue.put_nowait(
                    f"event: status\r\nid: {self.serial}-0\r\ndata: {data}\r\n\r\n".encode()
                )
        return web.json_response({"checkout_id": checkout_id, "status": "accepted"}, status=202)

    async def buyer_stream(self, request: web.Request) -> web.StreamResponse:
        buyer = self.buyers.get(request.headers.get("Authorization", "").removeprefix("Bearer "))
        if buyer is None:
            return web.json_response({"reason": "invalid"}, status=401)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.streams[buyer].add(queue)
        try:
            while True:
                await response.write(await queue.get())
        finally:
            self.streams[buyer].discard(queue)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.load.stack_stub", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    app = web.Application()
    app.add_routes(StubStack().routes())
    web.run_app(app, host="127.0.0.1", port=parser.parse_args().port, print=None)


if __name__ == "__main__":
    main()
