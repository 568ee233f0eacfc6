"""The committed AsyncAPI document is what the services' FastStream apps generate."""

import json

from infra.asyncapi import DOCUMENT, generate


def test_the_committed_asyncapi_document_is_not_stale() -> None:
    assert DOCUMENT.read_text() == generate(), "run `make asyncapi` and commit the result"


def test_the_document_describes_both_events_and_their_channels() -> None:
    document = json.loads(generate())
    schemas = document["components"]["schemas"]
    assert {"CheckoutRequested", "OrderStatusChanged"} <= set(schemas)
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {"livecart:checkout.requested", "livecart:order.status"} <= addresses


def test_every_message_names_its_event_schema() -> None:
    """A batch reader takes raw entries; the document must still say what they hold."""
    document = json.loads(generate())
    payloads = {
        name: message["payload"]["$ref"].rsplit("/", 1)[-1]
        for name, message in document["components"]["messages"].items()
    }
    assert payloads["orders:checkout.requested:SubscribeMessage"] == "CheckoutRequestedEvent"
    assert all(schema.endswith("Event") for schema in payloads.values()), payloads
