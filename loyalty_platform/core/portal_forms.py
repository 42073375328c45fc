"""Plain Django forms in the portal theme: our own admin pages (adjustments, imports, invites,
the dashboard's period) render their forms with the same look as the admin's model forms."""

from django import forms
from unfold import widgets as theme

_CLASSES_BY_INPUT_TYPE = {
    "checkbox": theme.CHECKBOX_CLASSES,
    "radio": theme.RADIO_CLASSES,
    "file": theme.FILE_CLASSES,
    "select": theme.SELECT_CLASSES,
}


def _classes_for(widget: forms.Widget) -> list[str]:
    if isinstance(widget, forms.Textarea):
        return theme.TEXTAREA_CLASSES
    if isinstance(widget, forms.Select | forms.SelectMultiple) and not isinstance(
        widget, forms.RadioSelect | forms.CheckboxSelectMultiple
    ):
        return theme.SELECT_CLASSES
    return _CLASSES_BY_INPUT_TYPE.get(getattr(widget, "input_type", ""), theme.INPUT_CLASSES)


class PortalFormMixin:
    """Adds the theme's classes to every widget of the form; put it before forms.Form."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if getattr(field.widget, "input_type", "") == "hidden":
                continue
            existing = field.widget.attrs.get("class", "")
            field.widget.attrs["class"] = " ".join([existing, *_classes_for(field.widget)]).strip()
