"""The one door to a single measure, project or photo.

Missing and out-of-scope records raise the same NotFound. A measure follows its household; a
project is seen by whoever sees its owning division or one of its villages and changed by the
editors of its owning division; a photo follows its measure or project.
"""

from typing import Any

from django.utils.translation import gettext_lazy

from fupin.accounts.roles import Role
from fupin.accounts.scope import Scope, actor_scope
from fupin.assistance.models import Measure, MeasureType, Photo, Project, ProjectVillage
from fupin.core.errors import NotFound, PermissionDenied, public_key

READ_ONLY_MESSAGE = gettext_lazy("Your role may read this record but not change it.")
CATALOGUE_MESSAGE = gettext_lazy("Only a city administrator changes the measure catalogue.")
CATALOGUE_ROLES = frozenset({Role.CITY_ADMIN})


def access_measure_by_public_id(actor: Any, public_id: Any, *, for_edit: bool = False) -> Measure:
    """The measure if the actor may see its household (and edit it, with ``for_edit``)."""
    scope = actor_scope(actor)
    key = public_key(public_id)
    measure = (
        Measure.objects.select_related("household__division", "type", "member", "project")
        .filter(public_id=key)
        .first()
        if not scope.is_empty
        else None
    )
    if measure is None or not scope.can_see(measure.household.division.path):
        raise NotFound
    if for_edit and not scope.can_edit(measure.household.division.path):
        raise PermissionDenied(str(READ_ONLY_MESSAGE))
    return measure


def project_visible(scope: Scope, project: Project) -> bool:
    if scope.can_see(project.division.path):
        return True
    paths = ProjectVillage.objects.filter(project=project).values_list("village__path", flat=True)
    return any(scope.can_see(p) for p in paths)


def access_project_by_code(actor: Any, code: str, *, for_edit: bool = False) -> Project:
    """The project if the actor sees its owning division or one of its villages; editing needs
    an editor role over the owning division."""
    scope = actor_scope(actor)
    project = (
        Project.objects.select_related("division").filter(code=code).first()
        if not scope.is_empty
        else None
    )
    if project is None or not project_visible(scope, project):
        raise NotFound
    if for_edit and not scope.can_edit(project.division.path):
        raise PermissionDenied(str(READ_ONLY_MESSAGE))
    return project


def access_photo_by_public_id(actor: Any, public_id: Any) -> Photo:
    """A photo, under the rule of its measure or project."""
    scope = actor_scope(actor)
    key = public_key(public_id)
    photo = (
        Photo.objects.select_related("measure__household__division", "project__division")
        .filter(public_id=key)
        .first()
        if not scope.is_empty
        else None
    )
    if photo is None:
        raise NotFound
    if photo.measure is not None:
        if not scope.can_see(photo.measure.household.division.path):
            raise NotFound
    elif photo.project is None or not project_visible(scope, photo.project):
        raise NotFound
    return photo


def access_measure_type_by_code(actor: Any, code: str, *, for_edit: bool = False) -> MeasureType:
    """A catalogue entry; every signed-in user reads the catalogue, a city administrator edits."""
    scope = actor_scope(actor)
    measure_type = MeasureType.objects.filter(code=code).first() if not scope.is_empty else None
    if measure_type is None:
        raise NotFound
    if for_edit and not can_edit_catalogue(actor):
        raise PermissionDenied(str(CATALOGUE_MESSAGE))
    return measure_type


def can_edit_catalogue(actor: Any) -> bool:
    return bool(actor_scope(actor).paths(CATALOGUE_ROLES))
