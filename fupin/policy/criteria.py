"""The facts and criteria of identification, exit and monitoring, each defined once.

Everything here is data written in the expression language of ``fupin.policy.expressions``:
``fupin.policy.evaluation`` compiles it to SQL and polars for a whole registry and evaluates it
in Python for the explanation of one household; a property test shows both agree.

Inputs (as read by ``fupin.policy.inputs``):

* members (active ones): ``birth`` (the birth date as ISO text), ``schooling``, ``health``,
  ``labour``, ``basic_medical``;
* yearly records of the year and the two before it: ``household_size`` and the income
  components in integer fen, then ``housing_grade``, ``safe_water``, ``food_secure`` and
  ``clothing_secure`` of the year itself;
* the household: ``status``, ``standard`` (识别标准, which poverty line applies), ``main_cause``,
  ``province`` (the division code its monitoring range is set for) and ``renovated`` (a housing
  renovation accepted by the reference day).

Decisions written down in docs/adr/0003-policy-rules.md:

* "above the line" is strict: a counted per-capita income exactly at the line does not exit,
  and one fen above does; identification takes the same boundary the other way ("not above"),
  so every household is either under the line or above it.
* Ages are whole years on the reference day (31 December of the year); compulsory-school age is
  ``school_age_min``..``school_age_max`` inclusive (6–15); a member of that age counts as out of
  school when the schooling code is "not in school" (or empty), unless their health is serious
  illness or disability (they are taught at home: domain.md §3.5).
* A household has labour capacity when one member is an ordinary, skilled or weak/half labourer.
* Monitoring (domain.md §8) is evaluated only for years with a monitoring range: 脱贫户 at or
  below the range are 脱贫不稳定户, other non-poor households at or below it 边缘易致贫户, and
  non-poor households above it whose per-capita income fell sharply 突发严重困难户. A household
  is under monitoring this year, or still from last year until the elimination criteria hold.
"""

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from fupin.policy.expressions import (
    Coalesce,
    Col,
    DivRound,
    Expr,
    Fen,
    Lit,
    Param,
    YearEnd,
    all_of,
    when,
)

# --- Codes -----------------------------------------------------------------------------------

POOR_STATUSES = ("not_out", "returned")
EXITED_STATUS = "exited"
NOT_IN_SCHOOL = ("not_student", "")
HEALTH_EXCUSED = ("serious_illness", "disabled")
ABLE_TO_WORK = ("ordinary", "skilled", "weak")
SAFE_GRADES = ("A", "B")

OUTCOMES: dict[str, Promise] = {
    "exit_qualified": _("qualifies for exit"),
    "still_poor": _("still poor"),
    "returned": _("returned to poverty"),
    "identified": _("qualifies for identification"),
    "monitoring": _("under monitoring"),
    "risk_eliminated": _("risk eliminated"),
    "stable": _("out of poverty, no risk found"),
    "not_poor": _("not poor"),
    "no_record": _("no yearly record for the year"),
}
CATEGORIES: dict[str, Promise] = {
    "unstable": _("脱贫不稳定户 (unstable, out of poverty)"),
    "marginal": _("边缘易致贫户 (marginal, prone to poverty)"),
    "sudden": _("突发严重困难户 (sudden severe hardship)"),
}
RISKS: dict[str, Promise] = {
    "illness": _("因病 (illness)"),
    "disability": _("因残 (disability)"),
    "schooling": _("因学 (schooling)"),
    "disaster": _("因自然灾害 (natural disaster)"),
    "lack_labour": _("缺劳动力 (lack of labour)"),
    "income_drop": _("收入骤减 (sharp income drop)"),
    "housing": _("住房安全 (housing safety)"),
    "water": _("饮水安全 (drinking water)"),
    "other": _("其他 (other)"),
}

# --- Member facts: counted per household -----------------------------------------------------

# The evaluation year (not a policy value). Dates are ISO text, so whole years of age on the
# reference day (31 December) compare as dates: age >= a  <=>  born on or before 31 Dec (year - a).
YEAR = Param("year")
# Members born after the reference day did not exist that year: they are left out before
# counting (a WHERE in SQL).
BORN = Col("birth") <= YearEnd(YEAR)
SCHOOL_AGE = all_of(
    Col("birth") <= YearEnd(YEAR - Param("school_age_min")),
    Col("birth") > YearEnd(YEAR - Param("school_age_max") - 1),
)
MEMBER_COUNTS: dict[str, Expr] = {
    "members": Lit(True),
    "out_of_school": all_of(
        SCHOOL_AGE,
        Col("schooling").isin(NOT_IN_SCHOOL),
        ~Col("health").isin(HEALTH_EXCUSED),
    ),
    "uninsured": ~Col("basic_medical"),
    "able_to_work": Col("labour").isin(ABLE_TO_WORK),
    "seriously_ill": Col("health").eq("serious_illness"),
    "disabled": Col("health").eq("disabled"),
}

