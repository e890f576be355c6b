"""Pages whose query count must not grow with the rows they list (no query per row)."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from conftest import VILLAGE_B1
from fupin.accounts.roles import RankLevel
from fupin.pairing.tests.factories import assign, make_household, make_official, visit

pytestmark = pytest.mark.django_db


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def _grow(admin: Any, pairing: Any, n: int) -> None:
    """``n`` more overdue pairings (never visited), uncovered households and visits."""
    for _i in range(n):
        assign(make_official(rank=RankLevel.CITY), make_household(admin))
        make_household(admin, village=VILLAGE_B1)
        visit(pairing)


@pytest.mark.parametrize(
    "url",
    ["/pairing/", "/pairing/overdue/", "/pairing/households/{no}/", "/households/{no}/"],
)
def test_query_count_does_not_grow_with_rows(personas, url):
    admin = personas["county_admin"]
    household = make_household(admin)
    client = Client()
    client.force_login(admin)
    pairing = assign(make_official(rank=RankLevel.CITY), household)
    _grow(admin, pairing, 1)
    url = url.format(no=household.household_no)
    before = _queries(client, url)
    _grow(admin, pairing, 3)
    assert _queries(client, url) == before
