from decimal import Decimal, InvalidOperation

from loyalty_platform.attributes.models import AttributeDefinition
from loyalty_platform.core import errors
from loyalty_platform.core.errors import DomainError

MAX_TEXT = 500


def _invalid(name: str, reason: str) -> DomainError:
    return errors.ATTRIBUTE_INVALID(attribute=name, reason=reason)


def _clean_value(definition: AttributeDefinition, value):
    kind = definition.kind
    if kind == AttributeDefinition.Kind.TEXT:
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise _invalid(definition.name, f"a text of at most {MAX_TEXT} characters")
        return value
    if kind == AttributeDefinition.Kind.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise _invalid(definition.name, "a number")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise _invalid(definition.name, "a number") from None
        if not number.is_finite():
            raise _invalid(definition.name, "a number")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == AttributeDefinition.Kind.BOOLEAN:
        if not isinstance(value, bool):
            raise _invalid(definition.name, "true or false")
        return value
    if kind == AttributeDefinition.Kind.CHOICE:
        if value not in definition.choices:
            raise _invalid(definition.name, "one of " + ", ".join(map(str, definition.choices)))
        return value
    if not isinstance(value, list) or any(item not in definition.choices for item in value):
        raise _invalid(definition.name, "a list of " + ", ".join(map(str, definition.choices)))
    return list(dict.fromkeys(value))


def attributes_clean(*, entity: str, values: object) -> dict:
    """Check values against the entity's attribute definitions; unknown names, wrong types
    and missing required attributes are refused (DomainError attribute_invalid / _unknown)."""
    if not isinstance(values, dict):
        raise errors.ATTRIBUTES_INVALID()
    definitions = {d.name: d for d in AttributeDefinition.objects.filter(entity=entity)}
    for name in values:
        if name not in definitions:
            raise errors.ATTRIBUTE_UNKNOWN(attribute=str(name)[:60])
    cleaned = {}
    for name, definition in definitions.items():
        if name not in values or values[name] in (None, "", []):
            if definition.required:
                raise _invalid(name, "required")
            continue
        cleaned[name] = _clean_value(definition, values[name])
    return cleaned


def attributes_clean_each(*, entity: str, values: dict) -> tuple[dict, dict[str, str]]:
    """As attributes_clean, for a form: every attribute is checked, and the refusals come back
    together, by attribute name (reason texts), with the values that passed."""
    cleaned, refused = {}, {}
    for definition in AttributeDefinition.objects.filter(entity=entity):
        value = values.get(definition.name)
        if value in (None, "", []):
            if definition.required:
                refused[definition.name] = "required"
            continue
        try:
            cleaned[definition.name] = _clean_value(definition, value)
        except DomainError as error:
            refused[definition.name] = error.extra.get("reason", error.code)
    return cleaned, refused
