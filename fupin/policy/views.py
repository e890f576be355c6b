"""The policy pages: policy values (a city administrator edits them), a household's evaluation
explained criterion by criterion, housing renovations, evaluation runs and simulations.

Thin like the registry's views: parse, call an access function, selector or service, render.
A household outside the actor's area answers 404 like a missing one.
"""

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fupin.accounts.scope import actor_scope
from fupin.core import errors
from fupin.core.audit import ChangeSource
from fupin.core.views import access_or_404, show_service_errors
from fupin.policy.criteria import CATEGORIES, OUTCOMES
from fupin.policy.explain import explain_household
from fupin.policy.forms import PolicyValueForm, RenovationForm, SimulationForm, parse_year
from fupin.policy.parameters import PARAMETERS, parse_override
from fupin.policy.selectors import (
    evaluation_run_get,
    evaluation_run_list,
    policy_value_current,
    policy_value_groups,
    policy_value_versions,
    scenario_flips,
    scenario_get,
    scenario_list,
)
from fupin.policy.services import (
    can_edit_policy,
    housing_renovation_record,
    policy_value_create,
    policy_value_update,
)
from fupin.policy.simulation import scenario_rerun, scenario_run
from fupin.registry.access import access_household_by_no
from fupin.registry.models import Household
from fupin.registry.selectors import household_records


def _household(request: HttpRequest, household_no: str, *, for_edit: bool = False) -> Household:
    return access_or_404(access_household_by_no, request.user, household_no, for_edit=for_edit)


# --- A household's evaluation ------------------------------------------------------------------


@login_required
@require_GET
def household_evaluation_view(request: HttpRequest, household_no: str) -> HttpResponse:
    household = _household(request, household_no)
    years = sorted({r.survey_year for r in household_records(household)}, reverse=True)
    default = years[0] if years else timezone.localdate().year - 1
    year = parse_year(request.GET.get("year"), default) or default
    context: dict[str, Any] = {
        "household": household,
        "year": year,
        "years": years,
        "can_edit": actor_scope(request.user).can_edit(household.division.path),
        "renovation_form": RenovationForm(),
    }
    try:
        context["explanation"] = explain_household(household, year)
    except ValidationError as exc:
        context["error"] = " ".join(exc.messages)
    htmx = getattr(request, "htmx", None)
    if htmx and not htmx.boosted:
        # The household page's panel loads only the explanation.
        return render(request, "policy/_evaluation_fragment.html", context)
    return render(request, "policy/household_evaluation.html", context)


