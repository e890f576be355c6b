from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class CodeItem(models.Model):
    """One value of a national code list (代码表), valid for a period.

    Code lists change with policy (因婚/因丧 were added in 2016; 五保贫困户 became
    特困供养贫困户), so each value carries its validity. Records store the stable English
    ``code``; the Chinese label is what people and exchange files see.
    """

    list_key = models.CharField(_("code list"), max_length=40)
    code = models.CharField(_("code"), max_length=40)
    label_zh = models.CharField(_("Chinese label"), max_length=60)
    label_en = models.CharField(_("English label"), max_length=80)
    aliases = models.CharField(
        _("accepted aliases"), max_length=200, blank=True, help_text=_("separated by |")
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("code list value")
        verbose_name_plural = _("code list values")
        ordering = ["list_key", "sort_order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["list_key", "code"], name="codeitem_unique_code"),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="codeitem_valid_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.list_key}:{self.code}"


class AuditEvent(models.Model):
    """One change to protected data (审计记录): who, what, when, before/after, and from where.

    ``entity_key`` is the public key of the changed record (household number, username, division
    code). ``division_path`` places the change in the division tree so that an auditor sees only
    the changes inside their own area. Before/after hold field values, personal data included;
    they are masked when shown to roles without the right to see personal data and are never
    written to logs.
    """

    class Source(models.TextChoices):
        WEB = "web", _("web")
        API = "api", _("API")
        IMPORT = "import", _("import file")
        DEVICE = "device", _("mobile device")
        COMMAND = "command", _("command line")
        SYSTEM = "system", _("system")

    occurred_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_username = models.CharField(_("actor username"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=60)
    entity = models.CharField(_("entity"), max_length=40)
    entity_key = models.CharField(_("record"), max_length=64)
    household_no = models.CharField(_("household number"), max_length=32, blank=True)
    division_path = models.CharField(_("division path"), max_length=255, blank=True)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    source_detail = models.JSONField(_("source detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["household_no", "-occurred_at"], name="audit_household_idx"),
            models.Index(fields=["entity", "entity_key"], name="audit_entity_idx"),
            models.Index(fields=["division_path"], name="audit_division_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.entity_key}"
