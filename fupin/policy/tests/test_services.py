"""Policy values (versioned, validated, city administrators only), bundled defaults, evaluation
runs and their stored results."""

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from fupin.core.errors import NotFound, PermissionDenied
from fupin.core.models import AuditEvent
from fupin.policy.models import (
    DivisionEvaluation,
    EvaluationRun,
    HouseholdEvaluation,
    PolicyRevision,
    PolicyValue,
)
from fupin.policy.parameters import parameters_for_year, parse_override
from fupin.policy.services import (
    BUNDLED_FILE,
    PolicyValueData,
    evaluation_run,
    housing_renovation_record,
    parse_bundled,
    policy_value_create,
    policy_value_update,
    policy_values_load_bundled,
)
from fupin.policy.tests.helpers import SOURCE, income, make_household


def data(**changes: Any) -> PolicyValueData:
    values: dict[str, Any] = {
        "name": "poverty_line",
        "qualifier": "city",
        "value": Decimal("3500"),
        "valid_from": dt.date(2021, 1, 1),
        "valid_to": dt.date(2021, 12, 31),
        "source_note": "聊城市扶贫办 2021 文件",
    }
    return PolicyValueData(**(values | changes))


def line_2016() -> PolicyValue:
    return PolicyValue.objects.get(
        name="poverty_line", qualifier="national", valid_from=dt.date(2016, 1, 1), is_current=True
    )


# --- Bundled defaults ----------------------------------------------------------------------------


def test_the_bundled_values_are_loaded_after_migrate_with_their_sources(db):
    rows = parse_bundled()
    assert PolicyValue.objects.filter(is_current=True).count() == len(rows)
    assert all(r.source_note for r in rows)
    line = line_2016()
    assert (line.value, line.version, line.valid_to) == (Decimal(2952), 1, dt.date(2016, 12, 31))
    # National lines 2011–2020 (domain.md §0).
    years = sorted(
        v.valid_from.year
        for v in PolicyValue.objects.filter(name="poverty_line", qualifier="national")
    )
    assert years == list(range(2011, 2021))


def test_loading_the_bundled_values_again_adds_nothing_and_keeps_changes(db, personas):
    changed = policy_value_update(
        actor=personas["city_admin"],
        source=SOURCE,
        value_id=line_2016().pk,
        data=data(
            qualifier="national",
            value=Decimal("2960"),
            valid_from=dt.date(2016, 1, 1),
            valid_to=dt.date(2016, 12, 31),
        ),
    )
    revisions = PolicyRevision.objects.count()
    assert policy_values_load_bundled(path=BUNDLED_FILE) == 0
    assert PolicyRevision.objects.count() == revisions
    assert line_2016().value == changed.value == Decimal("2960")


