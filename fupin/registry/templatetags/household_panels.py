"""The household page's hook for the apps above the registry (``fupin.registry.panels``).

The timeline's entries are rendered here in Python (``format_html``) rather than in the
template language: a household with 50 measures and 100 visits has a few hundred entries, and
a template loop with tags and filters per entry would cost most of the page's time.
"""

from typing import Any

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from fupin.registry.panels import TimelineEntry, household_panels, household_timeline

register = template.Library()


def _entry(entry: TimelineEntry, planned: str, yuan: str) -> SafeString:
    title = (
        format_html('<a href="{}">{}</a>', entry.url, entry.title)
        if entry.url
        else format_html("<span>{}</span>", entry.title)
    )
    parts = [format_html('<span class="nowrap mono">{}</span> ', entry.on.isoformat()), title]
    if entry.status:
        parts.append(
            format_html(' <span class="badge status-{}">{}</span>', entry.status_code, entry.status)
        )
    if entry.planned:
        parts.append(format_html(' <span class="muted">({})</span>', planned))
    if entry.amount is not None:
        parts.append(format_html(' <span class="num">{} {}</span>', f"{entry.amount:,.2f}", yuan))
    if entry.detail:
        parts.append(format_html('<div class="muted">{}</div>', Truncator(entry.detail).chars(140)))
    return format_html(
        '<li class="timeline-entry entry-{}{}">{}</li>',
        entry.kind,
        " planned" if entry.planned else "",
        mark_safe("".join(parts)),  # noqa: S308 (every part above is escaped by format_html)
    )


@register.inclusion_tag("registry/_household_panels.html", takes_context=True)
def household_extras(context: template.Context, household: Any, records: Any) -> dict[str, Any]:
    """The timeline (yearly records beside what happened each year) and the registered panels."""
    request = context.get("request")
    actor = getattr(request, "user", None)
    planned, yuan = _("planned"), _("yuan")
    years = [
        {
            "year": year.year,
            "record": year.record,
            "entries": format_html_join(
                "", "{}", ((_entry(e, planned, yuan),) for e in year.entries)
            ),
        }
        for year in household_timeline(actor, household, records or [])
    ]
    return {
        "household": household,
        "timeline": years,
        "panels": household_panels(actor, household),
        "code_lists": context.get("code_lists"),
        "can_edit": context.get("can_edit"),
        "personal": context.get("personal"),
        "request": request,
    }
