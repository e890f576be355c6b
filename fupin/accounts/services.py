"""Writes to accounts: users, official profiles, roles and API tokens. Each one is audited."""

import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.accounts.authentication import token_digest
from fupin.accounts.models import ApiToken, Official, RoleAssignment, User
from fupin.accounts.roles import ROLE_LEVEL, RankLevel, Role
from fupin.core.audit import ChangeSource, audit_record
from fupin.divisions.models import Division


def _division_for_role(role: str, division_code: str) -> Division:
    if role not in Role.values:
        raise ValidationError({"role": _("Unknown role %(role)s.") % {"role": role}})
    division = Division.objects.filter(code=division_code).first()
    if division is None:
        raise ValidationError(
            {"division": _("Unknown division code %(code)s.") % {"code": division_code}}
        )
    expected = ROLE_LEVEL.get(Role(role))
    if expected and division.level != expected:
        raise ValidationError(
            {
                "division": _("A %(role)s is bound to a division of level %(level)s.")
                % {"role": Role(role).label, "level": expected}
            }
        )
    return division


@transaction.atomic
def user_create(
    *,
    actor: Any,
    source: ChangeSource,
    username: str,
    password: str,
    role: str,
    division_code: str,
    full_name: str = "",
    unit: str = "",
    rank_level: str = RankLevel.OTHER,
    phone: str = "",
) -> User:
    """Create a user with an official profile and one role over a division subtree."""
    if User.objects.filter(username=username).exists():
        raise ValidationError({"username": _("This username is taken.")})
    division = _division_for_role(role, division_code)
    if rank_level not in RankLevel.values:
        raise ValidationError({"rank_level": _("Unknown rank level.")})
    user = User(username=username)
    validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    Official.objects.create(
        user=user, full_name=full_name or username, unit=unit, rank_level=rank_level, phone=phone
    )
    RoleAssignment.objects.create(user=user, role=role, division=division)
    audit_record(
        actor=actor,
        action="user.create",
        entity="user",
        entity_key=username,
        source=source,
        division_path=division.path,
        after={
            "username": username,
            "role": role,
            "division": division_code,
            "unit": unit,
            "rank_level": rank_level,
            "phone": phone,
        },
    )
    return user


@transaction.atomic
def role_assign(
    *, actor: Any, source: ChangeSource, user: User, role: str, division_code: str
) -> RoleAssignment:
    """Give a user one more role over a division subtree."""
    division = _division_for_role(role, division_code)
    assignment, created = RoleAssignment.objects.get_or_create(
        user=user, role=role, division=division
    )
    if created:
        audit_record(
            actor=actor,
            action="role.assign",
            entity="user",
            entity_key=user.username,
            source=source,
            division_path=division.path,
            after={"role": role, "division": division_code},
        )
    return assignment


@transaction.atomic
def token_create(*, actor: Any, source: ChangeSource, user: User, name: str = "") -> str:
    """Create an API token and return it; only its digest is kept, so it is shown once."""
    raw = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=raw[:8], digest=token_digest(raw))
    audit_record(
        actor=actor,
        action="token.create",
        entity="user",
        entity_key=user.username,
        source=source,
        after={"token_prefix": raw[:8], "name": name},
    )
    return raw


@transaction.atomic
def token_revoke(*, actor: Any, source: ChangeSource, token: ApiToken) -> None:
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    audit_record(
        actor=actor,
        action="token.revoke",
        entity="user",
        entity_key=token.user.username,
        source=source,
        before={"token_prefix": token.prefix},
    )
