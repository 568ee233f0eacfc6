"""The whole stack as real processes, and a real browser, for the end-to-end tests."""

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser

from tests.support.browser import chromium
from tests.support.demo import DEMO_PRODUCTS
from tests.support.stack import ServiceProcess, running_stack, service_env

_HOODIE, _MUG, CAP = DEMO_PRODUCTS


@pytest.fixture
def stack(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    """The demo: orders, notifier and storefront, seeded and ready."""
    env = service_env(redis_url=redis_url, stream_prefix=stream_prefix, workdir=tmp_path)
    with running_stack(env, tmp_path) as services:
        yield services


@pytest.fixture
def last_unit_stack(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    """The demo, with a single Streamer Cap left."""
    env = service_env(redis_url=redis_url, stream_prefix=stream_prefix, workdir=tmp_path)
    with running_stack(env, tmp_path, stock={CAP.sku: 1}) as services:
        yield services


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser
