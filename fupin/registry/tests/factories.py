"""Factories that build registry data the way production does: through the services."""

import datetime as dt
import itertools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import factory

from fupin.core.audit import ChangeSource
from fupin.registry.idnumbers import make_id_number
from fupin.registry.models import Household
from fupin.registry.services import household_register
from fupin.registry.validation import HouseholdData, MemberData, RecordData

_sequence = itertools.count(1)


def valid_id_number(
    *, birth: dt.date = dt.date(1970, 5, 17), sex: str = "male", address: str = "371502"
) -> str:
    """A fresh valid id number; odd sequence for men, even for women."""
    n = next(_sequence) % 400
    sequence = n * 2 + (1 if sex == "male" else 0)
    return make_id_number(address, birth, sequence if sequence > 0 else 2)


class MemberDataFactory(factory.Factory):
    class Meta:
        model = MemberData

    class Params:
        born = dt.date(1970, 5, 17)

    name = factory.Iterator(["王建国", "李秀英", "张伟", "刘芳", "陈静", "杨洋"])
    sex = "male"
    birth_date = factory.LazyAttribute(lambda o: o.born)
    id_number = factory.LazyAttribute(lambda o: valid_id_number(birth=o.birth_date, sex=o.sex))
    relation = "head"
    health = "healthy"
    labour = "ordinary"
    basic_medical = True
    ethnicity = "01"
    education = "junior"
    schooling = "not_student"
    work_place = "none"
    work_months = 0


class HouseholdDataFactory(factory.Factory):
    class Meta:
        model = HouseholdData

    division_code = "371502001201"
    identified_year = 2015
    standard = "provincial"
    category = "general"
    main_cause = "illness"
    status = "not_out"
    other_causes = factory.LazyFunction(list)
    exit_year = None
    phone = "13812345678"


class RecordDataFactory(factory.Factory):
    class Meta:
        model = RecordData

    survey_year = 2015
    household_size = 1
    wage_income = Decimal("2000.00")
    business_income = Decimal("800.00")
    property_income = Decimal("0.00")
    transfer_income = Decimal("600.00")
    business_cost = Decimal("300.00")
    housing_grade = "B"
    safe_water = True
    food_secure = True
    clothing_secure = True


def register_household(
    actor: Any,
    *,
    division_code: str = "371502001201",
    household_no: str = "",
    members: Sequence[Any] | None = None,
    record: dict[str, Any] | None = None,
    **household: Any,
) -> Household:
    """Register a household through the service (head only unless ``members`` is given)."""
    members = list(members or [MemberDataFactory()])
    data = HouseholdDataFactory(division_code=division_code, **household)
    rec = RecordDataFactory(
        household_size=len(members), survey_year=data.identified_year, **(record or {})
    )
    return household_register(
        actor=actor,
        source=ChangeSource.command("test"),
        household=data,
        members=members,
        record=rec,
        household_no=household_no,
    )
