"""Template helpers shared by every page."""

from django import template

register = template.Library()

_CLASS_BY_WIDGET = {"select": "form-select", "selectmultiple": "form-select", "checkbox": "form-check-input"}


@register.filter
def bootstrap(field):
    """Render a bound field's widget with Bootstrap's class, marked invalid when it has errors."""
    css = _CLASS_BY_WIDGET.get(field.widget_type, "form-control")
    if field.errors:
        css += " is-invalid"
    existing = field.field.widget.attrs.get("class", "")
    return field.as_widget(attrs={"class": f"{existing} {css}".strip()})
