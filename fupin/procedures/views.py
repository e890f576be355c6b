"""The procedure pages: the cases of the actor's area with a batch form, a case's page with its
timeline, comments, attachments, the household's rule results and the actions the actor may take.

Thin: parse, call an access function, selector or service, render. A case outside the actor's
area answers 404 like a missing one.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from fupin.accounts.scope import actor_scope
from fupin.core import errors
from fupin.core.audit import ChangeSource
from fupin.core.views import access_or_404, show_service_errors
from fupin.procedures.access import access_attachment, access_case
from fupin.procedures.definitions import CHANNELS, PROCEDURES
from fupin.procedures.forms import (
    AttachmentForm,
    BatchForm,
    CaseFilterForm,
    CaseOpenForm,
    CommentForm,
    ObjectionForm,
    ResolveForm,
    TransitionForm,
)
from fupin.procedures.models import Attachment, Case
from fupin.procedures.notice_forms import NoticeFilterForm, NoticeForm
from fupin.procedures.notices import (
    PdfFontMissing,
    access_notice,
    can_issue,
    notice_draft,
    notice_headers,
    notice_issue,
    notice_lines,
    notice_list,
    notice_pdf,
    notice_request,
    notice_steps,
    notice_villages,
)
from fupin.procedures.selectors import CaseFilters, case_list, case_timeline, cases_by_ids
from fupin.procedures.services import (
    NotAllowed,
    PublicityCache,
    Refused,
    allowed_actions,
    attachment_add,
    attachment_path,
    can_object,
    can_resolve,
    case_batch_transition,
    case_open,
    case_transition,
    comment_add,
    objection_raise,
    objection_resolve,
    publicity_ends,
)
from fupin.registry.access import access_household_by_no

PAGE_SIZE = 50


def _case(request: HttpRequest, case_id: Any) -> Case:
    return access_or_404(access_case, request.user, case_id)


def _report(request: HttpRequest, error: Exception) -> None:
    if isinstance(error, ValidationError):
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.error(request, str(error))


@login_required
@require_GET
def case_list_view(request: HttpRequest) -> HttpResponse:
    form = CaseFilterForm(request.GET or None)
    filters = CaseFilters()
    if form.is_valid():
        filters = CaseFilters(**form.cleaned_data)
    page = Paginator(case_list(actor=request.user, filters=filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    cache: PublicityCache = {}
    rows = [
        {
            "case": c,
            "definition": PROCEDURES[c.procedure],
            "state_label": PROCEDURES[c.procedure].state_label(c.state),
            "actions": allowed_actions(request.user, c, cache),
        }
        for c in page
    ]
    return render(
        request,
        "procedures/case_list.html",
        {
            "form": form,
            "page": page,
            "rows": rows,
            "batch_form": BatchForm(),
            "query": request.GET.urlencode(),
        },
    )


@login_required
@require_POST
def case_batch_view(request: HttpRequest) -> HttpResponse:
    form = BatchForm(request.POST)
    ids = request.POST.getlist("cases")
    if not form.is_valid() or not ids:
        messages.error(request, _("Choose the cases and the action."))
        return redirect("procedures:case-list")
    cases = cases_by_ids(actor=request.user, public_ids=ids)
    results = case_batch_transition(
        actor=request.user,
        source=ChangeSource.web(),
        cases=cases,
        action=form.cleaned_data["action"],
        comment=form.cleaned_data["comment"],
        all_or_nothing=form.cleaned_data["all_or_nothing"],
    )
    done = sum(1 for r in results if r.ok)
    messages.success(
        request, _("%(done)s of %(total)s cases done.") % {"done": done, "total": len(ids)}
    )
    for r in results:
        if not r.ok:
            messages.error(request, f"{r.public_id[:8]}: {r.message}")
    return redirect("procedures:case-list")


@login_required
@require_http_methods(["GET", "POST"])
def case_open_view(request: HttpRequest) -> HttpResponse:
    asked = {k: request.GET[k] for k in ("household_no", "procedure") if k in request.GET}
    form = CaseOpenForm(request.POST or None, initial=asked)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            household = access_household_by_no(request.user, data["household_no"])
            case = case_open(
                actor=request.user,
                source=ChangeSource.web(),
                household=household,
                procedure=data["procedure"],
                year=data["year"],
                channel=data["channel"],
                comment=data["comment"],
            )
        except errors.NotFound:
            form.add_error("household_no", _("No such household in your area."))
        except (Refused, NotAllowed) as error:
            form.add_error(None, error.messages if isinstance(error, Refused) else str(error))
        else:
            messages.success(request, _("The case is opened."))
            return redirect("procedures:case-detail", case_id=case.public_id)
    return render(request, "procedures/case_open.html", {"form": form})


def _explanation(case: Case) -> tuple[Any, Any, str]:
    """The household's rule results for the case's year: (explanation, the procedure's test,
    error message)."""
    from fupin.policy.explain import explain_household

    try:
        explanation = explain_household(case.household, case.year)
    except ValidationError as error:
        return None, None, " ".join(error.messages)
    test = next((t for t in explanation.tests if t.code == case.procedure), None)
    return explanation, test, ""


@login_required
@require_GET
def case_detail_view(request: HttpRequest, case_id: Any) -> HttpResponse:
    case = _case(request, case_id)
    definition = PROCEDURES[case.procedure]
    explanation, test, error = _explanation(case)
    step = definition.step(case.state)
    reached = [t.to_state for t in case.transitions.all()]
    steps = [
        {
            "step": s,
            "done": s.code in reached and s.code != case.state,
            "current": s.code == case.state,
        }
        for s in definition.steps
    ]
    can_edit = actor_scope(request.user).can_edit(case.division.path)
    return render(
        request,
        "procedures/case_detail.html",
        {
            "case": case,
            "definition": definition,
            "state_label": definition.state_label(case.state),
            "channel_label": CHANNELS.get(case.channel, ""),
            "steps": steps,
            "step": step,
            "publicity_ends": publicity_ends(case, step) if step else None,
            "notice_step": (
                f"{case.procedure}:{step.code}" if step and step in notice_steps(definition) else ""
            ),
            "timeline": case_timeline(case),
            "actions": allowed_actions(request.user, case),
            "can_object": can_object(request.user, case),
            "can_resolve": can_resolve(request.user, case),
            "can_edit": can_edit,
            "explanation": explanation,
            "test": test,
            "explanation_error": error,
            "transition_form": TransitionForm(),
            "comment_form": CommentForm(),
            "objection_form": ObjectionForm(),
            "resolve_form": ResolveForm(),
            "attachment_form": AttachmentForm(),
        },
    )


def _back(case: Case) -> HttpResponse:
    return redirect("procedures:case-detail", case_id=case.public_id)


@login_required
@require_POST
def case_transition_view(request: HttpRequest, case_id: Any) -> HttpResponse:
    case = _case(request, case_id)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an action."))
        return _back(case)
    try:
        case = case_transition(
            actor=request.user,
            source=ChangeSource.web(),
            case=case,
            action=form.cleaned_data["action"],
            comment=form.cleaned_data["comment"],
            to_state=form.cleaned_data["to_state"] or None,
        )
    except (Refused, NotAllowed) as error:
        _report(request, error)
    else:
        messages.success(
            request,
            _("Done: the case is now at “%(state)s”.")
            % {"state": PROCEDURES[case.procedure].state_label(case.state)},
        )
    return _back(case)


def _case_action(
    request: HttpRequest,
    case_id: Any,
    form_class: type[Form],
    service: Callable[..., object],
    fields: dict[str, str],
    *,
    invalid: str,
    done: str | None = None,
) -> HttpResponse:
    """A case page's POST action: a valid form calls ``service`` for the case with the form's
    ``fields`` (service argument: form field); a refusal is reported, else ``done`` (if any)
    is shown; an invalid form shows ``invalid``. Always back to the case's page."""
    case = _case(request, case_id)
    form = form_class(request.POST, request.FILES)
    if form.is_valid():
        try:
            service(
                actor=request.user,
                source=ChangeSource.web(),
                case=case,
                **{arg: form.cleaned_data[name] for arg, name in fields.items()},
            )
        except (Refused, NotAllowed) as error:
            _report(request, error)
        else:
            if done:
                messages.success(request, done)
    else:
        messages.error(request, invalid)
    return _back(case)


