"""The assistance pages: measures (list, new, detail, status, stages, photos), the catalogue,
projects (list, new, detail, budget, disbursements, milestones, beneficiaries, benefits, photos)
and the overdue milestones.

Views stay thin: they parse input, call an access function, a selector or a service, and
render. Missing and out-of-scope records both answer 404; a read-only role on an edit page
gets 403. Photos are served only through ``photo_file_view``, after the access check.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.forms import Form
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    QueryDict,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from fupin.accounts.roles import EDITOR_ROLES
from fupin.accounts.scope import actor_scope
from fupin.assistance import selectors
from fupin.assistance.access import (
    access_measure_by_public_id,
    access_measure_type_by_code,
    access_photo_by_public_id,
    access_project_by_code,
    can_edit_catalogue,
)
from fupin.assistance.catalogue import choice_label, field_label
from fupin.assistance.forms import (
    BeneficiariesForm,
    BenefitsForm,
    DisbursementForm,
    FundingForm,
    MeasureFilterForm,
    MeasureForm,
    MeasureStatusForm,
    MeasureTypeForm,
    MilestoneForm,
    PhotoForm,
    ProjectFilterForm,
    ProjectForm,
    StageForm,
    measure_initial,
    measure_type_initial,
    new_measure_initial,
    project_initial,
)
from fupin.assistance.models import (
    STAGE_ORDER,
    Family,
    FundSource,
    Measure,
    MeasureType,
    Photo,
    Project,
    Stage,
)
from fupin.assistance.services import (
    VERIFIER_ROLES,
    beneficiaries_add,
    benefits_distribute,
    disbursement_add,
    measure_create,
    measure_set_status,
    measure_stage_record,
    measure_type_create,
    measure_type_update,
    measure_update,
    milestone_set,
    photo_add,
    photo_max_bytes,
    project_create,
    project_set_funding,
    project_update,
    split_household_numbers,
)
from fupin.core import errors
from fupin.core.audit import ChangeSource
from fupin.core.code_lists import code_lists
from fupin.core.views import (
    Fieldsets,
    access_or_404,
    form_page,
    post_data,
    post_files,
    save_valid_form,
    saved_redirect,
    show_service_errors,
)
from fupin.registry.access import access_household_by_no
from fupin.registry.models import Household
from fupin.registry.selectors import household_members
from fupin.registry.templatetags.registry_ui import ALL_CODE_LISTS

PAGE_SIZE = 50


# A service's error key as the form's field name (``extra.donkeys`` → ``extra__donkeys``).
SERVICE_FIELD_NAMES = {
    "fields": "fields_json",
    "division_code": "division",
    "village_codes": "villages",
    "amounts": "household_nos",
}


def _service_field(key: str) -> str:
    name = SERVICE_FIELD_NAMES.get(key, key)
    if name.startswith("extra."):
        return "extra__" + name.removeprefix("extra.")
    if name.startswith("funding."):
        return name.removeprefix("funding.")
    if name.startswith("amounts."):
        return "household_nos"
    return name


def _form_page(
    request: HttpRequest,
    form: Form,
    *,
    title: str,
    back_url: str,
    back_label: str,
    fieldsets: Fieldsets | None = None,
    multipart: bool = False,
    household: Household | None = None,
    **context: Any,
) -> HttpResponse:
    """An assistance form page: the household (if any) › where Cancel goes back to."""
    breadcrumbs = [(back_url, back_label)]
    if household is not None:
        url = reverse("registry:household-detail", args=[household.household_no])
        breadcrumbs.insert(0, (url, household.household_no))
    return form_page(
        request,
        form,
        title=title,
        breadcrumbs=breadcrumbs,
        cancel_url=back_url,
        fieldsets=fieldsets or [(None, list(form.fields))],
        nav_template="assistance/_nav.html",
        multipart=multipart,
        household=household,
        **context,
    )


T = TypeVar("T")


def _save_or_show(
    request: HttpRequest,
    form: Form,
    *,
    save: Callable[[], T],
    saved_url: Callable[[T], str],
    **page: Any,
) -> HttpResponse:
    """An assistance form page: a valid form runs ``save`` (one service call), says "Saved."
    and goes on to ``saved_url(result)``; otherwise the form page (``_form_page(**page)``)."""
    response = save_valid_form(
        form,
        save,
        lambda saved: saved_redirect(request, saved_url(saved)),
        rename=_service_field,
    )
    if response is not None:
        return response
    return _form_page(request, form, **page)


def _clean_query(form: Form) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in getattr(form, "cleaned_data", {}).items():
        if value not in (None, "", False):
            query[key] = str(value)
    return query


# ---------------------------------------------------------------------------------------------
# Measures


@login_required
@require_GET
def measure_list_view(request: HttpRequest) -> HttpResponse:
    form = MeasureFilterForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    filters = selectors.MeasureFilters(
        division_code=data.get("division") or "",
        year=data.get("year"),
        status=data.get("status") or "",
        family=data.get("family") or "",
        type_code=(data.get("type") or "").strip(),
        household_no=(data.get("household_no") or "").strip(),
    )
    rows = selectors.Counted(
        selectors.measure_list(actor=request.user, filters=filters),
        lambda: selectors.measure_count(actor=request.user, filters=filters),
    )
    # Counted pages and counts like a queryset (the Paginator needs only count and slicing).
    paginator = Paginator(cast("Sequence[Measure]", rows), PAGE_SIZE)
    page: Page[Measure] = paginator.get_page(request.GET.get("page"))
    return render(
        request,
        "assistance/measure_list.html",
        {"form": form, "page": page, "query": _clean_query(form)},
    )


def _household_projects(actor: Any, household: Household) -> list[Project]:
    return list(
        selectors.project_list(actor=actor)
        .filter(project_villages__village__in=[household.division_id, household.division.parent_id])
        .distinct()[:200]
    )


@login_required
@require_http_methods(["GET", "POST"])
def measure_add_view(request: HttpRequest, household_no: str) -> HttpResponse:
    household = access_or_404(access_household_by_no, request.user, household_no, for_edit=True)
    household_url = reverse("registry:household-detail", args=[household.household_no])
    type_code = request.GET.get("type", "")
    measure_type = (
        selectors.measure_type_list(active_only=True).filter(code=type_code).first()
        if type_code
        else None
    )
    if measure_type is None:
        types = list(selectors.measure_type_list(active_only=True))
        families = [
            (label, [t for t in types if t.family == value]) for value, label in Family.choices
        ]
        return render(
            request,
            "assistance/measure_type_choice.html",
            {
                "household": household,
                "families": [(label, items) for label, items in families if items],
                "household_url": household_url,
            },
        )
    members = [m for m in household_members(household) if m.is_active]
    form = MeasureForm(
        post_data(request),
        measure_type=measure_type,
        members=members,
        projects=_household_projects(request.user, household),
        initial=new_measure_initial(measure_type),
    )
    return _measure_form_page(
        request,
        form,
        household,
        measure_type,
        title=_("New measure for household %(no)s") % {"no": household.household_no},
        save=lambda: measure_create(
            actor=request.user,
            source=ChangeSource.web(),
            household=household,
            data=form.measure_data(),
        ),
    )


def _measure_form_page(
    request: HttpRequest,
    form: MeasureForm,
    household: Household,
    measure_type: MeasureType,
    *,
    title: str,
    save: Callable[[], Measure],
) -> HttpResponse:
    """The measure form: a valid form runs ``save``, then shows the measure it saved."""
    fieldsets: list[tuple[Any, list[str]]] = [(measure_type.name, list(MeasureForm.common_fields))]
    if form.extra_fields:
        fieldsets.append((_("Details of this kind of measure"), form.extra_fields))
    fieldsets.append((_("Status"), list(MeasureForm.status_fields)))
    return _save_or_show(
        request,
        form,
        save=save,
        saved_url=lambda measure: reverse("assistance:measure-detail", args=[measure.public_id]),
        title=title,
        back_url=reverse("registry:household-detail", args=[household.household_no]),
        back_label=household.household_no,
        fieldsets=fieldsets,
        note=measure_type.description,
    )


def _extra_rows(measure: Measure) -> list[tuple[str, Any]]:
    rows = []
    for spec in measure.type.fields:
        value = (measure.extra or {}).get(spec["key"])
        if value is None:
            continue
        if spec["type"] == "choice":
            value = choice_label(spec, value)
        elif spec["type"] == "boolean":
            value = _("Yes") if value else _("No")
        unit = spec.get("unit", "")
        rows.append((field_label(spec), f"{value} {unit}".strip()))
    return rows


@login_required
@require_GET
def measure_detail_view(request: HttpRequest, measure_id: str) -> HttpResponse:
    measure = access_or_404(access_measure_by_public_id, request.user, measure_id)
    scope = actor_scope(request.user)
    path = measure.household.division.path
    can_edit = scope.can_edit(path) and measure.status != Measure.Status.VERIFIED
    can_verify = scope.covers(path, VERIFIER_ROLES)
    stages = selectors.measure_stages(measure)
    context = {
        "measure": measure,
        "household": measure.household,
        "extra_rows": _extra_rows(measure),
        "stages": [(Stage(s), stages.get(s)) for s in STAGE_ORDER]
        if measure.type.has_stages
        else [],
        "photos": selectors.measure_photos(measure),
        "can_edit": can_edit,
        "status_form": MeasureStatusForm(measure=measure, can_verify=can_verify)
        if can_edit
        else None,
        "stage_form": StageForm() if can_edit and measure.type.has_stages else None,
        "photo_form": PhotoForm(with_phases=measure.type.has_stages) if can_edit else None,
        "history": selectors.measure_history(actor=request.user, measure=measure),
        "code_lists": code_lists(*ALL_CODE_LISTS),
        "photo_limit_mb": f"{photo_max_bytes() / 1024 / 1024:.0f}",
    }
    return render(request, "assistance/measure_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def measure_edit_view(request: HttpRequest, measure_id: str) -> HttpResponse:
    measure = access_or_404(access_measure_by_public_id, request.user, measure_id, for_edit=True)
    household = measure.household
    if measure.status == Measure.Status.VERIFIED:
        raise PermissionDenied
    members = [m for m in household_members(household) if m.is_active or m.pk == measure.member_id]
    form = MeasureForm(
        post_data(request),
        measure_type=measure.type,
        members=members,
        projects=_household_projects(request.user, household),
        initial=measure_initial(measure),
    )
    return _measure_form_page(
        request,
        form,
        household,
        measure.type,
        title=_("Edit measure"),
        save=lambda: measure_update(
            actor=request.user,
            source=ChangeSource.web(),
            measure=measure,
            data=form.measure_data(),
        ),
    )


def _measure_back(measure: Measure) -> dict[str, Any]:
    """Where a measure's form pages go back to: the measure, under its household."""
    return {
        "back_url": reverse("assistance:measure-detail", args=[measure.public_id]),
        "back_label": measure.type.name,
        "household": measure.household,
    }


