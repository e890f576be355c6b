"""The one door to a single case or attachment: missing and out-of-scope answer the same
NotFound."""

import uuid
from typing import Any

from fupin.accounts.scope import actor_scope
from fupin.core.errors import NotFound, public_key
from fupin.procedures.models import Attachment, Case


def access_case(actor: Any, public_id: str | uuid.UUID) -> Case:
    key = public_key(public_id)
    scope = actor_scope(actor)
    case = (
        Case.objects.select_related("household", "division").filter(public_id=key).first()
        if not scope.is_empty
        else None
    )
    if case is None or not scope.can_see(case.division.path):
        raise NotFound
    return case


def access_attachment(actor: Any, public_id: str | uuid.UUID) -> Attachment:
    key = public_key(public_id)
    scope = actor_scope(actor)
    attachment = (
        Attachment.objects.select_related("case__division").filter(public_id=key).first()
        if not scope.is_empty
        else None
    )
    if attachment is None or not scope.can_see(attachment.case.division.path):
        raise NotFound
    return attachment
