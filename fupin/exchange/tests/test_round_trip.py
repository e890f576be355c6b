"""Round trip (issue 3, point 6): a generated registry → export → import into an empty registry
→ export gives the same cells, for XLSX and CSV packages, id numbers unmasked."""

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from conftest import VILLAGE_A1, VILLAGE_A2, VILLAGE_B1, VILLAGE_C1
from fupin.core.audit import ChangeSource
from fupin.exchange.columns import HOUSEHOLD_CSV, HOUSEHOLD_SHEET, MEMBER_CSV, MEMBER_SHEET
from fupin.exchange.exporting import export_registry
from fupin.exchange.importing import import_package
from fupin.registry.models import Household
from fupin.registry.services import household_register
from fupin.registry.tests.factories import valid_id_number
from fupin.registry.validation import HouseholdData, MemberData, RecordData

pytestmark = pytest.mark.django_db

CAUSES = ["illness", "disability", "schooling", "disaster", "lack_land", "lack_funds", "other"]
RELATIONS = ["spouse", "son", "daughter", "father", "mother", "grandson", "other", "sibling"]
OPTIONAL_CODES = {
    "ethnicity": ["", "01", "03", "04"],
    "education": ["", "primary", "junior", "college", "preschool"],
    "schooling": ["", "not_student", "primary", "undergraduate"],
    "work_place": ["", "none", "county", "outside"],
}
# Names as people type them, and text that looks like a formula (written as text, read back).
NAMES = st.sampled_from(
    ["王建国", "李秀英", "张 伟", "=SUM(A1)", "-刘芳", "@陈静", "+杨洋", "'欧阳娜娜"]
)
MONEY = st.integers(0, 5_000_000).map(lambda fen: Decimal(fen) / 100)
MAYBE = st.sampled_from([None, True, False])


@st.composite
def member_data(draw: Any, relation: str) -> MemberData:
    sex = draw(st.sampled_from(["male", "female"]))
    birth = draw(st.dates(dt.date(1930, 1, 1), dt.date(2019, 12, 31)))
    id_number = valid_id_number(birth=birth, sex=sex)
    if draw(st.booleans()) and draw(st.booleans()):
        id_number += draw(st.sampled_from(["11", "24", "73"]))  # a disability certificate number
    work_place = draw(st.sampled_from(OPTIONAL_CODES["work_place"]))
    return MemberData(
        name=draw(NAMES),
        id_number=id_number,
        sex=sex,
        birth_date=birth,
        relation=relation,
        health=draw(st.sampled_from(["healthy", "chronic", "serious_illness", "disabled"])),
        labour=draw(st.sampled_from(["ordinary", "skilled", "weak", "lost", "none"])),
        basic_medical=draw(st.booleans()),
        ethnicity=draw(st.sampled_from(OPTIONAL_CODES["ethnicity"])),
        education=draw(st.sampled_from(OPTIONAL_CODES["education"])),
        schooling=draw(st.sampled_from(OPTIONAL_CODES["schooling"])),
        work_place=work_place,
        work_months=0 if work_place == "none" else draw(st.one_of(st.none(), st.integers(0, 12))),
        critical_illness=draw(MAYBE),
        pension=draw(MAYBE),
        dibao=draw(MAYBE),
        tekun=draw(MAYBE),
    )


@st.composite
def household(draw: Any, number: int) -> dict[str, Any]:
    identified = draw(st.integers(2014, 2019))
    status = draw(st.sampled_from(["not_out", "exited", "returned", "cancelled"]))
    main = draw(st.sampled_from(CAUSES))
    others = draw(
        st.lists(st.sampled_from([c for c in CAUSES if c != main]), max_size=2, unique=True)
    )
    size = draw(st.integers(1, 4))
    members = [draw(member_data("head"))] + [
        draw(member_data(draw(st.sampled_from(RELATIONS)))) for _ in range(size - 1)
    ]
    return {
        "household_no": f"RT-{number:04d}",
        "household": HouseholdData(
            division_code=draw(st.sampled_from([VILLAGE_A1, VILLAGE_A2, VILLAGE_B1, VILLAGE_C1])),
            identified_year=identified,
            standard=draw(st.sampled_from(["national", "provincial", "city"])),
            category=draw(st.sampled_from(["general", "dibao", "tekun"])),
            main_cause=main,
            status=status,
            other_causes=others,
            exit_year=draw(st.integers(identified, 2020)) if status == "exited" else None,
            phone=draw(st.sampled_from(["", "13812345678", "0635-8123456"])),
        ),
        "members": members,
        "record": RecordData(
            survey_year=draw(st.integers(identified, 2020)),
            household_size=size,
            wage_income=draw(MONEY),
            business_income=draw(MONEY),
            property_income=draw(MONEY),
            transfer_income=draw(MONEY),
            business_cost=draw(MONEY),
            housing_grade=draw(st.sampled_from("ABCD")),
            safe_water=draw(st.booleans()),
            food_secure=draw(st.booleans()),
            clothing_secure=draw(st.booleans()),
            excluded_income=draw(MONEY),
            farmland_mu=draw(st.one_of(st.none(), MONEY)),
            has_electricity=draw(MAYBE),
        ),
    }


def registries() -> Any:
    return st.integers(1, 6).flatmap(lambda n: st.tuples(*[household(i) for i in range(1, n + 1)]))


def xlsx_cells(path: Path) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_path(str(path))
    return {
        name: book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        for name in (HOUSEHOLD_SHEET, MEMBER_SHEET)
    }


def csv_cells(path: Path) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(path) as archive:
        return {
            name: list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"), newline="")))
            for name in (HOUSEHOLD_CSV, MEMBER_CSV)
        }


def cells(path: Path) -> dict[str, list[list[Any]]]:
    return xlsx_cells(path) if path.suffix == ".xlsx" else csv_cells(path)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(registry=registries(), fmt=st.sampled_from(["xlsx", "csv"]))
def test_export_import_export_gives_the_same_files(personas, tmp_path_factory, registry, fmt):
    Household.objects.all().delete()
    for entry in registry:
        household_register(
            actor=personas["city_admin"],
            source=ChangeSource.command("test"),
            household=entry["household"],
            members=entry["members"],
            record=entry["record"],
            household_no=entry["household_no"],
        )
    folder = tmp_path_factory.mktemp("round-trip")
    suffix = ".xlsx" if fmt == "xlsx" else ".zip"
    first = folder / f"first{suffix}"
    export_registry(first, actor=None, fmt=fmt, masked=False)

    Household.objects.all().delete()  # an empty registry (the divisions stay)
    report = import_package(first, actor=personas["city_admin"])
    assert report.ok, [e.as_json() for e in report.errors]
    assert report.households["created"] == len(registry)

    second = folder / f"second{suffix}"
    export_registry(second, actor=None, fmt=fmt, masked=False)
    assert cells(second) == cells(first)
