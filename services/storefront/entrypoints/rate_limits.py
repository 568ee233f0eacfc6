"""The storefront's rate limits (services/common/rate_limits.py): new sessions per client
address (its route says so itself, in sessions.py), checkouts per buyer and per address,
cancel requests per buyer."""

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request

from services.common.rate_limits import (
    RateLimit,
    SharedRateLimits,
    per_address,
    rate_limits_of,
    redis_storage,
)
from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints.sessions import SESSIONS_PER_ADDRESS, Buyer
from services.storefront.sessions import BuyerSession

CHECKOUTS_PER_BUYER = "checkouts_per_buyer"
CHECKOUTS_PER_ADDRESS = "checkouts_per_address"
CANCELLATIONS_PER_BUYER = "cancellations_per_buyer"
CHAT_PER_BUYER = "chat_per_buyer"
REACTIONS_PER_BUYER = "reactions_per_buyer"


def storefront_rate_limits(settings: StorefrontSettings) -> SharedRateLimits:
    """The limits as configured, counted in the storefront's Redis (connects on first use)."""
    return SharedRateLimits(
        redis_storage(settings),
        [
            RateLimit.of(SESSIONS_PER_ADDRESS, "new sessions from one address",
                         settings.rate_limit_sessions_per_address),
            RateLimit.of(CHECKOUTS_PER_BUYER, "checkouts by one buyer",
                         settings.rate_limit_checkouts_per_buyer),
            RateLimit.of(CHECKOUTS_PER_ADDRESS, "checkouts from one address",
                         settings.rate_limit_checkouts_per_address),
            RateLimit.of(CANCELLATIONS_PER_BUYER, "cancel requests by one buyer",
                         settings.rate_limit_cancellations_per_buyer),
            RateLimit.of(CHAT_PER_BUYER, "chat messages by one buyer",
                         settings.rate_limit_chat_per_buyer),
            RateLimit.of(REACTIONS_PER_BUYER, "reactions by one buyer",
                         settings.rate_limit_reactions_per_buyer),
        ],
    )  # fmt: skip


def per_buyer(name: str) -> Callable[[Request, BuyerSession], Awaitable[None]]:
    """A route dependency counting the request against limit `name` of its buyer (after the
    token is checked: an unauthenticated request is refused 401 without being counted)."""

    async def limit_per_buyer(request: Request, buyer: Buyer) -> None:
        await rate_limits_of(request).hit(name, buyer.buyer_id)

    return limit_per_buyer


CHECKOUTS_LIMITED = [
    Depends(per_address(CHECKOUTS_PER_ADDRESS)),
    Depends(per_buyer(CHECKOUTS_PER_BUYER)),
]
"""`dependencies=` of `POST /api/checkouts`: the address first, so a flood of forged tokens
from one address is cut before their signatures are checked."""
CANCELLATIONS_LIMITED = [Depends(per_buyer(CANCELLATIONS_PER_BUYER))]
"""`dependencies=` of the buyer's cancel request."""
