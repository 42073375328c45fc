"""Money, counts, days and times on pages and in emails follow the active language (CLDR's rules
through Babel), while the wire format (money_text) stays the same in every language."""

from datetime import date, time
from decimal import Decimal

import pytest
from django.utils import translation

from loyalty_platform.core.formats import day_display, money_display, number_display, time_display
from loyalty_platform.core.money import money_text

NBSP = "\xa0"


@pytest.mark.parametrize(
    "language, money, count, day, day_with_weekday",
    [
        ("en", "€1,250.20", "1,250", "3 December 2026", "Thursday, 3 December 2026"),
        (
            "lt",
            f"1{NBSP}250,20{NBSP}€",
            f"1{NBSP}250",
            "2026 m. gruodžio 3 d.",
            "2026 m. gruodžio 3 d., ketvirtadienis",
        ),
        ("nb", f"1{NBSP}250,20{NBSP}€", f"1{NBSP}250", "3. desember 2026", "torsdag 3. desember 2026"),
        ("nl", f"€{NBSP}1.250,20", "1.250", "3 december 2026", "donderdag 3 december 2026"),
    ],
)
def test_each_language_writes_money_counts_and_days_its_own_way(
    language, money, count, day, day_with_weekday
):
    with translation.override(language):
        assert money_display(Decimal("1250.2"), "EUR") == money
        assert number_display(1250) == count
        assert day_display(date(2026, 12, 3)) == day
        assert day_display(date(2026, 12, 3), weekday=True) == day_with_weekday
        assert time_display(time(0, 30)) == "00:30"
        assert money_text(Decimal("1250.2"), "EUR") == "1250.20"


def test_money_keeps_the_currencys_decimals():
    with translation.override("en"):
        assert money_display(Decimal("5"), "JPY") == "JP¥5"
        assert money_display("12.5", "NOK") == "NOK12.50"