def test_a_broken_bundled_file_names_the_row(tmp_path):
    path = tmp_path / "values.csv"
    path.write_text(
        "name,qualifier,value,valid_from,valid_to,source_note\npoverty_line,city,abc,2020-01-01,,x\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="row 2"):
        parse_bundled(path)


# --- Creating and changing values ----------------------------------------------------------------


def test_a_city_administrator_adds_a_value_with_an_audit_event(personas):
    value = policy_value_create(actor=personas["city_admin"], source=SOURCE, data=data())
    assert (value.version, value.is_current, value.revision.actor_username) == (
        1,
        True,
        "city_admin",
    )
    event = AuditEvent.objects.get(action="policy_value.create")
    assert event.after["value"] == "3500" and event.entity_key == str(value.lineage)
    assert parameters_for_year(2021).values.get("poverty_line", "city") == 350000


@pytest.mark.parametrize("who", ["county_admin", "village_cadre_a1", "leader", "auditor"])
def test_other_roles_may_not_change_the_policy(personas, who):
    with pytest.raises(PermissionDenied):
        policy_value_create(actor=personas[who], source=SOURCE, data=data())
    assert not PolicyValue.objects.filter(valid_from=dt.date(2021, 1, 1), qualifier="city").exists()


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"value": Decimal("-5")}, "value", "out_of_range"),
        ({"value": Decimal("5000000")}, "value", "out_of_range"),
        ({"value": Decimal("3500.123")}, "value", "too_many_decimals"),
        ({"qualifier": "county"}, "qualifier", "bad_qualifier"),
        ({"qualifier": ""}, "qualifier", "qualifier_required"),
        ({"name": "school_age_min", "qualifier": "x", "value": Decimal(6)}, "qualifier", None),
        ({"name": "school_age_min", "qualifier": "", "value": Decimal("6.5")}, "value", None),
        ({"name": "no_such_thing"}, "name", None),
        ({"valid_to": dt.date(2020, 1, 1)}, "valid_to", None),
        ({"source_note": "  "}, "source_note", None),
        ({"valid_from": dt.date(2020, 6, 1)}, "valid_from", "overlap"),
        ({"name": "monitoring_line", "qualifier": "37"}, "qualifier", "bad_qualifier"),
    ],
)
def test_a_bad_value_is_refused_and_nothing_changes(personas, changes, field, code):
    before = PolicyValue.objects.count()
    with pytest.raises(ValidationError) as info:
        policy_value_create(actor=personas["city_admin"], source=SOURCE, data=data(**changes))
    assert field in info.value.error_dict
    if code:
        assert info.value.error_dict[field][0].code == code
    assert PolicyValue.objects.count() == before


def test_an_unused_value_is_changed_in_place(personas):
    line = line_2016()
    changed = policy_value_update(
        actor=personas["city_admin"],
        source=SOURCE,
        value_id=line.pk,
        data=data(
            qualifier="national",
            value=Decimal("2953"),
            valid_from=line.valid_from,
            valid_to=line.valid_to,
            source_note="corrected",
        ),
    )
    assert (changed.pk, changed.version, changed.value) == (line.pk, 1, Decimal("2953"))
    event = AuditEvent.objects.get(action="policy_value.update")
    assert (event.before["value"], event.after["value"]) == ("2952.0000", "2953")


def test_a_value_used_by_an_evaluation_gets_a_new_version_instead(personas):
    cadre = personas["village_cadre_a1"]
    h = make_household(cadre, first_year=2016, records={2016: income("2955")}, standard="national")
    run = evaluation_run(actor=None, source=SOURCE, year=2016).run
    line = line_2016()
    assert run.values_used.filter(pk=line.pk).exists()

    changed = policy_value_update(
        actor=personas["city_admin"],
        source=SOURCE,
        value_id=line.pk,
        data=data(
            qualifier="national",
            value=Decimal("2960"),
            valid_from=line.valid_from,
            valid_to=line.valid_to,
            source_note="a later correction",
        ),
    )
    line.refresh_from_db()
    assert (line.value, line.is_current, line.version) == (Decimal(2952), False, 1)
    assert (changed.version, changed.is_current, changed.lineage) == (2, True, line.lineage)
    assert AuditEvent.objects.filter(action="policy_value.new_version").exists()
    # The stored run still names the version it used; a new run uses the new one.
    assert run.parameters["poverty_line.national"]["value_id"] == line.pk
    assert HouseholdEvaluation.objects.get(run=run, household=h).outcome == "exit_qualified"
    second = evaluation_run(actor=None, source=SOURCE, year=2016).run
    assert second.policy_version > run.policy_version
    assert HouseholdEvaluation.objects.get(run=second, household=h).outcome == "still_poor"
    # Changing the old version is not possible: it is no longer current.
    with pytest.raises(NotFound):
        policy_value_update(actor=None, source=SOURCE, value_id=line.pk, data=data())


