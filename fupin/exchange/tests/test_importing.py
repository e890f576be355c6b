"""Import of real package files end to end (exchange-format §5, §6): created, updated,
unchanged, members leaving and moving, new yearly records, history attributed to the file,
idempotency, strict, partial and dry run, scope, and the error workbook."""

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from python_calamine import CalamineWorkbook

from conftest import VILLAGE_A1, VILLAGE_A2, VILLAGE_B1
from fupin.core.models import AuditEvent
from fupin.exchange.columns import HOUSEHOLD_SHEET, MEMBER_SHEET
from fupin.exchange.import_issues import PackageUnreadable
from fupin.exchange.importing import import_package
from fupin.exchange.report import REASON_COLUMN, ROW_COLUMN, SUMMARY_SHEET, write_error_workbook
from fupin.exchange.tests.package_builders import (
    valid_rows,
    write_csv_package,
    write_xlsx_package,
)
from fupin.registry.models import Household, Member, YearlyRecord
from fupin.registry.pinyin import name_initials
from fupin.registry.services import member_snapshot

pytestmark = pytest.mark.django_db

Rows = tuple[list[dict[str, Any]], list[dict[str, Any]]]


def rows(n: int = 3, **kwargs: Any) -> Rows:
    households, members = valid_rows(n, **kwargs)
    return households, members


def members_of(members: list[dict[str, Any]], household_no: str) -> list[dict[str, Any]]:
    return [m for m in members if m["household_no"] == household_no]


class Files:
    """Writes packages into the test's folder, a new name each time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def xlsx(self, data: Rows, name: str = "") -> Path:
        self.count += 1
        return write_xlsx_package(self.folder / (name or f"p{self.count}.xlsx"), *data)

    def csv(self, data: Rows, **kwargs: Any) -> Path:
        self.count += 1
        return write_csv_package(self.folder / f"p{self.count}", *data, **kwargs)


@pytest.fixture
def files(tmp_path: Path, division_tree: None) -> Files:
    return Files(tmp_path)


def state() -> dict[str, Any]:
    """The registry as values (no ids or times), to compare two databases' contents."""
    households = {
        h.household_no: (
            h.division.code,
            h.head_name,
            h.head_name_initials,
            h.phone,
            h.identified_year,
            h.standard,
            h.category,
            h.main_cause,
            tuple(h.other_causes),
            h.status,
            h.exit_year,
        )
        for h in Household.objects.select_related("division")
    }
    members = sorted(
        (m.household.household_no, m.person_key, m.id_number, m.name, m.relation, m.is_active)
        for m in Member.objects.select_related("household")
    )
    records = sorted(
        (r.household.household_no, r.survey_year, r.wage_income, r.farmland_mu, r.household_size)
        for r in YearlyRecord.objects.select_related("household")
    )
    return {"households": households, "members": members, "records": records}


# --- Created, unchanged, updated ---------------------------------------------------------------


def test_a_package_creates_households_members_and_records(files, personas):
    data = rows(3)
    path = files.xlsx(data, "台账2020.xlsx")
    report = import_package(path, actor=personas["village_cadre_a1"])
    assert report.ok and report.applied
    assert report.households == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 0}
    assert report.members["created"] == len(data[1])
    first = data[0][0]
    h = Household.objects.get(household_no=first["household_no"])
    assert (h.head_name, h.head_name_initials) == (
        first["head_name"],
        name_initials(first["head_name"]),
    )
    assert h.division.code == VILLAGE_A1
    record = h.records.get()
    assert record.survey_year == 2020
    assert record.wage_income == Decimal(first["wage_income"])
    assert h.members.filter(is_active=True).count() == int(first["household_size"])
    head = h.members.get(relation="head")
    assert head.id_number == first["head_id_number"]
    # The history names the file, its checksum and the user.
    event = AuditEvent.objects.get(household_no=h.household_no)
    assert event.action == "household.register"
    assert event.source == AuditEvent.Source.IMPORT
    assert event.source_detail == {"file_name": "台账2020.xlsx", "sha256": report.sha256}
    assert event.actor_username == "village_cadre_a1"
    assert event.after["members"][0] == member_snapshot(head)
    summary = AuditEvent.objects.get(action="import")
    assert summary.after["households_created"] == 3
    assert summary.division_path == h.division.path


