"""Presentation helpers of the registry pages: code labels, masking, yes/no, sort links, and
the audit trail's field names and values in the reader's language."""

from decimal import Decimal
from typing import Any

from django import template
from django.db.models import Model, TextChoices
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from fupin.accounts.roles import RankLevel, Role
from fupin.accounts.scope import actor_scope
from fupin.core.code_lists import CodeList
from fupin.core.masking import mask_id_number, mask_phone
from fupin.core.models import AuditEvent
from fupin.divisions.models import Division
from fupin.registry.models import Household, Member, YearlyRecord

register = template.Library()

ACTION_LABELS: dict[str, Any] = {
    "household.register": _("household registered"),
    "household.update": _("household changed"),
    "member.add": _("member added"),
    "member.update": _("member changed"),
    "member.leave": _("member left"),
    "member.move_out": _("member moved out"),
    "member.move_in": _("member moved in"),
    "record.create": _("yearly record added"),
    "record.update": _("yearly record changed"),
    "user.create": _("user created"),
    "role.assign": _("role assigned"),
    "token.create": _("API token created"),
    "token.revoke": _("API token revoked"),
    "divisions.load": _("divisions loaded"),
}

# Audit keys that hold a value of a code list, and the list.
CODE_KEYS = {
    "standard": "standard",
    "category": "category",
    "main_cause": "main_cause",
    "other_causes": "main_cause",
    "status": "status",
    "sex": "sex",
    "relation": "relation",
    "ethnicity": "ethnicity",
    "education": "education",
    "schooling": "schooling",
    "health": "health",
    "labour": "labour",
    "work_place": "work_place",
    "housing_grade": "housing_grade",
}
ALL_CODE_LISTS = tuple(sorted(set(CODE_KEYS.values())))

_EXTRA_LABELS: dict[str, Any] = {
    "division_code": _("division code"),
    "members": _("members"),
    "member": _("member"),
    "record": _("yearly record"),
    "household": _("household"),
    "person": _("person"),
    "from": _("from household"),
    "to": _("to household"),
    "per_capita_net_income": _("per-capita net income"),
    "username": _("username"),
    "role": _("role"),
    "division": _("division"),
    "unit": _("unit"),
    "rank_level": _("rank level"),
    "token_prefix": _("token prefix"),
    "created": _("created"),
    "updated": _("updated"),
}
# Audit keys whose values are choices of accounts (a role, a rank level).
CHOICE_KEYS: dict[str, type[TextChoices]] = {"role": Role, "rank_level": RankLevel}


def _model_labels(*models: type[Model]) -> dict[str, Any]:
    labels: dict[str, Any] = {}
    for model in models:
        for f in model._meta.get_fields():
            verbose = getattr(f, "verbose_name", None)
            if verbose is not None and f.name not in labels:
                labels[f.name] = verbose
    return labels


FIELD_LABELS: dict[str, Any] = {
    **_model_labels(Household, Member, YearlyRecord),
    **_EXTRA_LABELS,
}
# Changed fields are listed in the order of the models' fields, not alphabetically.
FIELD_ORDER = {key: index for index, key in enumerate(FIELD_LABELS)}
MAX_INLINE = 80
# Keys of nested snapshots that mean nothing to a reader (internal ids, the active flag).
HIDDEN_NESTED_KEYS = frozenset({"member", "is_active"})


@register.filter
def field_label(key: str) -> str:
    label = FIELD_LABELS.get(key)
    return str(label) if label is not None else key


@register.filter
def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


@register.filter
def source_text(event: AuditEvent) -> str:
    """The source's label, with the import file name, device or command when known."""
    label = str(event.get_source_display())
    detail = event.source_detail or {}
    extra = detail.get("file_name") or detail.get("device") or detail.get("command") or ""
    return f"{label}: {extra}" if extra else label


@register.filter
def yes_no(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return str(_("Yes")) if value else str(_("No"))


@register.filter
def masked_id(value: str, allowed: bool) -> str:
    return value if allowed else mask_id_number(value)


@register.filter
def masked_phone(value: str, allowed: bool) -> str:
    return value if allowed else mask_phone(value)


@register.filter
def signed(value: Any) -> str:
    """A change with its sign: +1,234.50 / −300.00 / +1."""
    if value is None:
        return ""
    text = f"{abs(value):,.2f}" if isinstance(value, Decimal) else f"{abs(int(value)):,}"
    if value > 0:
        return "+" + text
    if value < 0:
        return "−" + text
    return text


@register.filter
def money(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):,.2f}"


