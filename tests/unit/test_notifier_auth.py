"""The notifier's request dependencies (services/notifier/entrypoints/auth.py)."""

import inspect

import pytest

from contracts import EntryId
from services.common.tokens import BuyerTokens
from services.notifier.entrypoints.auth import Refused, buyer_dependency, resume_after

TOKENS = BuyerTokens("unit-test-secret-that-is-long-enough")


def test_the_dependencies_are_coroutines_so_fastapi_runs_them_without_a_thread_hop() -> None:
    assert inspect.iscoroutinefunction(buyer_dependency(TOKENS))
    assert inspect.iscoroutinefunction(resume_after)


async def test_the_bearer_header_wins_over_the_cookie_and_an_empty_one_leaves_the_cookie() -> None:
    buyer = buyer_dependency(TOKENS)
    header, cookie = TOKENS.issue("buyer-h"), TOKENS.issue("buyer-c")
    assert await buyer(authorization=f"Bearer {header}", cookie=cookie) == "buyer-h"
    assert await buyer(authorization="", cookie=cookie) == "buyer-c"
    with pytest.raises(Refused) as refused:
        await buyer(authorization="Basic abc", cookie=cookie)
    assert (refused.value.status_code, refused.value.reason) == (401, "invalid")


async def test_last_event_id_is_read_as_an_entry_id_and_a_malformed_one_is_refused() -> None:
    assert await resume_after(" 5-1 ") == EntryId.parse("5-1")
    assert await resume_after("  ") is None
    with pytest.raises(Refused) as refused:
        await resume_after("not-an-id")
    assert refused.value.reason == "malformed_last_event_id"
