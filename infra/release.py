"""`make release VERSION=x.y.z`: snapshot the contract surface and file the dated audit.

Refuses a version that is not newer than the newest release, a contract surface that breaks
the newest release (infra/compat.py), and a stack that fails the separation audit. Then it
writes `contracts/releases/<version>/` (event schemas, stream keys and groups, OpenAPI
documents, manifest.json with the date and the git commit) and
`docs/audits/<YYYY-MM-DD>-<version>.md` (the audit of a fresh stack with the Redis ACL).
"""

import argparse
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path

from infra.compat import Report, compare
from infra.contract_surface import (
    RELEASES,
    ROOT,
    Surface,
    current_surface,
    newest_release,
    read_surface,
    version_key,
    write_surface,
)
from infra.release_audit import AuditRun, audit_release_stack

AUDITS = ROOT / "docs" / "audits"


class ReleaseRefused(Exception):
    """Why this release is not made, in words for the person who asked."""


def make_release(
    version: str,
    *,
    releases: Path = RELEASES,
    audits: Path = AUDITS,
    audit: Callable[[], AuditRun] = audit_release_stack,
    today: date | None = None,
    accept_breaking: bool = False,
) -> tuple[Path, Path]:
    """Check, audit and snapshot release `version`; the snapshot folder and the report.
    `accept_breaking` lets a new major version retire what the last release offered (an
    event version no stream holds any more, an API path no client calls)."""
    version_key(version)
    newest = newest_release(releases)
    if newest is not None and version_key(version) <= version_key(newest.name):
        raise ReleaseRefused(f"{version} is not newer than the newest release, {newest.name}")
    surface = current_surface()
    report = None
    if newest is not None:
        report = compare(read_surface(newest), surface)
        print(report.text(newest.name))
        major = version_key(version)[0] > version_key(newest.name)[0]
        if not report.compatible and not (accept_breaking and major):
            raise ReleaseRefused(
                f"the contracts break release {newest.name}: ship the change as a new event "
                "version or a new API path (see README, Releases and the compatibility gate)"
                + ("" if major or not accept_breaking else "; only a new major version retires")
            )
    print("Auditing the separation on a fresh stack with the Redis ACL")
    run = audit()
    if not run.passed:
        raise ReleaseRefused(f"the separation audit failed:\n{run.output}")
    day = (today or date.today()).isoformat()
    commit, clean = git_commit()  # before the snapshot's files make the tree differ
    snapshot = releases / version
    files = write_surface(surface, snapshot)
    report_path = audits / f"{day}-{version}.md"
    manifest = {
        "version": version,
        "date": day,
        "commit": commit,
        "tree_clean": clean,
        "previous_release": newest.name if newest else None,
        "breaking_accepted": report.breaking if report else [],
        "audit_report": _relative(report_path),
        "files": [_relative(path, snapshot) for path in files],
    }
    (snapshot / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    audits.mkdir(parents=True, exist_ok=True)
    report_path.write_text(
        audit_report(version, day, commit, clean, surface, newest, report, run), encoding="utf-8"
    )
    return snapshot, report_path


def audit_report(
    version: str,
    day: str,
    commit: str,
    clean: bool,
    surface: Surface,
    previous: Path | None,
    compat: Report | None,
    run: AuditRun,
) -> str:
    """The dated report: the release, its contract snapshot, then the audit itself."""
    versions = sum(len(contract.schemas) for contract in surface.events.values())
    operations = sum(len(ops) for api in surface.apis.values() for ops in api["paths"].values())
    compatibility = (
        "first release: nothing to compare with"
        if previous is None or compat is None
        else f"compatible with {previous.name} ({len(compat.notes)} additive changes below)"
        if compat.compatible
        else f"retires {len(compat.breaking)} things {previous.name} offered (listed below)"
    )
    lines = [
        f"# livecart {version}: separation audit of {day}",
        "",
        "| | |",
        "|---|---|",
        f"| release | {version} |",
        f"| date | {day} |",
        f"| commit | `{commit}`{'' if clean else ' (with uncommitted changes)'} |",
        f"| contract snapshot | `contracts/releases/{version}/`: {len(surface.events)} event types "
        f"({versions} versions read), {len(surface.streams['keys'])} stream keys, "
        f"{len(surface.apis)} HTTP APIs ({operations} operations) |",
        f"| compatibility | {compatibility} |",
        "",
    ]
    if compat is not None and compat.breaking:
        lines += ["## Breaking changes this major release accepts", ""]
        lines += [f"- {line}" for line in compat.breaking] + [""]
    if compat is not None and compat.notes:
        lines += ["## Changes since the last release", ""]
        lines += [f"- {note}" for note in compat.notes] + [""]
    # The audit's own headings go one level down, under this report's title.
    lines += [f"#{line}" if line.startswith("#") else line for line in run.markdown.splitlines()]
    return "\n".join(lines).rstrip() + "\n"


def git_commit() -> tuple[str, bool]:
    """HEAD's commit, and whether the contracts, services and infra match it."""

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        )
        return result.stdout.strip() if result.returncode == 0 else ""

    commit = git("rev-parse", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", "contracts", "services", "infra")
    return commit, commit != "unknown" and not changed


def _relative(path: Path, base: Path = ROOT) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.release", description=__doc__)
    parser.add_argument("version", help="the release's version, x.y.z")
    parser.add_argument(
        "--accept-breaking",
        action="store_true",
        help="a new major version: retire what the last release offered (listed in the report)",
    )
    args = parser.parse_args(argv)
    try:
        snapshot, report = make_release(args.version, accept_breaking=args.accept_breaking)
    except (ReleaseRefused, ValueError, RuntimeError) as error:
        print(f"release {args.version} refused: {error}", file=sys.stderr)
        return 1
    print(
        f"Release {args.version}: contracts in {_relative(snapshot)}, audit in {_relative(report)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
