"""The demo assistance generator: its rows must be as valid as data entered through the
services."""

import collections
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone

from fupin.assistance.catalogue import clean_extra
from fupin.assistance.demo import DemoAssistanceError, generate_demo_assistance
from fupin.assistance.models import (
    MILESTONE_ORDER,
    STAGE_ORDER,
    BenefitPayment,
    Disbursement,
    Measure,
    MeasureStage,
    Milestone,
    Project,
    ProjectBeneficiary,
    ProjectFunding,
    ProjectVillage,
)
from fupin.registry.demo import generate_demo
from fupin.registry.models import Household, YearlyRecord

HOUSEHOLDS = 300
SEED = 7


@pytest.fixture
def demo(db):
    generate_demo(households=HOUSEHOLDS, seed=SEED)
    return generate_demo_assistance(seed=SEED)


def test_most_households_get_measures_typical_for_their_cause(demo):
    assert Measure.objects.count() == demo.measures
    with_measures = Measure.objects.values("household").distinct().count()
    assert with_measures >= 0.85 * HOUSEHOLDS
    by_cause: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for cause, code in Measure.objects.values_list("household__main_cause", "type__code"):
        by_cause[cause][code] += 1
    assert by_cause["illness"].most_common(1)[0][0] in {
        "medical_assistance",
        "medical_insurance_subsidy",
        "family_doctor",
        "housing_renovation",
        "dibao",
        "pv_dividend",
    }
    # 低保 and 特困 households have that measure.
    for category, code in (("dibao", "dibao"), ("tekun", "tekun")):
        households = Household.objects.filter(category=category)
        for household in households[:20]:
            assert Measure.objects.filter(household=household, type__code=code).exists()


def test_measures_are_valid_and_their_status_agrees_with_their_dates(demo):
    today = timezone.localdate()
    for m in Measure.objects.select_related("type", "household", "member"):
        _clean, errors = clean_extra(m.type.fields, m.extra)
        assert not errors, (m.type.code, m.extra)
        assert m.planned_amount >= 0
        assert m.household.identified_year <= m.year <= 2020
        if m.member is not None:
            assert m.member.household_id == m.household_id
        if m.type.target == "member" and m.household.members.filter(is_active=True).exists():
            assert m.member_id is not None
        if m.status == "planned":
            assert m.started_on is None and m.completed_on is None
        else:
            assert m.started_on is not None and m.started_on <= today
        if m.status in ("done", "verified"):
            assert m.completed_on is not None and m.started_on is not None
            assert m.started_on <= m.completed_on <= today
            assert m.actual_amount is not None
        if m.status == "verified":
            assert m.verified_on is not None and m.completed_on is not None
            assert m.verified_on >= m.completed_on
        else:
            assert m.verified_on is None


def test_every_household_that_lived_in_a_dangerous_house_gets_a_renovation_with_stages(demo):
    dangerous = set(
        YearlyRecord.objects.filter(housing_grade__in=["C", "D"]).values_list(
            "household_id", flat=True
        )
    )
    renovated = set(
        Measure.objects.filter(type__code="housing_renovation").values_list(
            "household_id", flat=True
        )
    )
    assert dangerous and dangerous == renovated
    assert MeasureStage.objects.count() == demo.stages > 0
    for measure in Measure.objects.filter(type__code="housing_renovation").prefetch_related(
        "stages"
    ):
        stages = sorted(measure.stages.all(), key=lambda s: STAGE_ORDER.index(s.stage))
        assert [s.stage for s in stages] == STAGE_ORDER[: len(stages)]
        assert [s.on for s in stages] == sorted(s.on for s in stages)
        if measure.status in ("done", "verified"):
            assert len(stages) >= 2 or stages[-1].on > timezone.localdate()
        assert measure.extra["grade_before"] in {"C", "D"}


def test_projects_have_budgets_disbursements_milestones_and_beneficiaries(demo):
    today = timezone.localdate()
    assert Project.objects.count() == demo.projects > 0
    assert demo.overdue_milestones > 0
    for project in Project.objects.select_related("division"):
        villages = list(
            ProjectVillage.objects.filter(project=project).values_list("village__path", flat=True)
        )
        assert villages and all(v.startswith(project.division.path) for v in villages)
        budget = dict(
            ProjectFunding.objects.filter(project=project).values_list("source", "amount")
        )
        paid = (
            Disbursement.objects.filter(project=project)
            .values("source")
            .annotate(total=Sum("amount"))
        )
        for row in paid:
            assert row["total"] <= budget[row["source"]]
        reached = {
            m.kind: m.actual_on
            for m in Milestone.objects.filter(project=project, actual_on__isnull=False)
            if m.actual_on is not None
        }
        order = [k for k in MILESTONE_ORDER if k in reached]
        assert order == MILESTONE_ORDER[: len(order)]
        assert [reached[k] for k in order] == sorted(reached.values())
        assert all(day <= today for day in reached.values())
        assert (project.progress == 100) == (len(order) == len(MILESTONE_ORDER))
    for beneficiary in ProjectBeneficiary.objects.select_related("household__division"):
        assert ProjectVillage.objects.filter(
            project=beneficiary.project_id, village=beneficiary.household.division_id
        ).exists()
    assert BenefitPayment.objects.count() == demo.payments
    assert not BenefitPayment.objects.filter(amount__lte=Decimal(0)).exists()
    assert not BenefitPayment.objects.filter(paid_on__gt=today).exists()


def test_the_same_seed_gives_the_same_assistance_and_replace_is_needed(demo):
    first = list(Measure.objects.order_by("id").values_list("public_id", "type_id", "year"))
    with pytest.raises(DemoAssistanceError):
        generate_demo_assistance(seed=SEED)
    generate_demo_assistance(seed=SEED, replace=True)
    again = list(Measure.objects.order_by("id").values_list("public_id", "type_id", "year"))
    assert first == again
    assert Project.objects.count() == demo.projects


def test_the_command(db):
    with pytest.raises(CommandError):
        call_command("generate_demo_assistance", "--seed", "3", stdout=io.StringIO())
    generate_demo(households=60, seed=3)
    out = io.StringIO()
    call_command("generate_demo_assistance", "--seed", "3", stdout=out)
    assert "measures" in out.getvalue()
    out = io.StringIO()
    call_command("generate_demo_assistance", "--if-empty", stdout=out)
    assert Measure.objects.exists()
    with pytest.raises(CommandError):
        call_command("generate_demo_assistance", stdout=io.StringIO())
