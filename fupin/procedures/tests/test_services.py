from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from fupin.core.models import AuditEvent
from fupin.procedures import services
from fupin.procedures.definitions import PROCEDURES
from fupin.procedures.models import Case, Transition
from fupin.procedures.services import (
    NotAllowed,
    Refused,
    attachment_add,
    case_batch_transition,
    case_open,
    case_transition,
    objection_raise,
    objection_resolve,
)
from fupin.procedures.tests.helpers import SOURCE, advance, age_step, open_case
from fupin.registry.models import Household
from fupin.registry.tests.factories import register_household

pytestmark = pytest.mark.django_db


def unchanged(case: Case) -> tuple[Any, ...]:
    fresh = Case.objects.get(pk=case.pk)
    return (fresh.state, fresh.paused, fresh.closed_at, fresh.transitions.count())


def test_identification_runs_every_step_in_order_and_enters_the_household(personas, household_a1):
    Household.objects.filter(pk=household_a1.pk).update(status="cancelled")
    case = open_case(personas, household_a1, "identification")
    assert case.state == "application" and case.deadline is not None
    case = advance(personas, case)
    assert case.state == "entered" and case.closed_at is not None
    path = [t.to_state for t in case.transitions.all()]
    assert path == [s.code for s in PROCEDURES["identification"].steps] + ["entered"]
    roles = [t.role for t in case.transitions.all()]
    assert roles[4] == "township_admin" and roles[6] == "county_admin"
    household_a1.refresh_from_db()
    assert household_a1.status == "not_out"
    # Every transition is audited, and the registry change kept the household's history.
    assert AuditEvent.objects.filter(entity="procedure_case").count() == 8
    assert AuditEvent.objects.filter(action="household.update", household_no="A1-0001").exists()


def test_exit_ends_in_deregistration(personas, household_a1):
    case = advance(personas, open_case(personas, household_a1, "exit"))
    assert case.state == "deregistered"
    household_a1.refresh_from_db()
    assert household_a1.status == "exited" and household_a1.exit_year == 2016


def test_monitoring_needs_a_channel_and_ends_under_monitoring(personas, household_a1):
    with pytest.raises(Refused) as error:
        open_case(personas, household_a1, "monitoring", channel="rumour")
    assert error.value.refusal == "channel"
    case = advance(personas, open_case(personas, household_a1, "monitoring"))
    assert case.state == "monitored" and case.channel == "cadre_check"
    from fupin.procedures.selectors import households_under_monitoring

    assert list(households_under_monitoring(actor=personas["county_admin"])) == [case]


def test_risk_elimination_only_under_monitoring_and_when_the_criteria_pass(personas, household_a1):
    with pytest.raises(Refused) as error:
        open_case(personas, household_a1, "elimination")
    assert error.value.refusal == "not_monitored"
    advance(personas, open_case(personas, household_a1, "monitoring"))
    # Without a record for the year the policy criteria fail: no elimination.
    with pytest.raises(Refused) as error:
        open_case(personas, household_a1, "elimination", year=2020)
    assert error.value.refusal in {"criteria_fail", "no_labour"}
    assert not Case.objects.filter(procedure="elimination").exists()
    with mock.patch.object(services, "_gate"):
        case = advance(personas, open_case(personas, household_a1, "elimination", year=2020))
    assert case.state == "eliminated"


def test_a_household_without_labour_capacity_is_never_eliminated(personas, household_a1):
    advance(personas, open_case(personas, household_a1, "monitoring"))
    explanation = mock.Mock()
    labour = mock.Mock(code="labour_capacity", passed=False)
    explanation.tests = [mock.Mock(code="elimination", passed=True, criteria=[labour])]
    with (
        mock.patch("fupin.policy.explain.explain_household", return_value=explanation),
        pytest.raises(Refused) as error,
    ):
        open_case(personas, household_a1, "elimination", year=2020)
    assert error.value.refusal == "no_labour"


def test_only_the_village_opens_a_case_and_only_in_its_area(personas, household_a1, household_b1):
    for who in ("township_admin_a", "county_admin", "leader"):
        with pytest.raises(NotAllowed):
            case_open(
                actor=personas[who],
                source=SOURCE,
                household=household_a1,
                procedure="exit",
                year=2016,
            )
    with pytest.raises(NotAllowed):
        open_case(personas, household_b1, "exit")
    open_case(personas, household_a1, "exit")
    with pytest.raises(Refused) as error:
        open_case(personas, household_a1, "exit")
    assert error.value.refusal == "duplicate"


