"""Assistance (帮扶): the measure catalogue, measures for households and members with their
evidence, and the project library (项目库) with funds, milestones and beneficiaries.

Amounts are yuan with two decimals. Records are addressed from outside by public keys: a
measure, a photo by its UUID, a project by its code, a measure type by its code.
"""

import uuid
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from fupin.core.models import TimeStampedModel
from fupin.divisions.models import Division
from fupin.registry.models import Household, Member


class Family(models.TextChoices):
    """Measure families: the 五个一批 and the sector families of domain.md §5.2."""

    INDUSTRY = "industry", _("industry (发展生产)")
    EMPLOYMENT = "employment", _("employment (转移就业)")
    RELOCATION = "relocation", _("relocation (易地搬迁)")
    ECOLOGY = "ecology", _("ecological compensation (生态补偿)")
    EDUCATION = "education", _("education (发展教育)")
    HEALTH = "health", _("health (健康扶贫)")
    SOCIAL_SECURITY = "social_security", _("social security (社会保障兜底)")
    HOUSING = "housing", _("housing renovation (危房改造)")
    FINANCE = "finance", _("finance (金融扶贫)")


class FundSource(models.TextChoices):
    """Where money comes from (资金来源)."""

    CENTRAL = "central", _("central (中央)")
    PROVINCIAL = "provincial", _("provincial (省级)")
    CITY = "city", _("city (市级)")
    COUNTY = "county", _("county (县级)")
    TOWNSHIP_VILLAGE = "township_village", _("township and village (乡村配套)")
    SELF_RAISED = "self_raised", _("self-raised (群众自筹)")
    SOCIAL = "social", _("social assistance (社会帮扶)")


class IncomeComponent(models.TextChoices):
    """Which part of the yearly record a measure's income effect lands in (domain.md §3.4).

    ``excluded`` is income that does not count towards exit (雨露计划, medical reimbursement,
    housing subsidies, loans, temporary relief).
    """

    WAGE = "wage", _("wage income")
    BUSINESS = "business", _("business income")
    PROPERTY = "property", _("property income")
    TRANSFER = "transfer", _("transfer income")
    EXCLUDED = "excluded", _("excluded income")
    NONE = "none", _("no income effect")


