"""The registry's web pages: household list, household page, forms and the audit log.

Views stay thin: they parse input, call an access function, a selector or a service, and
render. Missing and out-of-scope households both answer 404; a read-only role on an edit page
gets 403.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from fupin.accounts.roles import EDITOR_ROLES
from fupin.accounts.scope import actor_scope
from fupin.core.audit import ChangeSource
from fupin.core.code_lists import code_lists
from fupin.core.views import (
    Fieldsets,
    access_or_404,
    form_page,
    post_data,
    save_valid_form,
    saved_redirect,
)
from fupin.registry.access import access_household_by_no, access_member_by_public_id
from fupin.registry.filters import HouseholdFilterForm
from fupin.registry.forms import (
    AuditFilterForm,
    HouseholdForm,
    LeaveForm,
    MemberForm,
    RecordForm,
    RegisterForm,
    division_filter_choices,
    household_initial,
    member_initial,
    record_initial,
    register_initial,
)
from fupin.registry.models import Household, Member
from fupin.registry.selectors import (
    active_member_counts,
    audit_event_list,
    audit_event_view,
    household_before_after,
    household_history,
    household_list,
    household_members,
    household_records,
    latest_records,
)
from fupin.registry.services import (
    household_register,
    household_update,
    member_add,
    member_leave,
    member_update,
    record_save,
)
from fupin.registry.templatetags.registry_ui import ACTION_LABELS, ALL_CODE_LISTS

PAGE_SIZE = 50
LIST_CODE_LISTS = ("status", "category", "main_cause")


def _household(request: HttpRequest, household_no: str, *, for_edit: bool = False) -> Household:
    return access_or_404(access_household_by_no, request.user, household_no, for_edit=for_edit)


def _member(request: HttpRequest, household: Household, public_id: str) -> Member:
    member = access_or_404(access_member_by_public_id, request.user, public_id, for_edit=True)
    if member.household_id != household.pk:
        raise Http404
    return member


def _register_field(key: str) -> str:
    """A service's error key as the register form's field (``members.0.id_number`` → ``id_number``)."""
    if key.startswith("members."):
        return key.split(".", 2)[2]
    return {"division_code": "division", "members": "relation"}.get(key, key)


def _household_field(key: str) -> str:
    return "division" if key == "division_code" else key


def _clean_query(form: Form, defaults: dict[str, str] | None = None) -> QueryDict:
    """The valid, non-empty, non-default filters: what page and sort links carry along."""
    query = QueryDict(mutable=True)
    for key, value in getattr(form, "cleaned_data", {}).items():
        if value not in (None, "") and (defaults or {}).get(key) != value:
            query[key] = str(value)
    return query


def _is_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    if htmx is None or not htmx:
        return False
    return not htmx.boosted and not htmx.history_restore_request


@login_required
@require_GET
def household_list_view(request: HttpRequest) -> HttpResponse:
    data = request.GET.copy()
    typed_code = data.get("division_code", "").strip()
    if typed_code:  # a typed division code wins over the select
        data["division"] = typed_code
    form = HouseholdFilterForm(data)
    form.is_valid()
    filters = form.to_filters()
    paginator = Paginator(household_list(actor=request.user, filters=filters), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    households: list[Household] = list(page.object_list)
    latest = latest_records(households)
    counts = active_member_counts(households)
    scope = actor_scope(request.user)
    rows = [
        {
            "household": h,
            "latest": latest.get(h.pk),
            "members": counts.get(h.pk, 0),
            "personal": scope.can_see_personal_data(h.division.path),
        }
        for h in households
    ]
    context = {
        "form": form,
        "division_choices": division_filter_choices(request.user, filters.division_code),
        "selected_division": filters.division_code,
        "page": page,
        "rows": rows,
        "query": _clean_query(form, defaults={"ordering": "household_no"}),
        "ordering": filters.ordering,
        "code_lists": code_lists(*LIST_CODE_LISTS),
        "can_register": bool(scope.paths(EDITOR_ROLES)),
    }
    template = (
        "registry/_household_results.html"
        if _is_partial(request)
        else "registry/household_list.html"
    )
    return render(request, template, context)


@login_required
@require_GET
def household_detail_view(request: HttpRequest, household_no: str) -> HttpResponse:
    household = _household(request, household_no)
    scope = actor_scope(request.user)
    path = household.division.path
    members = list(household_members(household))
    context = {
        "household": household,
        "members": members,
        "active_members": [m for m in members if m.is_active],
        "former_members": [m for m in members if not m.is_active],
        "comparison": household_before_after(household),
        "records": household_records(household),
        "history": household_history(actor=request.user, household=household),
        "personal": scope.can_see_personal_data(path),
        "can_edit": scope.can_edit(path),
        "code_lists": code_lists(*ALL_CODE_LISTS),
    }
    return render(request, "registry/household_detail.html", context)


def _form_page(
    request: HttpRequest,
    form: Form,
    *,
    title: str,
    fieldsets: Fieldsets,
    household: Household | None = None,
    cancel_url: str = "",
    **context: Any,
) -> HttpResponse:
    """A registry form page: Households › the household; Cancel goes back to the household."""
    breadcrumbs = [(reverse("registry:household-list"), _("Households"))]
    if household is not None:
        cancel_url = reverse("registry:household-detail", args=[household.household_no])
        breadcrumbs.append((cancel_url, household.household_no))
    return form_page(
        request,
        form,
        title=title,
        breadcrumbs=breadcrumbs,
        cancel_url=cancel_url,
        fieldsets=fieldsets,
        household=household,
        **context,
    )


def _posted(request: HttpRequest) -> QueryDict | None:
    """The form data of a POST; ``None`` (an unbound form) otherwise."""
    return post_data(request)


def _household_form(
    request: HttpRequest,
    household: Household,
    form: Form,
    *,
    title: str,
    fieldsets: Fieldsets,
    save: Callable[[], object],
    rename: Callable[[str], str] | None = None,
    **extra: Any,
) -> HttpResponse:
    """A form page of one household: a valid form runs ``save``, then shows the household."""
    response = save_valid_form(form, save, lambda saved: _saved(request, household), rename=rename)
    if response is not None:
        return response
    return _form_page(request, form, title=title, fieldsets=fieldsets, household=household, **extra)


def _saved(request: HttpRequest, household: Household) -> HttpResponseRedirect:
    return saved_redirect(
        request, reverse("registry:household-detail", args=[household.household_no])
    )


@login_required
@require_http_methods(["GET", "POST"])
def household_register_view(request: HttpRequest) -> HttpResponse:
    if not actor_scope(request.user).paths(EDITOR_ROLES):
        raise PermissionDenied
    if request.method != "POST":
        form = RegisterForm(actor=request.user, initial=register_initial())
    else:
        form = RegisterForm(request.POST, actor=request.user)
        response = save_valid_form(
            form,
            lambda: household_register(
                actor=request.user,
                source=ChangeSource.web(),
                household=form.household_data(),
                members=[form.member_data()],
                record=form.record_data(household_size=1),
                household_no=(form.cleaned_data.get("household_no") or "").strip(),
            ),
            lambda household: _saved(request, household),
            rename=_register_field,
        )
        if response is not None:
            return response
    return _form_page(
        request,
        form,
        title=_("Register a household"),
        fieldsets=[
            (_("Household facts"), RegisterForm.household_fields),
            (_("Head's details"), MemberForm.member_fields),
            (_("First yearly record"), RecordForm.record_fields),
        ],
        cancel_url=reverse("registry:household-list"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def household_edit_view(request: HttpRequest, household_no: str) -> HttpResponse:
    household = _household(request, household_no, for_edit=True)
    form = HouseholdForm(
        post_data(request), actor=request.user, initial=household_initial(household)
    )
    return _household_form(
        request,
        household,
        form,
        title=_("Edit household %(no)s") % {"no": household.household_no},
        fieldsets=[(None, HouseholdForm.household_fields)],
        rename=_household_field,
        save=lambda: household_update(
            actor=request.user,
            source=ChangeSource.web(),
            household=household,
            data=form.household_data(),
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_add_view(request: HttpRequest, household_no: str) -> HttpResponse:
    household = _household(request, household_no, for_edit=True)
    form = MemberForm(post_data(request), actor=request.user)
    return _household_form(
        request,
        household,
        form,
        title=_("Add a member to household %(no)s") % {"no": household.household_no},
        fieldsets=[(None, MemberForm.member_fields)],
        save=lambda: member_add(
            actor=request.user,
            source=ChangeSource.web(),
            household=household,
            data=form.member_data(),
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_edit_view(request: HttpRequest, household_no: str, public_id: str) -> HttpResponse:
    household = _household(request, household_no, for_edit=True)
    member = _member(request, household, public_id)
    form = MemberForm(post_data(request), actor=request.user, initial=member_initial(member))
    return _household_form(
        request,
        household,
        form,
        title=_("Edit member %(name)s") % {"name": member.name},
        fieldsets=[(None, MemberForm.member_fields)],
        save=lambda: member_update(
            actor=request.user,
            source=ChangeSource.web(),
            member=member,
            data=form.member_data(),
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_leave_view(request: HttpRequest, household_no: str, public_id: str) -> HttpResponse:
    household = _household(request, household_no, for_edit=True)
    member = _member(request, household, public_id)
    form = LeaveForm(post_data(request))
    return _household_form(
        request,
        household,
        form,
        title=_("%(name)s leaves household %(no)s")
        % {"name": member.name, "no": household.household_no},
        fieldsets=[(None, ("left_reason", "left_on"))],
        submit_label=_("Record leaving"),
        save=lambda: member_leave(
            actor=request.user,
            source=ChangeSource.web(),
            member=member,
            reason=form.cleaned_data["left_reason"],
            left_on=form.cleaned_data["left_on"],
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def record_edit_view(
    request: HttpRequest, household_no: str, year: int | None = None
) -> HttpResponse:
    household = _household(request, household_no, for_edit=True)
    records = household_records(household)
    initial: dict[str, Any] = {"excluded_income": Decimal(0)}
    if year is not None:
        record = next((r for r in records if r.survey_year == year), None)
        if record is None:
            raise Http404
        initial = record_initial(record)
    elif records:
        initial = {**record_initial(records[-1]), "survey_year": records[-1].survey_year + 1}
    size = sum(1 for m in household_members(household) if m.is_active)
    form = RecordForm(post_data(request), actor=request.user, initial=initial)
    if year is not None:
        # The year of an existing record is part of its address, not an input.
        form.fields["survey_year"].disabled = True
    title = (
        _("Yearly record %(year)s of household %(no)s")
        % {"year": year, "no": household.household_no}
        if year is not None
        else _("New yearly record of household %(no)s") % {"no": household.household_no}
    )
    return _household_form(
        request,
        household,
        form,
        title=title,
        fieldsets=[(None, RecordForm.record_fields)],
        note=_("Household size: %(n)s (the household's current members).") % {"n": size},
        save=lambda: record_save(
            actor=request.user,
            source=ChangeSource.web(),
            household=household,
            data=form.record_data(household_size=size),
        ),
    )


@login_required
@require_GET
def audit_event_list_view(request: HttpRequest) -> HttpResponse:
    if not actor_scope(request.user).can_read_audit():
        raise PermissionDenied
    form = AuditFilterForm(request.GET, actions=ACTION_LABELS)
    events = audit_event_list(actor=request.user)
    if form.is_valid():
        if form.cleaned_data["action"]:
            events = events.filter(action=form.cleaned_data["action"])
        if form.cleaned_data["household_no"]:
            events = events.filter(household_no=form.cleaned_data["household_no"].strip())
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "views": [audit_event_view(e, actor=request.user) for e in page.object_list],
        "query": _clean_query(form),
        "code_lists": code_lists(*ALL_CODE_LISTS),
    }
    return render(request, "registry/audit_list.html", context)
