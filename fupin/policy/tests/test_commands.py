"""fupin evaluate and fupin explain."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from fupin.policy.models import EvaluationRun, HouseholdEvaluation
from fupin.policy.tests.helpers import income, make_household


@pytest.fixture
def households(personas):
    cadre = personas["village_cadre_a1"]
    return [
        make_household(cadre, first_year=2016, records={2016: income("2000")}),
        make_household(cadre, first_year=2016, records={2016: income("5000")}),
    ]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_evaluate_prints_counts_per_county_and_stores_the_run(households):
    with translation.override("en"):
        text = run("evaluate", "--year", "2016")
    run_ = EvaluationRun.objects.get()
    assert f"run {run_.pk}," in text and run_.data_version in text
    assert "东昌府区" in text and "阳谷县" in text
    assert HouseholdEvaluation.objects.filter(run=run_).count() == 2


def test_evaluate_json_is_the_stored_summary(households):
    data = json.loads(run("evaluate", "--year", "2016", "--division", "371502000000", "--json"))
    assert data["year"] == 2016 and data["division"] == "371502000000"
    assert data["households"] == 2
    assert data["total"]["outcomes"] == {"exit_qualified": 1, "still_poor": 1}
    county = data["counties"][0]
    assert county["code"] == "371502000000" and county["villages"] == 3
    assert data["policy_version"] >= 1 and len(data["data_version"]) == 16


@pytest.mark.parametrize(
    "args",
    [
        ("evaluate", "--year", "2009"),  # no policy values in force
        ("evaluate", "--year", "2016", "--division", "999999999999"),
        ("evaluate", "--year", "16"),
    ],
)
def test_evaluate_refuses_bad_input_and_stores_nothing(households, args):
    with pytest.raises(CommandError):
        run(*args)
    assert not EvaluationRun.objects.exists()


def test_explain_prints_each_criterion_with_value_threshold_and_source(households):
    poor = households[0]
    text = run("explain", poor.household_no, "--year", "2016")
    assert poor.household_no in text
    assert "2,000.00" in text and "3,372.00" in text  # value and provincial line
    assert "✗" in text and "✓" in text
    assert "poverty_line[provincial]" in text and "Guanxian" in text


def test_explain_json(households):
    data = json.loads(run("explain", households[1].household_no, "--year", "2016", "--json"))
    assert data["outcome"] == "exit_qualified"
    exit_test = next(t for t in data["tests"] if t["code"] == "exit")
    assert exit_test["applies"] is True and exit_test["passed"] is True
    income_criterion = exit_test["criteria"][0]
    assert income_criterion["code"] == "income_above_line"
    assert (income_criterion["value"], income_criterion["threshold"]) == ("5000.00", "3372.00")
    assert income_criterion["sources"][0]["version"] == 1


def test_explain_an_unknown_household(db):
    with pytest.raises(CommandError):
        run("explain", "NO-SUCH", "--year", "2016")
