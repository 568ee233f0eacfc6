"""The audit `make release` files, run as `make test` runs it: `make up`'s code starts a
private Redis with the ACL and every service as its own process, a buyer checks out through
the storefront, and `livecart-ops audit` (as the ops user) must pass every check."""

import os

import pytest

from infra.local import stack
from infra.release_audit import audit_release_stack

CHECKS = (
    "storefront-schema",
    "redis-acl",
    "reconciliation",
    "payment-data",
    "seller-credentials",
)


@pytest.mark.slow
def test_the_release_audit_of_a_fresh_stack_with_the_acl_passes_every_check() -> None:
    environ, paths = dict(os.environ), stack.PATHS

    run = audit_release_stack()

    assert run.passed, run.output
    assert run.markdown.startswith("# livecart separation audit: PASSED")
    for number, key in enumerate(CHECKS, 1):
        assert f"| {number} | " in run.markdown
        assert f"(`{key}`) | ✅ passed |" in run.markdown
    assert "1 published = 1 received = 1 final; 1 confirmed = 1 captured" in run.markdown
    assert "default user refused" in run.markdown
    assert (dict(os.environ), stack.PATHS) == (environ, paths), "nothing of the stack is left"
