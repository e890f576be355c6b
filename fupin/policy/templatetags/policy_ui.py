"""Filters that show criterion values and thresholds in their unit."""

from decimal import Decimal
from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()

OPS = {">": ">", ">=": "≥", "<": "<", "<=": "≤", "==": "=", "is": "=", "in": "∈"}


@register.filter
def in_unit(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if unit == "yuan":
        return f"{Decimal(value):,.2f}"
    if unit == "percent":
        return f"{float(value):.2f}%"
    if unit == "months":
        return _("%(n)s months") % {"n": value}
    return str(value)


@register.filter
def op_symbol(op: str) -> str:
    return OPS.get(op, op)


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key, "") if hasattr(mapping, "get") else ""
    except TypeError:
        return ""
