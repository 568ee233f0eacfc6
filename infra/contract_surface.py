"""The contract surface one side depends on, as data: what a release snapshot keeps.

Every event (type, version) the readers accept, as the JSON Schema of its envelope; the
stream keys and consumer groups; the OpenAPI documents of the HTTP APIs (the storefront's
API behind the room page and the seller dashboard, the notifier's SSE routes, the
marketplace's seller console). Built from `contracts/` and the apps' factories without
connecting to anything; written to and read from `contracts/releases/<version>/`.
"""

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import contracts.chat
import contracts.events
import contracts.streams
from contracts import Envelope, Streams

ROOT = Path(__file__).resolve().parent.parent
RELEASES = ROOT / "contracts" / "releases"
VERSION_PATTERN = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")

Json = dict[str, Any]

# The surface describes the defaults, whatever this shell's environment says.
_DEFAULTS = {
    "REDIS_URL": "redis://localhost:6379/0",
    "LIVECART_STREAM_PREFIX": "livecart",
    "LIVECART_CHECKOUT_PARTITIONS": "1",
    "LIVECART_REDIS_CLUSTER": "false",
    "LIVECART_ENV": "development",
}


@dataclass(frozen=True)
class EventContract:
    """One event type: the version producers write now, and a schema per version read."""

    produced: int
    schemas: dict[int, Json]


@dataclass(frozen=True)
class Surface:
    events: dict[str, EventContract]
    streams: Json
    apis: dict[str, Json]


def current_surface() -> Surface:
    """The surface the code in this tree has."""
    return Surface(events=event_contracts(), streams=stream_names(), apis=openapi_documents())


def event_contracts() -> dict[str, EventContract]:
    """Every envelope class in `contracts.events` and `contracts.chat`, by type, with one
    schema per version its readers accept (the envelope's schema with `version` fixed to
    that version)."""
    found: dict[str, EventContract] = {}
    for value in [*vars(contracts.events).values(), *vars(contracts.chat).values()]:
        if not (isinstance(value, type) and issubclass(value, Envelope) and "TYPE" in vars(value)):
            continue
        accepted = get_args(value.model_fields["version"].annotation) or (value.VERSION,)
        schemas = {}
        for version in sorted(accepted):
            schema = value.model_json_schema(mode="validation")
            schema["properties"]["version"] = {"const": version, "type": "integer"}
            schemas[version] = schema
        found[value.TYPE] = EventContract(produced=value.VERSION, schemas=schemas)
    return dict(sorted(found.items()))


def stream_names() -> Json:
    """Every stream key and key pattern of the default prefix, and the consumer groups."""
    streams = Streams()
    keys: dict[str, str] = {}
    for name, attribute in vars(Streams).items():
        if isinstance(attribute, property) and not name.startswith("_"):
            value = getattr(streams, name)
            for index, key in enumerate(value if isinstance(value, tuple) else (value,)):
                keys[name if isinstance(value, str) else f"{name}[{index}]"] = key
    keys["buyer_status(buyer_id)"] = streams.buyer_status("{buyer_id}")
    keys["idempotency(checkout_id)"] = streams.idempotency("{checkout_id}")
    keys["dead_letters(stream)"] = Streams.dead_letters("{stream}")
    groups = {
        name: value
        for name, value in vars(contracts.streams).items()
        if name.startswith("GROUP_") and isinstance(value, str)
    }
    return {"prefix": streams.prefix, "keys": dict(sorted(keys.items())), "groups": groups}


def openapi_documents() -> dict[str, Json]:
    """The OpenAPI document of each HTTP API, from the app factory (nothing connects)."""
    with _default_environment():
        from services.notifier.entrypoints.app import create_app as notifier
        from services.orders.entrypoints.app import create_app as orders
        from services.storefront.entrypoints.app import create_app as storefront

        # Round-tripped through JSON so that the documents compare like the stored ones.
        return {
            name: json.loads(json.dumps(factory().openapi()))
            for name, factory in (
                ("storefront", storefront),
                ("notifier", notifier),
                ("orders-console", orders),
            )
        }


@contextmanager
def _default_environment() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in _DEFAULTS}
    os.environ.update(_DEFAULTS)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def write_surface(surface: Surface, directory: Path) -> list[Path]:
    """Write `surface` under `directory` as stable, indented JSON; the files written."""
    files: dict[Path, Any] = {
        directory / "events" / "index.json": {
            kind: {"produced": c.produced, "accepted": sorted(c.schemas)}
            for kind, c in surface.events.items()
        },
        directory / "streams.json": surface.streams,
    }
    for kind, contract in surface.events.items():
        for version, schema in contract.schemas.items():
            files[directory / "events" / f"{kind}.v{version}.schema.json"] = schema
    for name, document in surface.apis.items():
        files[directory / "openapi" / f"{name}.json"] = document
    for path, content in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return sorted(files)


def read_surface(directory: Path) -> Surface:
    """The surface a release snapshot under `directory` holds."""
    index = _load(directory / "events" / "index.json")
    events = {
        kind: EventContract(
            produced=entry["produced"],
            schemas={
                v: _load(directory / "events" / f"{kind}.v{v}.schema.json")
                for v in entry["accepted"]
            },
        )
        for kind, entry in index.items()
    }
    apis = {path.stem: _load(path) for path in sorted((directory / "openapi").glob("*.json"))}
    return Surface(events=events, streams=_load(directory / "streams.json"), apis=apis)


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def version_key(name: str) -> tuple[int, int, int]:
    match = VERSION_PATTERN.match(name)
    if match is None:
        raise ValueError(f"{name!r} is not a release version (x.y.z, numbers only)")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def releases(root: Path = RELEASES) -> list[Path]:
    """Every release snapshot under `root`, oldest first (by version number)."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and VERSION_PATTERN.match(p.name)]
    return sorted(found, key=lambda p: version_key(p.name))


def newest_release(root: Path = RELEASES) -> Path | None:
    found = releases(root)
    return found[-1] if found else None
