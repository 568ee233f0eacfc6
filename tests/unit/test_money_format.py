"""Prices as the buyer reads them: the server's first paint in the buyer's locale (from
Accept-Language, with Babel) and the product's currency."""

import pytest
from jinja2 import DictLoader, Environment

from services.storefront.entrypoints.money_format import buyer_locale, format_money
from services.storefront.entrypoints.pages import PACKAGE_DIR

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "text"),
    [
        (4990, "EUR", "en_US", "€49.90"),
        (4990, "EUR", "de_DE", f"49,90{NBSP}€"),
        (4990, "EUR", "fr_FR", f"49,90{NBSP}€"),
        (123456789, "EUR", "en_US", "€1,234,567.89"),
        (5, "USD", "en_US", "$0.05"),
        (1500, "JPY", "en_US", "¥1,500"),
        (1500, "JPY", "ja_JP", "￥1,500"),
        (1500, "JPY", "de_DE", f"1.500{NBSP}¥"),
    ],
)
def test_a_price_reads_in_the_buyers_locale_with_the_currencys_own_digits(
    minor: int, currency: str, locale: str, text: str
) -> None:
    assert format_money(minor, currency, locale) == text


def test_a_currency_without_minor_units_is_not_divided_by_a_hundred() -> None:
    assert format_money(1500, "JPY", "en") == "¥1,500"
    assert format_money(1500, "KRW", "en") == "₩1,500"


def test_a_locale_babel_does_not_know_formats_in_english() -> None:
    assert format_money(4990, "EUR", "xx_YY") == "€49.90"


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("de-DE", "de_DE"),
        ("de-DE,de;q=0.9,en;q=0.8", "de_DE"),
        ("en-US", "en_US"),
        ("fr;q=0.5, de-AT;q=0.9", "de_AT"),
        ("xx-YY, pt-BR", "pt_BR"),
        ("zh-Hant-TW", "zh_Hant_TW"),
    ],
)
def test_the_buyers_locale_is_the_first_of_their_languages_that_babel_knows(
    header: str, locale: str
) -> None:
    assert buyer_locale(header) == locale


@pytest.mark.parametrize(
    "header",
    [None, "", "xx-YY", "*", "de;q=0", ";;;,,,", "de-DE;q=abc", "<script>", "de\u00e9", "x" * 5000],
)
def test_an_unknown_missing_or_malformed_accept_language_falls_back_to_english(
    header: str | None,
) -> None:
    assert buyer_locale(header) == "en"


def test_the_money_macro_renders_the_page_locale_as_live_js_does() -> None:
    macros = (PACKAGE_DIR / "templates" / "_macros.html").read_text()
    page = '{% from "_macros.html" import money with context %}{{ money(4990, "EUR") }}'
    env = Environment(loader=DictLoader({"_macros.html": macros, "page.html": page}))
    env.globals["format_money"] = format_money

    template = env.get_template("page.html")

    assert template.render(locale="de_DE") == f"49,90{NBSP}€"
    assert template.render(locale="en_US") == "€49.90"
    assert template.render() == "€49.90"
