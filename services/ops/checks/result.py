"""What a check of the separation audit returns: its outcome and the evidence for it."""

from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class CheckResult:
    """One check: `problems` say what breaks the rule (empty when it passed), `evidence`
    what was looked at, so a reader can verify the verdict."""

    key: str
    title: str
    outcome: Outcome
    summary: str
    evidence: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.outcome is not Outcome.FAILED


def plural(count: int, singular: str, many: str) -> str:
    return f"{count} {singular if count == 1 else many}"


def verdict(
    key: str, title: str, *, problems: list[str], evidence: list[str], passed: str, failed: str
) -> CheckResult:
    """PASSED with `passed` as summary when there is no problem, else FAILED with `failed`."""
    if problems:
        return CheckResult(key, title, Outcome.FAILED, failed, evidence, problems)
    return CheckResult(key, title, Outcome.PASSED, passed, evidence, [])