# --- Record facts: one value per year (0 = the year, 1 = the year before, 2 = two before) ---

# 人均纯收入 counted for exit (domain.md §3.4): every component minus production costs and the
# income that does not count (excluded_income), in integer fen, over the registered size.
COUNTED_NET = Fen(
    Col("wage_income")
    + Col("business_income")
    + Col("property_income")
    + Col("transfer_income")
    - Col("business_cost")
    - Col("excluded_income")
)
RECORD_FACTS: dict[str, Expr] = {"size": Col("household_size"), "net": COUNTED_NET}
RECORD_CONDITIONS: dict[str, Expr] = {
    "grade": Col("housing_grade"),
    "water": Col("safe_water"),
    "food": Col("food_secure"),
    "clothing": Col("clothing_secure"),
}
RECORD_YEARS = (0, 1, 2)

# --- Household facts, computed in this order ---------------------------------------------------

LINE = Param("poverty_line", by="standard")
RANGE = Param("monitoring_line", by="province")
POOR = Col("status").isin(POOR_STATUSES)
EXITED = Col("status").eq(EXITED_STATUS)
OTHER = ~POOR & ~EXITED


def _per_capita(k: int) -> Expr:
    return DivRound(Col(f"net_{k}"), Col(f"size_{k}"))


def _sharp_drop(now: str, before: str) -> Expr:
    # Per-capita income fell by at least sudden_drop_pct percent from the year before.
    return Coalesce(
        (
            all_of(
                Col(before) > 0,
                (Col(before) - Col(now)) * 100 >= Param("sudden_drop_pct") * Col(before),
            ),
            Lit(False),
        )
    )


def _category(per_capita: str, drop: str) -> Expr:
    return (
        when(RANGE.is_null() | Col(per_capita).is_null(), None)
        .when(EXITED & (Col(per_capita) <= RANGE), "unstable")
        .when(OTHER & (Col(per_capita) <= RANGE), "marginal")
        .when(~POOR & Col(drop), "sudden")
        .otherwise(None)
    )


HOUSEHOLD_FACTS: dict[str, Expr] = {
    "has_record": Col("size_0").is_not_null(),
    "per_capita": _per_capita(0),
    "per_capita_1": _per_capita(1),
    "per_capita_2": _per_capita(2),
    "sharp_drop": _sharp_drop("per_capita", "per_capita_1"),
    "sharp_drop_1": _sharp_drop("per_capita_1", "per_capita_2"),
    "months_above_range": when(
        Col("per_capita") > RANGE,
        when(
            Col("per_capita_1") > RANGE, when(Col("per_capita_2") > RANGE, 36).otherwise(24)
        ).otherwise(12),
    ).otherwise(0),
    "category_now": _category("per_capita", "sharp_drop"),
    "category_prev": _category("per_capita_1", "sharp_drop_1"),
}


