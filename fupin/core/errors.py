"""Errors raised by services and access functions, shown to people in their language."""

import uuid
from typing import Any

from django.core.exceptions import ValidationError


class NotFound(Exception):  # noqa: N818 (the name reads as the HTTP answer it becomes)
    """A record is missing or outside the actor's area: both look the same from outside."""


def public_key(value: Any) -> uuid.UUID:
    """A public id from a path or a request as a UUID: anything else names no record."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound from None


class PermissionDenied(Exception):  # noqa: N818
    """The actor may see the record but not do this to it."""


def validation_error(field_errors: dict[str, Any]) -> ValidationError:
    return ValidationError(field_errors)
