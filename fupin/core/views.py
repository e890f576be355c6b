"""Helpers the apps' pages share: domain errors as HTTP errors, service errors shown on a form,
the "Saved." redirect, the save step of a form page, and the form page itself
(``fupin/templates/form_page.html``)."""

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect, render
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _

from fupin.core import errors

T = TypeVar("T")

Fieldsets = Sequence[tuple[Any, Iterable[str]]]


def post_data(request: HttpRequest) -> QueryDict | None:
    """The form data of a POST; ``None`` (an unbound form) otherwise."""
    return request.POST if request.method == "POST" else None


def post_files(request: HttpRequest) -> MultiValueDict[str, UploadedFile] | None:
    """The uploaded files of a POST; ``None`` otherwise."""
    return request.FILES if request.method == "POST" else None


def access_or_404(fetch: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run an access function: missing or out of scope is 404, read-only is 403."""
    try:
        return fetch(*args, **kwargs)
    except errors.NotFound:
        raise Http404 from None
    except errors.PermissionDenied:
        raise PermissionDenied from None


def show_service_errors(
    form: Form, error: ValidationError, rename: Callable[[str], str] | None = None
) -> None:
    """Put a service's errors at the form's fields (``rename`` turns a service's key into the
    form's field name); keys the form has no field for go to the top of the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for key, field_errors in error.error_dict.items():
        name = rename(key) if rename else key
        form.add_error(name if name in form.fields else None, field_errors)


def saved_redirect(request: HttpRequest, url: str) -> HttpResponseRedirect:
    messages.success(request, _("Saved."))
    return redirect(url)


def save_valid_form(
    form: Form,
    save: Callable[[], T],
    on_saved: Callable[[T], HttpResponse],
    *,
    rename: Callable[[str], str] | None = None,
) -> HttpResponse | None:
    """The save step of a form page: a bound, valid form runs ``save`` (one service call) and
    answers ``on_saved(result)``; a service's ``ValidationError`` goes onto the form
    (``show_service_errors``). ``None``
    means: show the form (again)."""
    if not (form.is_bound and form.is_valid()):
        return None
    try:
        result = save()
    except ValidationError as exc:
        show_service_errors(form, exc, rename)
        return None
    return on_saved(result)


def form_page(
    request: HttpRequest,
    form: Form,
    *,
    title: str,
    breadcrumbs: Sequence[tuple[str, str]],
    cancel_url: str,
    fieldsets: Fieldsets | None = None,
    **context: Any,
) -> HttpResponse:
    """A form on a page of its own: ``breadcrumbs`` are (url, label) pairs; ``fieldsets`` are
    (legend or None, field names) pairs, without them the form's fields in one grid. The
    template also reads ``nav_template``, ``note``, ``multipart`` and ``submit_label``."""
    sections = (
        [(legend, [form[name] for name in names]) for legend, names in fieldsets]
        if fieldsets is not None
        else None
    )
    return render(
        request,
        "form_page.html",
        {
            "form": form,
            "fieldsets": sections,
            "title": title,
            "breadcrumbs": breadcrumbs,
            "cancel_url": cancel_url,
            **context,
        },
    )
