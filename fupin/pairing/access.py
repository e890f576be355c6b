"""The one door to a single pairing record: official, pairing, visit, photo, key village, team
member. Missing and out-of-scope records raise the same NotFound.

Who sees what:
- a pairing, a visit and its photos: whoever sees the household (division scope), and the
  official of the pairing (an official always sees their own households);
- an official: the official themself, and whoever's scope covers the official's anchor (the
  village or township their unit is paired with, else the division of their pairing role) or one
  of the households they are responsible for;
- a key village and its team: whoever sees the village.

Changes (assigning, ending, managing teams) need an administrator role over the division
(PAIRING_ADMIN_ROLES); a visit may be recorded by its official or by an editor of the household.
"""

import uuid
from typing import Any, cast

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy

from fupin.accounts.models import Official, RoleAssignment
from fupin.accounts.roles import EDITOR_ROLES, Role
from fupin.accounts.scope import Scope, actor_scope
from fupin.core.errors import NotFound, PermissionDenied, public_key
from fupin.divisions.models import Division
from fupin.pairing.models import HelpUnit, KeyVillage, Pairing, TeamMember, Visit, VisitPhoto
from fupin.registry.models import Household

PAIRING_ADMIN_ROLES = frozenset({Role.CITY_ADMIN, Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN})
VISIT_EDITOR_ROLES = EDITOR_ROLES
READ_ONLY_MESSAGE = gettext_lazy("Your role may read this but not change it.")


def actor_official(actor: Any) -> Official | None:
    """The official profile of the acting user, if any (read once per request)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return None
    if hasattr(actor, "_fupin_official"):
        return cast("Official | None", actor._fupin_official)
    official = Official.objects.filter(user=actor).first()
    actor._fupin_official = official
    return official


def can_manage(scope: Scope, division_path: str) -> bool:
    return scope.covers(division_path, PAIRING_ADMIN_ROLES)


def anchor_path_expression() -> Coalesce:
    """SQL for an official's anchor: their unit's paired division, else their pairing role's."""
    unit_path = HelpUnit.objects.filter(name=OuterRef("unit")).values("paired_division__path")[:1]
    role_path = (
        RoleAssignment.objects.filter(user=OuterRef("user"), role=Role.PAIRING_OFFICIAL)
        .order_by("division__path")
        .values("division__path")[:1]
    )
    return Coalesce(Subquery(unit_path), Subquery(role_path))


def visible_officials(actor: Any) -> QuerySet[Official]:
    """Officials the actor may see (annotated with ``anchor_path``)."""
    scope = actor_scope(actor)
    own = actor_official(actor)
    officials = Official.objects.annotate(anchor_path=anchor_path_expression())
    condition = Q(pk__in=[])
    if not scope.is_empty:
        paired_here = Pairing.objects.active().filter(
            Q(official=OuterRef("pk")) & scope.division_q("household__division__path")
        )
        condition |= scope.division_q("anchor_path") | Q(Exists(paired_here))
    if own is not None:
        condition |= Q(pk=own.pk)
    return officials.filter(condition)


def access_official_by_username(actor: Any, username: str) -> Official:
    """The official with this username if the actor may see them."""
    official = (
        visible_officials(actor).select_related("user").filter(user__username=username).first()
    )
    if official is None:
        raise NotFound
    return official


def _sees_household(actor: Any, household: Household) -> bool:
    if actor_scope(actor).can_see(household.division.path):
        return True
    own = actor_official(actor)
    return (
        own is not None
        and Pairing.objects.active().filter(official=own, household=household).exists()
    )


def access_household_for_pairing(
    actor: Any, household_no: str, *, for_manage: bool = False, for_visit: bool = False
) -> Household:
    """A household for the pairing pages: seen by its division scope or by its own official.

    ``for_manage`` needs an administrator role over it; ``for_visit`` an editor role or an
    active pairing of the actor with it.
    """
    household = (
        Household.objects.select_related("division").filter(household_no=household_no).first()
    )
    if household is None or not _sees_household(actor, household):
        raise NotFound
    scope = actor_scope(actor)
    if for_manage and not can_manage(scope, household.division.path):
        raise PermissionDenied(str(READ_ONLY_MESSAGE))
    if for_visit and not may_record_visit(actor, household):
        raise PermissionDenied(str(READ_ONLY_MESSAGE))
    return household


def may_record_visit(actor: Any, household: Household) -> bool:
    if actor_scope(actor).covers(household.division.path, VISIT_EDITOR_ROLES):
        return True
    own = actor_official(actor)
    return own is not None and Pairing.objects.filter(official=own, household=household).exists()


def access_pairing_by_public_id(
    actor: Any, public_id: str | uuid.UUID, *, for_manage: bool = False
) -> Pairing:
    """A pairing seen through its household (or by its own official)."""
    pairing = (
        Pairing.objects.select_related("official__user", "household__division", "member")
        .filter(public_id=public_key(public_id))
        .first()
    )
    if pairing is None:
        raise NotFound
    own = actor_official(actor)
    scope = actor_scope(actor)
    path = pairing.household.division.path
    if not scope.can_see(path) and (own is None or own.pk != pairing.official_id):
        raise NotFound
    if for_manage and not can_manage(scope, path):
        raise PermissionDenied(str(READ_ONLY_MESSAGE))
    return pairing


def access_visit_by_public_id(actor: Any, public_id: str | uuid.UUID) -> Visit:
    """A visit, seen by whoever sees its household and by its official."""
    visit = (
        Visit.objects.select_related("official__user", "household__division", "recorded_by")
        .filter(public_id=public_key(public_id))
        .first()
    )
    if visit is None:
        raise NotFound
    own = actor_official(actor)
    if not actor_scope(actor).can_see(visit.household.division.path) and (
        own is None or own.pk != visit.official_id
    ):
        raise NotFound
    return visit


def access_visit_photo(
    actor: Any, visit_id: str | uuid.UUID, photo_id: str | uuid.UUID
) -> VisitPhoto:
    visit = access_visit_by_public_id(actor, visit_id)
    photo = VisitPhoto.objects.filter(visit=visit, public_id=public_key(photo_id)).first()
    if photo is None:
        raise NotFound
    return photo


def access_key_village_by_code(actor: Any, code: str, *, for_manage: bool = False) -> KeyVillage:
    """A key village (and so its team) by its 12-digit division code."""
    village = KeyVillage.objects.select_related("division").filter(division__code=code).first()
    scope = actor_scope(actor)
    if village is None or not scope.can_see(village.division.path):
        raise NotFound
    if for_manage and not can_manage(scope, village.division.path):
        raise PermissionDenied(str(READ_ONLY_MESSAGE))
    return village


def access_team_member_by_public_id(
    actor: Any, public_id: str | uuid.UUID, *, for_manage: bool = False
) -> TeamMember:
    member = (
        TeamMember.objects.select_related("village__division", "official__user")
        .filter(public_id=public_key(public_id))
        .first()
    )
    scope = actor_scope(actor)
    if member is None or not scope.can_see(member.village.division.path):
        raise NotFound
    if for_manage and not can_manage(scope, member.village.division.path):
        raise PermissionDenied(str(READ_ONLY_MESSAGE))
    return member


def access_division_by_code(actor: Any, code: str) -> Division:
    """A division inside the actor's scope (for drill-down pages)."""
    division = Division.objects.filter(code=code).first()
    if division is None or not actor_scope(actor).can_see(division.path):
        raise NotFound
    return division
