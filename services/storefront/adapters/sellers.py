"""The seller side of the storefront database: accounts and sign-in sessions, and the
rooms a seller controls (state, pins, flash deals asked for), with what the live control
and the report read back.

Emails are stored lower-case. A session row holds only the SHA-256 of the cookie's token
(services/common/seller_auth.py); an expired one is never honoured, and expired rows are
swept at each sign-in.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts import RoomSales, utc_now
from services.common.seller_auth import (
    NewSession,
    SellerSession,
    hash_password,
    normal_email,
    password_matches,
    token_digest,
    verify_password,
)
from services.common.times import as_utc
from services.storefront.adapters.repository import read_room, room_of
from services.storefront.adapters.tables import (
    CatalogProductRow,
    PinnedProductRow,
    RoomDealRow,
    RoomFiguresRow,
    RoomRow,
    RoomViewerRow,
    SellerAccountRow,
    SellerRow,
    SellerSessionRow,
)
from services.storefront.domain import CatalogProduct, Deal, LiveState, Room
from services.storefront.live_control import RoomWork, SellerAccount


class SellerExists(Exception):
    """An account with that seller id or email is there already."""


class SqlSellerAccounts:
    """Sellers' storefront accounts and sessions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    async def create(self, *, seller_id: str, email: str, name: str, password: str) -> None:
        """A new account, and the seller's public profile (the name viewers see).
        `SellerExists` when the id or email is taken; `ValueError` for a short password."""
        password_hash, email = hash_password(password), normal_email(email)
        try:
            async with self._sessions.begin() as session:
                taken = await session.exec(
                    select(SellerAccountRow.seller_id).where(
                        or_(col(SellerAccountRow.seller_id) == seller_id,
                            col(SellerAccountRow.email) == email)
                    )
                )  # fmt: skip
                if taken.first() is not None:
                    raise SellerExists(f"a seller with id {seller_id!r} or email {email!r} exists")
                await session.merge(SellerRow(seller_id=seller_id, name=name))
                await session.flush()
                session.add(SellerAccountRow(
                    seller_id=seller_id, email=email, name=name, password_hash=password_hash
                ))  # fmt: skip
        except IntegrityError as exc:  # a concurrent create won the race
            raise SellerExists(f"a seller with id {seller_id!r} or email {email!r} exists") from exc

    async def ensure(self, *, seller_id: str, email: str, name: str, password: str) -> bool:
        """The account as given (the demo seed): created, or its email, name and password
        brought in line. Whether anything changed."""
        async with self._sessions() as session:
            row = await session.get(SellerAccountRow, seller_id)
        if row is None:
            await self.create(seller_id=seller_id, email=email, name=name, password=password)
            return True
        if (row.email, row.name) == (normal_email(email), name) and verify_password(
            row.password_hash, password
        ):
            return False
        async with self._sessions.begin() as session:
            await session.exec(
                update(SellerAccountRow)
                .where(col(SellerAccountRow.seller_id) == seller_id)
                .values(email=normal_email(email), name=name, password_hash=hash_password(password))
            )
        return True

    async def authenticate(self, email: str, password: str) -> SellerAccount | None:
        email = normal_email(email)
        async with self._sessions() as session:
            row = (
                await session.exec(
                    select(SellerAccountRow).where(col(SellerAccountRow.email) == email)
                )
            ).first()
        if not await password_matches(None if row is None else row.password_hash, password):
            return None
        assert row is not None
        return SellerAccount(row.seller_id, row.email, row.name)

    async def start_session(self, seller_id: str, *, ttl: timedelta) -> NewSession:
        new = NewSession.starting_now(ttl)
        async with self._sessions.begin() as session:
            await session.exec(
                delete(SellerSessionRow).where(col(SellerSessionRow.expires_at) <= utc_now())
            )
            session.add(
                SellerSessionRow(
                    token_sha256=new.token_sha256, seller_id=seller_id,
                    csrf_token=new.csrf_token, expires_at=new.expires_at,
                )
            )  # fmt: skip
        return new

    async def session(self, token: str) -> SellerSession | None:
        async with self._sessions() as session:
            found = (
                await session.exec(
                    select(SellerSessionRow, SellerAccountRow)
                    .join(SellerAccountRow)
                    .where(col(SellerSessionRow.token_sha256) == token_digest(token))
                )
            ).first()
        if found is None:
            return None
        row, account = found
        expires_at = as_utc(row.expires_at)
        if expires_at is None or expires_at <= utc_now():
            return None
        return SellerSession(account.seller_id, account.name, row.csrf_token)

    async def end_session(self, token: str) -> None:
        async with self._sessions.begin() as session:
            await session.exec(
                delete(SellerSessionRow).where(
                    col(SellerSessionRow.token_sha256) == token_digest(token)
                )
            )


