"""Is the contract surface still compatible with the last release? `python -m infra.compat`.

Events are read by one side and written by the other, so each (type, version) of the
release is checked both ways: today's readers must take everything that version's writers
wrote (so no field newly required, no type, value or bound narrowed, no version dropped),
and, while producers still write that version, the release's readers must take everything
they write now (so no field removed, no new enum value, no bound widened). A change that
old readers cannot take ships as a new version that readers learn first. Stream keys and
consumer groups must stay. Of an HTTP API the server reads requests (no operation or
parameter removed, nothing newly required or narrowed) and clients read responses (no
field removed, nothing widened). What old readers can take is listed as notes.
"""

import sys
from pathlib import Path

from infra.compat_api import compare_api
from infra.compat_report import NOW_RELEASE, Report
from infra.contract_surface import Json, Surface, current_surface, newest_release, read_surface
from infra.schema_compat import Document, Kind, narrowings

__all__ = ["Report", "check", "compare"]


def compare(release: Surface, current: Surface) -> Report:
    """What changed from `release` to `current`, sorted into breaking changes and notes."""
    report = Report()
    compare_events(release, current, report)
    compare_streams(release.streams, current.streams, report)
    for name, document in release.apis.items():
        if name not in current.apis:
            report.breaking.append(f"API {name}: no longer served")
        else:
            compare_api(name, document, current.apis[name], report)
    report.notes += [f"API {name}: new" for name in current.apis if name not in release.apis]
    return report


def compare_events(release: Surface, current: Surface, report: Report) -> None:
    for kind, old in release.events.items():
        new = current.events.get(kind)
        if new is None:
            report.breaking.append(f"event {kind}: no longer read or written")
            continue
        if new.produced != old.produced:
            report.notes.append(
                f"event {kind}: producers move from v{old.produced} to v{new.produced} "
                "(deploy the readers of the new version first)"
            )
        for version, schema in old.schemas.items():
            label = f"event {kind} v{version}"
            if version not in new.schemas:
                report.breaking.append(f"{label}: no longer accepted by readers")
                continue
            before, after = (
                Document(schema, schema),
                Document(new.schemas[version], new.schemas[version]),
            )
            produced = version == new.produced
            for finding in narrowings(before, after):
                if finding.kind is Kind.ABSENT and not produced:
                    report.notes.append(f"{label}: {finding} (readers ignore it now)")
                elif finding.kind is Kind.ABSENT:
                    report.breaking.append(f"{label}: {finding} (still written as v{version})")
                else:
                    report.breaking.append(
                        f"{label}: readers now refuse what it carried: {finding}"
                    )
            if produced:
                for finding in narrowings(after, before, sides=NOW_RELEASE):
                    if finding.kind is Kind.ABSENT:
                        report.notes.append(f"{label}: new field {finding.where}")
                    else:
                        report.breaking.append(
                            f"{label}: release readers refuse what it may carry now: {finding}"
                        )
        report.notes += [
            f"event {kind} v{v}: new version" for v in new.schemas if v not in old.schemas
        ]
    report.notes += [f"event {kind}: new" for kind in current.events if kind not in release.events]


def compare_streams(old: Json, new: Json, report: Report) -> None:
    for section, what in (("keys", "stream key"), ("groups", "consumer group")):
        before, after = old.get(section, {}), new.get(section, {})
        for name, value in before.items():
            if value not in after.values():
                now = f" (now {after[name]!r})" if name in after else ""
                report.breaking.append(f"{what} {name} = {value!r}: gone{now}")
        report.notes += [
            f"{what} {name} = {value!r}: new"
            for name, value in after.items()
            if value not in before.values()
        ]


def check(release_dir: Path | None = None) -> tuple[str, Report]:
    """The current tree against `release_dir` (default: the newest release)."""
    release_dir = release_dir or newest_release()
    if release_dir is None:
        return "(none)", Report(notes=["no release under contracts/releases yet: nothing to keep"])
    return release_dir.name, compare(read_surface(release_dir), current_surface())


def main(argv: list[str]) -> int:
    release_dir = Path(argv[0]) if argv else None
    against, report = check(release_dir)
    print(report.text(against))
    if not report.compatible:
        print(
            "\nBreaking changes are refused: ship them as a new event version (readers first, "
            "the old version still read) or a new API path; see README, Releases and the "
            "compatibility gate.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
