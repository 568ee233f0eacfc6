"""Where one JSON Schema accepts less than another: the comparison under the compatibility gate.

`narrowings(wide, narrow)` lists what a document valid under `wide` may carry that `narrow`
refuses (or drops), for the shapes pydantic and FastAPI generate: objects with properties,
required and additionalProperties, arrays, strings, numbers, enums and consts, `anyOf` /
`oneOf` unions (nullable fields) and `$ref`s into the schema's own document. Which side is
wide depends on who reads: readers must take what old writers wrote (wide = old), and old
readers must take what new writers write (wide = new); infra/compat.py decides.
"""

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

Schema = Mapping[str, Any]
BEFORE_NOW = ("before", "now")
"""How findings name the two sides by default: wide is the release, narrow is today's."""


class Kind(StrEnum):
    """What sort of difference a finding is; the caller decides whether it breaks."""

    NARROWED = "narrowed"
    """`narrow` refuses something `wide` accepts (a type, a value, a bound, a required field)."""
    CLOSED = "closed"
    """`narrow` refuses unknown fields where `wide` let them through."""
    ABSENT = "absent"
    """A field `wide` names that `narrow` does not (ignored by `narrow`'s reader, if open)."""


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass(frozen=True, slots=True)
class Document:
    """A schema together with the document its `$ref`s point into."""

    schema: Schema
    root: Schema

    def resolve(self, schema: Schema) -> Schema:
        """`schema` with `$ref`s (and pydantic's one-element `allOf` wrappers) followed."""
        seen: set[str] = set()
        while True:
            if "$ref" in schema:
                ref = schema["$ref"]
                if ref in seen or not isinstance(ref, str) or not ref.startswith("#/"):
                    return {}
                seen.add(ref)
                target: Any = self.root
                for part in ref[2:].split("/"):
                    target = target[part.replace("~1", "/").replace("~0", "~")]
                schema = target
            elif isinstance(schema.get("allOf"), list) and len(schema["allOf"]) == 1:
                schema = schema["allOf"][0]
            else:
                return schema


def narrowings(
    wide: Document, narrow: Document, where: str = "", *, sides: tuple[str, str] = BEFORE_NOW
) -> list[Finding]:
    """Everything `narrow` refuses or drops of what `wide` accepts, one finding each; the
    findings name the two `sides` (wide's, narrow's) as `sides` says."""
    pair = _Pair(wide, narrow, sides)
    return list(pair.compare(wide.schema, narrow.schema, where or "(root)", frozenset()))


def _branches(doc: Document, schema: Schema) -> list[Schema]:
    """The alternatives of a union (`anyOf` / `oneOf`), flattened; one for any other schema."""
    schema = doc.resolve(schema)
    union = schema.get("anyOf") or schema.get("oneOf")
    if not isinstance(union, list):
        return [schema]
    return [branch for item in union for branch in _branches(doc, item)]


def _kind_of(schema: Schema) -> str:
    declared = schema.get("type")
    if isinstance(declared, str):
        return declared
    values = _values(schema)
    if values:
        return _json_type(next(iter(values)))
    if "properties" in schema:
        return "object"
    return "any"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else "any"


def _values(schema: Schema) -> list[Any] | None:
    """The values an enum or const allows, or None when the schema allows any of its type."""
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _covers(narrow_kind: str, wide_kind: str) -> bool:
    return narrow_kind in (wide_kind, "any") or (narrow_kind, wide_kind) == ("number", "integer")


