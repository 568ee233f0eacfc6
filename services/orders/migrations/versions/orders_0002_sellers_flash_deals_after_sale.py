"""Seller accounts and sessions, flash deals, products and orders by seller, tracking refs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "flash_deals",
        sa.Column("deal_id", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("price_minor", sa.Integer(), nullable=False),
        sa.Column("units_cap", sa.Integer(), nullable=False),
        sa.Column("per_buyer_limit", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("deal_id"),
    )
    with op.batch_alter_table("flash_deals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_flash_deals_room_id"), ["room_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_flash_deals_seller_id"), ["seller_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_flash_deals_sku"), ["sku"], unique=False)

    op.create_table(
        "seller_accounts",
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seller_id"),
        sa.UniqueConstraint("email"),
    )
    op.create_table(
        "seller_sessions",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("seller_id", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["seller_accounts.seller_id"],
        ),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    with op.batch_alter_table("seller_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_seller_sessions_seller_id"), ["seller_id"], unique=False
        )

    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deal_id", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_order_lines_deal_id"), ["deal_id"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seller_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("tracking_ref", sa.String(length=100), nullable=True))
        batch_op.create_index(batch_op.f("ix_orders_seller_id"), ["seller_id"], unique=False)

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seller_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("image_url", sa.String(length=500), nullable=True))
        batch_op.create_index(batch_op.f("ix_products_seller_id"), ["seller_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_seller_id"))
        batch_op.drop_column("image_url")
        batch_op.drop_column("seller_id")

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_orders_seller_id"))
        batch_op.drop_column("tracking_ref")
        batch_op.drop_column("seller_id")

    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_lines_deal_id"))
        batch_op.drop_column("deal_id")

    with op.batch_alter_table("seller_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_seller_sessions_seller_id"))

    op.drop_table("seller_sessions")
    op.drop_table("seller_accounts")
    with op.batch_alter_table("flash_deals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_flash_deals_sku"))
        batch_op.drop_index(batch_op.f("ix_flash_deals_seller_id"))
        batch_op.drop_index(batch_op.f("ix_flash_deals_room_id"))

    op.drop_table("flash_deals")
