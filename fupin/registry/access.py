"""The one door to a single protected registry record.

Missing and out-of-scope records raise the same NotFound, so a guessed household number
reveals nothing.
"""

import uuid
from typing import Any

from django.utils.translation import gettext_lazy

from fupin.accounts.scope import actor_scope
from fupin.core.errors import NotFound, PermissionDenied, public_key
from fupin.registry.models import Household, Member

READ_ONLY_MESSAGE = gettext_lazy("Your role may read this household but not change it.")


def access_household_by_no(actor: Any, household_no: str, *, for_edit: bool = False) -> Household:
    """The household with this number if the actor may see it (and edit it, with ``for_edit``)."""
    scope = actor_scope(actor)
    household = (
        Household.objects.select_related("division").filter(household_no=household_no).first()
        if not scope.is_empty
        else None
    )
    if household is None or not scope.can_see(household.division.path):
        raise NotFound
    if for_edit and not scope.can_edit(household.division.path):
        raise PermissionDenied(str(READ_ONLY_MESSAGE))
    return household


def access_member_by_public_id(
    actor: Any, public_id: str | uuid.UUID, *, for_edit: bool = False
) -> Member:
    """A member by its public id, under the same rule as its household."""
    key = public_key(public_id)
    member = Member.objects.select_related("household__division").filter(public_id=key).first()
    scope = actor_scope(actor)
    if member is None or not scope.can_see(member.household.division.path):
        raise NotFound
    if for_edit and not scope.can_edit(member.household.division.path):
        raise PermissionDenied(str(READ_ONLY_MESSAGE))
    return member
