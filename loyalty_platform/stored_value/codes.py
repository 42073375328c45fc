"""Giftcard codes: readable (no 0/O, 1/I), unguessable (45 random bits), with a check
character (Luhn mod 32) so a mistyped code is told apart from an unknown one."""

import re
import secrets

from loyalty_platform.core import errors

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
RANDOM_LENGTH = 9
CODE_LENGTH = RANDOM_LENGTH + 1


def check_character(body: str) -> str:
    base = len(ALPHABET)
    factor = 2
    total = 0
    for char in reversed(body):
        addend = factor * ALPHABET.index(char)
        factor = 1 if factor == 2 else 2
        total += addend // base + addend % base
    return ALPHABET[(base - total % base) % base]


def giftcard_code_generate() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return body + check_character(body)


def giftcard_code_normalize(raw: str) -> str:
    """Upper-case, without spaces or dashes; errors.GIFTCARD_CODE_INVALID() when the
    shape or the check character is wrong."""
    code = re.sub(r"[\s-]", "", raw or "").upper()
    if len(code) != CODE_LENGTH or any(char not in ALPHABET for char in code):
        raise errors.GIFTCARD_CODE_INVALID()
    if check_character(code[:-1]) != code[-1]:
        raise errors.GIFTCARD_CODE_INVALID()
    return code
