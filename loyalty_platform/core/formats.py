"""Money, numbers, days and times as people read them, in the active language
(docs/decisions/0059-formats-by-language.md): "1,20 €" and "2026 m. gruodžio 3 d." in
Lithuanian, "€ 1,20" and "donderdag 3 december 2026" in Dutch. Babel holds the rules (CLDR).

For pages and emails only. The APIs, webhooks and CSV files keep their wire format
(core.money.money_text: "1.20"), whatever the language."""

from datetime import date, datetime, time
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.dates import format_date, format_time
from babel.numbers import format_currency, format_decimal
from django.conf import settings
from django.utils import translation

from loyalty_platform.core.money import money_exact

# CLDR's names for the widths the templates use.
DAY = "long"  # "3 December 2026", "3. desember 2026"
DAY_WITH_WEEKDAY = "full"  # "donderdag 3 december 2026"
TIME = "short"  # "09:05"


# The platform's English pages have always written "3 December 2026" and "09:05": British
# English, not CLDR's default (American) English.
LOCALE_OF_LANGUAGE = {"en": "en_GB"}


@lru_cache(maxsize=16)
def _locale(language: str) -> Locale:
    return Locale.parse(LOCALE_OF_LANGUAGE.get(language, translation.to_locale(language)))


def active_locale() -> Locale:
    """Babel's locale of the active language (LANGUAGE_CODE when none is active)."""
    return _locale(translation.get_language() or settings.LANGUAGE_CODE)


def money_display(amount: Decimal | int | str, currency: str) -> str:
    """An amount with its currency the language's way, with the currency's decimals:
    "€1.20" (en), "1,20 €" (lt, nb), "€ 1,20" (nl). Babel's spaces are non-breaking."""
    return format_currency(money_exact(Decimal(amount), currency), currency, locale=active_locale())


def money_figure(amount: Decimal | int | str, currency: str) -> str:
    """An amount's figure without its currency, with the currency's decimals, grouped the
    language's way: "1,250.50" (en), "1 250,50" (lt, nb), "1.250,50" (nl); for texts that
    name the currency by its code next to it ("25,00 EUR")."""
    return format_currency(
        money_exact(Decimal(amount), currency), currency, format="#,##0", locale=active_locale()
    )


def number_display(value: int | Decimal) -> str:
    """A count grouped the language's way: "1,250" (en), "1 250" (lt, nb), "1.250" (nl)."""
    return format_decimal(value, locale=active_locale())


def day_display(day: date | datetime, *, weekday: bool = False) -> str:
    """A day in words: "3 December 2026"... or with the weekday, "torsdag 3. desember 2026".
    A moment is shown as its own day: convert it to the organization's zone first."""
    return format_date(day, DAY_WITH_WEEKDAY if weekday else DAY, locale=active_locale())


def time_display(moment: datetime | time) -> str:
    """A time of day, as given (already in the organization's zone): "09:05"."""
    return format_time(moment, TIME, locale=active_locale())