@login_required
@require_POST
def case_comment_view(request: HttpRequest, case_id: Any) -> HttpResponse:
    return _case_action(
        request, case_id, CommentForm, comment_add, {"text": "text"}, invalid=_("Write a comment.")
    )


@login_required
@require_POST
def case_objection_view(request: HttpRequest, case_id: Any) -> HttpResponse:
    return _case_action(
        request,
        case_id,
        ObjectionForm,
        objection_raise,
        {"text": "text"},
        invalid=_("Write the objection."),
        done=_("The objection is recorded: the case is paused."),
    )


@login_required
@require_POST
def case_resolve_view(request: HttpRequest, case_id: Any) -> HttpResponse:
    return _case_action(
        request,
        case_id,
        ResolveForm,
        objection_resolve,
        {"decision": "decision", "resolution": "resolution"},
        invalid=_("Choose a decision and write the resolution."),
    )


@login_required
@require_POST
def case_attachment_view(request: HttpRequest, case_id: Any) -> HttpResponse:
    return _case_action(
        request,
        case_id,
        AttachmentForm,
        attachment_add,
        {"upload": "file"},
        invalid=_("Choose a file."),
    )


@login_required
@require_GET
def attachment_file_view(request: HttpRequest, attachment_id: Any) -> FileResponse:
    attachment = access_or_404(access_attachment, request.user, attachment_id)
    response = attachment_response(attachment)
    if response is None:
        raise Http404
    return response


