"""Remembered buyer tokens: checked in full once, then known until they expire."""

from datetime import timedelta

import jwt
import pytest

from services.common.tokens import BuyerTokens, InvalidToken
from services.storefront.adapters.tokens import RememberedTokens

SECRET = "unit-test-secret-that-is-long-enough"


class CountingTokens(BuyerTokens):
    """BuyerTokens that count the full checks they make."""

    checks = 0

    def buyer_of(self, token: str | None) -> str:
        self.checks += 1
        return super().buyer_of(token)


def test_a_token_is_checked_in_full_once_and_then_known() -> None:
    inner = CountingTokens(SECRET)
    tokens = RememberedTokens(inner)
    token = tokens.issue("buyer-a")

    assert [tokens.buyer_of(token) for _ in range(5)] == ["buyer-a"] * 5
    assert inner.checks == 1


def test_a_remembered_token_goes_back_to_the_full_check_when_it_expires() -> None:
    now = [0.0]
    inner = CountingTokens(SECRET, ttl=timedelta(minutes=10))
    tokens = RememberedTokens(inner, clock=lambda: now[0])
    token = tokens.issue("buyer-a")
    expiry = _expiry_of(token)

    now[0] = expiry - 1
    tokens.buyer_of(token)
    tokens.buyer_of(token)
    assert inner.checks == 1
    now[0] = expiry
    tokens.buyer_of(token)  # the full check, on the real clock, still lets it pass
    assert inner.checks == 2


@pytest.mark.parametrize(
    ("token", "reason"),
    [(None, "missing"), ("", "missing"), ("not-a-token", "invalid")],
)
def test_what_the_full_check_refuses_is_refused_and_never_remembered(
    token: str | None, reason: str
) -> None:
    inner = CountingTokens(SECRET)
    tokens = RememberedTokens(inner)
    for _ in range(2):
        with pytest.raises(InvalidToken) as refused:
            tokens.buyer_of(token)
        assert refused.value.reason == reason


def test_an_altered_copy_of_a_remembered_token_is_refused() -> None:
    tokens = RememberedTokens(BuyerTokens(SECRET))
    token = tokens.issue("buyer-a")
    tokens.buyer_of(token)
    forged = BuyerTokens("some-other-secret-that-is-long-enough").issue("buyer-a")

    for altered in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), forged):
        with pytest.raises(InvalidToken, match="invalid"):
            tokens.buyer_of(altered)


def test_the_oldest_tokens_are_forgotten_beyond_the_capacity() -> None:
    inner = CountingTokens(SECRET)
    tokens = RememberedTokens(inner, capacity=2)
    first, second, third = (tokens.issue(f"buyer-{n}") for n in range(3))
    for token in (first, second, third, third, second):
        tokens.buyer_of(token)
    assert inner.checks == 3
    tokens.buyer_of(first)  # forgotten when the third came
    assert inner.checks == 4


def _expiry_of(token: str) -> float:
    return float(jwt.decode(token, options={"verify_signature": False})["exp"])
