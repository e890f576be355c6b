"""Pairing (结对帮扶), visits (走访), provincial key villages and their work teams (驻村工作队).

Policy numbers (quotas per rank level, visit frequencies) are versioned rows with a source note,
never constants: a new version closes the previous one, a value is never changed in place.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from fupin.accounts.models import Official
from fupin.accounts.roles import RankLevel
from fupin.divisions.models import Division
from fupin.registry.models import Household, Member


class QuotaRule(models.Model):
    """A pairing quota (结对帮扶户数) for one rank level over a validity period.

    ``households`` is the most households an official of this rank level is responsible for;
    ``orphans`` the orphans (孤儿) paired on top of them (Liaocheng: one for each city- and
    county-level leader).
    """

    rank_level = models.CharField(_("rank level"), max_length=10, choices=RankLevel.choices)
    households = models.PositiveSmallIntegerField(_("households"))
    orphans = models.PositiveSmallIntegerField(_("orphans"), default=0)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=300)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pairing quota")
        verbose_name_plural = _("pairing quotas")
        ordering = ["rank_level", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["rank_level", "valid_from"], name="quota_one_version_per_day"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="quota_valid_period",
            ),
            models.CheckConstraint(condition=Q(households__lte=100), name="quota_households_max"),
        ]

    def __str__(self) -> str:
        return f"{self.rank_level}:{self.households}+{self.orphans}@{self.valid_from}"


class VisitRule(models.Model):
    """How often households of given statuses are visited (走访频次), over a validity period.

    A household whose status is listed in a rule valid today is in the pairing programme: it
    needs a responsible official and a visit at least every ``interval_days`` days.
    """

    code = models.CharField(_("code"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    statuses = models.JSONField(_("household statuses"), default=list)
    interval_days = models.PositiveSmallIntegerField(_("at least one visit every (days)"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=300)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("visit rule")
        verbose_name_plural = _("visit rules")
        ordering = ["interval_days", "code", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["code", "valid_from"], name="visitrule_one_per_day"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="visitrule_valid_period",
            ),
            models.CheckConstraint(
                condition=Q(interval_days__gte=1, interval_days__lte=366),
                name="visitrule_interval_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code}:{self.interval_days}d@{self.valid_from}"


class HelpUnit(models.Model):
    """A unit that sends officials to help (帮扶单位) and the village or township it is paired
    with (单位包村). Officials belong to it by the unit name on their profile."""

    name = models.CharField(_("unit"), max_length=100, unique=True)
    home = models.ForeignKey(
        Division, verbose_name=_("seat"), on_delete=models.PROTECT, related_name="+"
    )
    paired_division = models.ForeignKey(
        Division,
        verbose_name=_("paired village or township"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("help unit")
        verbose_name_plural = _("help units")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PairingQuerySet(models.QuerySet["Pairing"]):
    def active(self) -> "PairingQuerySet":
        return self.filter(ended_on__isnull=True)


class Pairing(models.Model):
    """A pairing (结对帮扶): an official responsible for a household (帮扶责任人), or for an
    orphan child of a household. Active while ``ended_on`` is empty; ended pairings stay as
    history."""

    class Kind(models.TextChoices):
        HOUSEHOLD = "household", _("household")
        ORPHAN = "orphan", _("orphan")

    class Origin(models.TextChoices):
        MANUAL = "manual", _("by hand")
        PROPOSAL = "proposal", _("automatic proposal")

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    official = models.ForeignKey(
        Official, verbose_name=_("official"), on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.CASCADE, related_name="+"
    )
    member = models.ForeignKey(
        Member,
        verbose_name=_("orphan"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices)
    started_on = models.DateField(_("since"))
    ended_on = models.DateField(_("until"), null=True, blank=True)
    end_reason = models.CharField(_("reason for ending"), max_length=200, blank=True)
    # The official's latest visit to the household under this pairing (written by visit_log).
    last_visited_on = models.DateField(_("last visit"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = PairingQuerySet.as_manager()

    class Meta:
        verbose_name = _("pairing")
        verbose_name_plural = _("pairings")
        ordering = ["-started_on", "-id"]
        indexes = [
            # Covers the count of active pairings per official and kind (quota, coverage).
            models.Index(fields=["official", "kind", "ended_on"], name="pairing_official_idx"),
            models.Index(fields=["household", "ended_on"], name="pairing_household_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(kind="household", ended_on__isnull=True),
                name="pairing_one_responsible_official",
            ),
            models.UniqueConstraint(
                fields=["member"],
                condition=Q(kind="orphan", ended_on__isnull=True),
                name="pairing_one_official_per_orphan",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                name="pairing_period",
            ),
            models.CheckConstraint(
                condition=Q(kind="household", member__isnull=True)
                | Q(kind="orphan", member__isnull=False),
                name="pairing_orphan_has_member",
            ),
        ]

    def __str__(self) -> str:
        return str(self.public_id)

    @property
    def is_active(self) -> bool:
        return self.ended_on is None


class Visit(models.Model):
    """A visit (走访) of an official to a household under a pairing: date, place, what was done
    and the next steps (帮扶日志)."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    pairing = models.ForeignKey(
        Pairing, verbose_name=_("pairing"), on_delete=models.CASCADE, related_name="visits"
    )
    official = models.ForeignKey(
        Official, verbose_name=_("official"), on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.CASCADE, related_name="+"
    )
    visited_on = models.DateField(_("visit date"))
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    content = models.TextField(_("what was done"))
    next_steps = models.TextField(_("next steps"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_on", "-id"]
        indexes = [
            models.Index(fields=["household", "-visited_on"], name="visit_household_idx"),
            models.Index(fields=["official", "-visited_on"], name="visit_official_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True) | Q(latitude__gte=-90, latitude__lte=90),
                name="visit_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True) | Q(longitude__gte=-180, longitude__lte=180),
                name="visit_longitude_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.public_id)


def _photo_path(instance: "VisitPhoto", filename: str) -> str:
    # Never the uploaded name: a fresh id and the extension of the detected format.
    return f"pairing/visits/{instance.public_id.hex[:2]}/{instance.public_id}.{instance.extension}"


class VisitPhoto(models.Model):
    """A photo taken at a visit (走访照片). Served only through an access-checked view."""

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="photos"
    )
    file = models.FileField(_("file"), upload_to=_photo_path, max_length=200)
    content_type = models.CharField(_("content type"), max_length=40)
    size = models.PositiveIntegerField(_("size (bytes)"))
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("visit photo")
        verbose_name_plural = _("visit photos")
        ordering = ["visit_id", "id"]

    def __str__(self) -> str:
        return str(self.public_id)

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}[
            self.content_type
        ]


class KeyVillage(models.Model):
    """A provincial key village (省定重点村): a poor village that gets a first secretary
    (第一书记) and a village work team (驻村工作队)."""

    division = models.OneToOneField(
        Division, verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    designated_year = models.PositiveSmallIntegerField(_("designated in"))
    source = models.CharField(_("source"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("key village")
        verbose_name_plural = _("key villages")
        ordering = ["division__code"]

    def __str__(self) -> str:
        return self.division.code


class TeamMember(models.Model):
    """A member of a village work team (驻村工作队员), the first secretary (第一书记) among them,
    with the unit that sent them and their dates."""

    class Role(models.TextChoices):
        FIRST_SECRETARY = "first_secretary", _("first secretary")
        MEMBER = "member", _("team member")

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    village = models.ForeignKey(
        KeyVillage, verbose_name=_("key village"), on_delete=models.CASCADE, related_name="team"
    )
    official = models.ForeignKey(
        Official, verbose_name=_("official"), on_delete=models.PROTECT, related_name="+"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    unit = models.CharField(_("sending unit"), max_length=100)
    started_on = models.DateField(_("since"))
    ended_on = models.DateField(_("until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("work team member")
        verbose_name_plural = _("work team members")
        ordering = ["village_id", "role", "started_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["village"],
                condition=Q(role="first_secretary", ended_on__isnull=True),
                name="team_one_first_secretary",
            ),
            models.UniqueConstraint(
                fields=["village", "official"],
                condition=Q(ended_on__isnull=True),
                name="team_member_once",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=F("started_on")),
                name="team_member_period",
            ),
        ]

    def __str__(self) -> str:
        return str(self.public_id)


class Attendance(models.Model):
    """Days a work team member spent in the village in one month (驻村天数)."""

    member = models.ForeignKey(
        TeamMember,
        verbose_name=_("team member"),
        on_delete=models.CASCADE,
        related_name="attendance",
    )
    month = models.DateField(_("month"))
    days = models.PositiveSmallIntegerField(_("days in the village"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        ordering = ["member_id", "month"]
        constraints = [
            models.UniqueConstraint(fields=["member", "month"], name="attendance_one_per_month"),
            models.CheckConstraint(condition=Q(days__lte=31), name="attendance_days_range"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}/{self.month:%Y-%m}"