# --- Criteria ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    """One criterion: the household's value, the test against a threshold, and what the
    explanation shows. ``passes`` defaults to ``value <op> threshold``."""

    code: str
    name: Promise
    description: Promise
    value: Expr
    op: str  # ">", ">=", "<", "<=", "==", "is", "in"
    threshold: Expr
    unit: str  # "yuan", "count", "grade", "flag", "months", "percent"
    passes: Expr
    also_uses: tuple[str, ...] = ()  # parameters the value depends on (shown as sources)
    details: tuple[str, ...] = ()  # other household facts shown beside the value

    @property
    def parameters(self) -> list[str]:
        names = (self.threshold.parameters() | self.value.parameters()) - {"year"}
        return sorted(names | set(self.also_uses))


def criterion(
    code: str,
    name: Promise,
    description: Promise,
    *,
    value: Expr,
    op: str,
    threshold: Expr,
    unit: str,
    passes: Expr | None = None,
    also_uses: tuple[str, ...] = (),
    details: tuple[str, ...] = (),
) -> Criterion:
    if passes is None:
        passes = {
            ">": value > threshold,
            ">=": value >= threshold,
            "<": value < threshold,
            "<=": value <= threshold,
            "==": value.eq(threshold),
            "is": value.eq(threshold),
        }[op]
    return Criterion(
        code, name, description, value, op, threshold, unit, passes, also_uses, details
    )


INCOME_ABOVE_LINE = criterion(
    "income_above_line",
    _("Counted per-capita net income above the poverty line"),
    _(
        "人均纯收入 without the income that does not count, above the line of the year for the "
        "household's identification standard."
    ),
    value=Col("per_capita"),
    op=">",
    threshold=LINE,
    unit="yuan",
)
INCOME_NOT_ABOVE_LINE = criterion(
    "income_not_above_line",
    _("Counted per-capita net income not above the poverty line"),
    _("Income is the basic criterion of identification (domain.md §4)."),
    value=Col("per_capita"),
    op="<=",
    threshold=LINE,
    unit="yuan",
)
FOOD = criterion(
    "food_secure",
    _("Enough to eat (不愁吃)"),
    _("The yearly record says the household has enough to eat."),
    value=Col("food_0"),
    op="is",
    threshold=Lit(True),
    unit="flag",
)
CLOTHING = criterion(
    "clothing_secure",
    _("Enough to wear (不愁穿)"),
    _("The yearly record says the household has enough to wear."),
    value=Col("clothing_0"),
    op="is",
    threshold=Lit(True),
    unit="flag",
)
EDUCATION = criterion(
    "compulsory_education",
    _("Compulsory education secured (义务教育有保障)"),
    _(
        "Every member of compulsory-school age is in school, unless seriously ill or disabled. "
        "The value is the number of members of that age out of school."
    ),
    value=Col("out_of_school"),
    op="==",
    threshold=Lit(0),
    unit="count",
    also_uses=("school_age_min", "school_age_max"),
)
MEDICAL = criterion(
    "basic_medical",
    _("Basic medical insurance (基本医疗有保障)"),
    _("Every member has basic medical insurance. The value is the number without it."),
    value=Col("uninsured"),
    op="==",
    threshold=Lit(0),
    unit="count",
)
HOUSING = criterion(
    "housing_safe",
    _("Safe housing (住房安全有保障)"),
    _("Housing grade A or B, or a renovation of the house accepted by the end of the year."),
    value=Col("grade_0"),
    op="in",
    threshold=Lit("A, B"),
    unit="grade",
    passes=Col("grade_0").isin(SAFE_GRADES) | Col("renovated"),
    details=("renovated",),
)
WATER = criterion(
    "safe_water",
    _("Safe drinking water (饮水安全有保障)"),
    _("The yearly record says the drinking water is safe."),
    value=Col("water_0"),
    op="is",
    threshold=Lit(True),
    unit="flag",
)
INCOME_WITHIN_RANGE = criterion(
    "income_within_range",
    _("Per-capita income within the monitoring range"),
    _("Counted per-capita net income at or below the upper end of the province's range."),
    value=Col("per_capita"),
    op="<=",
    threshold=RANGE,
    unit="yuan",
)
SHARP_DROP = criterion(
    "sharp_income_drop",
    _("Sharp income drop (收入骤减)"),
    _("Per-capita income fell from the year before by at least the given share."),
    value=(Col("per_capita_1") - Col("per_capita")) * 100 / Col("per_capita_1"),
    op=">=",
    threshold=Param("sudden_drop_pct"),
    unit="percent",
    passes=Col("sharp_drop"),
)
STABLE_INCOME = criterion(
    "income_above_range_stable",
    _("Income stably above the monitoring range"),
    _(
        "Months of income above the range up to this year: each consecutive yearly record "
        "above it counts for twelve months."
    ),
    value=Col("months_above_range"),
    op=">=",
    threshold=Param("stable_months"),
    unit="months",
    also_uses=("monitoring_line",),
)
RIGID_EXPENDITURE = criterion(
    "rigid_expenditure_resolved",
    _("Large rigid expenditure resolved"),
    _(
        "No member seriously ill (大病, the large medical expenditure) and no sharp income drop "
        "this year. The value is the number of seriously ill members."
    ),
    value=Col("seriously_ill"),
    op="==",
    threshold=Lit(0),
    unit="count",
    passes=Col("seriously_ill").eq(0) & ~Col("sharp_drop"),
    also_uses=("sudden_drop_pct",),
    details=("sharp_drop",),
)
LABOUR = criterion(
    "labour_capacity",
    _("Labour capacity"),
    _(
        "At least one member can work. Households without labour capacity stay under monitoring "
        "(domain.md §8: never marked as risk eliminated)."
    ),
    value=Col("able_to_work"),
    op=">=",
    threshold=Lit(1),
    unit="count",
)


@dataclass(frozen=True)
class Test:
    """A set of criteria applied together; ``decisive`` ones decide, the others are considered
    and shown (identification: income decides, 两不愁三保障 are taken into account)."""

    code: str
    name: Promise
    criteria: tuple[Criterion, ...]
    decisive: tuple[str, ...] = field(default=())

    @property
    def deciding(self) -> tuple[Criterion, ...]:
        if not self.decisive:
            return self.criteria
        return tuple(c for c in self.criteria if c.code in self.decisive)


IDENTIFICATION = Test(
    "identification",
    _("Identification (识别)"),
    (INCOME_NOT_ABOVE_LINE, FOOD, CLOTHING, EDUCATION, MEDICAL, HOUSING, WATER),
    decisive=("income_not_above_line",),
)
EXIT = Test(
    "exit",
    _("Household exit (脱贫退出)"),
    (INCOME_ABOVE_LINE, FOOD, CLOTHING, EDUCATION, MEDICAL, HOUSING, WATER),
)
MONITORING = Test(
    "monitoring",
    _("Entry into monitoring (纳入监测)"),
    (INCOME_WITHIN_RANGE, SHARP_DROP),
)
ELIMINATION = Test(
    "elimination",
    _("Risk elimination (风险消除)"),
    (STABLE_INCOME, RIGID_EXPENDITURE, EDUCATION, MEDICAL, HOUSING, WATER, LABOUR),
)
TESTS: dict[str, Test] = {t.code: t for t in (IDENTIFICATION, EXIT, MONITORING, ELIMINATION)}
CRITERIA: dict[str, Criterion] = {c.code: c for t in TESTS.values() for c in t.criteria}


def passed(code: str) -> Col:
    """The column holding whether a criterion passed (true, never null)."""
    return Col(f"pass__{code}")


def test_passes(test: Test) -> Expr:
    return all_of(*(passed(c.code) for c in test.deciding))


# --- Outcome, category, risks and what the stored failures refer to ------------------------

OUTCOME = (
    when(~Col("has_record"), "no_record")
    .when(POOR & test_passes(EXIT), "exit_qualified")
    .when(POOR, "still_poor")
    .when(EXITED & RANGE.is_null() & ~passed(INCOME_ABOVE_LINE.code), "returned")
    .when(OTHER & test_passes(IDENTIFICATION), "identified")
    .when(Col("category_now").is_not_null(), "monitoring")
    .when(Col("category_prev").is_not_null() & test_passes(ELIMINATION), "risk_eliminated")
    .when(Col("category_prev").is_not_null(), "monitoring")
    .when(EXITED, "stable")
    .otherwise("not_poor")
)
CATEGORY = when(
    Col("outcome").eq("monitoring"), Coalesce((Col("category_now"), Col("category_prev")))
).otherwise("")
# Whose failures a stored result lists: exit for poor households, elimination for monitored ones.
APPLIED_TEST = (
    when(Col("outcome").isin(("exit_qualified", "still_poor", "returned")), "exit")
    .when(Col("outcome").eq("identified"), "identification")
    .when(Col("outcome").eq("monitoring"), "elimination")
    .otherwise("")
)
RISK_FACTS: dict[str, Expr] = {
    "illness": (Col("seriously_ill") > 0) | Col("main_cause").eq("illness"),
    "disability": (Col("disabled") > 0) | Col("main_cause").eq("disability"),
    "schooling": Col("main_cause").eq("schooling"),
    "disaster": Col("main_cause").eq("disaster"),
    "lack_labour": Col("able_to_work").eq(0),
    "income_drop": Col("sharp_drop"),
    "housing": ~passed(HOUSING.code),
    "water": ~passed(WATER.code),
}
# Poor people after the evaluation (the numerator of the incidence): households still poor.
POOR_AFTER = Col("outcome").isin(("still_poor", "returned")) | (
    Col("outcome").eq("no_record") & POOR
)

# --- Village and county exit -------------------------------------------------------------------

DIVISION_EXIT = criterion(
    "incidence_below_threshold",
    _("Poverty incidence below the exit threshold"),
    _(
        "贫困发生率 = people of households still poor ÷ registered rural population (domain.md "
        "§5.1), in percent."
    ),
    value=Col("poor_people") * 100 / Col("population"),
    op="<",
    threshold=Param("exit_incidence_max", by="level"),
    unit="percent",
    passes=all_of(
        Col("population") > 0,
        Col("poor_people") * 100 < Param("exit_incidence_max", by="level") * Col("population"),
    ),
)