def test_the_same_package_twice_changes_nothing_the_second_time(files, personas):
    path = files.xlsx(rows(4))
    import_package(path, actor=personas["township_admin_a"])
    before, events = state(), AuditEvent.objects.count()
    stamps = sorted(Household.objects.values_list("updated_at", flat=True))
    report = import_package(path, actor=personas["township_admin_a"])
    assert report.ok and not report.applied
    assert report.households["unchanged"] == 4
    assert report.members["unchanged"] == report.members["created"] + report.members["unchanged"]
    assert state() == before
    assert AuditEvent.objects.count() == events
    assert sorted(Household.objects.values_list("updated_at", flat=True)) == stamps


def test_csv_and_xlsx_packages_give_the_same_registry(files, division_tree):
    data = rows(3)
    import_package(files.csv(data, zip=True), actor=None)
    report = import_package(files.xlsx(data), actor=None)
    assert report.households["unchanged"] == 3
    assert report.members["unchanged"] == len(data[1])
    gb = import_package(files.csv(data, encoding="gb18030"), actor=None)
    assert gb.encoding == "gb18030" and gb.households["unchanged"] == 3


def test_changes_update_households_members_and_records(files, personas):
    data = rows(2)
    import_package(files.xlsx(data), actor=None)
    households, members = copy.deepcopy(data)
    first = households[0]["household_no"]
    households[0]["phone"] = "13900001111"
    mine = members_of(members, first)
    mine[0]["education"] = "高中" if mine[0]["education"] != "高中" else "初中"
    report = import_package(files.xlsx((households, members)), actor=None)
    assert report.households == {"created": 0, "updated": 1, "unchanged": 1, "rejected": 0}
    assert report.members["updated"] == 1
    update = AuditEvent.objects.get(action="household.update")
    assert update.after == {"phone": "13900001111"}
    assert update.source_detail["file_name"].startswith("p")
    assert AuditEvent.objects.filter(action="member.update").count() == 1


def test_a_member_absent_from_an_updated_household_leaves_it(files):
    data = rows(1, seed=5)
    households, members = data
    while len(members) < 2:  # a household of at least two
        households, members = rows(1, seed=len(households) + 7)
    import_package(files.xlsx((households, members)), actor=None)
    gone = members.pop()
    households[0]["household_size"] = str(len(members))
    report = import_package(files.xlsx((households, members)), actor=None)
    assert report.members["left"] == 1
    left = Member.objects.get(id_number=gone["id_number"])
    assert not left.is_active and left.left_on is not None
    assert "p" in left.left_reason  # names the file
    assert AuditEvent.objects.filter(action="member.leave", entity_key=str(left.public_id)).exists()


def test_another_year_adds_a_record_and_keeps_the_first(files):
    households, members = rows(2)
    import_package(files.xlsx((households, members)), actor=None)
    for h in households:
        h["survey_year"] = "2021"
        h["wage_income"] = "99.99"
    report = import_package(files.xlsx((households, members)), actor=None)
    assert report.households["updated"] == 2
    assert YearlyRecord.objects.count() == 4
    assert AuditEvent.objects.filter(action="record.create").count() == 2


def test_a_person_moves_between_two_households_of_the_package(files):
    households, members = rows(6, seed=11)
    source = next(h for h in households if int(h["household_size"]) >= 2)
    target = next(h for h in households if h is not source)
    import_package(files.xlsx((households, members)), actor=None)
    mover = members_of(members, source["household_no"])[-1]
    mover["household_no"] = target["household_no"]
    mover["relation"] = "其他"
    members.remove(mover)
    members.append(mover)
    source["household_size"] = str(int(source["household_size"]) - 1)
    target["household_size"] = str(int(target["household_size"]) + 1)
    report = import_package(files.xlsx((households, members)), actor=None)
    assert report.ok and report.moved == 1
    rows_of_person = Member.objects.filter(id_number=mover["id_number"])
    assert {(m.household.household_no, m.is_active) for m in rows_of_person} == {
        (source["household_no"], False),
        (target["household_no"], True),
    }
    assert AuditEvent.objects.get(action="member.move_out").household_no == source["household_no"]
    assert AuditEvent.objects.get(action="member.move_in").household_no == target["household_no"]


