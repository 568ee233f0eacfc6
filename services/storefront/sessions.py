"""Buyer sessions: who is buying, proven by a signed, expiring token the storefront issues.

The token carries the buyer id (see services/common/tokens.py), so no session is
stored anywhere; the notifier checks the same token with the shared secret.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from services.common.tokens import InvalidToken
from services.storefront.domain import new_buyer_id


class TokenIssuer(Protocol):
    """Signs buyer tokens and reads them back (BuyerTokens in production)."""

    def issue(self, buyer_id: str) -> str: ...

    def buyer_of(self, token: str | None) -> str:
        """The buyer in a valid token; raises InvalidToken (`missing`, `expired`, `invalid`)."""
        ...


@dataclass(frozen=True, slots=True)
class BuyerSession:
    buyer_id: str
    token: str


def open_session(
    *, tokens: TokenIssuer, fresh_buyer_id: Callable[[], str] = new_buyer_id
) -> BuyerSession:
    """A new buyer with a fresh token."""
    buyer_id = fresh_buyer_id()
    return BuyerSession(buyer_id=buyer_id, token=tokens.issue(buyer_id))


def authenticate(*, tokens: TokenIssuer, token: str | None) -> BuyerSession:
    """The session `token` proves; raises InvalidToken naming why it proves nothing."""
    if not token:
        raise InvalidToken("missing")
    return BuyerSession(buyer_id=tokens.buyer_of(token), token=token)


def resume_session(*, tokens: TokenIssuer, token: str | None) -> BuyerSession:
    """A fresh token for the buyer of a still-valid `token` (so a returning visitor keeps
    their orders and their session slides on), or a new buyer when it is missing,
    expired or forged."""
    try:
        buyer_id = tokens.buyer_of(token)
    except InvalidToken:
        return open_session(tokens=tokens)
    return BuyerSession(buyer_id=buyer_id, token=tokens.issue(buyer_id))
