"""What-if simulation: counts now vs scenario, flips with the criterion, saved and reproducible."""

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client

from conftest import PASSWORD
from fupin.accounts.models import User
from fupin.core.errors import PermissionDenied
from fupin.core.models import AuditEvent
from fupin.policy.models import PolicyValue, Scenario, ScenarioFlip
from fupin.policy.simulation import scenario_rerun, scenario_run
from fupin.policy.tests.helpers import SOURCE, income, make_household, member


@pytest.fixture
def registry(personas):
    cadre = personas["village_cadre_a1"]
    return {
        # Provincial line of 2016: 3,372.
        "near": make_household(cadre, first_year=2016, records={2016: income("3400")}),
        "far": make_household(cadre, first_year=2016, records={2016: income("9000")}),
        "poor": make_household(cadre, first_year=2016, records={2016: income("2000")}),
        "pupil": make_household(
            cadre,
            first_year=2016,
            records={2016: income("9000", size=2)},
            members=[
                member(relation="head"),
                member(relation="son", born=dt.date(2000, 6, 1), labour="none"),
            ],
        ),
    }


def raise_line(value: str = "3500", **kw):
    return scenario_run(
        actor=None,
        source=SOURCE,
        year=2016,
        overrides={"poverty_line": {"provincial": Decimal(value)}},
        **kw,
    )


def test_raising_the_line_flips_the_households_just_above_it(registry):
    scenario = raise_line()
    flips = {f.household_id: f for f in ScenarioFlip.objects.filter(scenario=scenario)}
    assert set(flips) == {registry["near"].pk}
    flip = flips[registry["near"].pk]
    assert (flip.before, flip.after, flip.criteria) == (
        "exit_qualified",
        "still_poor",
        "income_above_line",
    )
    result = scenario.result
    assert result["now"]["total"]["outcomes"]["exit_qualified"] == 3
    assert result["scenario"]["total"]["outcomes"]["exit_qualified"] == 2
    assert result["flips"] | {"by_change": {}} == {
        "total": 1,
        "out_to_in": 1,
        "in_to_out": 0,
        "by_change": {},
        "by_criterion": {"income_above_line": 1},
    }
    assert scenario.overrides == {"poverty_line": {"provincial": "3500"}}
    assert scenario.parameters["poverty_line.provincial"] == {"value": "3500", "override": True}
    assert len(scenario.data_version) == 16 and scenario.policy_version >= 1
    assert AuditEvent.objects.filter(action="policy.simulate").exists()
    # The policy in force did not change.
    assert not PolicyValue.objects.filter(value=Decimal(3500)).exists()


def test_a_scenario_gives_the_same_answer_when_run_again(registry):
    scenario = Scenario.objects.get(pk=raise_line().pk)
    again = scenario_rerun(scenario)
    assert again.same_answer and again.same_data
    # Even after the policy in force changed: the scenario keeps its values.
    PolicyValue.objects.filter(name="poverty_line", qualifier="provincial").update(
        value=Decimal(5000)
    )
    assert scenario_rerun(scenario).same_answer
    # A change of the data shows.
    make_household(
        User.objects.get(username="village_cadre_a1"),
        first_year=2016,
        records={2016: income("3450")},
    )
    rerun = scenario_rerun(scenario)
    assert not rerun.same_data and not rerun.same_answer


def test_changing_the_school_age_reads_the_members_again(registry):
    scenario = scenario_run(
        actor=None,
        source=SOURCE,
        year=2016,
        overrides={"school_age_max": {"": Decimal(16)}},
    )
    flip = ScenarioFlip.objects.get(scenario=scenario)
    assert (flip.household_id, flip.criteria) == (registry["pupil"].pk, "compulsory_education")


@pytest.mark.parametrize(
    "overrides",
    [
        {"no_such_parameter": {"": Decimal(1)}},
        {"poverty_line": {"county": Decimal(3500)}},
        {"exit_incidence_max": {"village": Decimal(500)}},
        {},
    ],
)
def test_a_bad_change_is_refused_and_nothing_is_saved(registry, overrides):
    with pytest.raises(ValidationError):
        scenario_run(actor=None, source=SOURCE, year=2016, overrides=overrides)
    assert not Scenario.objects.exists()


def test_only_city_administrators_simulate(personas, registry):
    with pytest.raises(PermissionDenied):
        scenario_run(
            actor=personas["county_admin"],
            source=SOURCE,
            year=2016,
            overrides={"poverty_line": {"": Decimal(3500)}},
        )


def test_the_command_prints_counts_and_flips_and_refuses_unknown_parameters(registry):
    out = io.StringIO()
    call_command(
        "simulate", "--year", "2016", "--set", "poverty_line.provincial=3500", "--json", stdout=out
    )
    data = json.loads(out.getvalue())
    assert data["flips"]["total"] == 1
    assert data["flip_sample"][0]["household_no"] == registry["near"].household_no
    assert data["flip_sample"][0]["criteria"] == ["income_above_line"]
    text = io.StringIO()
    call_command("simulate", "--year", "2016", "--set", "poverty_line=3500", stdout=text)
    assert "→" in text.getvalue() and registry["near"].household_no in text.getvalue()
    again = io.StringIO()
    assert data["scenario"]["total"]["outcomes"]["exit_qualified"] == 2
    call_command("simulate", "--rerun", str(data["id"]), "--json", stdout=again)
    assert json.loads(again.getvalue()) == {"same_answer": True, "same_data": True}
    count = Scenario.objects.count()
    for bad in (["--set", "no_such=1"], ["--set", "poverty_line=abc"], []):
        with pytest.raises(CommandError):
            call_command("simulate", "--year", "2016", *bad, stdout=io.StringIO())
    assert Scenario.objects.count() == count


def test_the_simulation_page_for_a_city_administrator(personas, registry):
    client = Client()
    assert client.login(username="county_admin", password=PASSWORD)
    assert client.get("/policy/simulate/").status_code == 403
    assert client.login(username="city_admin", password=PASSWORD)
    assert client.get("/policy/simulate/").status_code == 200
    page = client.post(
        "/policy/simulate/", {"year": "2016", "changes": "no_such_thing=3", "name": ""}
    )
    assert page.status_code == 200 and page.context["form"].errors
    assert not Scenario.objects.exists()
    response = client.post(
        "/policy/simulate/",
        {"year": "2016", "changes": "poverty_line.provincial=3500\n", "name": "提高省定标准"},
    )
    scenario = Scenario.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/policy/scenarios/{scenario.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert registry["near"].household_no in html and "3 → 2" in html
    rerun = client.post(f"/policy/scenarios/{scenario.pk}/rerun/", follow=True)
    assert 'class="message success"' in rerun.content.decode()
    # Township B's administrator does not see a city-wide scenario.
    assert client.login(username="outsider", password=PASSWORD)
    assert client.get(f"/policy/scenarios/{scenario.pk}/").status_code == 404