def test_the_wrong_level_is_refused_and_nothing_changes(personas, household_a1):
    case = advance(
        personas, open_case(personas, household_a1, "identification"), until="township_review"
    )
    before = unchanged(case)
    events = AuditEvent.objects.count()
    # A village cadre cannot review, a county admin is not the township, nor is township B.
    for who in ("village_cadre_a1", "county_admin", "outsider", "city_admin", "leader"):
        with pytest.raises(NotAllowed):
            case_transition(actor=personas[who], source=SOURCE, case=case, action="advance")
    assert unchanged(case) == before and AuditEvent.objects.count() == events


def test_out_of_order_and_skipping_are_refused(personas, household_a1):
    case = open_case(personas, household_a1, "identification")
    before = unchanged(case)
    with pytest.raises(Refused) as error:
        case_transition(
            actor=personas["village_cadre_a1"],
            source=SOURCE,
            case=case,
            action="advance",
            to_state="first_publicity",
        )
    assert error.value.refusal == "out_of_order"
    # The county cannot approve a case still at the application.
    with pytest.raises(Refused) as error:
        case_transition(
            actor=personas["county_admin"],
            source=SOURCE,
            case=case,
            action="advance",
            to_state="announcement",
        )
    assert error.value.refusal == "out_of_order"
    with pytest.raises(NotAllowed):
        case_transition(actor=personas["county_admin"], source=SOURCE, case=case, action="advance")
    with pytest.raises(Refused) as error:
        case_transition(
            actor=personas["village_cadre_a1"], source=SOURCE, case=case, action="reject"
        )
    assert error.value.refusal == "no_reject"
    assert unchanged(case) == before


def test_a_publicity_period_must_elapse(personas, household_a1):
    case = open_case(personas, household_a1, "monitoring")
    case = advance(personas, case, until="village_publicity")
    with pytest.raises(Refused) as error:
        case_transition(
            actor=personas["village_cadre_a1"], source=SOURCE, case=case, action="advance"
        )
    assert error.value.refusal == "publicity_running"
    assert services.allowed_actions(personas["village_cadre_a1"], case) == []
    case = age_step(case, days=4)  # monitoring publicity is at least 5 days
    with pytest.raises(Refused):
        case_transition(
            actor=personas["village_cadre_a1"], source=SOURCE, case=case, action="advance"
        )
    case = age_step(case, days=1)
    case = case_transition(
        actor=personas["village_cadre_a1"], source=SOURCE, case=case, action="advance"
    )
    assert case.state == "township_review"


def test_an_objection_pauses_the_case_until_resolved(personas, household_a1):
    case = advance(personas, open_case(personas, household_a1, "exit"), until="publicity")
    other = open_case(personas, household_a1, "monitoring")
    with pytest.raises(Refused) as error:  # not outside a publicity period
        objection_raise(actor=personas["village_cadre_a1"], source=SOURCE, case=other, text="x")
    assert error.value.refusal == "not_publicity"
    objection_raise(actor=personas["village_cadre_a1"], source=SOURCE, case=case, text="他家有车")
    case = age_step(case, days=30)
    before = unchanged(case)
    with pytest.raises(Refused) as error:
        case_transition(
            actor=personas["village_cadre_a1"], source=SOURCE, case=case, action="advance"
        )
    assert error.value.refusal == "paused"
    with pytest.raises(NotAllowed):  # the village does not resolve
        objection_resolve(
            actor=personas["village_cadre_a1"],
            source=SOURCE,
            case=case,
            decision="dismissed",
            resolution="核实无车",
        )
    assert unchanged(case) == before
    case = objection_resolve(
        actor=personas["township_admin_a"],
        source=SOURCE,
        case=case,
        decision="dismissed",
        resolution="核实无车",
    )
    assert not case.paused and case.state == "publicity"
    case = case_transition(
        actor=personas["village_cadre_a1"], source=SOURCE, case=case, action="advance"
    )
    assert case.state == "announcement"


