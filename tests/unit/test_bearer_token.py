"""The one reading of `Authorization: Bearer <token>` (services/common/tokens.py)."""

import pytest

from services.common.tokens import InvalidToken, bearer_token


@pytest.mark.parametrize(
    ("header", "token"),
    [(None, None), ("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("BEARER x.y.z", "x.y.z")],
)
def test_a_bearer_header_gives_its_token_and_no_header_gives_none(
    header: str | None, token: str | None
) -> None:
    assert bearer_token(header) == token


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer  ", "Basic abc", "abc"])
def test_another_scheme_or_no_token_is_an_invalid_token(header: str) -> None:
    with pytest.raises(InvalidToken) as refused:
        bearer_token(header)
    assert refused.value.reason == "invalid"
