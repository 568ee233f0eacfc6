"""The sandbox payment adapter: a wallet per buyer in the marketplace's own database.

A buyer seen for the first time gets a demo balance. Tests (and demos) can make a
buyer's wallet decline or time out, so every payment path can be driven.
"""

import asyncio
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from services.orders.adapters.tables import PaymentRow, SandboxWalletRow
from services.orders.ports import Charge, PaymentResult, PaymentTimeout


class WalletBehaviour(StrEnum):
    NORMAL = "normal"
    DECLINE = "decline"
    TIMEOUT = "timeout"


class SandboxWalletGateway:
    """PaymentGateway over sandbox wallets; idempotent per checkout id."""

    def __init__(
        self, engine: AsyncEngine, *, demo_balance_minor: int, timeout_seconds: float
    ) -> None:
        self._engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._demo_balance = demo_balance_minor
        self._timeout = timeout_seconds

    async def charge(self, charge: Charge) -> PaymentResult:
        async with self._sessions.begin() as session:
            if (done := await session.get(PaymentRow, charge.checkout_id)) is not None:
                return PaymentResult(done.outcome == "captured", done.detail)
            await self._open_wallet(session, charge.buyer_id)
            wallet = await session.get(SandboxWalletRow, charge.buyer_id)
            behaviour = WalletBehaviour(wallet.behaviour if wallet else "normal")
            if behaviour is not WalletBehaviour.TIMEOUT:
                # One transaction for look-up and capture: a commit fewer per checkout.
                return await self._capture(session, charge, behaviour)
        # A gateway that hangs: the caller gives up after its timeout, nothing captured.
        await asyncio.sleep(self._timeout)
        raise PaymentTimeout(charge.checkout_id)

    async def _capture(
        self, session: AsyncSession, charge: Charge, behaviour: WalletBehaviour
    ) -> PaymentResult:
        if behaviour is WalletBehaviour.DECLINE:
            result = PaymentResult(False, "declined")
        else:
            debited = await session.execute(
                update(SandboxWalletRow)
                .where(
                    col(SandboxWalletRow.buyer_id) == charge.buyer_id,
                    col(SandboxWalletRow.balance_minor) >= charge.amount_minor,
                )
                .values(balance_minor=SandboxWalletRow.balance_minor - charge.amount_minor)
            )
            captured = debited.rowcount == 1  # type: ignore[attr-defined]
            result = PaymentResult(captured, None if captured else "insufficient_funds")
        session.add(
            PaymentRow(
                checkout_id=charge.checkout_id,
                buyer_id=charge.buyer_id,
                amount_minor=charge.amount_minor,
                currency=charge.currency,
                outcome="captured" if result.captured else "declined",
                detail=result.detail,
            )
        )
        return result

    async def refund(self, checkout_id: str) -> None:
        async with self._sessions.begin() as session:
            payment = await session.get(PaymentRow, checkout_id, with_for_update=True)
            if payment is None or payment.outcome != "captured":
                return
            payment.outcome = "refunded"
            await session.execute(
                update(SandboxWalletRow)
                .where(col(SandboxWalletRow.buyer_id) == payment.buyer_id)
                .values(balance_minor=SandboxWalletRow.balance_minor + payment.amount_minor)
            )

    async def _open_wallet(self, session: AsyncSession, buyer_id: str) -> None:
        insert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            insert(SandboxWalletRow)
            .values(buyer_id=buyer_id, balance_minor=self._demo_balance, behaviour="normal")
            .on_conflict_do_nothing(index_elements=["buyer_id"])
        )

    async def set_wallet(
        self,
        buyer_id: str,
        *,
        behaviour: WalletBehaviour | None = None,
        balance_minor: int | None = None,
    ) -> None:
        """Sandbox control: make a buyer's next charges decline, time out, or hit a balance."""
        async with self._sessions.begin() as session:
            await self._open_wallet(session, buyer_id)
            values: dict[str, object] = {}
            if behaviour is not None:
                values["behaviour"] = behaviour.value
            if balance_minor is not None:
                values["balance_minor"] = balance_minor
            if values:
                await session.execute(
                    update(SandboxWalletRow)
                    .where(col(SandboxWalletRow.buyer_id) == buyer_id)
                    .values(**values)
                )

    async def balance(self, buyer_id: str) -> int | None:
        async with self._sessions() as session:
            return await session.scalar(
                select(SandboxWalletRow.balance_minor).where(
                    col(SandboxWalletRow.buyer_id) == buyer_id
                )
            )
