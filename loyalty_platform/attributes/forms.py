from django import forms

from loyalty_platform.attributes.services import attributes_clean
from loyalty_platform.core.errors import DomainError


def clean_attributes_field(*, entity: str, values: object) -> dict:
    """attributes_clean for admin forms: a refusal becomes a form error naming the attribute."""
    try:
        return attributes_clean(entity=entity, values=values)
    except DomainError as error:
        detail = f"{error.extra.get('attribute', '')} {error.extra.get('reason', '')}".strip()
        raise forms.ValidationError(f"{error.code.replace('_', ' ')}: {detail}") from error