def test_parameter_and_qualifier_of_a_value_do_not_change(personas):
    with pytest.raises(ValidationError) as info:
        policy_value_update(
            actor=personas["city_admin"],
            source=SOURCE,
            value_id=line_2016().pk,
            data=data(qualifier="provincial"),
        )
    assert "name" in info.value.error_dict


def test_parameters_for_a_year_without_values_explain_what_is_missing(db):
    with pytest.raises(ValidationError) as info:
        parameters_for_year(2009)
    assert info.value.code == "missing_parameter"
    assert "poverty_line" in info.value.messages[0]


def test_overrides_are_checked_like_values(db):
    assert parse_override("poverty_line.provincial=4200") == (
        "poverty_line",
        "provincial",
        Decimal(4200),
    )
    for bad in ("no_such=1", "poverty_line", "poverty_line.county=1", "poverty_line=abc"):
        with pytest.raises(ValidationError):
            parse_override(bad)
    resolved = parameters_for_year(2016, {"poverty_line": {"": Decimal(3000)}})
    assert resolved.values.mapping("poverty_line") == {
        "national": 300000,
        "provincial": 300000,
        "city": 300000,
    }
    assert resolved.source_of("poverty_line", "city") is None
    with pytest.raises(ValidationError):
        parameters_for_year(2016, {"exit_incidence_max": {"village": Decimal(0)}})


# --- Evaluation runs ---------------------------------------------------------------------------


def test_an_evaluation_run_stores_every_household_with_the_versions(personas):
    cadre = personas["village_cadre_a1"]
    poor = make_household(cadre, first_year=2016, records={2016: income("2000")})
    out = make_household(cadre, first_year=2016, records={2016: income("5000")})
    result = evaluation_run(actor=None, source=SOURCE, year=2016)
    run = result.run
    assert run.households == 2 and run.year == 2016 and run.division is None
    assert len(run.data_version) == 16
    assert run.policy_version == PolicyRevision.objects.latest("id").pk
    stored = {e.household_id: e for e in HouseholdEvaluation.objects.filter(run=run)}
    assert stored[poor.pk].outcome == "still_poor"
    assert stored[poor.pk].failed_codes == ["income_above_line"]
    assert stored[out.pk].outcome == "exit_qualified" and stored[out.pk].failed == ""
    assert DivisionEvaluation.objects.filter(run=run, level="village").count() == 4
    total = run.summary["total"]
    assert total["outcomes"] == {"exit_qualified": 1, "still_poor": 1}
    county = next(c for c in run.summary["counties"] if c["code"] == "371502000000")
    assert county["households"] == 2 and county["villages"] == 3
    assert AuditEvent.objects.filter(action="policy.evaluate", entity_key=str(run.pk)).exists()


def test_the_data_version_changes_with_the_data_and_not_otherwise(personas):
    cadre = personas["village_cadre_a1"]
    h = make_household(cadre, first_year=2016, records={2016: income("2000")})
    first = evaluation_run(actor=None, source=SOURCE, year=2016).run
    again = evaluation_run(actor=None, source=SOURCE, year=2016).run
    assert first.data_version == again.data_version
    housing_renovation_record(
        actor=cadre,
        source=SOURCE,
        household_no=h.household_no,
        kind="rebuilt",
        accepted_on=dt.date(2016, 5, 1),
    )
    assert (
        evaluation_run(actor=None, source=SOURCE, year=2016).run.data_version != first.data_version
    )


def test_an_evaluation_of_a_division_covers_its_subtree_only(personas):
    make_household(personas["village_cadre_a1"], first_year=2016, records={2016: income("2000")})
    make_household(
        personas["outsider"],
        first_year=2016,
        records={2016: income("2000")},
        division_code="371502002201",
    )
    run = evaluation_run(
        actor=personas["city_admin"], source=SOURCE, year=2016, division_code="371502001000"
    ).run
    assert run.division is not None
    assert run.households == 1 and run.division.code == "371502001000"
    assert run.actor_username == "city_admin"
    # Only the villages of the township; no county row for a township's run.
    levels = set(DivisionEvaluation.objects.filter(run=run).values_list("level", flat=True))
    assert levels == {"village"}