@login_required
@require_POST
def renovation_add_view(request: HttpRequest, household_no: str) -> HttpResponse:
    household = _household(request, household_no, for_edit=True)
    form = RenovationForm(request.POST)
    back = reverse("policy:household-evaluation", args=[household.household_no])
    if form.is_valid():
        try:
            housing_renovation_record(
                actor=request.user,
                source=ChangeSource.web(),
                household_no=household.household_no,
                kind=form.cleaned_data["kind"],
                accepted_on=form.cleaned_data["accepted_on"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            show_service_errors(form, exc)
        except errors.PermissionDenied:
            raise PermissionDenied from None
    if form.errors:
        for field_errors in form.errors.values():
            for message in field_errors:
                messages.error(request, str(message))
    else:
        messages.success(request, _("The renovation is recorded."))
    year = form.cleaned_data.get("accepted_on") if hasattr(form, "cleaned_data") else None
    return redirect(f"{back}?year={year.year}" if year else back)


# --- Policy values -----------------------------------------------------------------------------


@login_required
@require_GET
def policy_value_list_view(request: HttpRequest) -> HttpResponse:
    context = {
        "groups": policy_value_groups(),
        "can_edit": can_edit_policy(request.user),
        "runs": evaluation_run_list(actor=request.user, limit=10),
        "scenarios": scenario_list(actor=request.user, limit=10),
    }
    return render(request, "policy/value_list.html", context)


def _require_editor(request: HttpRequest) -> None:
    if not can_edit_policy(request.user):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def policy_value_add_view(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    form = PolicyValueForm(request.POST or None, initial={"name": request.GET.get("name", "")})
    if request.method == "POST" and form.is_valid():
        try:
            value = policy_value_create(
                actor=request.user, source=ChangeSource.web(), data=form.data_object()
            )
        except ValidationError as exc:
            show_service_errors(form, exc)
        else:
            messages.success(request, _("The value is added."))
            return redirect("policy:value-history", lineage=value.lineage)
    return render(
        request,
        "policy/value_form.html",
        {"form": form, "title": _("Add a policy value"), "value": None},
    )


@login_required
@require_http_methods(["GET", "POST"])
def policy_value_edit_view(request: HttpRequest, lineage: str) -> HttpResponse:
    _require_editor(request)
    current = access_or_404(policy_value_current, lineage)
    initial = {
        "name": current.name,
        "qualifier": current.qualifier,
        "value": current.value,
        "valid_from": current.valid_from,
        "valid_to": current.valid_to,
        "source_note": current.source_note,
    }
    form = PolicyValueForm(request.POST or None, initial=initial, fixed=True)
    if request.method == "POST" and form.is_valid():
        try:
            value = policy_value_update(
                actor=request.user,
                source=ChangeSource.web(),
                value_id=current.pk,
                data=form.data_object(),
            )
        except ValidationError as exc:
            show_service_errors(form, exc)
        except errors.NotFound:
            raise Http404 from None
        else:
            if value.pk != current.pk:
                messages.success(
                    request,
                    _(
                        "An evaluation used version %(old)s, which is kept as it was: the change "
                        "is version %(new)s."
                    )
                    % {"old": current.version, "new": value.version},
                )
            else:
                messages.success(request, _("The value is changed."))
            return redirect("policy:value-history", lineage=value.lineage)
    return render(
        request,
        "policy/value_form.html",
        {"form": form, "title": _("Change a policy value"), "value": current},
    )


@login_required
@require_GET
def policy_value_history_view(request: HttpRequest, lineage: str) -> HttpResponse:
    current = access_or_404(policy_value_current, lineage)
    versions = list(policy_value_versions(current.lineage))
    return render(
        request,
        "policy/value_history.html",
        {"value": current, "versions": versions, "can_edit": can_edit_policy(request.user)},
    )


# --- Evaluation runs ---------------------------------------------------------------------------


@login_required
@require_GET
def evaluation_run_view(request: HttpRequest, run_id: int) -> HttpResponse:
    run = access_or_404(evaluation_run_get, actor=request.user, run_id=run_id)
    return render(
        request,
        "policy/run_detail.html",
        {"run": run, "outcomes": OUTCOMES, "categories": CATEGORIES},
    )


# --- Simulation --------------------------------------------------------------------------------

FLIPS_SHOWN = 200


@login_required
@require_http_methods(["GET", "POST"])
def simulation_view(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    form = SimulationForm(request.POST or None, initial={"year": timezone.localdate().year - 1})
    if request.method == "POST" and form.is_valid():
        try:
            overrides: dict[str, dict[str, Decimal]] = {}
            for line in form.change_lines():
                name, qualifier, value = parse_override(line)
                overrides.setdefault(name, {})[qualifier] = value
            scenario = scenario_run(
                actor=request.user,
                source=ChangeSource.web(),
                year=form.cleaned_data["year"],
                overrides=overrides,
                division_code=form.cleaned_data["division"] or None,
                name=form.cleaned_data["name"],
            )
        except ValidationError as exc:
            form.add_error(
                "changes" if not hasattr(exc, "error_dict") else None,
                ValidationError(" ".join(exc.messages)),
            )
        except errors.NotFound:
            form.add_error("division", _("Unknown division."))
        else:
            return redirect("policy:scenario-detail", scenario_id=scenario.pk)
    context = {
        "form": form,
        "scenarios": scenario_list(actor=request.user, limit=20),
        "parameters": PARAMETERS,
    }
    return render(request, "policy/simulation.html", context)


@login_required
@require_GET
def scenario_detail_view(request: HttpRequest, scenario_id: int) -> HttpResponse:
    scenario = access_or_404(scenario_get, actor=request.user, scenario_id=scenario_id)
    flips = list(scenario_flips(scenario).order_by("household__household_no")[:FLIPS_SHOWN])
    now, after = scenario.result["now"], scenario.result["scenario"]
    rows = [
        {"before": b, "after": a}
        for b, a in [
            *zip(now["counties"], after["counties"], strict=True),
            (now["total"], after["total"]),
        ]
    ]
    context = {
        "scenario": scenario,
        "rows": rows,
        "flips": flips,
        "flips_shown": FLIPS_SHOWN,
        "summary": scenario.result["flips"],
        "outcomes": OUTCOMES,
        "can_edit": can_edit_policy(request.user),
    }
    return render(request, "policy/scenario_detail.html", context)


@login_required
@require_POST
def scenario_rerun_view(request: HttpRequest, scenario_id: int) -> HttpResponse:
    _require_editor(request)
    scenario = access_or_404(scenario_get, actor=request.user, scenario_id=scenario_id)
    outcome = scenario_rerun(scenario)
    if outcome.same_answer:
        messages.success(request, _("Run again: the same answer."))
    elif outcome.same_data:
        messages.error(request, _("Run again: the answer differs although the data is the same."))
    else:
        messages.warning(
            request, _("Run again: the answer differs because the data changed since.")
        )
    return redirect("policy:scenario-detail", scenario_id=scenario.pk)
