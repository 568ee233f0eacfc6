"""The 422 for a request that failed validation, safe whatever the input held.

FastAPI's default handler echoes each refused input in UTF-8 JSON: a lone surrogate
(`"\\ud800"` in a JSON body) cannot be encoded, and the refusal becomes a 500. This one
names the field and the rule, leaves the input out, and writes ASCII JSON.
"""

import json
from collections.abc import Sequence
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError


def plain_validation_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors as `type`, `loc` and `msg` only (no input, no context)."""
    return [
        {
            "type": str(error.get("type", "invalid")),
            "loc": [part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
            "msg": str(error.get("msg", "invalid")),
        }
        for error in errors
    ]


def validation_error_response(errors: Sequence[Any]) -> Response:
    """422 `{"detail": [...]}` in ASCII JSON (a lone surrogate comes out escaped)."""
    text = json.dumps({"detail": plain_validation_errors(errors)}, ensure_ascii=True)
    return Response(text, status_code=422, media_type="application/json")


async def invalid_request(_request: Request, exc: Exception) -> Response:
    """An exception handler for RequestValidationError: `validation_error_response`."""
    assert isinstance(exc, RequestValidationError)
    return validation_error_response(exc.errors())
