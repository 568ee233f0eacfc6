"""Helpers for the replica tests: per-process Prometheus figures, and buyers following their
statuses over SSE on one notifier replica, or resuming on another with Last-Event-ID."""

import asyncio
import json
from collections.abc import Collection
from dataclasses import dataclass, field

import httpx
from httpx_sse import aconnect_sse

from contracts import FINAL_STATUSES

FINAL = {status.value for status in FINAL_STATUSES}


def metric_total(base_url: str, name: str, **labels: str) -> float:
    """The sum of the samples of `name` in `base_url`/metrics whose labels include `labels`
    (this process's own figures: each replica serves its own /metrics)."""
    text = (
        httpx.get(f"{base_url}/metrics", timeout=5, trust_env=False, follow_redirects=True)
        .raise_for_status()
        .text
    )
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(label in line for label in wanted):
            total += float(line.rsplit(" ", 1)[1])
    return total


@dataclass
class Delivery:
    """One `status` event as a buyer's browser got it."""

    entry_id: str
    checkout_id: str
    sequence: int
    status: str


@dataclass
class BuyerFeed:
    """What one buyer received over `/events/buyers/me`, connection by connection."""

    buyer_id: str
    token: str
    notifier: str
    expected: set[str] = field(default_factory=set)
    received: list[Delivery] = field(default_factory=list)
    via: list[str] = field(default_factory=list)  # the notifier that delivered each event

    def finals(self) -> dict[str, list[str]]:
        result: dict[str, list[str]] = {}
        for d in self.received:
            if d.status in FINAL:
                result.setdefault(d.checkout_id, []).append(d.status)
        return result

    def last_entry_id(self) -> str | None:
        return self.received[-1].entry_id if self.received else None

    async def follow(
        self,
        client: httpx.AsyncClient,
        *,
        notifier: str | None = None,
        until_final: Collection[str] | None = None,
        timeout: float = 60.0,
    ) -> int:
        """Read the buyer's statuses from `notifier` (default: its own), resuming after the
        last event received, until every checkout in `until_final` (default: `expected`) has
        a final status. How many events this connection delivered."""
        base = notifier or self.notifier
        wanted = set(self.expected if until_final is None else until_final)
        headers = {"Last-Event-ID": last} if (last := self.last_entry_id()) else {}
        url = f"{base}/events/buyers/me"
        delivered = 0
        if wanted <= self.finals().keys():
            return 0
        async with (
            asyncio.timeout(timeout),
            aconnect_sse(
                client, "GET", url, headers={"Authorization": f"Bearer {self.token}", **headers}
            ) as source,
        ):
            source.response.raise_for_status()
            async for event in source.aiter_sse():
                if event.event != "status":
                    raise AssertionError(f"{self.buyer_id} got {event.event}: {event.data}")
                data = json.loads(event.data)
                self.received.append(
                    Delivery(event.id, data["checkout_id"], data["sequence"], data["status"])
                )
                self.via.append(base)
                delivered += 1
                if wanted <= self.finals().keys():
                    break
        return delivered
