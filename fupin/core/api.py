from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from fupin.core.errors import NotFound, PermissionDenied


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