# --- Modes -------------------------------------------------------------------------------------


def broken(n: int = 4) -> Rows:
    """``n`` households, the second with a size that does not match its members."""
    households, members = rows(n, seed=3)
    households[1]["household_size"] = "9"
    return households, members


def test_strict_rejects_the_whole_package_and_counts_what_would_have_happened(files, personas):
    households, members = broken()
    report = import_package(files.xlsx((households, members)), actor=None)
    assert not report.ok and not report.applied
    assert report.households == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 1}
    assert [e.code for e in report.errors] == ["size_mismatch"]
    assert report.members["rejected"] == len(members_of(members, households[1]["household_no"]))
    assert not Household.objects.exists()
    assert not AuditEvent.objects.filter(source=AuditEvent.Source.IMPORT).exists()


def test_partial_applies_the_households_without_errors(files):
    households, members = broken()
    report = import_package(files.xlsx((households, members)), actor=None, mode="partial")
    assert not report.ok and report.applied
    assert report.households == {"created": 3, "updated": 0, "unchanged": 0, "rejected": 1}
    assert not Household.objects.filter(household_no=households[1]["household_no"]).exists()
    assert Household.objects.count() == 3
    # Fixed and sent again, only the rejected household is new.
    households[1]["household_size"] = str(len(members_of(members, households[1]["household_no"])))
    again = import_package(files.xlsx((households, members)), actor=None, mode="partial")
    assert again.ok
    assert again.households == {"created": 1, "updated": 0, "unchanged": 3, "rejected": 0}


def test_a_dry_run_writes_nothing(files):
    data = rows(3)
    events = AuditEvent.objects.count()
    report = import_package(files.xlsx(data), actor=None, dry_run=True)
    assert report.ok and report.dry_run and not report.applied
    assert report.households["created"] == 3
    assert not Household.objects.exists()
    assert AuditEvent.objects.count() == events
    bad = import_package(files.xlsx(broken()), actor=None, dry_run=True, mode="partial")
    assert not bad.ok and bad.households["rejected"] == 1
    assert not Household.objects.exists()


def test_a_township_imports_only_into_its_own_area(files, personas):
    mine = rows(2, village_code=VILLAGE_A1)
    theirs = rows(1, village_code=VILLAGE_B1, start=50, seed=99)
    data = (mine[0] + theirs[0], mine[1] + theirs[1])
    actor = personas["township_admin_a"]
    strict = import_package(files.xlsx(data), actor=actor)
    assert [e.code for e in strict.errors] == ["unknown_division"]
    assert not Household.objects.exists()
    partial = import_package(files.xlsx(data), actor=actor, mode="partial")
    assert partial.households["created"] == 2
    assert set(Household.objects.values_list("division__code", flat=True)) == {VILLAGE_A1}
    # The operator on the command line may import anywhere.
    assert import_package(files.xlsx(data), actor=None).households["created"] == 1


def test_a_reader_only_role_cannot_import(files, personas):
    report = import_package(files.xlsx(rows(1)), actor=personas["leader"])
    assert [e.code for e in report.errors] == ["out_of_scope"]
    assert not Household.objects.exists()


def test_a_household_moved_to_another_village_of_the_area(files, personas):
    households, members = rows(1)
    import_package(files.xlsx((households, members)), actor=personas["township_admin_a"])
    households[0]["division_code"] = VILLAGE_A2
    report = import_package(files.xlsx((households, members)), actor=personas["township_admin_a"])
    assert report.households["updated"] == 1
    assert Household.objects.get().division.code == VILLAGE_A2
    event = AuditEvent.objects.get(action="household.update")
    assert event.after == {"division_code": VILLAGE_A2}


def test_an_unreadable_package_raises(tmp_path):
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    with pytest.raises(PackageUnreadable):
        import_package(empty, actor=None)


