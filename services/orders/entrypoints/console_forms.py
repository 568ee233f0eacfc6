"""The console's HTML forms read into the JSON API's own request models, so a form and
the API refuse the same things. A form sends text: blank fields are left out, numbers
are read from their digits, and a price is typed in major units ("49.90")."""

import re
from typing import Any, TypeVar

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from services.common.seller_auth import CSRF_FIELD
from services.orders.entrypoints.console_schemas import StockChange

M = TypeVar("M", bound=BaseModel)

_PRICE = re.compile(r"^([0-9]{1,9})(?:[.,]([0-9]{1,2}))?$")
_UNITS = re.compile(r"^[0-9]{1,9}$")
STOCK_MODES = ("set", "add")


async def read_form(request: Request, model: type[M]) -> M:
    """The posted form as `model` (RequestValidationError when it is not one)."""
    fields = await _fields(request)
    if "price" in fields:
        fields["price_minor"] = _price_minor(fields.pop("price"))
    for name in ("stock", "quantity"):
        if name in fields:
            fields[name] = _units(name, fields[name])
    return _validated(model, fields)


async def read_stock_form(request: Request) -> StockChange:
    """`quantity` and the button pressed (`mode`: set or add) as a StockChange."""
    fields = await _fields(request)
    mode = fields.pop("mode", "set")
    if mode not in STOCK_MODES:
        raise _problem("mode", "press Set or Add")
    quantity = _units("quantity", fields.pop("quantity", ""))
    return _validated(StockChange, {**fields, mode: quantity})


async def _fields(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {
        name: value.strip()
        for name, value in form.items()
        if isinstance(value, str) and name != CSRF_FIELD and value.strip()
    }


def _validated(model: type[M], fields: dict[str, Any]) -> M:
    try:
        return model.model_validate(fields, strict=False)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


def _price_minor(text: str) -> int:
    match = _PRICE.match(text)
    if match is None:
        raise _problem("price", "type the price like 49.90")
    whole, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(cents)


def _units(name: str, text: str) -> int:
    if not _UNITS.match(text):
        raise _problem(name, "type a whole number of units, 0 or more")
    return int(text)


def _problem(field: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"type": "value_error", "loc": ("body", field), "msg": message}])
