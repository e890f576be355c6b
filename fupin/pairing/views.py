"""The pairing pages: coverage (drill-down), the automatic proposal, a household's officials and
visits, officials, overdue visits, key villages and their work teams, and the policy rules.

Views stay thin: they parse input, call an access function, a selector or a service, and render.
Missing and out-of-scope records both answer 404; a read-only role on a change gets 403.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from fupin.accounts.roles import Role
from fupin.accounts.scope import actor_scope
from fupin.core import errors
from fupin.core.audit import ChangeSource
from fupin.core.code_lists import code_lists
from fupin.core.views import (
    access_or_404,
    form_page,
    save_valid_form,
    saved_redirect,
    show_service_errors,
)
from fupin.pairing import access, selectors, services
from fupin.pairing.forms import (
    AssignForm,
    AttendanceForm,
    EndForm,
    QuotaForm,
    TeamEndForm,
    TeamMemberForm,
    VisitForm,
)
from fupin.pairing.models import Pairing, TeamMember
from fupin.pairing.orphans import orphans as orphan_members
from fupin.pairing.policy import quotas_on, today, visit_rules_on
from fupin.pairing.proposal import LEVELS, proposal_apply, propose
from fupin.registry.models import Household

LEVEL_LABELS = {
    "village": gettext_lazy("same village"),
    "township": gettext_lazy("same township"),
    "county": gettext_lazy("same county"),
    "city": gettext_lazy("same city"),
    "anywhere": gettext_lazy("elsewhere"),
}
PAGE_SIZE = 50


def _form_page(
    request: HttpRequest,
    form: Form,
    *,
    title: str,
    cancel_url: str,
    household: Household | None = None,
    **context: Any,
) -> HttpResponse:
    """A pairing form page: Pairing › the household."""
    breadcrumbs = [(reverse("pairing:coverage"), _("Pairing"))]
    if household is not None:
        url = reverse("pairing:household", args=[household.household_no])
        breadcrumbs.append((url, household.household_no))
    return form_page(
        request,
        form,
        title=title,
        breadcrumbs=breadcrumbs,
        cancel_url=cancel_url,
        household=household,
        **context,
    )


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


# --- Coverage and proposal ----------------------------------------------------------------------


@login_required
@require_GET
def coverage_view(request: HttpRequest) -> HttpResponse:
    report = access_or_404(
        selectors.coverage, actor=request.user, division_code=request.GET.get("division", "")
    )
    page = _page_number(request)
    offset = (page - 1) * PAGE_SIZE
    uncovered = list(
        selectors.uncovered_households(actor=request.user, division=report.division)[
            offset : offset + PAGE_SIZE
        ]
    )
    return render(
        request,
        "pairing/coverage.html",
        {
            "report": report,
            "breadcrumb": selectors.breadcrumb(request.user, report.division),
            "uncovered": uncovered,
            "page": page,
            "has_next": offset + PAGE_SIZE < report.total.uncovered,
            "can_manage": access.can_manage(actor_scope(request.user), report.division.path),
            "code_lists": code_lists("status"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def proposal_view(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("division", "") or request.POST.get("division", "")
    division = access_or_404(selectors.scope_root, request.user, code)
    can_apply = access.can_manage(actor_scope(request.user), division.path)
    if request.method == "POST":
        if not can_apply:
            raise PermissionDenied
        proposal = proposal_apply(
            actor=request.user, source=ChangeSource.web(), division=division, day=today()
        )
        messages.success(
            request,
            _("%(n)d pairings written; %(short)d households still without an official.")
            % {"n": proposal.applied, "short": proposal.shortfall},
        )
        return redirect(f"{reverse('pairing:coverage')}?division={division.code}")
    proposal = propose(division=division, day=today())
    return render(
        request,
        "pairing/proposal.html",
        {
            "division": division,
            "breadcrumb": selectors.breadcrumb(request.user, division),
            "proposal": proposal,
            "levels": [
                (LEVEL_LABELS[str(level)], proposal.by_level.get(str(level), 0)) for level in LEVELS
            ],
            "can_apply": can_apply,
        },
    )


# --- A household's officials and visits ---------------------------------------------------------


@login_required
@require_GET
def household_view(request: HttpRequest, household_no: str) -> HttpResponse:
    household = access_or_404(access.access_household_for_pairing, request.user, household_no)
    scope = actor_scope(request.user)
    day = today()
    pairings = list(selectors.household_pairings(household))
    overdue = selectors.household_overdue_ids(household, day)
    return render(
        request,
        "pairing/household.html",
        {
            "household": household,
            "pairings": pairings,
            "overdue": overdue,
            "visits": selectors.household_visits(household, limit=100),
            "can_manage": access.can_manage(scope, household.division.path),
            "can_visit": access.may_record_visit(request.user, household),
            "registry_visible": scope.can_see(household.division.path),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def assign_view(request: HttpRequest, household_no: str) -> HttpResponse:
    household = access_or_404(
        access.access_household_for_pairing, request.user, household_no, for_manage=True
    )
    day = today()
    officials = selectors.official_choices(request.user, household, day)
    orphans = list(orphan_members(day).filter(household=household))
    form = AssignForm(
        request.POST or None,
        officials=officials,
        orphans=orphans,
        initial={"started_on": day},
    )
    response = save_valid_form(
        form,
        lambda: services.pairing_assign(
            actor=request.user,
            source=ChangeSource.web(),
            official=form.official_obj(),
            household=household,
            kind=form.cleaned_data["kind"],
            member=form.member_obj(),
            started_on=form.cleaned_data["started_on"],
        ),
        lambda saved: saved_redirect(
            request, reverse("pairing:household", kwargs={"household_no": household.household_no})
        ),
    )
    if response is not None:
        return response
    return _form_page(
        request,
        form,
        title=_("Assign a responsible official"),
        household=household,
        cancel_url=reverse("pairing:household", args=[household.household_no]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def end_view(request: HttpRequest, pairing_id: str) -> HttpResponse:
    pairing = access_or_404(
        access.access_pairing_by_public_id, request.user, pairing_id, for_manage=True
    )
    form = EndForm(request.POST or None, initial={"ended_on": today()})
    response = save_valid_form(
        form,
        lambda: services.pairing_end(
            actor=request.user,
            source=ChangeSource.web(),
            pairing=pairing,
            ended_on=form.cleaned_data["ended_on"],
            reason=form.cleaned_data.get("reason") or "",
        ),
        lambda saved: saved_redirect(
            request,
            reverse("pairing:household", kwargs={"household_no": pairing.household.household_no}),
        ),
    )
    if response is not None:
        return response
    return _form_page(
        request,
        form,
        title=_("End the pairing with %(name)s") % {"name": pairing.official.full_name},
        household=pairing.household,
        cancel_url=reverse("pairing:household", args=[pairing.household.household_no]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def visit_add_view(request: HttpRequest, household_no: str) -> HttpResponse:
    household = access_or_404(
        access.access_household_for_pairing, request.user, household_no, for_visit=True
    )
    own = access.actor_official(request.user)
    candidates = selectors.visit_officials(household)
    if own is not None and any(o.pk == own.pk for o in candidates):
        candidates = [o for o in candidates if o.pk == own.pk]
    form = VisitForm(
        request.POST or None,
        request.FILES or None,
        officials=candidates,
        initial={"visited_on": today()},
    )
    if request.method == "POST" and form.is_valid():
        official = form.official_obj()
        try:
            if official is None:
                raise ValidationError({"official": _("Choose an official.")})
            visit = services.visit_log(
                actor=request.user,
                source=ChangeSource.web(),
                official=official,
                household=household,
                data=form.data_obj(),
                photos=form.cleaned_data.get("photos") or [],
            )
        except ValidationError as exc:
            show_service_errors(form, exc)
        except errors.PermissionDenied:
            raise PermissionDenied from None
        else:
            return saved_redirect(
                request, reverse("pairing:visit", kwargs={"visit_id": visit.public_id})
            )
    return _form_page(
        request,
        form,
        title=_("Record a visit"),
        household=household,
        multipart=True,
        cancel_url=reverse("pairing:household", args=[household.household_no]),
    )


@login_required
@require_GET
def visit_view(request: HttpRequest, visit_id: str) -> HttpResponse:
    visit = access_or_404(access.access_visit_by_public_id, request.user, visit_id)
    return render(
        request,
        "pairing/visit.html",
        {"visit": visit, "photos": list(visit.photos.all()), "household": visit.household},
    )


@login_required
@require_GET
def visit_photo_view(request: HttpRequest, visit_id: str, photo_id: str) -> FileResponse:
    photo = access_or_404(access.access_visit_photo, request.user, visit_id, photo_id)
    return photo_response(photo)


def photo_response(photo: Any) -> FileResponse:
    """The stored photo with its checked type; never sniffed, never cached by shared caches."""
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
    response["Content-Disposition"] = f'inline; filename="{photo.public_id}.{photo.extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response


# --- Officials and overdue visits ---------------------------------------------------------------


@login_required
@require_GET
def official_view(request: HttpRequest, username: str) -> HttpResponse:
    official = access_or_404(access.access_official_by_username, request.user, username)
    day = today()
    pairings = list(selectors.official_pairings(official))
    return render(
        request,
        "pairing/official.html",
        {
            "official": official,
            "usage": selectors.official_usage(official, day),
            "pairings": pairings,
            "overdue": selectors.official_overdue_ids(official, day),
            "visits": list(
                selectors.visit_list(
                    actor=request.user, filters=selectors.VisitFilters(official=username)
                )[:20]
            ),
            "teams": selectors.official_teams(official),
        },
    )


@login_required
@require_GET
def overdue_view(request: HttpRequest) -> HttpResponse:
    division = access_or_404(selectors.scope_root, request.user, request.GET.get("division", ""))
    day = today()
    summary = selectors.overdue_summary(actor=request.user, division=division, day=day)
    return render(
        request,
        "pairing/overdue.html",
        {
            "division": division,
            "breadcrumb": selectors.breadcrumb(request.user, division),
            "summary": summary,
            "by_official": summary.by_official,
            "by_village": summary.by_village,
            "pairings": list(
                selectors.overdue_pairings(actor=request.user, division=division, day=day)[
                    :PAGE_SIZE
                ]
            ),
            "rules": visit_rules_on(day),
            "day": day,
        },
    )


# --- Key villages and work teams ----------------------------------------------------------------


@login_required
@require_GET
def key_village_list_view(request: HttpRequest) -> HttpResponse:
    only_missing = request.GET.get("missing") == "1"
    rows = selectors.key_village_list(
        actor=request.user, division_code=request.GET.get("division", ""), only_missing=only_missing
    )
    return render(
        request,
        "pairing/key_villages.html",
        {
            "rows": rows,
            "only_missing": only_missing,
            "flagged": sum(1 for r in rows if r.flagged),
            "year": today().year,
        },
    )


@login_required
@require_GET
def key_village_view(request: HttpRequest, code: str) -> HttpResponse:
    village = access_or_404(access.access_key_village_by_code, request.user, code)
    year = today().year
    team = selectors.village_team(village)
    attendance = selectors.team_attendance(team, year)
    rows = [
        {
            "member": m,
            "months": [attendance.get(m.pk, {}).get(i) for i in range(1, 13)],
            "total": sum(attendance.get(m.pk, {}).values()),
        }
        for m in team
    ]
    return render(
        request,
        "pairing/key_village.html",
        {
            "village": village,
            "rows": rows,
            "year": year,
            "months": range(1, 13),
            "has_secretary": any(
                m.role == TeamMember.Role.FIRST_SECRETARY and m.ended_on is None for m in team
            ),
            "can_manage": access.can_manage(actor_scope(request.user), village.division.path),
        },
    )


def _key_village_form(
    request: HttpRequest, code: str, form: Form, title: str, *, save: Callable[[], object]
) -> HttpResponse:
    """A work team form page: a valid form runs ``save``, then goes back to the key village."""
    village_url = reverse("pairing:key-village", args=[code])
    response = save_valid_form(form, save, lambda saved: saved_redirect(request, village_url))
    if response is not None:
        return response
    return _form_page(request, form, title=title, cancel_url=village_url)


@login_required
@require_http_methods(["GET", "POST"])
def team_add_view(request: HttpRequest, code: str) -> HttpResponse:
    village = access_or_404(access.access_key_village_by_code, request.user, code, for_manage=True)
    form = TeamMemberForm(request.POST or None, initial={"started_on": today()})

    def add() -> TeamMember:
        official = selectors.official_for_team(request.user, form.cleaned_data["official"])
        if official is None:
            raise ValidationError({"official": _("No official with this username.")})
        return services.team_member_add(
            actor=request.user,
            source=ChangeSource.web(),
            village=village,
            official=official,
            role=form.cleaned_data["role"],
            started_on=form.cleaned_data["started_on"],
            unit=form.cleaned_data.get("unit") or "",
        )

    return _key_village_form(
        request,
        code,
        form,
        _("Add a work team member: %(village)s") % {"village": village.division.name},
        save=add,
    )


@login_required
@require_http_methods(["GET", "POST"])
def team_end_view(request: HttpRequest, member_id: str) -> HttpResponse:
    member = access_or_404(
        access.access_team_member_by_public_id, request.user, member_id, for_manage=True
    )
    code = member.village.division.code
    form = TeamEndForm(request.POST or None, initial={"ended_on": today()})
    return _key_village_form(
        request,
        code,
        form,
        _("End the posting of %(name)s") % {"name": member.official.full_name},
        save=lambda: services.team_member_end(
            actor=request.user,
            source=ChangeSource.web(),
            member=member,
            ended_on=form.cleaned_data["ended_on"],
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def attendance_view(request: HttpRequest, member_id: str) -> HttpResponse:
    member = access_or_404(access.access_team_member_by_public_id, request.user, member_id)
    own = access.actor_official(request.user)
    if not (
        access.can_manage(actor_scope(request.user), member.village.division.path)
        or (own is not None and own.pk == member.official_id)
    ):
        raise PermissionDenied
    code = member.village.division.code
    form = AttendanceForm(request.POST or None, initial={"month": today().strftime("%Y-%m")})
    return _key_village_form(
        request,
        code,
        form,
        _("Attendance of %(name)s") % {"name": member.official.full_name},
        save=lambda: services.attendance_record(
            actor=request.user,
            source=ChangeSource.web(),
            member=member,
            month=form.cleaned_data["month"],
            days=form.cleaned_data["days"],
        ),
    )


# --- Policy rules -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def rules_view(request: HttpRequest) -> HttpResponse:
    can_edit = bool(actor_scope(request.user).paths(frozenset({Role.CITY_ADMIN})))
    form = QuotaForm(request.POST or None)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        response = save_valid_form(
            form,
            lambda: services.quota_rule_set(
                actor=request.user, source=ChangeSource.web(), **form.cleaned_data
            ),
            lambda saved: saved_redirect(request, reverse("pairing:rules")),
        )
        if response is not None:
            return response
    day = today()
    return render(
        request,
        "pairing/rules.html",
        {
            "quota_rules": selectors.quota_rules(),
            "visit_rules": selectors.visit_rules(),
            "current": quotas_on(day),
            "form": form,
            "can_edit": can_edit,
            "pairing_kinds": Pairing.Kind,
        },
    )
