"""Cases of the procedures (definitions.py), with their transitions, comments, objections and
attachments. Only services.py writes them."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fupin.divisions.models import Division
from fupin.registry.models import Household


class Case(models.Model):
    """One household going through one procedure. ``division`` is the household's division when
    the case was opened: scope is checked on it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    procedure = models.CharField(_("procedure"), max_length=16)
    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.PROTECT, related_name="+"
    )
    division = models.ForeignKey(
        Division, verbose_name=_("division"), on_delete=models.PROTECT, related_name="+"
    )
    year = models.PositiveSmallIntegerField(_("year"))
    channel = models.CharField(_("discovery channel"), max_length=24, blank=True)
    state = models.CharField(_("state"), max_length=24)
    step_started_at = models.DateTimeField(_("step started at"))
    deadline = models.DateField(_("deadline"), null=True, blank=True)
    paused = models.BooleanField(_("paused by an objection"), default=False)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)

    class Meta:
        verbose_name = _("procedure case")
        verbose_name_plural = _("procedure cases")
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["division", "procedure", "state"], name="case_division_idx"),
        ]
        constraints = [
            # One open case per household and procedure.
            models.UniqueConstraint(
                fields=["household", "procedure"],
                condition=Q(closed_at__isnull=True),
                name="case_one_open_per_household",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.procedure} {self.household_id} {self.state}"


class Transition(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="transitions")
    action = models.CharField(_("action"), max_length=16)
    from_state = models.CharField(_("from"), max_length=24, blank=True)
    to_state = models.CharField(_("to"), max_length=24)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    actor_username = models.CharField(max_length=150, blank=True)
    role = models.CharField(_("role"), max_length=24, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.action} {self.from_state} → {self.to_state}"


class Comment(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments")
    state = models.CharField(_("state"), max_length=24)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    author_username = models.CharField(max_length=150, blank=True)
    text = models.TextField(_("comment"))
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return self.text[:40]


class Objection(models.Model):
    """An objection raised during a publicity period: the case is paused until it is resolved."""

    class Decision(models.TextChoices):
        DISMISSED = "dismissed", _("dismissed: the case resumes")
        UPHELD = "upheld", _("upheld: the case is rejected")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="objections")
    state = models.CharField(_("state"), max_length=24)
    text = models.TextField(_("objection"))
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    raised_at = models.DateTimeField(_("raised at"), auto_now_add=True)
    decision = models.CharField(_("decision"), max_length=16, choices=Decision, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["raised_at", "id"]

    def __str__(self) -> str:
        return self.text[:40]


class Attachment(models.Model):
    """A file kept under DATA_DIR/procedures/, served only through an access-checked view."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    state = models.CharField(_("state"), max_length=24)
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(max_length=64)
    stored_name = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class PublicNotice(models.Model):
    """An issued public notice (公示/公告) of a village: the households on one publicity or
    announcement step of a procedure in a period. ``snapshot`` holds everything printed (title,
    names, dates, rows with masked id numbers) as it was when issued, so a re-print is the same
    document even after the households change. Only fupin/procedures/notices.py writes it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    village = models.ForeignKey(
        Division, verbose_name=_("village"), on_delete=models.PROTECT, related_name="+"
    )
    procedure = models.CharField(_("procedure"), max_length=16)
    step = models.CharField(_("step"), max_length=24)
    title = models.CharField(_("title"), max_length=200)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    where_to_object = models.TextField(_("where to object"))
    snapshot = models.JSONField(_("content as issued"))
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    issued_by_name = models.CharField(_("issued by"), max_length=150)
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)

    class Meta:
        verbose_name = _("public notice")
        verbose_name_plural = _("public notices")
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["village", "issued_at"], name="notice_village_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="notice_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.title