def _measure_page(
    request: HttpRequest, measure: Measure, form: Form, title: str, **extra: Any
) -> HttpResponse:
    return _form_page(request, form, title=title, **_measure_back(measure), **extra)


def _measure_form(
    request: HttpRequest,
    measure: Measure,
    form: Form,
    title: str,
    *,
    save: Callable[[], object],
    **extra: Any,
) -> HttpResponse:
    """A measure's form page: a valid form runs ``save``, then goes back to the measure."""
    back = _measure_back(measure)
    return _save_or_show(
        request,
        form,
        save=save,
        saved_url=lambda saved: back["back_url"],
        title=title,
        **back,
        **extra,
    )


def _photo_note() -> str:
    return _("JPEG or PNG, at most %(mb)s MB.") % {"mb": f"{photo_max_bytes() / 1024 / 1024:.0f}"}


@login_required
@require_http_methods(["GET", "POST"])
def measure_status_view(request: HttpRequest, measure_id: str) -> HttpResponse:
    measure = access_or_404(access_measure_by_public_id, request.user, measure_id, for_edit=True)
    can_verify = actor_scope(request.user).covers(measure.household.division.path, VERIFIER_ROLES)
    form = MeasureStatusForm(post_data(request), measure=measure, can_verify=can_verify)
    detail_url = reverse("assistance:measure-detail", args=[measure.public_id])
    if form.is_bound and form.is_valid():
        try:
            measure_set_status(
                actor=request.user,
                source=ChangeSource.web(),
                measure=measure,
                status=form.cleaned_data["status"],
                on=form.cleaned_data.get("on"),
                actual_amount=form.cleaned_data.get("actual_amount"),
                recorded_income=form.cleaned_data.get("recorded_income"),
            )
        except ValidationError as exc:
            show_service_errors(form, exc, _service_field)
        except errors.PermissionDenied as exc:
            form.add_error("status", str(exc))
        else:
            return saved_redirect(request, detail_url)
    return _measure_page(request, measure, form, _("Status of the measure"))


