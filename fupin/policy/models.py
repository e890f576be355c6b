import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fupin.core.models import TimeStampedModel
from fupin.divisions.models import Division
from fupin.registry.models import Household


class PolicyRevision(models.Model):
    """One change of the policy data (政策参数修订). Its number is the *policy version* that
    evaluations and scenarios record: the data they ran on can always be named."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_username = models.CharField(_("actor username"), max_length=150, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("policy revision")
        verbose_name_plural = _("policy revisions")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"v{self.pk}"


class PolicyValue(models.Model):
    """A policy number (政策参数) such as a year's poverty line for one identification standard,
    a province's monitoring range or an exit threshold, with its source and validity.

    Values are versioned: every version of one value shares ``lineage``; only one is current.
    A version that a stored evaluation used is never changed: editing it makes a new version
    (``fupin.policy.services.policy_value_update``).
    """

    lineage = models.UUIDField(_("lineage"), default=uuid.uuid4, editable=False)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    name = models.CharField(_("parameter"), max_length=40)
    qualifier = models.CharField(_("qualifier"), max_length=40, blank=True)
    value = models.DecimalField(_("value"), max_digits=14, decimal_places=4)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    source_note = models.TextField(_("source"))
    is_current = models.BooleanField(_("current"), default=True)
    revision = models.ForeignKey(
        PolicyRevision, verbose_name=_("revision"), on_delete=models.PROTECT, related_name="values"
    )

    class Meta:
        verbose_name = _("policy value")
        verbose_name_plural = _("policy values")
        ordering = ["name", "qualifier", "valid_from", "-version"]
        indexes = [
            models.Index(fields=["name", "qualifier", "valid_from"], name="policyvalue_lookup_idx")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["lineage", "version"], name="policyvalue_unique_version"
            ),
            models.UniqueConstraint(
                fields=["lineage"], condition=Q(is_current=True), name="policyvalue_one_current"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="policyvalue_valid_period",
            ),
        ]

    def __str__(self) -> str:
        qualifier = f"[{self.qualifier}]" if self.qualifier else ""
        return f"{self.name}{qualifier}={self.value} v{self.version}"


class EvaluationRun(models.Model):
    """One bulk evaluation (评估) of a year over a division subtree: with the policy version and
    the data version it ran on, and the exact parameter values it used."""

    year = models.PositiveSmallIntegerField(_("year"))
    division = models.ForeignKey(
        Division,
        verbose_name=_("division"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    seconds = models.FloatField(_("seconds"), default=0.0)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_username = models.CharField(_("actor username"), max_length=150, blank=True)
    policy_version = models.PositiveIntegerField(_("policy version"))
    data_version = models.CharField(_("data version"), max_length=32)
    parameters = models.JSONField(_("parameters"), default=dict)
    values_used = models.ManyToManyField(
        PolicyValue, verbose_name=_("policy values used"), related_name="evaluation_runs"
    )
    households = models.PositiveIntegerField(_("households"), default=0)
    summary = models.JSONField(_("summary"), default=dict)

    class Meta:
        verbose_name = _("evaluation run")
        verbose_name_plural = _("evaluation runs")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.year})"


class HouseholdEvaluation(models.Model):
    """The result for one household in one evaluation run: its outcome (e.g. qualifies for exit,
    still poor, under monitoring), its monitoring category and the criteria it failed."""

    # Derived rows written in bulk, 350,000 at a time: no database-level foreign key (its check
    # per row costs more than the write; both ids come from the same run's read, and Django
    # still deletes them with their household or run) and no index beyond the two below.
    run = models.ForeignKey(
        EvaluationRun,
        verbose_name=_("run"),
        on_delete=models.CASCADE,
        related_name="results",
        db_index=False,
        db_constraint=False,
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    year = models.PositiveSmallIntegerField(_("year"))
    outcome = models.CharField(_("outcome"), max_length=24)
    category = models.CharField(_("monitoring category"), max_length=24, blank=True)
    failed = models.CharField(_("failed criteria"), max_length=255, blank=True)
    risks = models.CharField(_("risk types"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("household evaluation")
        verbose_name_plural = _("household evaluations")
        constraints = [
            models.UniqueConstraint(fields=["run", "household"], name="evaluation_one_per_run")
        ]
        indexes = [
            models.Index(fields=["household", "year", "-run"], name="evaluation_household_idx")
        ]

    def __str__(self) -> str:
        return f"{self.household_id}/{self.year}: {self.outcome}"

    @property
    def failed_codes(self) -> list[str]:
        return [c for c in self.failed.split(",") if c]

    @property
    def risk_codes(self) -> list[str]:
        return [c for c in self.risks.split(",") if c]


class DivisionEvaluation(models.Model):
    """Village or county exit (贫困村/贫困县退出) in one evaluation run: poor people, registered
    rural population, and whether the incidence is below the threshold."""

    run = models.ForeignKey(
        EvaluationRun,
        verbose_name=_("run"),
        on_delete=models.CASCADE,
        related_name="division_results",
    )
    division = models.ForeignKey(
        Division, verbose_name=_("division"), on_delete=models.CASCADE, related_name="+"
    )
    level = models.CharField(_("level"), max_length=10)
    poor_people = models.PositiveIntegerField(_("poor people"))
    population = models.PositiveIntegerField(_("registered rural population"), null=True)
    qualifies = models.BooleanField(_("qualifies for exit"))

    class Meta:
        verbose_name = _("division evaluation")
        verbose_name_plural = _("division evaluations")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "division"], name="division_evaluation_one_per_run"
            )
        ]

    def __str__(self) -> str:
        return f"{self.division_id}: {self.qualifies}"


class HousingRenovation(TimeStampedModel):
    """A dangerous house (危房, grade C or D) renovated: reinforced (修缮加固) or rebuilt (拆除重建),
    as accepted (验收) on a date. From that date the household's housing counts as secure
    (住房安全有保障) even while its yearly record still shows the grade surveyed before."""

    class Kind(models.TextChoices):
        REINFORCED = "reinforced", _("reinforced (修缮加固)")
        REBUILT = "rebuilt", _("rebuilt (拆除重建)")

    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    accepted_on = models.DateField(_("accepted on"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("housing renovation")
        verbose_name_plural = _("housing renovations")
        ordering = ["household_id", "accepted_on"]
        indexes = [
            models.Index(fields=["household", "accepted_on"], name="renovation_household_idx")
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.kind} {self.accepted_on}"


class Scenario(models.Model):
    """A what-if simulation (政策模拟): changed parameters over a year and a division subtree,
    with the policy and data versions it ran on, the counts now and under the scenario, and the
    households whose outcome flips."""

    name = models.CharField(_("name"), max_length=100, blank=True)
    year = models.PositiveSmallIntegerField(_("year"))
    division = models.ForeignKey(
        Division,
        verbose_name=_("division"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    overrides = models.JSONField(_("changed parameters"), default=dict)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_username = models.CharField(_("actor username"), max_length=150, blank=True)
    policy_version = models.PositiveIntegerField(_("policy version"))
    data_version = models.CharField(_("data version"), max_length=32)
    parameters = models.JSONField(_("parameters"), default=dict)
    values_used = models.ManyToManyField(
        PolicyValue, verbose_name=_("policy values used"), related_name="scenarios"
    )
    result = models.JSONField(_("result"), default=dict)
    seconds = models.FloatField(_("seconds"), default=0.0)

    class Meta:
        verbose_name = _("scenario")
        verbose_name_plural = _("scenarios")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name or f"scenario {self.pk}"


class ScenarioFlip(models.Model):
    """A household whose outcome differs between the current policy and a scenario, with the
    criteria whose result changed (the reason it flipped)."""

    # Written in bulk like HouseholdEvaluation: no database-level foreign key.
    scenario = models.ForeignKey(
        Scenario,
        verbose_name=_("scenario"),
        on_delete=models.CASCADE,
        related_name="flips",
        db_constraint=False,
    )
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    before = models.CharField(_("outcome now"), max_length=24)
    after = models.CharField(_("outcome in the scenario"), max_length=24)
    criteria = models.CharField(_("criteria that changed"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("scenario flip")
        verbose_name_plural = _("scenario flips")
        ordering = ["scenario_id", "household_id"]

    def __str__(self) -> str:
        return f"{self.household_id}: {self.before} → {self.after}"
