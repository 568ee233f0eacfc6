"""Fixtures of the notifier's integration tests: an in-process notifier on real Redis,
its HTTP client, and a relay that writes statuses as the orders outbox does."""

from collections.abc import AsyncIterator

import httpx
import pytest

from services.notifier.config import NotifierSettings
from tests.integration.notifier.support import (
    TEST_ROOMS,
    Notifier,
    Notifiers,
    Redis,
    Relay,
    announce_rooms,
    notifier_settings,
)


@pytest.fixture
def settings(redis_url: str, stream_prefix: str) -> NotifierSettings:
    return notifier_settings(redis_url, stream_prefix)


@pytest.fixture(autouse=True)
async def rooms_announced(redis_client: Redis, settings: NotifierSettings) -> None:
    """The rooms the tests open, announced on `room.changed` before any notifier starts
    (autouse fixtures come first), as the storefront announces its rooms."""
    await announce_rooms(redis_client, settings.streams, *TEST_ROOMS)


@pytest.fixture
async def notifiers() -> AsyncIterator[Notifiers]:
    running = Notifiers()
    yield running
    await running.close()


@pytest.fixture
async def notifier(notifiers: Notifiers, settings: NotifierSettings) -> Notifier:
    return await notifiers.start(settings)


@pytest.fixture
def client(notifier: Notifier) -> httpx.AsyncClient:
    return notifier.client


@pytest.fixture
def relay(redis_client: Redis, settings: NotifierSettings) -> Relay:
    return Relay(redis_client, settings.streams)