def test_an_absent_optional_column_keeps_the_registry_values(files):
    households, members = rows(2)
    import_package(files.xlsx((households, members)), actor=None)
    phones = dict(Household.objects.values_list("household_no", "phone"))
    from fupin.exchange.columns import HOUSEHOLD_COLUMNS

    headers = [c.zh for c in HOUSEHOLD_COLUMNS if c.key != "phone"]
    path = write_xlsx_package(
        files.folder / "no-phone.xlsx", households, members, household_headers=headers
    )
    report = import_package(path, actor=None)
    assert report.households["unchanged"] == 2
    assert dict(Household.objects.values_list("household_no", "phone")) == phones


# --- The error workbook ------------------------------------------------------------------------


def sheet_rows(path: Path, name: str) -> list[list[Any]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(name).to_python()


def test_the_error_workbook_holds_the_rejected_rows_ready_to_send_again(files, tmp_path):
    households, members = broken()
    package = files.xlsx((households, members))
    report = import_package(package, actor=None, mode="partial")
    out = write_error_workbook(report, package, tmp_path / "errors.xlsx")
    book = CalamineWorkbook.from_path(str(out))
    assert book.sheet_names[:2] == [HOUSEHOLD_SHEET, MEMBER_SHEET]
    hh = sheet_rows(out, HOUSEHOLD_SHEET)
    assert hh[0][-2:] == [ROW_COLUMN, REASON_COLUMN]
    assert len(hh) == 2 and int(hh[1][-2]) == 3
    assert "家庭人口" in hh[1][-1]
    mm = sheet_rows(out, MEMBER_SHEET)
    assert len(mm) - 1 == len(members_of(members, households[1]["household_no"]))
    summary = sheet_rows(out, SUMMARY_SHEET)
    assert summary[1][3] == "size_mismatch"
    # Fixed in "Excel" and sent back: the added columns are ignored, the household imported.
    fixed = tmp_path / "fixed.xlsx"
    write_xlsx_package(
        fixed,
        [dict(households[1], household_size=str(len(mm) - 1))],
        members_of(members, households[1]["household_no"]),
    )
    again = import_package(fixed, actor=None, mode="partial")
    assert again.ok and again.households["created"] == 1


def test_the_error_workbook_of_ten_thousand_errors(files, tmp_path):
    households, members = rows(2_500, seed=9)
    for h in households:
        h["household_size"] = "31"  # out of range: one error per household
    for m in members[:7_500]:
        m["health"] = "很好"
    package = files.csv((households, members), zip=True)
    report = import_package(package, actor=None)
    assert len(report.errors) >= 10_000
    out = write_error_workbook(report, package, tmp_path / "errors.xlsx")
    assert len(sheet_rows(out, SUMMARY_SHEET)) == len(report.errors) + 1
    assert len(sheet_rows(out, HOUSEHOLD_SHEET)) == 2_501


def test_progress_names_each_stage(files):
    seen: dict[str, tuple[int, int]] = {}

    def progress(stage: str, done: int, total: int) -> None:
        seen[stage] = (done, total)

    import_package(files.xlsx(rows(3)), actor=None, progress=progress, batch_households=2)
    assert set(seen) == {"read", "validate", "write"}
    assert seen["write"] == (3, 3)
    seen.clear()
    import_package(files.xlsx(rows(3)), actor=None, progress=progress, dry_run=True)
    assert seen["compare"] == (3, 3) and "write" not in seen


def test_a_report_stored_as_json_still_makes_an_error_workbook(files, tmp_path):
    from fupin.exchange.report import ImportReport

    households, members = broken()
    package = files.xlsx((households, members))
    report = import_package(package, actor=None)
    again = ImportReport.from_json(report.as_json())
    assert again.as_json() == report.as_json()
    out = write_error_workbook(again, package, tmp_path / "from-json.xlsx")
    # Without the rejected households' rows, only the rows with errors are copied.
    assert len(sheet_rows(out, HOUSEHOLD_SHEET)) == 2
    assert len(sheet_rows(out, MEMBER_SHEET)) == 1
