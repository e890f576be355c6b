from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from fupin.accounts.roles import RankLevel, Role
from fupin.divisions.models import Division


class User(AbstractUser):
    """A person who signs in to Fupin: office staff, cadres, officials, leaders, auditors."""

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")


class Official(models.Model):
    """The official profile (干部信息) of a user: unit, rank level and phone."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="official")
    full_name = models.CharField(_("name"), max_length=50)
    unit = models.CharField(_("unit"), max_length=100, blank=True)
    rank_level = models.CharField(
        _("rank level"), max_length=10, choices=RankLevel.choices, default=RankLevel.OTHER
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("official")
        verbose_name_plural = _("officials")

    def __str__(self) -> str:
        return self.full_name


class RoleAssignment(models.Model):
    """A role held by a user over one division subtree (角色与辖区)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    division = models.ForeignKey(
        Division, verbose_name=_("division"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "division"], name="role_unique_per_division"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.role}@{self.division_id}"


class ApiToken(models.Model):
    """An API token for a system or script. Only its SHA-256 digest is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(_("prefix"), max_length=8)
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}…"