def attachment_response(attachment: Attachment) -> FileResponse | None:
    """The attachment's file as a download (None when the file is gone), for the web and API."""
    path = attachment_path(attachment)
    if not path.is_file():
        return None
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Public notices (公示/公告): fupin/procedures/notices.py -------------------------------------

NOTICE_PAGE_SIZE = 20


@login_required
@require_GET
def notice_list_view(request: HttpRequest) -> HttpResponse:
    form = NoticeFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    notices = notice_list(
        actor=request.user,
        village=filters.get("village", ""),
        procedure=filters.get("procedure", ""),
    )
    page = Paginator(notices, NOTICE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "procedures/notice_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def notice_new_view(request: HttpRequest) -> HttpResponse:
    """The notice form with a preview of the draft below it; POST issues the notice."""
    posted = request.method == "POST"
    data = request.POST if posted else (request.GET if "village" in request.GET else None)
    form = NoticeForm(data, initial={"village": request.GET.get("village", "")})
    draft = None
    issuable = False
    if form.is_bound and form.is_valid():
        try:
            asked = notice_request(request.user, **form.request_fields())
            if posted:
                notice = notice_issue(
                    actor=request.user,
                    source=ChangeSource.web(),
                    request=asked,
                    where_to_object=form.cleaned_data["where_to_object"],
                )
                messages.success(request, _("The notice is issued."))
                return redirect("procedures:notice-detail", notice_id=notice.public_id)
        except ValidationError as error:
            show_service_errors(form, error)
        except NotAllowed as error:
            form.add_error(None, str(error))
        else:
            draft = notice_draft(
                request.user, asked, where_to_object=form.cleaned_data["where_to_object"]
            )
            issuable = can_issue(request.user, asked.village) and bool(draft["rows"])
    return render(
        request,
        "procedures/notice_new.html",
        {
            "form": form,
            "villages": notice_villages(request.user),
            "content": draft,
            "headers": notice_headers(draft) if draft else [],
            "lines": notice_lines(draft) if draft else {},
            "issuable": issuable,
        },
    )


@login_required
@require_GET
def notice_detail_view(request: HttpRequest, notice_id: Any) -> HttpResponse:
    notice = access_or_404(access_notice, request.user, notice_id)
    content = notice.snapshot
    return render(
        request,
        "procedures/notice_detail.html",
        {
            "notice": notice,
            "content": content,
            "headers": notice_headers(content),
            "lines": notice_lines(content),
        },
    )


@login_required
@require_GET
def notice_pdf_view(request: HttpRequest, notice_id: Any) -> HttpResponse:
    notice = access_or_404(access_notice, request.user, notice_id)
    try:
        pdf = notice_pdf(notice.snapshot)
    except PdfFontMissing as error:
        return render(
            request,
            "procedures/notice_pdf_unavailable.html",
            {"notice": notice, "error": error},
            status=503,
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"notice-{notice.village.code}-{notice.issued_at:%Y%m%d}-{str(notice.public_id)[:8]}"
    response["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
