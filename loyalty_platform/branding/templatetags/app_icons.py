from django import template

from loyalty_platform.branding.app_icons import app_icon_source, app_icon_url

register = template.Library()


@register.simple_tag
def app_icon(name: str) -> str:
    """The URL of one of the organization's app icons, versioned (browsers keep it for good)."""
    return app_icon_url(name, app_icon_source().version)
