"""The orders database's Alembic migrations (`python -m services.orders migrate`)."""

from pathlib import Path

from services.common.db import Migrations
from services.orders.adapters.tables import OrdersTable

ORDERS_MIGRATIONS = Migrations("orders", Path(__file__).parent, OrdersTable.metadata)
