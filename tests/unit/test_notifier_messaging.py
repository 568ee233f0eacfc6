"""The notifier's reader as configured, without connecting: start id and AsyncAPI document."""

from typing import Any

from faststream.specification import AsyncAPI

from services.notifier.entrypoints.messaging import history_start_id, specification_broker


def test_a_starting_reader_begins_history_seconds_back_not_at_the_start_of_the_stream() -> None:
    assert history_start_id(900, now=1_800_000_000.25) == "1799999100250-0"
    assert history_start_id(900, now=10.0) == "0-0"


def test_the_specification_broker_documents_one_fan_out_reader_of_order_status() -> None:
    document: dict[str, Any] = (
        AsyncAPI(specification_broker(), title="notifier").to_specification().to_jsonable()
    )
    (channel,) = document["channels"].values()
    assert channel["address"] == "livecart:order.status"
    assert channel["bindings"]["redis"]["method"] == "xread"
    assert "no group" in channel["description"]
    assert "OrderStatusChangedEvent" in document["components"]["schemas"]