class MeasureType(TimeStampedModel):
    """A kind of assistance measure in the catalogue (帮扶措施目录), e.g. 差价送驴 or 公益性岗位.

    ``fields`` lists the facts this kind of measure records beyond the common ones, each as
    ``{"key", "type", "label_zh", "label_en", "required", "min", "max", "unit", "choices"}``
    (``fupin.assistance.catalogue`` validates the list and the values). Bundled types are loaded
    after every migration when missing; a city administrator may change or add types, and a
    change is never overwritten by the bundled file.
    """

    class Target(models.TextChoices):
        HOUSEHOLD = "household", _("household")
        MEMBER = "member", _("member")

    code = models.CharField(_("code"), max_length=40, unique=True)
    family = models.CharField(_("family"), max_length=20, choices=Family.choices)
    name_zh = models.CharField(_("Chinese name"), max_length=60)
    name_en = models.CharField(_("English name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    target = models.CharField(
        _("given to"), max_length=10, choices=Target.choices, default=Target.HOUSEHOLD
    )
    fields = models.JSONField(_("extra fields"), default=list, blank=True)
    has_stages = models.BooleanField(
        _("has construction stages"),
        default=False,
        help_text=_("开工 / 竣工 / 验收 / 入住 with photos, as for housing renovation"),
    )
    income_component = models.CharField(
        _("income effect lands in"),
        max_length=10,
        choices=IncomeComponent.choices,
        default=IncomeComponent.NONE,
    )
    default_income = models.DecimalField(
        _("usual income effect (yuan/year)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
    )
    is_active = models.BooleanField(_("in use"), default=True)
    is_bundled = models.BooleanField(_("bundled"), default=False, editable=False)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("measure type")
        verbose_name_plural = _("measure types")
        ordering = ["family", "sort_order", "code"]

    def __str__(self) -> str:
        return self.code

    @property
    def name(self) -> str:
        return self.name_en if translation.get_language() == "en" else self.name_zh


class Measure(TimeStampedModel):
    """An assistance measure (帮扶措施) given to a household or one of its members.

    The status moves planned → under way → done → verified; only a township-level role or above
    verifies, and a verified measure no longer changes. Income effects are yuan per year:
    expected when planned, recorded once known.
    """

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")
        UNDER_WAY = "under_way", _("under way")
        DONE = "done", _("done")
        VERIFIED = "verified", _("verified")

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    # Foreign keys whose lookups a composite index below already serves carry no index of their
    # own: every index costs time on each of the demo city's million inserts.
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        on_delete=models.CASCADE,
        related_name="assistance_measures",
        db_index=False,
    )
    member = models.ForeignKey(
        Member,
        verbose_name=_("member"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assistance_measures",
    )
    type = models.ForeignKey(
        MeasureType,
        verbose_name=_("measure type"),
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    project = models.ForeignKey(
        "Project",
        verbose_name=_("project"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="measures",
    )
    content = models.CharField(_("content"), max_length=500)
    year = models.PositiveSmallIntegerField(_("year"))
    quarter = models.PositiveSmallIntegerField(_("quarter"), null=True, blank=True)
    planned_amount = models.DecimalField(
        _("planned amount (yuan)"), max_digits=12, decimal_places=2, default=Decimal(0)
    )
    actual_amount = models.DecimalField(
        _("actual amount (yuan)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    fund_source = models.CharField(
        _("fund source"), max_length=20, choices=FundSource.choices, blank=True
    )
    responsible_unit = models.CharField(_("responsible unit"), max_length=100, blank=True)
    responsible_person = models.CharField(_("responsible person"), max_length=50, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PLANNED
    )
    started_on = models.DateField(_("started on"), null=True, blank=True)
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    verified_on = models.DateField(_("verified on"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    expected_income = models.DecimalField(
        _("expected income effect (yuan/year)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
    )
    recorded_income = models.DecimalField(
        _("recorded income effect (yuan/year)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
    )
    extra = models.JSONField(_("details"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True)

    class Meta:
        verbose_name = _("measure")
        verbose_name_plural = _("measures")
        ordering = ["household_id", "year", "quarter", "id"]
        indexes = [
            models.Index(fields=["household", "year"], name="measure_household_idx"),
            # Newest first: the measure list pages off this index instead of sorting the city.
            models.Index(fields=["year", "id"], name="measure_year_idx"),
            models.Index(fields=["type", "year"], name="measure_type_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_amount__gte=0)
                & (Q(actual_amount__isnull=True) | Q(actual_amount__gte=0))
                & (Q(expected_income__isnull=True) | Q(expected_income__gte=0))
                & (Q(recorded_income__isnull=True) | Q(recorded_income__gte=0)),
                name="measure_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(quarter__isnull=True) | Q(quarter__gte=1, quarter__lte=4),
                name="measure_quarter_range",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["planned", "under_way", "done", "verified"]),
                name="measure_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return str(self.public_id)


class Stage(models.TextChoices):
    """Construction stages of a housing renovation (危房改造)."""

    STARTED = "started", _("construction started (开工)")
    COMPLETED = "completed", _("construction completed (竣工)")
    ACCEPTED = "accepted", _("accepted (验收)")
    MOVED_IN = "moved_in", _("moved in (入住)")


STAGE_ORDER = [s.value for s in Stage]


class MeasureStage(models.Model):
    """A construction stage reached by a measure (开工 / 竣工 / 验收 / 入住), with its date."""

    measure = models.ForeignKey(
        Measure,
        verbose_name=_("measure"),
        on_delete=models.CASCADE,
        related_name="stages",
        db_index=False,  # the unique (measure, stage) index serves it
    )
    stage = models.CharField(_("stage"), max_length=10, choices=Stage.choices)
    on = models.DateField(_("date"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("construction stage")
        verbose_name_plural = _("construction stages")
        ordering = ["measure_id", "on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["measure", "stage"], name="stage_once_per_measure")
        ]

    def __str__(self) -> str:
        return f"{self.measure_id}:{self.stage}"


# ---------------------------------------------------------------------------------------------
# Projects (项目库)


class ProjectCategory(models.TextChoices):
    INDUSTRY = "industry", _("industry")
    INFRASTRUCTURE = "infrastructure", _("infrastructure (roads, water, power)")
    HOUSING = "housing", _("housing")
    EDUCATION = "education", _("education")
    HEALTH = "health", _("health")
    EMPLOYMENT = "employment", _("employment")
    ECOLOGY = "ecology", _("ecology")
    FINANCE = "finance", _("finance")
    TRAINING = "training", _("training")
    OTHER = "other", _("other")


class MilestoneKind(models.TextChoices):
    """Project milestones in their order (立项 / 报备 / 招标 / 开工 / 竣工 / 验收)."""

    APPROVAL = "approval", _("approval (立项)")
    FILING = "filing", _("filing (报备)")
    TENDER = "tender", _("tender (招标)")
    START = "start", _("construction start (开工)")
    COMPLETION = "completion", _("completion (竣工)")
    ACCEPTANCE = "acceptance", _("acceptance (验收)")


MILESTONE_ORDER = [k.value for k in MilestoneKind]


class Project(TimeStampedModel):
    """A poverty-alleviation project (扶贫项目) in the project library.

    ``division`` is the division that owns the project (a county, township or village): its
    editors change the project, and every village of the project lies inside it. Anyone who sees
    the owning division or one of the villages sees the project, but beneficiaries only within
    their own scope.
    """

    code = models.CharField(_("project code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=120)
    category = models.CharField(_("category"), max_length=20, choices=ProjectCategory.choices)
    year = models.PositiveSmallIntegerField(_("year"))
    division = models.ForeignKey(
        Division, verbose_name=_("owning division"), on_delete=models.PROTECT, related_name="+"
    )
    villages: "models.ManyToManyField[Division, ProjectVillage]" = models.ManyToManyField(
        Division, verbose_name=_("villages"), through="ProjectVillage", related_name="+"
    )
    responsible_unit = models.CharField(_("responsible unit"), max_length=100)
    responsible_person = models.CharField(_("responsible person"), max_length=50)
    content = models.TextField(_("construction content"), blank=True)
    expected_benefit = models.TextField(_("expected benefit"), blank=True)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)

    class Meta:
        verbose_name = _("project")
        verbose_name_plural = _("projects")
        ordering = ["-year", "code"]
        indexes = [models.Index(fields=["division", "year"], name="project_division_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="project_progress_range")
        ]

    def __str__(self) -> str:
        return self.code


class ProjectVillage(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="project_villages", db_index=False
    )
    village = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("project village")
        verbose_name_plural = _("project villages")
        constraints = [
            models.UniqueConstraint(fields=["project", "village"], name="project_village_once")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.village_id}"


class ProjectFunding(models.Model):
    """The budget of a project from one fund source."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="funding", db_index=False
    )
    source = models.CharField(_("fund source"), max_length=20, choices=FundSource.choices)
    amount = models.DecimalField(_("budget (yuan)"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("project budget")
        verbose_name_plural = _("project budgets")
        constraints = [
            models.UniqueConstraint(fields=["project", "source"], name="funding_once_per_source"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="funding_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.source}"


class Disbursement(models.Model):
    """Money paid out for a project (资金拨付) from one fund source."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="disbursements")
    source = models.CharField(_("fund source"), max_length=20, choices=FundSource.choices)
    amount = models.DecimalField(_("amount (yuan)"), max_digits=14, decimal_places=2)
    paid_on = models.DateField(_("paid on"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("disbursement")
        verbose_name_plural = _("disbursements")
        ordering = ["project_id", "paid_on", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="disbursement_positive")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.amount}"


class Milestone(models.Model):
    """A project milestone with its planned and actual dates; overdue when the planned date has
    passed without an actual one."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="milestones", db_index=False
    )
    kind = models.CharField(_("milestone"), max_length=12, choices=MilestoneKind.choices)
    planned_on = models.DateField(_("planned date"), null=True, blank=True)
    actual_on = models.DateField(_("actual date"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        indexes = [models.Index(fields=["actual_on", "planned_on"], name="milestone_due_idx")]
        constraints = [
            models.UniqueConstraint(fields=["project", "kind"], name="milestone_once_per_project")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.kind}"


class ProjectBeneficiary(models.Model):
    """A household that benefits from a project (受益户), with its expected yearly benefit."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="beneficiaries", db_index=False
    )
    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="assistance_projects"
    )
    expected_benefit = models.DecimalField(
        _("expected benefit (yuan/year)"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    added_on = models.DateField(_("added on"))

    class Meta:
        verbose_name = _("beneficiary household")
        verbose_name_plural = _("beneficiary households")
        constraints = [
            models.UniqueConstraint(
                fields=["project", "household"], name="beneficiary_once_per_project"
            ),
            models.CheckConstraint(
                condition=Q(expected_benefit__isnull=True) | Q(expected_benefit__gte=0),
                name="beneficiary_benefit_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.household_id}"


class BenefitPayment(models.Model):
    """A benefit distributed to a beneficiary household (收益分配), e.g. a yearly dividend."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="payments", db_index=False
    )
    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="assistance_benefits", db_index=False
    )
    year = models.PositiveSmallIntegerField(_("year"))
    amount = models.DecimalField(_("amount (yuan)"), max_digits=12, decimal_places=2)
    paid_on = models.DateField(_("paid on"))

    class Meta:
        verbose_name = _("benefit payment")
        verbose_name_plural = _("benefit payments")
        ordering = ["project_id", "household_id", "year"]
        indexes = [models.Index(fields=["household", "year"], name="payment_household_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "household", "year"], name="payment_once_per_year"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.household_id}/{self.year}"


# ---------------------------------------------------------------------------------------------
# Evidence photos


class EvidenceStorage(FileSystemStorage):
    """Photos live in ``<MEDIA_ROOT>/evidence``, outside any served URL: only the access-checked
    photo view hands them out. The folder follows the setting (tests point it elsewhere)."""

    @property
    def base_location(self) -> str:
        return str(Path(settings.MEDIA_ROOT) / "evidence")

    @property
    def location(self) -> str:
        return str(Path(self.base_location).resolve())

    def url(self, name: str | None) -> str:
        msg = "evidence photos have no public URL; use the photo view"
        raise NotImplementedError(msg)


def evidence_storage() -> FileSystemStorage:
    return EvidenceStorage()


def evidence_path(instance: "Photo", filename: str) -> str:
    suffix = Path(filename).suffix.lower()
    return f"{instance.uploaded_at_folder()}/{instance.public_id}{suffix}"


class Photo(models.Model):
    """An evidence photo (佐证照片) of a measure or a project, with when and where it was taken
    (from the photo's EXIF data or entered by hand)."""

    class Phase(models.TextChoices):
        BEFORE = "before", _("before (施工前)")
        DURING = "during", _("during (施工中)")
        AFTER = "after", _("after (竣工后)")
        MOVED_IN = "moved_in", _("after moving in (入住后)")
        EVIDENCE = "evidence", _("evidence")

    class Origin(models.TextChoices):
        EXIF = "exif", _("from the photo")
        ENTERED = "entered", _("entered")

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    measure = models.ForeignKey(
        Measure, null=True, blank=True, on_delete=models.CASCADE, related_name="photos"
    )
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="photos"
    )
    phase = models.CharField(
        _("phase"), max_length=10, choices=Phase.choices, default=Phase.EVIDENCE
    )
    file = models.FileField(_("file"), storage=evidence_storage, upload_to=evidence_path)
    content_type = models.CharField(_("content type"), max_length=20)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)
    taken_at = models.DateTimeField(_("taken at"), null=True, blank=True)
    taken_at_origin = models.CharField(
        _("time from"), max_length=8, choices=Origin.choices, blank=True
    )
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    position_origin = models.CharField(
        _("position from"), max_length=8, choices=Origin.choices, blank=True
    )
    caption = models.CharField(_("caption"), max_length=200, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(measure__isnull=False) & Q(project__isnull=True))
                | (Q(measure__isnull=True) & Q(project__isnull=False)),
                name="photo_of_measure_or_project",
            ),
            models.CheckConstraint(
                condition=(Q(latitude__isnull=True) & Q(longitude__isnull=True))
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="photo_position_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.public_id)

    def uploaded_at_folder(self) -> str:
        day = self.uploaded_at or timezone.now()
        return day.strftime("%Y/%m")
