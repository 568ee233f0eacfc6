"""Which rooms a notifier replica has heard of: announced, re-announced, bounded."""

import asyncio

from contracts import RoomChanged
from services.notifier.known_rooms import KnownRooms


def test_a_room_is_known_once_announced_and_its_first_announcement_is_news() -> None:
    rooms = KnownRooms()

    assert not rooms.knows("r1")
    assert rooms.changed(RoomChanged(room_id="r1", state="scheduled"))
    assert rooms.knows("r1")


def test_the_same_room_announced_again_as_it_was_is_no_news() -> None:
    rooms = KnownRooms()
    rooms.changed(RoomChanged(room_id="r1", state="live", skus=["mug"]))

    assert not rooms.changed(RoomChanged(room_id="r1", state="live", skus=["mug"]))
    assert rooms.changed(RoomChanged(room_id="r1", state="live", skus=["mug", "cap"]))
    assert rooms.changed(RoomChanged(room_id="r1", state="ended", skus=["mug", "cap"]))


def test_a_room_with_sales_is_known_and_its_first_change_is_still_news() -> None:
    rooms = KnownRooms()
    rooms.heard_of("r1")

    assert rooms.knows("r1")
    assert rooms.changed(RoomChanged(room_id="r1", state="live"))


def test_past_its_bound_the_room_heard_of_least_recently_is_forgotten() -> None:
    rooms = KnownRooms(max_rooms=2)
    for room_id in ("r1", "r2"):
        rooms.changed(RoomChanged(room_id=room_id, state="live"))
    rooms.heard_of("r1")  # heard of again: the most recent
    rooms.changed(RoomChanged(room_id="r3", state="live"))

    assert (rooms.knows("r1"), rooms.knows("r2"), rooms.knows("r3")) == (True, False, True)
    assert len(rooms) == 2


async def test_a_room_announced_while_a_stream_waits_for_it_is_found() -> None:
    rooms = KnownRooms()
    waiting = asyncio.create_task(rooms.wait_for("r1", seconds=5))
    await asyncio.sleep(0)
    rooms.changed(RoomChanged(room_id="r2", state="live"))
    rooms.changed(RoomChanged(room_id="r1", state="live"))

    assert await waiting
    assert not await rooms.wait_for("nope", seconds=0.05)
