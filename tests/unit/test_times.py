"""The one reading of naive datetimes (services/common/times.py)."""

from datetime import UTC, datetime, timedelta, timezone

from services.common.times import as_utc


def test_a_naive_moment_is_taken_as_utc() -> None:
    assert as_utc(datetime(2026, 12, 6, 20, 0)) == datetime(2026, 12, 6, 20, 0, tzinfo=UTC)


def test_an_aware_moment_keeps_its_instant_in_utc() -> None:
    moment = datetime(2026, 12, 6, 21, 0, tzinfo=timezone(timedelta(hours=1)))
    utc = as_utc(moment)
    assert utc == moment
    assert utc.tzinfo is UTC


def test_no_moment_stays_none() -> None:
    assert as_utc(None) is None
