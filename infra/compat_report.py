"""What the compatibility check found: breaking changes and notes."""

from dataclasses import dataclass, field

NOW_RELEASE = ("now", "in the release")
"""How findings name the sides when today's schema is the wide one (what is written now)."""


@dataclass
class Report:
    """Breaking changes (refused unless versioned) and notes (additive, allowed)."""

    breaking: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def compatible(self) -> bool:
        return not self.breaking

    def text(self, against: str) -> str:
        verdict = "compatible" if self.compatible else f"{len(self.breaking)} BREAKING"
        lines = [f"Contract surface against release {against}: {verdict}"]
        lines += [f"  BREAKING {line}" for line in self.breaking]
        lines += [f"  note     {line}" for line in self.notes]
        return "\n".join(lines)