def test_only_city_administrators_run_evaluations_from_the_web(personas):
    with pytest.raises(PermissionDenied):
        evaluation_run(actor=personas["county_admin"], source=SOURCE, year=2016)
    with pytest.raises(ValidationError):
        evaluation_run(actor=None, source=SOURCE, year=2016, division_code="999999999999")
    assert not EvaluationRun.objects.exists()


def test_a_renovation_is_recorded_by_an_editor_of_the_household_only(personas):
    h = make_household(
        personas["village_cadre_a1"], first_year=2016, records={2016: income("2000")}
    )
    with pytest.raises(NotFound):
        housing_renovation_record(
            actor=personas["outsider"],
            source=SOURCE,
            household_no=h.household_no,
            kind="rebuilt",
            accepted_on=dt.date(2016, 5, 1),
        )
    with pytest.raises(PermissionDenied):
        housing_renovation_record(
            actor=personas["leader"],
            source=SOURCE,
            household_no=h.household_no,
            kind="rebuilt",
            accepted_on=dt.date(2016, 5, 1),
        )
    with pytest.raises(ValidationError) as info:
        housing_renovation_record(
            actor=personas["village_cadre_a1"],
            source=SOURCE,
            household_no=h.household_no,
            kind="painted",
            accepted_on=dt.date(2999, 1, 1),
        )
    assert set(info.value.error_dict) == {"kind", "accepted_on"}
    housing_renovation_record(
        actor=personas["village_cadre_a1"],
        source=SOURCE,
        household_no=h.household_no,
        kind="rebuilt",
        accepted_on=dt.date(2016, 5, 1),
    )
    event = AuditEvent.objects.get(action="housing_renovation.record")
    assert event.household_no == h.household_no and event.after["kind"] == "rebuilt"


@pytest.mark.django_db(transaction=True)
def test_reads_outside_a_transaction_run_side_by_side_and_agree(personas):
    """The reads agree whether they run in threads (outside a transaction) or in turn."""
    from django.db import connection

    from fupin.policy.inputs import read_bulk
    from fupin.policy.parameters import parameters_for_year

    cadre = personas["village_cadre_a1"]
    make_household(cadre, first_year=2016, records={2016: income("2000"), 2017: income("4000")})
    make_household(cadre, first_year=2016, records={2016: income("5000")}, status="cancelled")
    assert not connection.in_atomic_block
    params = parameters_for_year(2017).values
    parallel, version = read_bulk(2017, None, params, with_version=True)
    with transaction.atomic():
        serial, again = read_bulk(2017, None, params, with_version=True)
    assert version == again and len(version) == 16
    for name in ("households", "members", "renovated", "divisions"):
        assert getattr(parallel, name).equals(getattr(serial, name)), name
    # The records of the year and the one before are joined to their household (null without).
    households = parallel.households.sort("id")
    assert households["net_0"].null_count() == 1
    assert households["net_1"].null_count() == 0
    assert households["size_2"].null_count() == 2


@pytest.mark.django_db(transaction=True)
def test_reads_run_in_threads_only_outside_a_transaction():
    """Outside a transaction the reads overlap in threads; inside one (other connections would
    not see its uncommitted rows) they run one after the other, here."""
    import threading

    from django.db import connection

    from fupin.policy.inputs import run_reads

    def thread_name() -> str:
        return threading.current_thread().name

    tasks = {"a": thread_name, "b": thread_name, "c": thread_name}
    here = threading.current_thread().name
    assert not connection.in_atomic_block
    names = set(run_reads(tasks).values())
    assert names and all(n.startswith("policy-read") for n in names), names
    with transaction.atomic():
        assert set(run_reads(tasks).values()) == {here}
