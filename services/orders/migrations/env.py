"""Alembic runs this for every orders migration; the connection comes from Migrations."""

from services.common.db import run_migrations
from services.orders.adapters.tables import OrdersTable

run_migrations(OrdersTable.metadata)
