"""Sellers' marketplace accounts and sign-in sessions, in the orders database.

Emails are stored lower-case, so a lookup ignores case. A session row holds only the
SHA-256 of the cookie's token (services/common/seller_auth.py); expired rows are
never honoured, and are swept at each sign-in.
"""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, or_, select

from contracts import utc_now
from services.common.seller_auth import (
    NewSession,
    SellerSession,
    encodable,
    hash_password,
    normal_email,
    password_matches,
    token_digest,
    verify_password,
)
from services.common.times import as_utc
from services.orders.adapters.tables import SellerAccountRow, SellerSessionRow

MAX_EMAIL_LENGTH = 254


class SellerExists(Exception):
    """An account with that seller id or email is there already."""


@dataclass(frozen=True, slots=True)
class SellerAccount:
    seller_id: str
    email: str
    name: str


class SellerAccounts:
    """Accounts and sessions of the marketplace console."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def create(
        self, *, seller_id: str, email: str, name: str, password: str
    ) -> SellerAccount:
        """A new account; `SellerExists` when the id or the email is taken, `ValueError`
        for a password too short."""
        row = SellerAccountRow(
            seller_id=seller_id,
            email=normal_email(email),
            name=name,
            password_hash=hash_password(password),
        )
        try:
            async with self._sessions.begin() as session:
                taken = await session.scalar(
                    select(SellerAccountRow.seller_id).where(
                        or_(
                            col(SellerAccountRow.seller_id) == row.seller_id,
                            col(SellerAccountRow.email) == row.email,
                        )
                    )
                )
                if taken is not None:
                    raise SellerExists(f"a seller with id {seller_id!r} or email {email!r} exists")
                session.add(row)
        except IntegrityError as exc:  # a concurrent create won the race
            raise SellerExists(f"a seller with id {seller_id!r} or email {email!r} exists") from exc
        return SellerAccount(row.seller_id, row.email, row.name)

    async def get(self, seller_id: str) -> SellerAccount | None:
        async with self._sessions() as session:
            row = await session.get(SellerAccountRow, seller_id)
        return None if row is None else SellerAccount(row.seller_id, row.email, row.name)

    async def set_password_unless_same(self, seller_id: str, password: str) -> bool:
        """Give the account `password` unless it has it already (whether it changed); a
        new password signs the seller out everywhere."""
        async with self._sessions.begin() as session:
            row = await session.get(SellerAccountRow, seller_id)
            if row is None:
                raise LookupError(f"no seller {seller_id!r}")
            if verify_password(row.password_hash, password):
                return False
            row.password_hash = hash_password(password)
            await session.execute(
                delete(SellerSessionRow).where(col(SellerSessionRow.seller_id) == seller_id)
            )
        return True

    async def authenticate(self, email: str, password: str) -> SellerAccount | None:
        """The account when `email` and `password` match one, else None; the same work
        either way, so a caller cannot tell an unknown email from a wrong password."""
        email = normal_email(email)
        row = None
        if plausible_text(email, MAX_EMAIL_LENGTH):
            async with self._sessions() as session:
                row = await session.scalar(
                    select(SellerAccountRow).where(col(SellerAccountRow.email) == email)
                )
        matches = await password_matches(None if row is None else row.password_hash, password)
        if row is None or not matches:
            return None
        return SellerAccount(row.seller_id, row.email, row.name)

    async def start_session(self, seller_id: str, *, ttl: timedelta) -> NewSession:
        """A new session for the seller (and the expired ones of anybody swept away)."""
        new = NewSession.starting_now(ttl)
        async with self._sessions.begin() as session:
            await session.execute(
                delete(SellerSessionRow).where(col(SellerSessionRow.expires_at) <= utc_now())
            )
            session.add(
                SellerSessionRow(
                    token_sha256=new.token_sha256,
                    seller_id=seller_id,
                    csrf_token=new.csrf_token,
                    expires_at=new.expires_at,
                )
            )
        return new

    async def resolve(self, token: str | None) -> SellerSession | None:
        """The signed-in seller a cookie's token stands for; None when unknown or expired."""
        if not token or len(token) > 128:
            return None
        digest = token_digest(token)
        async with self._sessions() as session:
            found = (
                await session.execute(
                    select(SellerSessionRow, SellerAccountRow.name)
                    .join(
                        SellerAccountRow,
                        col(SellerAccountRow.seller_id) == col(SellerSessionRow.seller_id),
                    )
                    .where(col(SellerSessionRow.token_sha256) == digest)
                )
            ).first()
        if found is None:
            return None
        row, name = found
        if as_utc(row.expires_at) <= utc_now():
            await self.end_session(token)
            return None
        return SellerSession(seller_id=row.seller_id, name=name, csrf_token=row.csrf_token)

    async def end_session(self, token: str | None) -> None:
        """Sign out: the session's row goes (nothing happens for an unknown token)."""
        if not token or len(token) > 128:
            return
        async with self._sessions.begin() as session:
            await session.execute(
                delete(SellerSessionRow).where(
                    col(SellerSessionRow.token_sha256) == token_digest(token)
                )
            )


def plausible_text(text: str, max_length: int) -> bool:
    """Short enough, printable and encodable: safe to hand to any database driver."""
    return len(text) <= max_length and encodable(text) and text.isprintable()
