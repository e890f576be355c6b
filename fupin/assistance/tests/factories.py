"""Assistance test data, made the way production makes it: through the services."""

import datetime as dt
from decimal import Decimal
from typing import Any

import factory

from fupin.assistance.models import Measure, Project
from fupin.assistance.services import (
    MeasureData,
    ProjectData,
    measure_create,
    project_create,
)
from fupin.core.audit import ChangeSource
from fupin.registry.models import Household

SOURCE = ChangeSource.command("test")
EXTRA: dict[str, dict[str, Any]] = {
    "pv_dividend": {"station": "一村光伏电站", "capacity_kw": "100"},
    "donkey_price_gap": {"donkeys": 2, "cooperative": "东阿阿胶合作社"},
    "housing_renovation": {"grade_before": "D", "mode": "rebuild", "area_m2": "60"},
    "public_welfare_job": {"post": "cleaner", "monthly_wage": "500", "months": 12},
    "dibao": {"dibao_class": "A", "monthly_amount": "300"},
}


class MeasureDataFactory(factory.Factory):
    class Meta:
        model = MeasureData

    type_code = "pv_dividend"
    content = "村级光伏电站收益分红"
    year = 2016
    quarter = 2
    planned_amount = Decimal("0.00")
    fund_source = "county"
    responsible_unit = "县扶贫办"
    responsible_person = "张主任"
    expected_income = Decimal("500.00")
    extra = factory.LazyAttribute(lambda o: dict(EXTRA.get(o.type_code, {})))


def make_measure(actor: Any, household: Household, **values: Any) -> Measure:
    return measure_create(
        actor=actor, source=SOURCE, household=household, data=MeasureDataFactory(**values)
    )


class ProjectDataFactory(factory.Factory):
    class Meta:
        model = ProjectData

    name = "一村光伏扶贫电站"
    category = "industry"
    year = 2016
    division_code = "371502001000"  # township A
    village_codes = factory.LazyFunction(lambda: ["371502001201"])
    responsible_unit = "古楼街道办事处"
    responsible_person = "李主任"
    content = "建设100千瓦村级光伏电站"
    expected_benefit = "每户每年分红不少于500元"
    progress = 0


def make_project(
    actor: Any,
    *,
    funding: dict[str, Decimal] | None = None,
    planned: dict[str, dt.date] | None = None,
    **values: Any,
) -> Project:
    return project_create(
        actor=actor,
        source=SOURCE,
        data=ProjectDataFactory(**values),
        funding=funding if funding is not None else {"central": Decimal("100000.00")},
        planned=planned,
    )