Seen = frozenset[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class _Pair:
    wide: Document
    narrow: Document
    sides: tuple[str, str]

    def finding(self, kind: Kind, where: str, on_wide: str, on_narrow: str) -> Finding:
        (w, n) = self.sides
        return Finding(kind, where, f"{on_wide} {w}, {on_narrow} {n}")

    def compare(self, w: Schema, n: Schema, where: str, seen: Seen) -> Iterator[Finding]:
        pair = (id(self.wide.resolve(w)), id(self.narrow.resolve(n)))
        if pair in seen:  # a recursive schema: this pair is being compared further up
            return
        seen = seen | {pair}
        narrow_branches = _branches(self.narrow, n)
        for branch in _branches(self.wide, w):
            kind = _kind_of(branch)
            candidates = [b for b in narrow_branches if _covers(_kind_of(b), kind)]
            if not candidates:
                taken = "/".join(sorted({_kind_of(b) for b in narrow_branches}))
                yield self.finding(Kind.NARROWED, where, f"{kind} allowed", f"only {taken}")
                continue
            # The closest alternative: the one that refuses the least of this branch.
            yield from min(
                (list(self.same_kind(branch, c, where, seen)) for c in candidates), key=len
            )

    def same_kind(self, w: Schema, n: Schema, where: str, seen: Seen) -> Iterator[Finding]:
        if _kind_of(n) == "any":
            return
        if _kind_of(w) == "any":
            yield self.finding(Kind.NARROWED, where, "any value", f"only {_kind_of(n)}")
            return
        yield from self.enum(w, n, where)
        yield from self.bounds(w, n, where)
        if _kind_of(w) == "array" and "items" in n:
            yield from self.compare(w.get("items", {}), n["items"], f"{where}[]", seen)
        if _kind_of(w) == "object":
            yield from self.object(w, n, where, seen)

    def enum(self, w: Schema, n: Schema, where: str) -> Iterator[Finding]:
        allowed, now = _values(w), _values(n)
        if now is None:
            return
        if allowed is None:
            yield self.finding(Kind.NARROWED, where, "any value", f"only {now}")
        elif dropped := [value for value in allowed if value not in now]:
            yield self.finding(Kind.NARROWED, where, f"{dropped} allowed", "not")

    def bounds(self, w: Schema, n: Schema, where: str) -> Iterator[Finding]:
        def differs(key: str) -> Finding:
            return self.finding(
                Kind.NARROWED, where, f"{key} {w.get(key, 'none')!r}", f"{n[key]!r}"
            )

        for key in _LOWER:
            if n.get(key, -math.inf) > w.get(key, -math.inf):
                yield differs(key)
        for key in _UPPER:
            if n.get(key, math.inf) < w.get(key, math.inf):
                yield differs(key)
        for key in _EXACT:
            # Whether one pattern or format allows a subset of another is not decided
            # here: any new or changed one counts as narrower.
            if key in n and n[key] != w.get(key) and not (key == "uniqueItems" and not n[key]):
                yield differs(key)

    def object(self, w: Schema, n: Schema, where: str, seen: Seen) -> Iterator[Finding]:
        w_props: Mapping[str, Schema] = w.get("properties", {})
        n_props: Mapping[str, Schema] = n.get("properties", {})
        w_required, n_required = set(w.get("required", ())), set(n.get("required", ()))
        for name in sorted(n_required - w_required):
            was = "optional" if name in w_props else "absent"
            yield self.finding(Kind.NARROWED, f"{where}.{name}", was, "required")
        extra_w, extra_n = w.get("additionalProperties", True), n.get("additionalProperties", True)
        for name, schema in w_props.items():
            at = f"{where}.{name}"
            if name in n_props:
                yield from self.compare(schema, n_props[name], at, seen)
            elif extra_n is False:
                yield self.finding(Kind.NARROWED, at, "a field", "refused")
            else:
                yield self.finding(Kind.ABSENT, at, "a field", "not")
                if isinstance(extra_n, Mapping):
                    yield from self.compare(schema, extra_n, at, seen)
        if extra_n is False and extra_w is not False:
            yield self.finding(Kind.CLOSED, where, "unknown fields accepted", "refused")
        elif isinstance(extra_n, Mapping):
            # A map (dict[str, X]): its values must still take what they took.
            values = extra_w if isinstance(extra_w, Mapping) else {}
            yield from self.compare(values, extra_n, f"{where}{{}}", seen)


_LOWER = ("minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum")
_UPPER = ("maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum")
_EXACT = ("pattern", "format", "multipleOf", "uniqueItems")
