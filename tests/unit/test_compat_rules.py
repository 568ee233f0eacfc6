"""Which changes of events, streams and HTTP APIs the compatibility gate refuses, on small
hand-made surfaces: each kind of breaking change is caught, additive ones are notes."""

import copy
from typing import Any

from infra.compat import compare
from infra.contract_surface import EventContract, Surface

Json = dict[str, Any]
STATUS = {"type": "string", "enum": ["received", "confirmed"]}


def envelope(version: int, **data: Any) -> Json:
    payload = {"type": "object", "properties": data, "required": ["order_id"]}
    return {
        "type": "object",
        "properties": {"version": {"const": version}, "data": {"$ref": "#/$defs/Data"}},
        "required": ["version", "data"],
        "$defs": {"Data": payload},
    }


def event(produced: int, **schemas: Json) -> EventContract:
    return EventContract(produced=produced, schemas={int(v[1:]): s for v, s in schemas.items()})


def order_status(**extra: Any) -> Json:
    return {"order_id": {"type": "string"}, "status": STATUS, **extra}


STREAMS: Json = {
    "keys": {"order_status": "lc:{order.status}"},
    "groups": {"GROUP_ORDERS": "orders"},
}


def surface(
    events: dict[str, EventContract] | None = None,
    streams: Json | None = None,
    apis: dict[str, Json] | None = None,
) -> Surface:
    default = {"order.status_changed": event(1, v1=envelope(1, **order_status()))}
    return Surface(
        events=default if events is None else events,
        streams=streams or copy.deepcopy(STREAMS),
        apis=apis or {},
    )


def breaking(old: Surface, new: Surface) -> list[str]:
    return compare(old, new).breaking


def changed_event(produced: int, **schemas: Json) -> Surface:
    return surface({"order.status_changed": event(produced, **schemas)})


# Events ------------------------------------------------------------------------------------


def test_the_same_surface_is_compatible_with_no_notes() -> None:
    report = compare(surface(), surface())
    assert (report.breaking, report.notes) == ([], [])


def test_a_removed_event_type_or_version_breaks() -> None:
    assert breaking(surface(), surface(events={})) == [
        "event order.status_changed: no longer read or written"
    ]
    two = changed_event(2, v1=envelope(1, **order_status()), v2=envelope(2, **order_status()))
    [line] = breaking(two, changed_event(2, v2=envelope(2, **order_status())))
    assert line == "event order.status_changed v1: no longer accepted by readers"


def test_a_field_removed_from_a_version_still_written_breaks() -> None:
    fields = order_status()
    del fields["status"]
    [line] = breaking(surface(), changed_event(1, v1=envelope(1, **fields)))
    assert line.startswith("event order.status_changed v1: (root).data.status")
    assert "still written as v1" in line


def test_a_newly_required_field_breaks_because_old_entries_lack_it() -> None:
    schema = envelope(1, **order_status(seller_id={"type": "string"}))
    schema["$defs"]["Data"]["required"].append("seller_id")
    [line] = breaking(surface(), changed_event(1, v1=schema))
    assert "readers now refuse what it carried: (root).data.seller_id" in line


def test_a_narrowed_type_breaks() -> None:
    schema = envelope(1, **order_status())
    schema["$defs"]["Data"]["properties"]["order_id"] = {"type": "string", "maxLength": 8}
    assert len(breaking(surface(), changed_event(1, v1=schema))) == 1


def test_a_new_enum_value_in_the_version_still_written_breaks_old_readers() -> None:
    more = {"type": "string", "enum": ["received", "confirmed", "shipped"]}
    [line] = breaking(surface(), changed_event(1, v1=envelope(1, **order_status(status=more))))
    assert "release readers refuse what it may carry now" in line
    assert "['shipped'] allowed now, not in the release" in line


def test_a_removed_enum_value_breaks_readers_of_entries_already_written() -> None:
    fewer = {"type": "string", "enum": ["received"]}
    [line] = breaking(surface(), changed_event(1, v1=envelope(1, **order_status(status=fewer))))
    assert "readers now refuse what it carried" in line


def test_a_new_optional_field_is_a_note() -> None:
    report = compare(
        surface(), changed_event(1, v1=envelope(1, **order_status(tracking={"type": "string"})))
    )
    assert report.breaking == []
    assert report.notes == ["event order.status_changed v1: new field (root).data.tracking"]


def test_the_same_changes_shipped_as_a_new_version_are_notes() -> None:
    """v2 adds a status value and a field and drops one; readers take v1 and v2 (one
    model for both, so v1's schema widens too) and producers write v2."""
    more = {"type": "string", "enum": ["received", "confirmed", "shipped"]}
    fields = order_status(status=more, tracking={"type": "string"})
    del fields["order_id"]
    new = changed_event(2, v1=envelope(1, **fields), v2=envelope(2, **fields))
    for schema in new.events["order.status_changed"].schemas.values():
        schema["$defs"]["Data"]["required"] = []
    report = compare(surface(), new)
    assert report.breaking == []
    assert report.notes == [
        "event order.status_changed: producers move from v1 to v2 (deploy the readers of "
        "the new version first)",
        "event order.status_changed v1: (root).data.order_id: a field before, not now "
        "(readers ignore it now)",
        "event order.status_changed v2: new version",
    ]


def test_a_new_event_type_is_a_note() -> None:
    events = {**surface().events, "room.changed": event(1, v1=envelope(1))}
    assert compare(surface(), surface(events=events)).notes == ["event room.changed: new"]


# Streams -----------------------------------------------------------------------------------


def test_a_renamed_stream_or_group_breaks_a_new_one_is_a_note() -> None:
    renamed = {"keys": {"order_status": "lc:{order.statuses}"}, "groups": {"GROUP_ORDERS": "o"}}
    report = compare(surface(), surface(streams=renamed))
    assert report.breaking == [
        "stream key order_status = 'lc:{order.status}': gone (now 'lc:{order.statuses}')",
        "consumer group GROUP_ORDERS = 'orders': gone (now 'o')",
    ]
    added = copy.deepcopy(STREAMS)
    added["keys"]["room_changed"] = "lc:{room.changed}"
    report = compare(surface(), surface(streams=added))
    assert report.breaking == []
    assert report.notes == ["stream key room_changed = 'lc:{room.changed}': new"]


def test_a_renamed_constant_with_the_same_key_is_no_change() -> None:
    renamed = {"keys": {"statuses": "lc:{order.status}"}, "groups": {"GROUP_ORDERS": "orders"}}
    assert compare(surface(), surface(streams=renamed)).breaking == []
