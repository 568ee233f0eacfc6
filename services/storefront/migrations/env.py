"""Alembic runs this for every storefront migration; the connection comes from Migrations."""

from services.common.db import run_migrations
from services.storefront.adapters.tables import storefront_metadata

run_migrations(storefront_metadata)
