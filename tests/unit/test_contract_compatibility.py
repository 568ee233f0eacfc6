"""The compatibility gate: the contracts in this tree (events, streams and groups, HTTP APIs)
break nothing the newest release under contracts/releases/ offered; and `make release`
refuses what would break it, files its snapshot and its dated audit report."""

import json
from datetime import date
from pathlib import Path

import pytest

from infra.compat import compare
from infra.contract_surface import (
    ROOT,
    Surface,
    current_surface,
    newest_release,
    read_surface,
    releases,
    write_surface,
)
from infra.release import ReleaseRefused, make_release
from infra.release_audit import AuditRun

HOW_TO = (
    "Breaking changes are refused: ship an event change as a new version (readers take it "
    "first, and keep reading the old one) and an API change as a new path; see the README, "
    "'Releases and the compatibility gate'."
)


@pytest.fixture(scope="module")
def current() -> Surface:
    return current_surface()


def test_the_contracts_break_nothing_the_newest_release_offered(current: Surface) -> None:
    newest = newest_release()
    assert newest is not None, "no release under contracts/releases: make release VERSION=x.y.z"

    report = compare(read_surface(newest), current)

    assert report.compatible, f"\n{report.text(newest.name)}\n\n{HOW_TO}"


def test_every_release_has_its_manifest_and_a_passed_dated_audit_report() -> None:
    assert releases(), "no release under contracts/releases"
    for release in releases():
        manifest = json.loads((release / "manifest.json").read_text())
        report = ROOT / manifest["audit_report"]
        assert manifest["version"] == release.name
        assert report.name == f"{manifest['date']}-{release.name}.md"
        text = report.read_text(encoding="utf-8")
        assert text.startswith(f"# livecart {release.name}: separation audit of {manifest['date']}")
        assert "## livecart separation audit: PASSED" in text
        assert len(manifest["commit"]) == 40


def test_the_surface_covers_every_event_version_read_the_streams_and_the_three_apis(
    current: Surface,
) -> None:
    status = current.events["order.status_changed"]
    assert (status.produced, sorted(status.schemas)) == (2, [1, 2])
    assert status.schemas[1]["properties"]["version"] == {"const": 1, "type": "integer"}
    assert current.streams["groups"] == {"GROUP_ORDERS": "orders"}
    assert current.streams["keys"]["order_status"] == "livecart:{order.status}"
    assert sorted(current.apis) == ["notifier", "orders-console", "storefront"]
    assert "/api/checkouts" in current.apis["storefront"]["paths"]
    assert "/events/checkouts/{checkout_id}" in current.apis["notifier"]["paths"]
    assert "/api/seller/orders" in current.apis["orders-console"]["paths"]


def passed_audit() -> AuditRun:
    return AuditRun(True, "# livecart separation audit: PASSED\n\n## 1. Schema: passed\n", "")


def never_audit() -> AuditRun:
    raise AssertionError("the audit runs only for a release that may be made")


def test_a_release_writes_its_snapshot_manifest_and_dated_report(
    tmp_path: Path, current: Surface
) -> None:
    releases_dir, audits = tmp_path / "releases", tmp_path / "audits"
    write_surface(current, releases_dir / "0.1.0")

    snapshot, report = make_release(
        "0.2.0", releases=releases_dir, audits=audits, audit=passed_audit, today=date(2027, 1, 2)
    )

    assert snapshot == releases_dir / "0.2.0"
    assert report == audits / "2027-01-02-0.2.0.md"
    manifest = json.loads((snapshot / "manifest.json").read_text())
    assert (manifest["version"], manifest["date"], manifest["previous_release"]) == (
        "0.2.0",
        "2027-01-02",
        "0.1.0",
    )
    assert "events/order.status_changed.v1.schema.json" in manifest["files"]
    assert "openapi/storefront.json" in manifest["files"]
    text = report.read_text()
    assert text.startswith("# livecart 0.2.0: separation audit of 2027-01-02\n")
    assert "| compatibility | compatible with 0.1.0 (0 additive changes below) |" in text
    assert "\n## livecart separation audit: PASSED\n" in text
    assert "\n### 1. Schema: passed\n" in text
    again = compare(read_surface(snapshot), current)
    assert (again.breaking, again.notes) == ([], [])


def test_a_release_that_breaks_the_last_one_is_refused_unless_a_major_one_retires_it(
    tmp_path: Path, current: Surface
) -> None:
    releases_dir = tmp_path / "releases"
    write_surface(current, releases_dir / "0.1.0")
    streams = releases_dir / "0.1.0" / "streams.json"
    kept = json.loads(streams.read_text())
    kept["keys"]["order_status_v0"] = "livecart:{order.status.v0}"
    streams.write_text(json.dumps(kept))

    with pytest.raises(ReleaseRefused, match=r"break release 0\.1\.0"):
        make_release("0.2.0", releases=releases_dir, audits=tmp_path / "a", audit=never_audit)

    assert [p.name for p in releases_dir.iterdir()] == ["0.1.0"]
    assert not (tmp_path / "a").exists()
    with pytest.raises(ReleaseRefused, match="only a new major version retires"):
        make_release("0.2.0", releases=releases_dir, accept_breaking=True, audit=never_audit)

    _, report = make_release(
        "1.0.0", releases=releases_dir, audits=tmp_path / "a", accept_breaking=True,
        audit=passed_audit,
    )  # fmt: skip

    text = report.read_text()
    assert "| compatibility | retires 1 things 0.1.0 offered (listed below) |" in text
    assert (
        "## Breaking changes this major release accepts\n\n- stream key order_status_v0 = "
        "'livecart:{order.status.v0}': gone\n"
    ) in text
    manifest = json.loads((releases_dir / "1.0.0" / "manifest.json").read_text())
    assert manifest["breaking_accepted"] == [
        "stream key order_status_v0 = 'livecart:{order.status.v0}': gone"
    ]


def test_a_version_not_newer_than_the_last_or_a_failed_audit_is_refused(
    tmp_path: Path, current: Surface
) -> None:
    releases_dir = tmp_path / "releases"
    write_surface(current, releases_dir / "0.10.0")
    for version in ("0.10.0", "0.9.9"):
        with pytest.raises(ReleaseRefused, match=r"not newer than the newest release, 0\.10\.0"):
            make_release(version, releases=releases_dir, audit=never_audit)
    with pytest.raises(ValueError, match="not a release version"):
        make_release("1.0", releases=releases_dir, audit=never_audit)

    def failed() -> AuditRun:
        return AuditRun(False, "# livecart separation audit: FAILED\n", "redis-acl failed")

    with pytest.raises(ReleaseRefused, match="redis-acl failed"):
        make_release("0.11.0", releases=releases_dir, audits=tmp_path / "a", audit=failed)
    assert not (releases_dir / "0.11.0").exists()
