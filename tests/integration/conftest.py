"""Fixtures shared by the integration tests of one service or more."""

from collections.abc import AsyncIterator

import pytest

from services.storefront.config import StorefrontSettings
from tests.conftest import Database
from tests.support.storefront import Storefront, running_storefront


@pytest.fixture
async def storefront(
    redis_url: str, stream_prefix: str, sqlite_database: Database
) -> AsyncIterator[Storefront]:
    """The storefront on this test's stream prefix and SQLite file, the demo room seeded."""
    settings = StorefrontSettings(
        redis_url=redis_url,
        stream_prefix=stream_prefix,
        database_url=sqlite_database.url,
        notifier_public_url="http://notifier.test",
        # Tests send many requests from one address and buyer; the limits have their own.
        rate_limit_sessions_per_address="off",
        rate_limit_checkouts_per_buyer="off",
        rate_limit_checkouts_per_address="off",
        rate_limit_cancellations_per_buyer="off",
    )
    async for running in running_storefront(settings):
        yield running
