"""Template filters for people's pages and emails, in the active language (core.formats):
{{ amount|money:currency }}, {{ amount|money_figure:currency }}, {{ points|number }},
{{ day|day }}, {{ day|day_with_weekday }}, {{ moment|clock }}."""

from datetime import date, datetime, time
from decimal import Decimal

from django import template

from loyalty_platform.core.formats import (
    day_display,
    money_display,
    money_figure,
    number_display,
    time_display,
)

register = template.Library()


@register.filter
def money(amount: Decimal | int | str | None, currency: str) -> str:
    return "" if amount is None or amount == "" else money_display(amount, currency)


@register.filter(name="money_figure")
def money_figure_filter(amount: Decimal | int | str | None, currency: str) -> str:
    return "" if amount is None or amount == "" else money_figure(amount, currency)


@register.filter
def number(value: int | Decimal | None) -> str:
    return "" if value is None or value == "" else number_display(value)


@register.filter
def day(value: date | datetime | None) -> str:
    return "" if value is None else day_display(value)


@register.filter
def day_with_weekday(value: date | datetime | None) -> str:
    return "" if value is None else day_display(value, weekday=True)


@register.filter
def clock(value: datetime | time | None) -> str:
    return "" if value is None else time_display(value)
