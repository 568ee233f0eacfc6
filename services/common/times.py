"""Moments read back from a database or typed in by hand, as aware UTC datetimes."""

from datetime import UTC, datetime
from typing import overload


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """`moment` in UTC; a naive one is taken as UTC already (every time livecart stores is
    UTC, and SQLite hands timestamps back without their zone)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
