"""Presentation helpers of the assistance pages."""

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from fupin.assistance.models import MilestoneKind

register = template.Library()


@register.filter
def milestone_label(kind: str) -> str:
    return str(MilestoneKind(kind).label) if kind in MilestoneKind.values else kind


@register.filter
def days_since(day: Any) -> int:
    if not isinstance(day, dt.date):
        return 0
    return (timezone.localdate() - day).days
