"""The schema comparison under the compatibility gate, on small hand-made schemas: every
kind of narrowing is found, and what only widens is not."""

from typing import Any

from infra.schema_compat import Document, Kind, narrowings


def doc(schema: dict[str, Any], defs: dict[str, Any] | None = None) -> Document:
    root = {**schema, "$defs": defs} if defs else schema
    return Document(root, root)


def obj(required: tuple[str, ...] = (), **properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required)}


def found(wide: dict[str, Any], narrow: dict[str, Any]) -> list[tuple[Kind, str]]:
    return [(f.kind, f.where) for f in narrowings(doc(wide), doc(narrow))]


STRING = {"type": "string"}
NULLABLE = {"anyOf": [{"type": "string"}, {"type": "null"}]}


def test_identical_schemas_have_no_findings() -> None:
    schema = obj(("a",), a=STRING, b={"type": "integer", "minimum": 0})
    assert found(schema, schema) == []


def test_a_newly_required_field_is_a_narrowing_whether_it_was_optional_or_new() -> None:
    assert found(obj(a=STRING), obj(("a", "b"), a=STRING, b=STRING)) == [
        (Kind.NARROWED, "(root).a"),
        (Kind.NARROWED, "(root).b"),
    ]


def test_a_new_optional_field_is_no_narrowing() -> None:
    assert found(obj(("a",), a=STRING), obj(("a",), a=STRING, b=STRING)) == []


def test_a_removed_field_is_absent_and_refused_once_unknown_fields_are() -> None:
    old = obj(a=STRING, b=STRING)
    assert found(old, obj(a=STRING)) == [(Kind.ABSENT, "(root).b")]
    closed = {**obj(a=STRING), "additionalProperties": False}
    assert found(old, closed) == [(Kind.NARROWED, "(root).b"), (Kind.CLOSED, "(root)")]


def test_refusing_unknown_fields_is_its_own_kind() -> None:
    closed = {**obj(a=STRING), "additionalProperties": False}
    assert found(obj(a=STRING), closed) == [(Kind.CLOSED, "(root)")]
    assert found(closed, obj(a=STRING)) == []


def test_a_changed_type_and_a_dropped_null_are_narrowings_an_added_null_is_not() -> None:
    assert found(obj(a=STRING), obj(a={"type": "integer"})) == [(Kind.NARROWED, "(root).a")]
    assert found(obj(a=NULLABLE), obj(a=STRING)) == [(Kind.NARROWED, "(root).a")]
    assert found(obj(a=STRING), obj(a=NULLABLE)) == []


def test_a_removed_enum_value_is_a_narrowing_an_added_one_is_not() -> None:
    old = obj(s={"type": "string", "enum": ["a", "b"]})
    fewer = obj(s={"type": "string", "enum": ["a"]})
    more = obj(s={"type": "string", "enum": ["a", "b", "c"]})
    findings = narrowings(doc(old), doc(fewer))
    assert [(f.kind, f.where) for f in findings] == [(Kind.NARROWED, "(root).s")]
    assert "['b'] allowed before, not now" in str(findings[0])
    assert found(old, more) == []
    assert found(more, old) == [(Kind.NARROWED, "(root).s")], "read the other way: a new value"


def test_a_const_and_an_enum_on_a_free_string_compare_as_value_sets() -> None:
    assert found({"const": 1}, {"enum": [1, 2]}) == []
    assert found({"enum": [1, 2]}, {"const": 2}) == [(Kind.NARROWED, "(root)")]
    assert found(STRING, {"type": "string", "enum": ["x"]}) == [(Kind.NARROWED, "(root)")]


def test_tighter_bounds_patterns_and_formats_are_narrowings_looser_ones_are_not() -> None:
    old = {"type": "string", "maxLength": 64, "minLength": 1}
    assert found(old, {**old, "maxLength": 32}) == [(Kind.NARROWED, "(root)")]
    assert found(old, {**old, "minLength": 2}) == [(Kind.NARROWED, "(root)")]
    assert found(old, {**old, "maxLength": 128, "minLength": 0}) == []
    assert found(old, {**old, "pattern": "^[a-z]+$"}) == [(Kind.NARROWED, "(root)")]
    assert found(old, {**old, "format": "date-time"}) == [(Kind.NARROWED, "(root)")]
    number = {"type": "integer", "minimum": 0, "maximum": 100}
    assert found(number, {**number, "minimum": 1}) == [(Kind.NARROWED, "(root)")]
    assert found(number, {**number, "maximum": 10}) == [(Kind.NARROWED, "(root)")]
    assert found(number, {"type": "number"}) == [], "a number takes every integer"
    assert found({"type": "number"}, {"type": "integer"}) == [(Kind.NARROWED, "(root)")]


def test_arrays_compare_their_items_and_their_length() -> None:
    old = {"type": "array", "items": obj(("sku",), sku=STRING), "maxItems": 20}
    narrower = {"type": "array", "items": obj(("sku", "n"), sku=STRING, n=STRING), "maxItems": 5}
    assert found(old, narrower) == [(Kind.NARROWED, "(root)"), (Kind.NARROWED, "(root)[].n")]


def test_maps_compare_their_values() -> None:
    old = {"type": "object", "additionalProperties": {"type": "number"}}
    assert found(old, {"type": "object", "additionalProperties": {"type": "integer"}}) == [
        (Kind.NARROWED, "(root){}")
    ]


def test_refs_into_the_document_are_followed_and_recursion_ends() -> None:
    node = obj(name=STRING, children={"type": "array", "items": {"$ref": "#/$defs/Node"}})
    narrower = obj(("name",), name=STRING, children=node["properties"]["children"])
    wide = doc({"$ref": "#/$defs/Node"}, {"Node": node})
    narrow = doc({"allOf": [{"$ref": "#/$defs/Node"}]}, {"Node": narrower})
    assert [(f.kind, f.where) for f in narrowings(wide, narrow)] == [(Kind.NARROWED, "(root).name")]
    assert narrowings(wide, wide) == []


def test_findings_name_the_sides_they_are_told() -> None:
    [finding] = narrowings(doc(STRING), doc({"type": "integer"}), "x", sides=("now", "then"))
    assert str(finding) == "x: string allowed now, only integer then"
