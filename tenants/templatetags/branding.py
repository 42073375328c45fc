from django import template

from tenants.branding import safe_brand_color, text_color_on

register = template.Library()


@register.filter
def brand_color(value: str) -> str:
    """The organization's brand colour, safe to put in CSS."""
    return safe_brand_color(value)


@register.filter
def brand_text_color(value: str) -> str:
    """White or black: the text colour that reads on the brand colour."""
    return text_color_on(value)
