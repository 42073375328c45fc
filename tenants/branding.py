"""The organization's brand colour: a #rrggbb hex, and the text colour (white or black) that
reads on it. Customer pages draw the header and buttons in the brand colour with that text
colour, so any valid colour is readable (WCAG 2 contrast ratio of at least 4.5)."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

DEFAULT_BRAND_COLOR = "#1f6f5c"
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
WHITE, BLACK = "#ffffff", "#000000"
MINIMUM_CONTRAST = 4.5


def validate_brand_color(value: str) -> None:
    if not isinstance(value, str) or not HEX_COLOR.match(value):
        raise ValidationError(_("Give a colour as #rrggbb, e.g. #1f6f5c."), code="brand_color_invalid")


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    red, green, blue = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(red) + 0.7152 * _channel(green) + 0.0722 * _channel(blue)


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def safe_brand_color(value: str) -> str:
    """The stored colour, lower-cased; the default for a value saved before validation existed
    (e.g. "banana"), so a page never renders an unreadable header."""
    return value.lower() if isinstance(value, str) and HEX_COLOR.match(value) else DEFAULT_BRAND_COLOR


def text_color_on(background: str) -> str:
    """White or black, whichever contrasts more with the background. For every colour one
    of the two reaches at least 4.58:1, so no colour has to be refused."""
    background = safe_brand_color(background)
    return WHITE if contrast_ratio(background, WHITE) >= contrast_ratio(background, BLACK) else BLACK
