"""Prices as the buyer reads them: in the buyer's locale (from Accept-Language) and the
product's currency, "€49.90" in en-US, "49,90 €" in de-DE. static/live.js's money() words
them the same way with the browser's Intl, so the first paint and the live updates agree."""

import functools
from decimal import Decimal

from babel import Locale, UnknownLocaleError, localedata
from babel.numbers import format_currency, get_currency_precision

DEFAULT_LOCALE = "en"
MAX_ACCEPT_LANGUAGE = 500
"""Longer headers are cut here: nobody names that many languages."""
MAX_LANGUAGES = 12


@functools.cache
def _known_locales() -> tuple[str, ...]:
    return tuple(localedata.locale_identifiers())


def _preferred(accept_language: str) -> list[str]:
    """The header's language tags, best first (by q, then order), as Babel spells them."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language[:MAX_ACCEPT_LANGUAGE].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and quality > 0 and all(c.isascii() and (c.isalnum() or c in "-_") for c in tag):
            ranked.append((-quality, position, tag.replace("-", "_")))
    return [tag for _, _, tag in sorted(ranked)[:MAX_LANGUAGES]]


@functools.lru_cache(maxsize=256)
def buyer_locale(accept_language: str | None) -> str:
    """The first locale of `accept_language` that Babel knows ("de_DE"); "en" when the
    header is missing, malformed or names none."""
    if not accept_language:
        return DEFAULT_LOCALE
    try:
        found = Locale.negotiate(_preferred(accept_language), _known_locales())
    except (UnknownLocaleError, ValueError):
        return DEFAULT_LOCALE
    return str(found) if found is not None else DEFAULT_LOCALE


def format_money(minor: int, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """`minor` units of `currency` in `locale`: 4990, "EUR", "de_DE" -> "49,90 €";
    1500, "JPY", "en" -> "¥1,500" (the currency's own number of digits)."""
    digits = get_currency_precision(currency)
    amount = Decimal(minor).scaleb(-digits)
    try:
        return format_currency(amount, currency, locale=locale)
    except (UnknownLocaleError, ValueError):
        return format_currency(amount, currency, locale=DEFAULT_LOCALE)
