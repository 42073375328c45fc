"""Checks for text that ends up in places where control characters do harm (email headers,
log lines, CSV exports), and for digits that int() takes."""

import re

# C0 control characters and DEL: never part of a name, a code or an address.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# The same, but line breaks and tabs are allowed (a message typed on several lines).
_CONTROL_BUT_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Runs of them, each replaced by one space in header_safe().
_CONTROL_RUNS = re.compile(r"[\x00-\x1f\x7f]+")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    return bool((_CONTROL_BUT_LINES if multiline else _CONTROL).search(text))


def header_safe(text: str) -> str:
    """`text` on one line, for an email subject or display name: every run of control
    characters becomes one space, so a stored value can never add a header."""
    return _CONTROL_RUNS.sub(" ", text).strip()


def ascii_digits(text: str) -> bool:
    """Only 0-9, at least one. str.isdigit() also says yes to "²" or "৩", which int()
    refuses (or reads as another number)."""
    return bool(_ASCII_DIGITS.fullmatch(text))
