"""Background loops that stop when asked, and a stop that always ends them.

Two things made a service's shutdown hang (seen in CI and in the Redis Cluster test):

- On Python 3.11, `asyncio.wait_for` returns its awaitable's result and drops a cancel
  that lands just as that awaitable completes (fixed in 3.12). redis-py sends every
  command through `wait_for` when a socket timeout is set, so a loop cancelled during a
  Redis command can carry on as if never cancelled, and whoever awaits it waits forever.
  `stop_tasks` cancels again until each task has ended.
- A task cancelled inside a SQLite transaction leaves its connection closed with a cursor
  still referenced: until garbage collection the file stays locked for everyone else.
  Loops that write therefore stop between rounds, when `Stopping` is set, and are only
  cancelled if they do not end within a bound.
"""

import asyncio
from collections.abc import Iterable

RECANCEL_SECONDS = 0.5


class Stopping:
    """Set once the service stops; loops check it between rounds and wait on it."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def set(self) -> None:
        self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()

    async def wait(self, seconds: float, *also: asyncio.Event) -> None:
        """Sleep `seconds`, or less if the service stops (or one of `also` is set)."""
        events = [self._event, *also]
        if any(event.is_set() for event in events):
            return
        waiters = [asyncio.ensure_future(event.wait()) for event in events]
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()


async def stop_tasks(tasks: Iterable["asyncio.Task[object]"]) -> None:
    """Cancel `tasks` and return once every one has ended, cancelling again those that
    swallowed the cancel (see above). Their exceptions are not raised."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_SECONDS)


async def finish_tasks(tasks: Iterable["asyncio.Task[object]"], stopping: Stopping, *,
                       within: float) -> None:  # fmt: skip
    """Set `stopping`, give `tasks` `within` seconds to end their round, then stop the
    rest with `stop_tasks`."""
    stopping.set()
    tasks = list(tasks)
    if tasks:
        await asyncio.wait(tasks, timeout=within)
    await stop_tasks(tasks)
