"""Personas in two sibling townships (STYLE.md, Testing).

The tree: 山东省 › 聊城市 › 东昌府区 › 古楼街道 (township A: villages A1, A2) and
柳园街道 (township B: village B1), plus 阳谷县 › 侨润街道 › village C1 in another county.
"""

from pathlib import Path
from typing import Any

import pytest

from fupin.accounts.models import User
from fupin.accounts.roles import Role
from fupin.accounts.services import user_create
from fupin.core.audit import ChangeSource
from fupin.divisions.services import divisions_load_csv

PASSWORD = "Persona-pass-2016"

TREE = """code,name,level,parent_code
370000000000,山东省,province,
371500000000,聊城市,city,370000000000
371502000000,东昌府区,county,371500000000
371521000000,阳谷县,county,371500000000
371502001000,古楼街道,township,371502000000
371502002000,柳园街道,township,371502000000
371521001000,侨润街道,township,371521000000
371502001201,一村,village,371502001000
371502001202,二村,village,371502001000
371502002201,柳村,village,371502002000
371521001201,侨村,village,371521001000
"""

VILLAGE_A1 = "371502001201"
VILLAGE_A2 = "371502001202"
VILLAGE_B1 = "371502002201"
VILLAGE_C1 = "371521001201"


@pytest.fixture
def division_tree(db: Any, tmp_path: Path) -> None:
    path = tmp_path / "divisions.csv"
    path.write_text(TREE, encoding="utf-8")
    divisions_load_csv(path)


def _make(username: str, role: str, division: str) -> User:
    return user_create(
        actor=None,
        source=ChangeSource.command("test"),
        username=username,
        password=PASSWORD,
        role=role,
        division_code=division,
        full_name=username,
        unit="扶贫办",
        phone="13900000000",
    )


@pytest.fixture
def personas(division_tree: None) -> dict[str, User]:
    """city_admin, county_admin, township_admin_a, village_cadre_a1, outsider (township B),
    other_county_admin, leader, auditor and department user."""
    return {
        "city_admin": _make("city_admin", Role.CITY_ADMIN, "371500000000"),
        "county_admin": _make("county_admin", Role.COUNTY_ADMIN, "371502000000"),
        "township_admin_a": _make("township_admin_a", Role.TOWNSHIP_ADMIN, "371502001000"),
        "village_cadre_a1": _make("village_cadre_a1", Role.VILLAGE_CADRE, VILLAGE_A1),
        "outsider": _make("outsider", Role.TOWNSHIP_ADMIN, "371502002000"),
        "other_county_admin": _make("other_county_admin", Role.COUNTY_ADMIN, "371521000000"),
        "leader": _make("leader", Role.LEADER, "371500000000"),
        "auditor": _make("auditor", Role.AUDITOR, "371500000000"),
        "department_user": _make("department_user", Role.DEPARTMENT_USER, "371502000000"),
    }


@pytest.fixture
def household_a1(personas: dict[str, User]) -> Any:
    """A household in village A1 with a head and a second member."""
    from fupin.registry.tests.factories import MemberDataFactory, register_household

    members = [
        MemberDataFactory(name="王建国", relation="head"),
        MemberDataFactory(name="李秀英", relation="spouse", sex="female"),
    ]
    return register_household(personas["village_cadre_a1"], household_no="A1-0001", members=members)


@pytest.fixture
def household_b1(personas: dict[str, User]) -> Any:
    from fupin.registry.tests.factories import MemberDataFactory, register_household

    return register_household(
        personas["outsider"],
        division_code=VILLAGE_B1,
        household_no="B1-0001",
        members=[MemberDataFactory(name="赵大海", relation="head")],
    )
