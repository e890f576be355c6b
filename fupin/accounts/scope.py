"""What an actor may see and do: the union of the division subtrees of their roles.

Every read path filters by ``actor_scope(actor)``; a record outside it is treated exactly like
a missing one.
"""

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from fupin.accounts.roles import (
    ACCOUNT_ADMIN_ROLES,
    AUDIT_ROLES,
    EDITOR_ROLES,
    PERSONAL_DATA_ROLES,
    Role,
)
from fupin.divisions.models import subtree_q


@dataclass(frozen=True)
class Grant:
    role: str
    path: str
    division_code: str


@dataclass(frozen=True)
class Scope:
    grants: tuple[Grant, ...]

    def paths(self, roles: frozenset[Role] | None = None) -> list[str]:
        paths = sorted({g.path for g in self.grants if roles is None or g.role in roles})
        # Drop paths covered by a shorter one, so queries stay small.
        kept: list[str] = []
        for p in paths:
            if not any(p.startswith(k) for k in kept):
                kept.append(p)
        return kept

    def division_q(self, field: str = "path", roles: frozenset[Role] | None = None) -> Q:
        condition = Q(pk__in=[])
        for path in self.paths(roles):
            condition |= subtree_q(path, field)
        return condition

    def covers(self, division_path: str, roles: frozenset[Role] | None = None) -> bool:
        return any(division_path.startswith(p) for p in self.paths(roles))

    def can_see(self, division_path: str) -> bool:
        return self.covers(division_path)

    def can_edit(self, division_path: str) -> bool:
        return self.covers(division_path, EDITOR_ROLES)

    def can_see_personal_data(self, division_path: str) -> bool:
        return self.covers(division_path, PERSONAL_DATA_ROLES)

    def can_read_audit(self) -> bool:
        return bool(self.paths(AUDIT_ROLES))

    def can_manage_accounts(self, division_path: str) -> bool:
        return self.covers(division_path, ACCOUNT_ADMIN_ROLES)

    @property
    def is_empty(self) -> bool:
        return not self.grants

    @property
    def roles(self) -> list[str]:
        return sorted({g.role for g in self.grants})


EMPTY_SCOPE = Scope(grants=())


def actor_scope(actor: Any) -> Scope:
    """The actor's scope, read once and kept on the user object for the request."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return EMPTY_SCOPE
    cached: Scope | None = getattr(actor, "_fupin_scope", None)
    if cached is not None:
        return cached
    from fupin.accounts.models import RoleAssignment

    grants = tuple(
        Grant(role=role, path=path, division_code=code)
        for role, path, code in RoleAssignment.objects.filter(user=actor).values_list(
            "role", "division__path", "division__code"
        )
    )
    scope = Scope(grants=grants)
    actor._fupin_scope = scope
    return scope
