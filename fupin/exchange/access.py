"""Who may import, who may export what, and the one door to a single job.

A job that is missing and a job the actor may not see raise the same NotFound, so a guessed job
id reveals nothing (the registry's rule, applied to jobs).
"""

import uuid
from typing import Any

from django.db.models import Q

from fupin.accounts.roles import EDITOR_ROLES, Role
from fupin.accounts.scope import actor_scope
from fupin.core.errors import NotFound, public_key
from fupin.divisions.models import subtree_q
from fupin.exchange.models import Job

# Administrators see the jobs of the people in their subtree, not only their own.
JOB_ADMIN_ROLES = frozenset({Role.CITY_ADMIN, Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN})


def can_import(actor: Any) -> bool:
    """Importing changes the registry: only the roles that edit households may (not leaders,
    auditors, departments or pairing officials). The engine still checks every row's division
    against the actor's own editing area."""
    return bool(actor_scope(actor).paths(EDITOR_ROLES))


def can_export(actor: Any) -> bool:
    """Anyone who may read some part of the registry may export that part."""
    return not actor_scope(actor).is_empty


def may_export_personal_data(actor: Any, division_path: str = "") -> bool:
    """Whether an unmasked export of ``division_path`` (or of the actor's whole area) is allowed:
    the actor needs the personal-data right over all of it."""
    scope = actor_scope(actor)
    paths = [division_path] if division_path else scope.paths()
    return bool(paths) and all(scope.can_see_personal_data(p) for p in paths)


def masked_export_forced(actor: Any) -> bool:
    """True when the actor has the personal-data right nowhere: every export they make is
    masked, and the form shows the option ticked and fixed."""
    scope = actor_scope(actor)
    return not any(scope.can_see_personal_data(p) for p in scope.paths())


def visible_jobs_q(actor: Any) -> Q:
    """The jobs the actor may see: their own, and for administrators those acting inside their
    subtree."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return Q(pk__in=[])
    condition = Q(created_by=actor)
    for path in actor_scope(actor).paths(JOB_ADMIN_ROLES):
        condition |= subtree_q(path, "division_path")
    return condition


def access_job_by_public_id(
    actor: Any, public_id: str | uuid.UUID, *, kind: str = "", with_report: bool = True
) -> Job:
    """The job with this public id if the actor may see it (and it is of ``kind``, if given).

    ``with_report`` False leaves the report (up to megabytes of errors) in the database, for the
    progress polls."""
    key = public_key(public_id)
    jobs = Job.objects.filter(visible_jobs_q(actor), public_id=key)
    if kind:
        jobs = jobs.filter(kind=kind)
    if not with_report:
        jobs = jobs.defer("report")
    job = jobs.select_related("created_by").first()
    if job is None:
        raise NotFound
    return job