@register.simple_tag(takes_context=True)
def code_label(context: template.Context, list_key: str, code: Any) -> str:
    lists: dict[str, CodeList] = context.get("code_lists") or {}
    if isinstance(code, list):
        return "、".join(code_label(context, list_key, c) for c in code) or "—"
    if code is None or code == "":
        return "—"
    code_list = lists.get(list_key)
    return code_list.label(str(code)) if code_list else str(code)


def sort_state(context: template.Context, key: str) -> dict[str, str]:
    """Where a column header links to, and its arrow, given the current ``ordering``."""
    current = context.get("ordering") or "household_no"
    if current == key:
        return {"next": "-" + key, "arrow": "▲", "aria": "ascending"}
    if current == "-" + key:
        return {"next": key, "arrow": "▼", "aria": "descending"}
    return {"next": key, "arrow": "", "aria": "none"}


@register.inclusion_tag("registry/_sort_header.html", takes_context=True)
def sort_header(
    context: template.Context, key: str, label: str, numeric: bool = False
) -> dict[str, Any]:
    """A column header that sorts the list by ``key``, keeping the filters."""
    return {
        "state": sort_state(context, key),
        "label": label,
        "numeric": numeric,
        "query": context.get("query"),
    }


@register.simple_tag(takes_context=True)
def actor_grants(context: template.Context) -> list[dict[str, str]]:
    """The signed-in user's roles with the names of their divisions (one query per request)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    cached: list[dict[str, str]] | None = getattr(user, "_fupin_grants_view", None)
    if cached is not None:
        return cached
    grants = actor_scope(user).grants
    names = dict(
        Division.objects.filter(code__in={g.division_code for g in grants}).values_list(
            "code", "name"
        )
    )
    view = [
        {
            "role": str(Role(g.role).label) if g.role in Role.values else g.role,
            "division": names.get(g.division_code, g.division_code),
        }
        for g in sorted(grants, key=lambda g: (g.path, g.role))
    ]
    user._fupin_grants_view = view
    return view


def _format(context: template.Context, key: str, value: Any) -> str:
    if value is None or value == "" or isinstance(value, bool):
        return yes_no(value)
    if key in CODE_KEYS and isinstance(value, str | list):
        return code_label(context, CODE_KEYS[key], value)
    choices = CHOICE_KEYS.get(key)
    if choices is not None and value in choices.values:
        return str(choices(value).label)
    if isinstance(value, dict):
        # Nested snapshots (a registered member, a first record): the filled-in facts only.
        return "; ".join(
            f"{capfirst(field_label(k))}: {_format(context, k, v)}"
            for k, v in value.items()
            if v not in (None, "", []) and k not in HIDDEN_NESTED_KEYS
        )
    if isinstance(value, list):
        return "、".join(_format(context, key, v) for v in value) or "—"
    return str(value)


def _lines(context: template.Context, key: str, value: Any) -> list[str]:
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        return [_format(context, key, v) for v in value]
    return [_format(context, key, value)]


@register.simple_tag(takes_context=True)
def audit_changes(context: template.Context, view: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields an audit event changed, each with its label and before → after as lines."""
    before: dict[str, Any] = view.get("before") or {}
    after: dict[str, Any] = view.get("after") or {}
    keys = sorted(
        [*after, *(k for k in before if k not in after)],
        key=lambda k: FIELD_ORDER.get(k, len(FIELD_ORDER)),
    )
    rows = []
    for key in keys:
        old = _lines(context, key, before[key]) if key in before else []
        new = _lines(context, key, after[key]) if key in after else []
        rows.append(
            {
                "label": capfirst(field_label(key)),
                "before": old,
                "after": new,
                "count": max(len(old), len(new)),
                "long": len(old) > 1 or len(new) > 1 or any(len(t) > MAX_INLINE for t in old + new),
            }
        )
    return rows
