"""Roles and what each may do. A role is always bound to one division subtree."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CITY_ADMIN = "city_admin", _("city administrator")
    COUNTY_ADMIN = "county_admin", _("county administrator")
    TOWNSHIP_ADMIN = "township_admin", _("township administrator")
    VILLAGE_CADRE = "village_cadre", _("village cadre")
    PAIRING_OFFICIAL = "pairing_official", _("pairing official")
    DEPARTMENT_USER = "department_user", _("department user")
    LEADER = "leader", _("leader (read only)")
    AUDITOR = "auditor", _("auditor")


class RankLevel(models.TextChoices):
    CITY = "city", _("city level (市级)")
    COUNTY = "county", _("county level (县级)")
    SECTION = "section", _("section level (科级)")
    OTHER = "other", _("other (其他)")


# Roles that register and edit households in their subtree.
EDITOR_ROLES = frozenset(
    {Role.CITY_ADMIN, Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.VILLAGE_CADRE}
)
# Roles that see id numbers and phones unmasked. Leaders, departments and pairing officials see
# masked values: they work with households, not with identity documents.
PERSONAL_DATA_ROLES = frozenset(
    {Role.CITY_ADMIN, Role.COUNTY_ADMIN, Role.TOWNSHIP_ADMIN, Role.VILLAGE_CADRE, Role.AUDITOR}
)
# Roles that read the audit trail of their whole subtree (every role reads a household's own).
AUDIT_ROLES = frozenset({Role.AUDITOR, Role.CITY_ADMIN, Role.COUNTY_ADMIN})
# Roles that manage accounts in their subtree.
ACCOUNT_ADMIN_ROLES = frozenset({Role.CITY_ADMIN, Role.COUNTY_ADMIN})

# The division level an administrative role is bound to; other roles may sit at any level.
ROLE_LEVEL = {
    Role.CITY_ADMIN: "city",
    Role.COUNTY_ADMIN: "county",
    Role.TOWNSHIP_ADMIN: "township",
    Role.VILLAGE_CADRE: "village",
}