def test_an_upheld_objection_rejects_the_case(personas, household_a1):
    case = advance(personas, open_case(personas, household_a1, "exit"), until="publicity")
    objection_raise(actor=personas["village_cadre_a1"], source=SOURCE, case=case, text="收入不实")
    case = objection_resolve(
        actor=personas["county_admin"],
        source=SOURCE,
        case=case,
        decision="upheld",
        resolution="属实",
    )
    assert case.state == "rejected" and case.closed_at is not None
    household_a1.refresh_from_db()
    assert household_a1.status == "not_out"
    open_case(personas, household_a1, "exit")  # a new case may start


def test_a_reviewer_rejects(personas, household_a1):
    case = advance(
        personas, open_case(personas, household_a1, "monitoring"), until="county_approval"
    )
    case = case_transition(
        actor=personas["county_admin"], source=SOURCE, case=case, action="reject", comment="不符合"
    )
    assert case.state == "rejected" and list(case.transitions.all())[-1].comment == "不符合"
    with pytest.raises(Refused) as error:
        case_transition(actor=personas["county_admin"], source=SOURCE, case=case, action="advance")
    assert error.value.refusal == "closed"


def _fifty(personas: dict[str, Any]) -> list[Case]:
    cases = []
    for i in range(50):
        household = register_household(personas["village_cadre_a1"], household_no=f"A1-B{i:03d}")
        cases.append(
            advance(personas, open_case(personas, household, "exit"), until="announcement")
        )
    return cases


def test_a_township_approves_fifty_cases_at_once(personas, household_a1):
    cases = _fifty(personas)
    # One of them has an objection in another procedure's way: make one case paused.
    Case.objects.filter(pk=cases[7].pk).update(paused=True)
    results = case_batch_transition(
        actor=personas["township_admin_a"], source=SOURCE, cases=cases, action="advance"
    )
    assert len(results) == 50
    assert [r.code for r in results if not r.ok] == ["paused"]
    assert Case.objects.filter(state="deregistered").count() == 49
    assert Household.objects.filter(status="exited").count() == 49


def test_an_all_or_nothing_batch_changes_nothing_when_one_case_is_refused(personas):
    cases = _fifty(personas)
    Case.objects.filter(pk=cases[30].pk).update(paused=True)
    transitions = Transition.objects.count()
    results = case_batch_transition(
        actor=personas["township_admin_a"],
        source=SOURCE,
        cases=cases,
        action="advance",
        all_or_nothing=True,
    )
    assert not any(r.ok for r in results) and len(results) == 50
    assert {r.code for r in results} == {"rolled_back", "paused", "not_tried"}
    assert Transition.objects.count() == transitions
    assert not Case.objects.filter(state="deregistered").exists()


def test_the_wrong_level_in_a_batch_is_refused_per_case(personas, household_a1):
    case = advance(personas, open_case(personas, household_a1, "exit"), until="announcement")
    [result] = case_batch_transition(
        actor=personas["county_admin"], source=SOURCE, cases=[case], action="advance"
    )
    assert not result.ok and result.code == "wrong_level"


def test_attachments_are_checked_and_kept_under_the_data_dir(
    personas, household_a1, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    settings.PROCEDURE_ATTACHMENT_MAX_BYTES = 100
    case = open_case(personas, household_a1, "exit")
    actor = personas["village_cadre_a1"]
    attachment = attachment_add(
        actor=actor, source=SOURCE, case=case, upload=SimpleUploadedFile("评议.pdf", b"%PDF-1")
    )
    assert (tmp_path / "procedures" / attachment.stored_name).read_bytes() == b"%PDF-1"
    with pytest.raises(Refused) as error:
        attachment_add(
            actor=actor, source=SOURCE, case=case, upload=SimpleUploadedFile("a.pdf", b"x" * 101)
        )
    assert error.value.refusal == "too_large"
    with pytest.raises(Refused) as error:
        attachment_add(
            actor=actor, source=SOURCE, case=case, upload=SimpleUploadedFile("a.exe", b"MZ")
        )
    assert error.value.refusal == "type"
    with pytest.raises(NotAllowed):
        attachment_add(
            actor=personas["leader"],
            source=SOURCE,
            case=case,
            upload=SimpleUploadedFile("a.pdf", b"x"),
        )
    assert case.attachments.count() == 1