@login_required
@require_http_methods(["GET", "POST"])
def measure_stage_view(request: HttpRequest, measure_id: str) -> HttpResponse:
    measure = access_or_404(access_measure_by_public_id, request.user, measure_id, for_edit=True)
    form = StageForm(post_data(request))
    return _measure_form(
        request,
        measure,
        form,
        _("Construction stage"),
        save=lambda: measure_stage_record(
            actor=request.user,
            source=ChangeSource.web(),
            measure=measure,
            stage=form.cleaned_data["stage"],
            on=form.cleaned_data["on"],
            note=form.cleaned_data.get("note") or "",
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def measure_photo_view(request: HttpRequest, measure_id: str) -> HttpResponse:
    measure = access_or_404(access_measure_by_public_id, request.user, measure_id, for_edit=True)
    form = PhotoForm(
        post_data(request),
        post_files(request),
        with_phases=measure.type.has_stages,
    )
    return _measure_form(
        request,
        measure,
        form,
        _("Add a photo"),
        multipart=True,
        note=_photo_note(),
        save=lambda: photo_add(
            actor=request.user,
            source=ChangeSource.web(),
            upload=form.cleaned_data["file"],
            data=form.photo_data(),
            measure=measure,
        ),
    )


@login_required
@require_GET
def photo_file_view(request: HttpRequest, photo_id: str) -> FileResponse:
    """The photo's bytes, only after the access check; never from a public URL."""
    photo = access_or_404(access_photo_by_public_id, request.user, photo_id)
    return photo_response(photo)


def photo_response(photo: Photo) -> FileResponse:
    try:
        handle = photo.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=photo.content_type)
    response["Content-Disposition"] = f'inline; filename="{photo.public_id}{_suffix(photo)}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _suffix(photo: Photo) -> str:
    return ".png" if photo.content_type == "image/png" else ".jpg"


# ---------------------------------------------------------------------------------------------
# The catalogue


@login_required
@require_GET
def catalogue_view(request: HttpRequest) -> HttpResponse:
    if actor_scope(request.user).is_empty:
        raise PermissionDenied
    types = list(selectors.measure_type_list())
    families = [(label, [t for t in types if t.family == value]) for value, label in Family.choices]
    return render(
        request,
        "assistance/catalogue.html",
        {
            "families": [(label, items) for label, items in families if items],
            "can_edit": can_edit_catalogue(request.user),
        },
    )


def _measure_type_form(
    request: HttpRequest, form: Form, title: str, *, save: Callable[[], MeasureType]
) -> HttpResponse:
    """A catalogue form page: a valid form runs ``save``, then shows the type in the catalogue."""
    catalogue_url = reverse("assistance:catalogue")
    return _save_or_show(
        request,
        form,
        save=save,
        saved_url=lambda measure_type: f"{catalogue_url}#type-{measure_type.code}",
        title=title,
        back_url=catalogue_url,
        back_label=_("Measure catalogue"),
    )


@login_required
@require_http_methods(["GET", "POST"])
def measure_type_create_view(request: HttpRequest) -> HttpResponse:
    if not can_edit_catalogue(request.user):
        raise PermissionDenied
    form = MeasureTypeForm(
        post_data(request),
        initial={
            "is_active": True,
            "target": MeasureType.Target.HOUSEHOLD,
            "income_component": "none",
        },
    )
    return _measure_type_form(
        request,
        form,
        _("New measure type"),
        save=lambda: measure_type_create(
            actor=request.user, source=ChangeSource.web(), data=form.type_data()
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def measure_type_edit_view(request: HttpRequest, type_code: str) -> HttpResponse:
    measure_type = access_or_404(
        access_measure_type_by_code, request.user, type_code, for_edit=True
    )
    form = MeasureTypeForm(
        post_data(request),
        initial=measure_type_initial(measure_type),
    )
    form.fields["code"].disabled = True
    return _measure_type_form(
        request,
        form,
        _("Measure type %(name)s") % {"name": measure_type.name},
        save=lambda: measure_type_update(
            actor=request.user,
            source=ChangeSource.web(),
            measure_type=measure_type,
            data=form.type_data(),
        ),
    )


# ---------------------------------------------------------------------------------------------
# Projects


@login_required
@require_GET
def project_list_view(request: HttpRequest) -> HttpResponse:
    form = ProjectFilterForm(request.GET)
    form.is_valid()
    data = getattr(form, "cleaned_data", {})
    filters = selectors.ProjectFilters(
        division_code=data.get("division") or "",
        year=data.get("year"),
        category=data.get("category") or "",
        q=data.get("q") or "",
        overdue=bool(data.get("overdue")),
    )
    page = Paginator(
        selectors.project_list(actor=request.user, filters=filters), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "assistance/project_list.html",
        {
            "form": form,
            "page": page,
            "rows": selectors.project_rows(list(page.object_list)),
            "query": _clean_query(form),
            "can_create": bool(actor_scope(request.user).paths(EDITOR_ROLES)),
        },
    )


@login_required
@require_GET
def overdue_view(request: HttpRequest) -> HttpResponse:
    if actor_scope(request.user).is_empty:
        raise PermissionDenied
    milestones = selectors.overdue_milestones(actor=request.user)
    page = Paginator(milestones, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "assistance/overdue.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def project_create_view(request: HttpRequest) -> HttpResponse:
    if not actor_scope(request.user).paths(EDITOR_ROLES):
        raise PermissionDenied
    form = ProjectForm(
        post_data(request),
        actor=request.user,
        with_plan=True,
        initial={"progress": 0},
    )
    fund_fields = [n for n in form.plan_fields if n.startswith("funding__")]
    plan_fields = [n for n in form.plan_fields if n.startswith("planned__")]
    return _save_or_show(
        request,
        form,
        save=lambda: project_create(
            actor=request.user,
            source=ChangeSource.web(),
            data=form.project_data(),
            funding=form.funding(),
            planned=form.planned(),
        ),
        saved_url=lambda project: reverse("assistance:project-detail", args=[project.code]),
        title=_("New project"),
        back_url=reverse("assistance:project-list"),
        back_label=_("Projects"),
        fieldsets=[
            (None, list(ProjectForm.project_fields)),
            (_("Budget by fund source (yuan)"), fund_fields),
            (_("Planned milestone dates"), plan_fields),
        ],
    )


@login_required
@require_GET
def project_detail_view(request: HttpRequest, project_code: str) -> HttpResponse:
    project = access_or_404(access_project_by_code, request.user, project_code)
    scope = actor_scope(request.user)
    beneficiaries = Paginator(
        selectors.project_beneficiaries(actor=request.user, project=project), 100
    ).get_page(request.GET.get("page"))
    seen, total = selectors.project_beneficiary_count(actor=request.user, project=project)
    context = {
        "project": project,
        "summary": selectors.project_summary(project),
        "villages": selectors.project_villages(project),
        "beneficiaries": beneficiaries,
        "beneficiaries_seen": seen,
        "beneficiaries_total": total,
        "disbursements": selectors.project_disbursements(project),
        "photos": selectors.project_photos(project),
        "can_edit": scope.can_edit(project.division.path),
        "history": selectors.project_history(actor=request.user, project=project),
        "code_lists": code_lists(*ALL_CODE_LISTS),
        "fund_labels": dict(FundSource.choices),
    }
    return render(request, "assistance/project_detail.html", context)


def _project_form(
    request: HttpRequest,
    project: Project,
    form: Form,
    title: str,
    *,
    save: Callable[[], object],
    **extra: Any,
) -> HttpResponse:
    """A project's form page: a valid form runs ``save``, then goes back to the project."""
    back = _project_back(project)
    return _save_or_show(
        request,
        form,
        save=save,
        saved_url=lambda saved: back["back_url"],
        title=title,
        **back,
        **extra,
    )


def _project_back(project: Project) -> dict[str, Any]:
    """Where a project's form pages go back to: the project."""
    return {
        "back_url": reverse("assistance:project-detail", args=[project.code]),
        "back_label": project.name,
        "project": project,
    }


def _project_page(
    request: HttpRequest, project: Project, form: Form, title: str, **extra: Any
) -> HttpResponse:
    return _form_page(request, form, title=title, **_project_back(project), **extra)


@login_required
@require_http_methods(["GET", "POST"])
def project_edit_view(request: HttpRequest, project_code: str) -> HttpResponse:
    project = access_or_404(access_project_by_code, request.user, project_code, for_edit=True)
    villages = [v.code for v in selectors.project_villages(project)]
    form = ProjectForm(
        post_data(request),
        actor=request.user,
        initial=project_initial(project, villages),
    )
    form.fields["division"].disabled = True
    return _project_form(
        request,
        project,
        form,
        _("Edit project %(code)s") % {"code": project.code},
        save=lambda: project_update(
            actor=request.user,
            source=ChangeSource.web(),
            project=project,
            data=form.project_data(),
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_funding_view(request: HttpRequest, project_code: str) -> HttpResponse:
    project = access_or_404(access_project_by_code, request.user, project_code, for_edit=True)
    summary = selectors.project_summary(project)
    form = FundingForm(
        post_data(request),
        initial={f.source: f.budget for f in summary.funds if f.budget},
    )
    return _project_form(
        request,
        project,
        form,
        _("Budget by fund source (yuan)"),
        save=lambda: project_set_funding(
            actor=request.user,
            source=ChangeSource.web(),
            project=project,
            funding=form.funding(),
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def disbursement_add_view(request: HttpRequest, project_code: str) -> HttpResponse:
    project = access_or_404(access_project_by_code, request.user, project_code, for_edit=True)
    form = DisbursementForm(post_data(request))
    return _project_form(
        request,
        project,
        form,
        _("Record a disbursement"),
        save=lambda: disbursement_add(
            actor=request.user,
            source=ChangeSource.web(),
            project=project,
            data=form.disbursement_data(),
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def milestone_view(request: HttpRequest, project_code: str) -> HttpResponse:
    project = access_or_404(access_project_by_code, request.user, project_code, for_edit=True)
    kind = request.GET.get("kind", "")
    summary = selectors.project_summary(project)
    current = next((m for m in summary.milestones if m.kind == kind), None)
    initial = (
        {
            "kind": kind,
            "planned_on": current.planned_on,
            "actual_on": current.actual_on,
            "note": current.note,
        }
        if current
        else {}
    )
    form = MilestoneForm(post_data(request), initial=initial)
    return _project_form(
        request,
        project,
        form,
        _("Milestone"),
        save=lambda: milestone_set(
            actor=request.user,
            source=ChangeSource.web(),
            project=project,
            kind=form.cleaned_data["kind"],
            planned_on=form.cleaned_data.get("planned_on"),
            actual_on=form.cleaned_data.get("actual_on"),
            note=form.cleaned_data.get("note") or "",
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def beneficiaries_view(request: HttpRequest, project_code: str) -> HttpResponse:
    project = access_or_404(access_project_by_code, request.user, project_code, for_edit=True)
    form = BeneficiariesForm(post_data(request))
    if form.is_bound and form.is_valid():
        try:
            added = beneficiaries_add(
                actor=request.user,
                source=ChangeSource.web(),
                project=project,
                household_nos=split_household_numbers(form.cleaned_data["household_nos"]),
                expected_benefit=form.cleaned_data.get("expected_benefit"),
                added_on=form.cleaned_data.get("added_on"),
            )
        except ValidationError as exc:
            show_service_errors(form, exc, _service_field)
        else:
            messages.success(request, _("%(n)s households added.") % {"n": len(added)})
            return redirect("assistance:project-detail", project_code=project.code)
    return _project_page(request, project, form, _("Add beneficiary households"))


@login_required
@require_http_methods(["GET", "POST"])
def benefits_view(request: HttpRequest, project_code: str) -> HttpResponse:
    project = access_or_404(access_project_by_code, request.user, project_code, for_edit=True)
    form = BenefitsForm(post_data(request))
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        numbers = split_household_numbers(d.get("household_nos") or "")
        if not numbers:
            numbers = selectors.unpaid_beneficiaries(
                actor=request.user, project=project, year=d["year"]
            )
        try:
            payments = benefits_distribute(
                actor=request.user,
                source=ChangeSource.web(),
                project=project,
                year=d["year"],
                paid_on=d["paid_on"],
                amounts=dict.fromkeys(numbers, d["amount"]),
            )
        except ValidationError as exc:
            show_service_errors(form, exc, _service_field)
        else:
            messages.success(request, _("%(n)s payments recorded.") % {"n": len(payments)})
            return redirect("assistance:project-detail", project_code=project.code)
    return _project_page(request, project, form, _("Distribute benefits"))


@login_required
@require_http_methods(["GET", "POST"])
def project_photo_view(request: HttpRequest, project_code: str) -> HttpResponse:
    project = access_or_404(access_project_by_code, request.user, project_code, for_edit=True)
    form = PhotoForm(
        post_data(request),
        post_files(request),
    )
    return _project_form(
        request,
        project,
        form,
        _("Add a photo"),
        multipart=True,
        note=_photo_note(),
        save=lambda: photo_add(
            actor=request.user,
            source=ChangeSource.web(),
            upload=form.cleaned_data["file"],
            data=form.photo_data(),
            project=project,
        ),
    )