class SqlLiveControl:
    """The seller's rooms: one transaction per change (`work`), and the reads of the live
    control and the report."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    @asynccontextmanager
    async def work(self) -> AsyncIterator[RoomWork]:
        async with self._sessions() as session:
            yield _SqlRoomWork(session)  # leaving without commit rolls back

    async def room(self, room_id: str) -> Room | None:
        async with self._sessions() as session:
            return await read_room(session, room_id)

    async def rooms_of(self, seller_id: str) -> list[Room]:
        async with self._sessions() as session:
            rows = await session.exec(
                select(RoomRow, SellerRow).join(SellerRow).where(RoomRow.seller_id == seller_id)
            )
            rooms = [room_of(room, seller.name) for room, seller in rows]
        order = {LiveState.LIVE: 0, LiveState.SCHEDULED: 1, LiveState.ENDED: 2}
        far = datetime.max.replace(tzinfo=UTC)
        return sorted(rooms, key=lambda r: (order[r.state], r.scheduled_at or far, r.room_id))

    async def catalog_of(self, seller_id: str) -> list[CatalogProduct]:
        async with self._sessions() as session:
            rows = await session.exec(
                select(CatalogProductRow)
                .where(CatalogProductRow.seller_id == seller_id)
                .order_by(col(CatalogProductRow.title), col(CatalogProductRow.sku))
            )
            return [_catalog_product(row) for row in rows]

    async def deals_of(self, room_id: str) -> list[Deal]:
        async with self._sessions() as session:
            return await _deals(session, room_id)

    async def viewers(self, room_id: str) -> int:
        async with self._sessions() as session:
            count = await session.exec(
                select(func.count())
                .select_from(RoomViewerRow)
                .where(RoomViewerRow.room_id == room_id)
            )
            return int(count.one())

    async def figures(self, room_id: str) -> RoomSales | None:
        async with self._sessions() as session:
            row = await session.get(RoomFiguresRow, room_id)
        return None if row is None else RoomSales.model_validate_json(row.figures)


class _SqlRoomWork:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def room(self, room_id: str) -> Room | None:
        return await read_room(self._session, room_id, for_update=True)

    async def catalog_product(self, sku: str) -> CatalogProduct | None:
        row = await self._session.get(CatalogProductRow, sku)
        return None if row is None else _catalog_product(row)

    async def add_room(self, room: Room) -> None:
        self._session.add(
            RoomRow(
                room_id=room.room_id, seller_id=room.seller_id, title=room.title,
                live_state=room.state.value, scheduled_at=as_utc(room.scheduled_at),
                stream_url=room.stream_url,
            )
        )  # fmt: skip

    async def save_room(self, room: Room) -> None:
        await self._session.exec(
            update(RoomRow)
            .where(col(RoomRow.room_id) == room.room_id)
            .values(
                live_state=room.state.value, went_live_at=as_utc(room.went_live_at),
                ended_at=as_utc(room.ended_at),
            )
        )  # fmt: skip

    async def save_pins(self, room: Room) -> None:
        await self._session.exec(
            delete(PinnedProductRow).where(col(PinnedProductRow.room_id) == room.room_id)
        )
        for p in room.products:
            self._session.add(
                PinnedProductRow(
                    room_id=room.room_id, sku=p.sku, title=p.title, price_minor=p.price_minor,
                    currency=p.currency, max_per_checkout=p.max_per_checkout,
                    position=p.position, image_url=p.image_url,
                )
            )  # fmt: skip

    async def deals(self, room_id: str) -> list[Deal]:
        return await _deals(self._session, room_id)

    async def save_deal(self, deal: Deal) -> None:
        await self._session.merge(
            RoomDealRow(
                deal_id=deal.deal_id, room_id=deal.room_id, sku=deal.sku,
                price_minor=deal.price_minor, units_cap=deal.units_cap,
                per_buyer_limit=deal.per_buyer_limit, starts_at=as_utc(deal.starts_at),
                ends_at=as_utc(deal.ends_at),
            )
        )  # fmt: skip

    async def commit(self) -> None:
        await self._session.commit()


async def _deals(session: AsyncSession, room_id: str) -> list[Deal]:
    rows = await session.exec(
        select(RoomDealRow)
        .where(RoomDealRow.room_id == room_id)
        .order_by(col(RoomDealRow.starts_at), col(RoomDealRow.deal_id))
    )
    return [
        Deal(
            row.deal_id, row.room_id, row.sku, row.price_minor, row.units_cap,
            row.per_buyer_limit, as_utc(row.starts_at), as_utc(row.ends_at),
        )
        for row in rows
    ]  # fmt: skip


def _catalog_product(row: CatalogProductRow) -> CatalogProduct:
    return CatalogProduct(
        row.seller_id, row.sku, row.title, row.price_minor, row.currency, row.image_url
    )
