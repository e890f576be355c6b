import uuid
from decimal import ROUND_HALF_UP, Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from fupin.core.models import TimeStampedModel
from fupin.divisions.models import Division


class HouseholdQuerySet(models.QuerySet["Household"]):
    def in_divisions(self, divisions: models.QuerySet[Division]) -> "HouseholdQuerySet":
        return self.filter(division__in=divisions)


class Household(TimeStampedModel):
    """A registered poor household (建档立卡贫困户), keyed by its household number (户编号).

    Codes (standard, category, causes, status) are values of the versioned code lists.
    ``head_name`` and ``head_name_initials`` mirror the head member for listing and search;
    only the registry services write them.
    """

    household_no = models.CharField(_("household number"), max_length=32, unique=True)
    division = models.ForeignKey(
        Division, verbose_name=_("division"), on_delete=models.PROTECT, related_name="+"
    )
    head_name = models.CharField(_("head of household"), max_length=50)
    head_name_initials = models.CharField(_("pinyin initials"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    identified_year = models.PositiveSmallIntegerField(_("identification year"))
    standard = models.CharField(_("identification standard"), max_length=16)
    category = models.CharField(_("household category"), max_length=16)
    main_cause = models.CharField(_("main cause of poverty"), max_length=24)
    other_causes = models.JSONField(_("other causes"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16)
    exit_year = models.PositiveSmallIntegerField(_("exit year"), null=True, blank=True)

    objects = HouseholdQuerySet.as_manager()

    class Meta:
        verbose_name = _("household")
        verbose_name_plural = _("households")
        ordering = ["household_no"]
        indexes = [
            models.Index(fields=["division", "household_no"], name="household_division_idx"),
            models.Index(fields=["head_name"], name="household_head_name_idx"),
            models.Index(fields=["head_name_initials"], name="household_initials_idx"),
            models.Index(fields=["status", "household_no"], name="household_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="exited") | Q(exit_year__isnull=False),
                name="household_exited_has_exit_year",
            ),
            models.CheckConstraint(
                condition=Q(exit_year__isnull=True) | Q(exit_year__gte=models.F("identified_year")),
                name="household_exit_after_identification",
            ),
        ]

    def __str__(self) -> str:
        return self.household_no


class Member(TimeStampedModel):
    """A member (家庭成员) of a household.

    ``id_number`` is kept as given (18 characters, or the 20-character disability certificate
    number); ``person_key`` is its first 18 characters, the person's id. A person belongs to at
    most one household at a time: members who leave or move stay as inactive rows.
    """

    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.CASCADE, related_name="members"
    )
    name = models.CharField(_("name"), max_length=50)
    id_number = models.CharField(_("id number"), max_length=20)
    person_key = models.CharField(_("person id"), max_length=18)
    sex = models.CharField(_("sex"), max_length=8)
    birth_date = models.DateField(_("birth date"))
    relation = models.CharField(_("relation to head"), max_length=24)
    ethnicity = models.CharField(_("ethnicity"), max_length=8, blank=True)
    education = models.CharField(_("education"), max_length=24, blank=True)
    schooling = models.CharField(_("schooling"), max_length=24, blank=True)
    health = models.CharField(_("health"), max_length=24)
    labour = models.CharField(_("labour capacity"), max_length=24)
    work_place = models.CharField(_("place of work"), max_length=16, blank=True)
    work_months = models.PositiveSmallIntegerField(_("months of work"), null=True, blank=True)
    basic_medical = models.BooleanField(_("basic medical insurance"))
    critical_illness = models.BooleanField(_("critical illness insurance"), null=True, blank=True)
    pension = models.BooleanField(_("pension insurance"), null=True, blank=True)
    dibao = models.BooleanField(_("receives dibao"), null=True, blank=True)
    tekun = models.BooleanField(_("extreme-poverty support"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    left_on = models.DateField(_("left on"), null=True, blank=True)
    left_reason = models.CharField(_("reason for leaving"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["household_id", "-is_active", "id"]
        indexes = [
            models.Index(fields=["person_key"], name="member_person_idx"),
            models.Index(fields=["name"], name="member_name_idx"),
            models.Index(fields=["household", "is_active"], name="member_household_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["person_key"],
                condition=Q(is_active=True),
                name="member_one_active_household",
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(is_active=True, relation="head"),
                name="member_one_active_head",
            ),
            models.CheckConstraint(
                condition=Q(work_months__isnull=True) | Q(work_months__lte=12),
                name="member_work_months_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class YearlyRecord(TimeStampedModel):
    """The facts of one household for one survey year (年度入户核查).

    Income components and conditions (两不愁三保障, housing, water) per year; comparing two
    records gives the before/after (脱贫前后对照). Per-capita net income is derived from the
    components, never entered.
    """

    household = models.ForeignKey(
        Household, verbose_name=_("household"), on_delete=models.CASCADE, related_name="records"
    )
    survey_year = models.PositiveSmallIntegerField(_("survey year"))
    household_size = models.PositiveSmallIntegerField(_("household size"))
    wage_income = models.DecimalField(_("wage income"), max_digits=12, decimal_places=2)
    business_income = models.DecimalField(_("business income"), max_digits=12, decimal_places=2)
    property_income = models.DecimalField(_("property income"), max_digits=12, decimal_places=2)
    transfer_income = models.DecimalField(_("transfer income"), max_digits=12, decimal_places=2)
    business_cost = models.DecimalField(_("business costs"), max_digits=12, decimal_places=2)
    excluded_income = models.DecimalField(
        _("excluded income"), default=Decimal(0), max_digits=12, decimal_places=2
    )
    farmland_mu = models.DecimalField(
        _("farmland (mu)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    housing_grade = models.CharField(_("housing safety grade"), max_length=1)
    safe_water = models.BooleanField(_("safe drinking water"))
    food_secure = models.BooleanField(_("enough to eat"))
    clothing_secure = models.BooleanField(_("enough to wear"))
    has_electricity = models.BooleanField(_("household electricity"), null=True, blank=True)

    class Meta:
        verbose_name = _("yearly record")
        verbose_name_plural = _("yearly records")
        ordering = ["household_id", "survey_year"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "survey_year"], name="record_one_per_year"
            ),
            models.CheckConstraint(
                condition=Q(household_size__gte=1, household_size__lte=30),
                name="record_household_size_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    wage_income__gte=0,
                    business_income__gte=0,
                    property_income__gte=0,
                    transfer_income__gte=0,
                    business_cost__gte=0,
                    excluded_income__gte=0,
                ),
                name="record_amounts_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household_id}/{self.survey_year}"

    @property
    def net_income(self) -> Decimal:
        return (
            self.wage_income
            + self.business_income
            + self.property_income
            + self.transfer_income
            - self.business_cost
        )

    @property
    def per_capita_net_income(self) -> Decimal:
        """人均纯收入 = (wage + business + property + transfer − business cost) ÷ size, 2 decimals."""
        return per_capita(self.net_income, self.household_size)


def per_capita(net_income: Decimal, household_size: int) -> Decimal:
    return (Decimal(net_income) / household_size).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
