"""The API's shared plumbing: the exception handler that maps domain errors to HTTP, and the
helpers the apps' API modules use (input parsing, filters, pagination, standard answers)."""

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.forms import Form
from django.http import Http404
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser, JSONParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from fupin.core.errors import NotFound, PermissionDenied
from fupin.core.pagination import Pagination


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map domain errors to HTTP: not found (incl. out of scope) 404, validation 400 with fields."""
    if isinstance(exc, NotFound):
        exc = Http404()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            detail: Any = {
                k: [str(m) for e in v for m in e.messages] for k, v in exc.error_dict.items()
            }
        else:
            detail = {"non_field_errors": [str(m) for m in exc.messages]}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == 404:
        response.data = {"detail": _("Not found.")}
    return response


# ---------------------------------------------------------------------------------------------
# Plumbing the apps' API modules share: JSON in and out, input parsing with field errors, filter
# forms, pagination and the standard error answers of the OpenAPI document.


# JSON in and out: bodies nest (members, the first record), and the browsable API's inline scripts
# would break under the CSP. (A comment, not a docstring: drf-spectacular would show a docstring
# as the description of every operation that has none.)
class JsonApi:
    parser_classes: Sequence[type[BaseParser]] = [JSONParser]
    renderer_classes: Sequence[type[BaseRenderer]] = [JSONRenderer]


class ErrorOutputSerializer(serializers.Serializer[Any]):
    """The body of 401, 403 and 404 answers."""

    detail = serializers.CharField()


def flatten_errors(errors: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as one level: ``{"members": [{}, {"sex": […]}]}`` → ``members.1.sex``."""
    out: dict[str, list[str]] = {}
    if isinstance(errors, Mapping):
        for key, value in errors.items():
            nested = prefix if key == "non_field_errors" and prefix else f"{prefix}{key}."
            out.update(flatten_errors(value, nested))
    elif isinstance(errors, list) and all(isinstance(e, str) for e in errors):
        out[prefix.rstrip(".") or "non_field_errors"] = [str(e) for e in errors]
    elif isinstance(errors, list):
        for index, value in enumerate(errors):
            out.update(flatten_errors(value, f"{prefix}{index}."))
    else:
        out[prefix.rstrip(".") or "non_field_errors"] = [str(errors)]
    return out


def parse_input(
    serializer_class: type[serializers.Serializer[Any]],
    data: Any,
    *,
    partial: bool = False,
    flat_errors: bool = True,
) -> dict[str, Any]:
    """The validated body, or a 400 answer with the field errors (one level unless told)."""
    serializer = serializer_class(data=data, partial=partial)
    if not serializer.is_valid():
        errors = flatten_errors(serializer.errors) if flat_errors else serializer.errors
        raise exceptions.ValidationError(errors)
    return dict(serializer.validated_data)


def valid_filters(form: Form) -> dict[str, Any]:
    """The cleaned query filters, or a 400 answer keyed by the form's fields."""
    if not form.is_valid():
        raise DjangoValidationError(form.errors.as_data())
    return dict(form.cleaned_data)


def paginated_response(
    request: Request, view: APIView, items: Any, serializer_class: Any
) -> Response:
    """One page of ``items`` shaped by ``serializer_class``, with the count and links."""
    paginator = Pagination()
    page = paginator.paginate_queryset(items, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


def field_errors_response(description: str) -> OpenApiResponse:
    """A 400 answer of the OpenAPI document: ``{field: [message, …]}``."""
    return OpenApiResponse(FIELD_ERRORS_SCHEMA, description=description)


def error_response(description: str) -> OpenApiResponse:
    """A 401, 403 or 404 answer of the OpenAPI document: ``{"detail": message}``."""
    return OpenApiResponse(ErrorOutputSerializer, description=description)


FIELD_ERRORS = field_errors_response(
    "Field errors: `{field: [message, …]}`; nested fields as `members.0.id_number`."
)
NOT_AUTHENTICATED = error_response("not authenticated")
ERRORS: dict[int, Any] = {
    400: FIELD_ERRORS,
    401: NOT_AUTHENTICATED,
    403: error_response("the role may read but not edit"),
    404: error_response("missing, or outside the actor's area (the same answer)"),
}
READ_ERRORS = {code: ERRORS[code] for code in (401, 404)}


def api_route(route: str, view: type[APIView], name: str) -> list[URLPattern]:
    """A route of API v1 (paths have no trailing slash) and its variant with one, accepted too
    but left out of the schema."""
    return [
        path(route, view.as_view(), name=name),
        path(f"{route}/", view.as_view(schema=None), name=f"{name}-slash"),
    ]
