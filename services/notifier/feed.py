"""One browser's view of a checkout: what it missed, then live statuses, until the final one."""

from collections.abc import AsyncGenerator, Iterable

from services.notifier.hub import StatusHub
from services.notifier.records import EntryId, StatusRecord


async def follow_checkout(
    hub: StatusHub, checkout_id: str, *, after: EntryId | None = None
) -> AsyncGenerator[StatusRecord, None]:
    """Statuses of `checkout_id` after entry `after`, in stream order, without duplicates.

    Subscribes before reading the history so nothing published in between is lost;
    ends after a final status, or when the hub drops the subscription.
    """
    with hub.subscribe(checkout_id) as subscription:
        cursor = _Cursor(after)
        for record in cursor.fresh(hub.history(checkout_id, after=after)):
            yield record
            if record.is_final:
                return
        async for live in subscription:
            for record in cursor.fresh((live,)):
                yield record
                if record.is_final:
                    return


def already_finished(hub: StatusHub, checkout_id: str, *, after: EntryId | None) -> bool:
    """True when the client's last seen entry is at or past the checkout's final status."""
    final = hub.final_entry(checkout_id)
    return final is not None and after is not None and after >= final


class _Cursor:
    """The last entry handed out: history and live queue may overlap, the client sees each once."""

    def __init__(self, after: EntryId | None) -> None:
        self.last = after

    def fresh(self, records: Iterable[StatusRecord]) -> Iterable[StatusRecord]:
        for record in records:
            if self.last is None or record.entry_id > self.last:
                self.last = record.entry_id
                yield record
