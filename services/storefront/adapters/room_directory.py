"""The rooms the storefront announces on `room.changed` when it starts: every room not
ended, and the ones ended lately (their pages may still be open), with their pins."""

from datetime import datetime

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.storefront.adapters.repository import room_of
from services.storefront.adapters.tables import PinnedProductRow, RoomRow, SellerRow
from services.storefront.domain import LiveState, PinnedProduct, Room

IN_LIST = 500
"""Rooms whose pins one query reads (a bounded `IN` list)."""


class SqlRoomDirectory:
    """`RoomDirectory` on the showcase database: two queries, whatever the number of rooms."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def rooms_to_announce(self, *, ended_since: datetime, limit: int) -> list[Room]:
        async with AsyncSession(self._engine) as session:
            rows = list(
                await session.exec(
                    select(RoomRow, SellerRow)
                    .join(SellerRow, col(RoomRow.seller_id) == col(SellerRow.seller_id))
                    .where(
                        or_(
                            col(RoomRow.live_state) != LiveState.ENDED.value,
                            col(RoomRow.ended_at) >= ended_since,
                        )
                    )
                    .order_by(col(RoomRow.room_id))
                    .limit(limit)
                )
            )
            pins: dict[str, list[PinnedProduct]] = {}
            room_ids = [room.room_id for room, _seller in rows]
            for first in range(0, len(room_ids), IN_LIST):
                found = await session.exec(
                    select(PinnedProductRow)
                    .where(col(PinnedProductRow.room_id).in_(room_ids[first : first + IN_LIST]))
                    .order_by(col(PinnedProductRow.position), col(PinnedProductRow.sku))
                )
                for row in found:
                    pins.setdefault(row.room_id, []).append(_pinned(row))
        return [
            room_of(room, seller.name, tuple(pins.get(room.room_id, ()))) for room, seller in rows
        ]


def _pinned(row: PinnedProductRow) -> PinnedProduct:
    return PinnedProduct(
        sku=row.sku, title=row.title, price_minor=row.price_minor, currency=row.currency,
        max_per_checkout=row.max_per_checkout, position=row.position, image_url=row.image_url,
    )  # fmt: skip
