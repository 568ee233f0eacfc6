"""The storefront database's Alembic migrations (`python -m services.storefront migrate`).

Apart from the orders' on purpose: the showcase database never gets an order table."""

from pathlib import Path

from services.common.db import Migrations
from services.storefront.adapters.tables import storefront_metadata

STOREFRONT_MIGRATIONS = Migrations("storefront", Path(__file__).parent, storefront_metadata)
