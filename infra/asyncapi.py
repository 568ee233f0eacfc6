"""Generate the AsyncAPI document of every livecart service into `contracts/asyncapi.json`.

`python -m infra.asyncapi` writes it; `python -m infra.asyncapi --check` exits 1
when the committed document differs from what the code generates.
"""

import json
import os
import sys
from pathlib import Path

from faststream.specification import AsyncAPI

DOCUMENT = Path(__file__).resolve().parent.parent / "contracts" / "asyncapi.json"

# The document describes the defaults, whatever this shell's environment says.
# (One checkout partition, `livecart:{checkout.requested}`; contracts/WIRE.md tells the rest.)
_DEFAULTS = {
    "REDIS_URL": "redis://localhost:6379/0",
    "LIVECART_STREAM_PREFIX": "livecart",
    "LIVECART_CHECKOUT_PARTITIONS": "1",
    "LIVECART_REDIS_CLUSTER": "false",
}


def generate() -> str:
    """The AsyncAPI 3.0 document of all services, as stable, indented JSON text."""
    saved = {key: os.environ.get(key) for key in _DEFAULTS}
    os.environ.update(_DEFAULTS)
    try:
        from services.notifier.entrypoints.messaging import specification_broker as notifier
        from services.orders.entrypoints.messaging import specification_broker as orders
        from services.storefront.entrypoints.messaging import specification_broker as storefront

        spec = AsyncAPI(
            storefront(),
            orders(),
            notifier(),
            title="livecart",
            version="1",
            description=(
                "Events between the live-stream storefront and the marketplace. "
                "Entries carry one field, `__data__`, with the envelope as JSON text "
                "(see contracts/WIRE.md)."
            ),
        ).to_specification()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return json.dumps(spec.to_jsonable(), indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    document = generate()
    if "--check" in argv:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != document:
            print(f"{DOCUMENT} is stale: run `make asyncapi` and commit it", file=sys.stderr)
            return 1
        print(f"{DOCUMENT} is up to date")
        return 0
    DOCUMENT.write_text(document)
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
