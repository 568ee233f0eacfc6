"""The committed contract documents are current: the AsyncAPI document is what the
services' FastStream apps generate, and WIRE.md's partition examples are what the
contracts compute."""

import json
import re
import zlib
from pathlib import Path

from contracts import Streams, checkout_partition
from infra.asyncapi import DOCUMENT, generate

WIRE = Path(__file__).resolve().parents[2] / "contracts" / "WIRE.md"


def test_the_committed_asyncapi_document_is_not_stale() -> None:
    assert DOCUMENT.read_text() == generate(), "run `make asyncapi` and commit the result"


def test_the_document_describes_both_events_and_their_channels() -> None:
    document = json.loads(generate())
    schemas = document["components"]["schemas"]
    assert {"CheckoutRequested", "OrderStatusChanged"} <= set(schemas)
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert {"livecart:{checkout.requested}", "livecart:{order.status}"} <= addresses


def test_every_message_names_its_event_schema() -> None:
    """A batch reader takes raw entries; the document must still say what they hold."""
    document = json.loads(generate())
    payloads = {
        name: message["payload"]["$ref"].rsplit("/", 1)[-1]
        for name, message in document["components"]["messages"].items()
    }
    assert payloads["orders:checkout.requested:SubscribeMessage"] == "CheckoutRequestedEvent"
    assert all(schema.endswith("Event") for schema in payloads.values()), payloads


def test_the_wire_documents_partition_examples_are_what_the_contracts_compute() -> None:
    text = WIRE.read_text()
    rows = re.findall(
        r"^\| ((?:`[^`]+`,? *)+)\| `([^`]+)` +\| `0x([0-9a-f]{8})` \| (\d+) +\| (\d+) +\|$",
        text,
        re.M,
    )
    assert len(rows) >= 3, "WIRE.md's table of partition examples"
    for skus_cell, smallest, crc, k4, k16 in rows:
        skus = re.findall(r"`([^`]+)`", skus_cell)
        assert min(skus) == smallest
        assert zlib.crc32(smallest.encode()) == int(crc, 16)
        assert (checkout_partition(skus, 4), checkout_partition(skus, 16)) == (int(k4), int(k16))
    assert "crc32.ChecksumIEEE" in text
    assert Streams().checkout_requested == "livecart:{checkout.requested}"
    assert f"'{Streams().checkout_requested}'" in text  # the redis-cli example
    assert "`<prefix>:{checkout.requested.<k>}`" in text
    assert "livecart:checkout.requested" not in text, "a key from before the hash tags"
