"""Buyer tokens checked once and then remembered until they expire.

A buyer taps many times with one token, and checking an HS256 signature with PyJWT
costs a few hundred microseconds: more than the rest of the accept path's own work.
Only tokens that passed the full check are remembered, keyed by their exact text, so
a forged or altered token always goes through the full check.
"""

import base64
import json
import time
from collections.abc import Callable

from services.common.tokens import BuyerTokens, InvalidToken

DEFAULT_CAPACITY = 100_000


class RememberedTokens:
    """`BuyerTokens` with a bounded memory of the tokens it verified (oldest forgotten first)."""

    def __init__(
        self,
        tokens: BuyerTokens,
        *,
        capacity: int = DEFAULT_CAPACITY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tokens = tokens
        self._capacity = capacity
        self._clock = clock
        self._verified: dict[str, tuple[str, float]] = {}

    def issue(self, buyer_id: str) -> str:
        return self._tokens.issue(buyer_id)

    def buyer_of(self, token: str | None) -> str:
        """The buyer in a valid token; InvalidToken (`missing`, `expired`, `invalid`) otherwise."""
        if not token:
            raise InvalidToken("missing")
        known = self._verified.get(token)
        if known is not None:
            buyer, expires_at = known
            if self._clock() < expires_at:
                return buyer
            del self._verified[token]
        buyer = self._tokens.buyer_of(token)  # the full check; raises when it fails
        self._remember(token, buyer)
        return buyer

    def _remember(self, token: str, buyer: str) -> None:
        expires_at = _expiry(token)
        if expires_at is None:
            return
        if len(self._verified) >= self._capacity:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (buyer, expires_at)


def _expiry(token: str) -> float | None:
    """The `exp` claim of a token whose signature was just checked (so its payload is
    ours), read without verifying again; None when it cannot be read."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        expiry = claims["exp"]
    except (IndexError, ValueError, KeyError, TypeError):
        return None
    return float(expiry) if isinstance(expiry, int | float) else None
