"""Which HTTP API changes the compatibility gate refuses, on a small hand-made OpenAPI
document: the server reads requests, clients read responses."""

import copy
from typing import Any

from infra.compat import Report, compare
from infra.contract_surface import Surface

Json = dict[str, Any]


def api() -> Json:
    body = {
        "type": "object",
        "properties": {
            "room_id": {"type": "string"},
            "quantity": {"type": "integer", "maximum": 100},
            "channel": {"type": "string", "enum": ["app", "web"]},
        },
        "required": ["room_id"],
    }
    accepted = {
        "type": "object",
        "properties": {
            "checkout_id": {"type": "string"},
            "status": {"type": "string", "enum": ["accepted"]},
        },
        "required": ["checkout_id", "status"],
    }
    return {
        "openapi": "3.1.0",
        "paths": {
            "/api/checkouts": {
                "post": {
                    "parameters": [
                        {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/In"}}
                        },
                    },
                    "responses": {
                        "202": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Accepted"}
                                }
                            }
                        },
                        "422": {"content": {"application/json": {"schema": {}}}},
                    },
                }
            },
            "/events/{checkout_id}": {
                "get": {
                    "parameters": [
                        {"name": "checkout_id", "in": "path", "required": True, "schema": {}},
                        {"name": "token", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": {"description": "SSE"}},
                }
            },
        },
        "components": {"schemas": {"In": body, "Accepted": accepted}},
    }


def changed(edit: Any) -> Report:
    new = api()
    edit(new)
    return compare(Surface({}, {}, {"store": api()}), Surface({}, {}, {"store": new}))


def checkout(document: Json) -> Json:
    operation: Json = document["paths"]["/api/checkouts"]["post"]
    return operation


def schema(document: Json, name: str) -> Json:
    found: Json = document["components"]["schemas"][name]
    return found


def test_an_unchanged_api_is_compatible_with_no_notes() -> None:
    report = changed(lambda d: None)
    assert (report.breaking, report.notes) == ([], [])


def test_a_removed_path_or_method_breaks_a_new_one_is_a_note() -> None:
    report = changed(lambda d: d["paths"].pop("/events/{checkout_id}"))
    assert report.breaking == ["API store GET /events/{checkout_id}: removed"]

    def move(d: Json) -> None:
        d["paths"]["/api/checkouts"]["put"] = d["paths"]["/api/checkouts"].pop("post")

    report = changed(move)
    assert report.breaking == ["API store POST /api/checkouts: removed"]
    assert report.notes == ["API store PUT /api/checkouts: new"]


def test_a_removed_or_newly_required_parameter_breaks() -> None:
    report = changed(lambda d: d["paths"]["/events/{checkout_id}"]["get"]["parameters"].pop())
    assert report.breaking == [
        "API store GET /events/{checkout_id}: query parameter token: no longer read"
    ]

    def require(d: Json) -> None:
        checkout(d)["parameters"][0]["required"] = True
        checkout(d)["parameters"].append(
            {"name": "X-Tenant", "in": "header", "required": True, "schema": {}}
        )

    assert changed(require).breaking == [
        "API store POST /api/checkouts: header parameter idempotency-key: now required",
        "API store POST /api/checkouts: header parameter x-tenant: new and required",
    ]


def test_a_new_optional_parameter_is_a_note() -> None:
    new = {"name": "lang", "in": "query", "schema": {"type": "string"}}
    report = changed(lambda d: checkout(d)["parameters"].append(new))
    assert (report.breaking, report.notes) == (
        [],
        ["API store POST /api/checkouts: query parameter lang: new, optional"],
    )


def test_a_header_parameter_is_matched_whatever_its_case() -> None:
    report = changed(lambda d: checkout(d)["parameters"][0].update(name="idempotency-key"))
    assert report.breaking == []


def test_a_newly_required_or_narrowed_request_field_breaks() -> None:
    def narrow(d: Json) -> None:
        body = schema(d, "In")
        body["required"].append("quantity")
        body["properties"]["quantity"]["maximum"] = 20
        body["properties"]["channel"]["enum"] = ["app"]

    assert changed(narrow).breaking == [
        "API store POST /api/checkouts: request body: body.quantity: optional before, required now",
        "API store POST /api/checkouts: request body: body.quantity: maximum 100 before, 20 now",
        "API store POST /api/checkouts: request body: body.channel: ['web'] allowed before, "
        "not now",
    ]


def test_a_removed_request_field_breaks() -> None:
    report = changed(lambda d: schema(d, "In")["properties"].pop("channel"))
    assert report.breaking == [
        "API store POST /api/checkouts: request body: body.channel: no longer read"
    ]


def test_a_widened_request_field_is_fine() -> None:
    def widen(d: Json) -> None:
        body = schema(d, "In")
        body["properties"]["channel"]["enum"].append("tv")
        body["properties"]["quantity"]["maximum"] = 1000
        body["properties"]["note"] = {"type": "string"}

    assert changed(widen).breaking == []


def test_refusing_unknown_request_fields_is_a_note_not_a_break() -> None:
    report = changed(lambda d: schema(d, "In").update(additionalProperties=False))
    assert report.breaking == []
    assert report.notes == [
        "API store POST /api/checkouts: request body: body: unknown fields accepted before, "
        "refused now"
    ]


def test_a_removed_response_field_or_a_new_response_value_breaks_clients() -> None:
    report = changed(lambda d: schema(d, "Accepted")["properties"].pop("status"))
    assert report.breaking == ["API store POST /api/checkouts: response 202.status: no longer sent"]
    report = changed(lambda d: schema(d, "Accepted")["properties"]["status"]["enum"].append("x"))
    assert report.breaking == [
        "API store POST /api/checkouts: clients may now get response 202.status: ['x'] allowed "
        "now, not in the release"
    ]


def test_a_new_response_field_and_a_new_status_code_are_notes() -> None:
    def add(d: Json) -> None:
        schema(d, "Accepted")["properties"]["events_url"] = {"type": "string"}
        checkout(d)["responses"]["429"] = {"description": "Too many"}

    report = changed(add)
    assert report.breaking == []
    assert report.notes == [
        "API store POST /api/checkouts: new field response 202.events_url",
        "API store POST /api/checkouts: new response 429",
    ]


def test_a_removed_success_response_breaks_a_removed_error_response_is_a_note() -> None:
    report = changed(lambda d: checkout(d)["responses"].pop("202"))
    assert report.breaking == ["API store POST /api/checkouts: response 202 no longer answered"]
    report = changed(lambda d: checkout(d)["responses"].pop("422"))
    assert (report.breaking, report.notes) == (
        [],
        ["API store POST /api/checkouts: response 422 no longer answered"],
    )


def test_a_removed_api_breaks() -> None:
    report = compare(Surface({}, {}, {"store": api()}), Surface({}, {}, {}))
    assert report.breaking == ["API store: no longer served"]
    assert compare(Surface({}, {}, {}), Surface({}, {}, {"x": copy.deepcopy(api())})).notes == [
        "API x: new"
    ]
