"""The sandbox payment adapter: a wallet per buyer in the marketplace's own database.

A buyer seen for the first time gets a demo balance. Tests (and demos) can make a
buyer's wallet decline or time out, so every payment path can be driven.
"""

import asyncio
from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import bindparam, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from contracts import utc_now
from services.orders.adapters.tables import PaymentRow, SandboxWalletRow
from services.orders.ports import Charge, PaymentResult, PaymentTimeout

PAYMENTS = PaymentRow.__table__  # type: ignore[attr-defined]
WALLETS = SandboxWalletRow.__table__  # type: ignore[attr-defined]
_DEBIT = (
    update(WALLETS)
    .where(WALLETS.c.buyer_id == bindparam("b_buyer"))
    .values(balance_minor=WALLETS.c.balance_minor - bindparam("amount"))
)


class WalletBehaviour(StrEnum):
    NORMAL = "normal"
    DECLINE = "decline"
    TIMEOUT = "timeout"


def _decide(charge: Charge, balance: int, behaviour: WalletBehaviour) -> PaymentResult:
    if behaviour is WalletBehaviour.DECLINE:
        return PaymentResult(False, "declined")
    if balance < charge.amount_minor:
        return PaymentResult(False, "insufficient_funds")
    return PaymentResult(True)


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
        if (result := (await self.charge_many([charge]))[charge.checkout_id]) is not None:
            return result
        # A gateway that hangs: the caller gives up after its timeout, nothing captured.
        await asyncio.sleep(self._timeout)
        raise PaymentTimeout(charge.checkout_id)

    async def charge_many(self, charges: Sequence[Charge]) -> dict[str, PaymentResult | None]:
        """One transaction for a whole batch: earlier results, new wallets, debits, records.

        Wallets are locked while a batch is charged, so two batches never spend the
        same balance; a wallet set to time out answers None (charge it alone).
        """
        if not charges:
            return {}
        ids = {c.checkout_id for c in charges}
        buyers = sorted({c.buyer_id for c in charges})
        async with self._sessions.begin() as session:
            results: dict[str, PaymentResult | None] = {
                checkout_id: PaymentResult(outcome == "captured", detail)
                for checkout_id, outcome, detail in await session.execute(
                    select(PaymentRow.checkout_id, PaymentRow.outcome, PaymentRow.detail).where(
                        col(PaymentRow.checkout_id).in_(ids)
                    )
                )
            }
            await self._open_wallets(session, buyers)
            wallets = {
                buyer: (int(balance), WalletBehaviour(behaviour))
                for buyer, balance, behaviour in await session.execute(
                    select(
                        SandboxWalletRow.buyer_id,
                        SandboxWalletRow.balance_minor,
                        SandboxWalletRow.behaviour,
                    )
                    .where(col(SandboxWalletRow.buyer_id).in_(buyers))
                    .order_by(col(SandboxWalletRow.buyer_id))  # one lock order
                    .with_for_update()
                )
            }
            records: list[dict[str, object]] = []
            debits: dict[str, int] = {}
            for charge in charges:
                if charge.checkout_id in results:
                    continue
                balance, behaviour = wallets[charge.buyer_id]
                if behaviour is WalletBehaviour.TIMEOUT:
                    results[charge.checkout_id] = None
                    continue
                spent = debits.get(charge.buyer_id, 0)
                result = _decide(charge, balance - spent, behaviour)
                if result.captured:
                    debits[charge.buyer_id] = spent + charge.amount_minor
                results[charge.checkout_id] = result
                records.append(
                    {
                        "checkout_id": charge.checkout_id,
                        "buyer_id": charge.buyer_id,
                        "amount_minor": charge.amount_minor,
                        "currency": charge.currency,
                        "outcome": "captured" if result.captured else "declined",
                        "detail": result.detail,
                        "created_at": utc_now(),
                    }
                )
            if debits:
                await session.execute(
                    _DEBIT, [{"b_buyer": b, "amount": n} for b, n in sorted(debits.items())]
                )
            if records:
                await session.execute(insert(PAYMENTS), records)
        return results

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

    async def _open_wallets(self, session: AsyncSession, buyer_ids: Sequence[str]) -> None:
        """A demo wallet for each buyer seen for the first time (one statement)."""
        upsert = pg_insert if self._engine.dialect.name == "postgresql" else sqlite_insert
        await session.execute(
            upsert(SandboxWalletRow)
            .values(
                [
                    {"buyer_id": b, "balance_minor": self._demo_balance, "behaviour": "normal"}
                    for b in buyer_ids
                ]
            )
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
            await self._open_wallets(session, [buyer_id])
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
