"""Stopping background loops (services/common/tasks.py)."""

import asyncio
import time

from services.common.tasks import Stopping, finish_tasks, stop_tasks


async def test_a_task_that_swallows_a_cancel_is_cancelled_again_until_it_ends() -> None:
    # What Python 3.11's asyncio.wait_for does to a cancel landing as a command completes.
    swallowed = 0

    async def loop() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed < 2:
                    swallowed += 1
                    continue
                raise

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)

    await asyncio.wait_for(stop_tasks([task]), timeout=5)

    assert (task.cancelled(), swallowed) == (True, 2)


async def test_loops_end_their_round_when_stopping_instead_of_being_cancelled() -> None:
    stopping = Stopping()
    rounds: list[str] = []

    async def loop() -> None:
        while not stopping:
            rounds.append("begin")
            await asyncio.sleep(0.05)  # a transaction in flight
            rounds.append("end")
            await stopping.wait(60)

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.01)  # mid-round
    started = time.monotonic()

    await finish_tasks([task], stopping, within=5)

    assert rounds == ["begin", "end"]
    assert task.done()
    assert not task.cancelled()
    assert time.monotonic() - started < 1  # the 60 s wait ended at once


async def test_a_loop_that_outlasts_the_bound_is_cancelled() -> None:
    stopping = Stopping()

    async def stuck() -> None:
        await asyncio.sleep(60)

    task = asyncio.create_task(stuck())

    await finish_tasks([task], stopping, within=0.05)

    assert task.cancelled()


async def test_waiting_ends_on_another_event_too() -> None:
    stopping, wake = Stopping(), asyncio.Event()
    asyncio.get_running_loop().call_later(0.02, wake.set)
    started = time.monotonic()

    await stopping.wait(60, wake)

    assert time.monotonic() - started < 1
    assert not stopping
