"""A scope test for every page and endpoint.

Every route is listed here with how it is keyed. For routes keyed by a household, a village cadre of
village A1 asking for a household of township B gets exactly what a missing household gets: 404,
by page, API or guessed URL, whatever the method. A new route that is not listed fails the suite.
"""

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from conftest import PASSWORD

MISSING = "NO-SUCH-HOUSEHOLD"
MISSING_MEMBER = "00000000-0000-4000-8000-000000000000"

# name → (kind, methods tried). Kinds: "household" (keyed by household number), "member" (keyed
# by household number and member public id), "list" (scoped list), "open" (no protected data).
ROUTES: dict[str, tuple[str, tuple[str, ...]]] = {
    "registry:household-list": ("list", ("get",)),
    "registry:household-register": ("open", ("get",)),
    "registry:household-detail": ("household", ("get",)),
    "registry:household-edit": ("household", ("get", "post")),
    "registry:member-add": ("household", ("get", "post")),
    "registry:member-edit": ("member", ("get", "post")),
    "registry:member-leave": ("member", ("get", "post")),
    "registry:record-add": ("household", ("get", "post")),
    "registry:record-edit": ("household", ("get", "post")),
    "audit:event-list": ("list", ("get",)),
    "api-household-list": ("list", ("get",)),
    "api-household-list-no-slash": ("list", ("get",)),
    "api-household-detail": ("household", ("get", "put", "patch")),
    "api-household-detail-slash": ("household", ("get", "put", "patch")),
    "api-member-add": ("household", ("post",)),
    "api-member-add-slash": ("household", ("post",)),
    "api-member-update": ("member", ("patch",)),
    "api-member-update-slash": ("member", ("patch",)),
    "api-member-leave": ("member", ("post",)),
    "api-member-leave-slash": ("member", ("post",)),
    "api-member-move": ("member", ("post",)),
    "api-member-move-slash": ("member", ("post",)),
    "api-record-save": ("household", ("put",)),
    "api-record-save-slash": ("household", ("put",)),
    "api-schema": ("open", ("get",)),
    "api-docs": ("open", ("get",)),
    "accounts:login": ("open", ("get",)),
    "accounts:logout": ("open", ("post",)),
    "set_language": ("open", ("post",)),
}


def all_routes() -> dict[str, str]:
    """name → route template of every named route of the project."""
    found: dict[str, str] = {}

    def walk(patterns, prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern) and p.name:
                found[namespace + p.name] = prefix + str(p.pattern)

    walk(get_resolver().url_patterns, "/", "")
    return found


def test_every_route_is_in_the_scope_matrix():
    assert set(all_routes()) == set(ROUTES)


def build(route: str, household_no: str, public_id: str) -> str:
    return (
        route.replace("<str:household_no>", household_no)
        .replace("<uuid:public_id>", public_id)
        .replace("<str:public_id>", public_id)
        .replace("<int:year>", "2015")
    )


def request(client: Client, method: str, url: str):
    if method == "get":
        return client.get(url)
    return getattr(client, method)(url, data="{}", content_type="application/json")


CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def comparable(content: bytes, *asked: str) -> bytes:
    """The body without the per-response CSRF token and the keys that were asked for."""
    content = CSRF.sub(b"", content)
    for key in asked:
        content = content.replace(key.encode(), b"")
    return content


KEYED = [name for name, (kind, _) in ROUTES.items() if kind in {"household", "member"}]


@pytest.mark.parametrize("name", KEYED)
def test_a_household_outside_the_scope_answers_like_a_missing_one(
    name, personas, household_a1, household_b1
):
    client = Client()
    assert client.login(username="village_cadre_a1", password=PASSWORD)
    route = all_routes()[name]
    member_b1 = str(household_b1.members.get().public_id)
    member_a1 = str(household_a1.members.get(relation="head").public_id)
    for method in ROUTES[name][1]:
        outside = request(client, method, build(route, household_b1.household_no, member_b1))
        missing = request(client, method, build(route, MISSING, MISSING_MEMBER))
        assert outside.status_code == missing.status_code == 404, (method, outside.status_code)
        assert comparable(outside.content, household_b1.household_no, member_b1) == comparable(
            missing.content, MISSING, MISSING_MEMBER
        )
        assert "赵大海".encode() not in outside.content
        # A member of A1 under B1's number is no way in either.
        crossed = request(client, method, build(route, household_b1.household_no, member_a1))
        assert crossed.status_code == 404
    # And the cadre's own household answers (not 404) on the same route.
    own = request(client, ROUTES[name][1][0], build(route, household_a1.household_no, member_a1))
    assert own.status_code != 404


@pytest.mark.parametrize(
    "name", [n for n, (kind, _) in ROUTES.items() if kind == "list" and not n.startswith("audit")]
)
def test_lists_show_only_the_actor_subtree(name, personas, household_a1, household_b1):
    route = all_routes()[name]
    client = Client()
    assert client.login(username="village_cadre_a1", password=PASSWORD)
    content = client.get(route).content.decode()
    assert household_a1.household_no in content
    assert household_b1.household_no not in content and "赵大海" not in content
    assert client.login(username="county_admin", password=PASSWORD)
    content = client.get(route).content.decode()
    assert household_a1.household_no in content and household_b1.household_no in content
    assert client.login(username="other_county_admin", password=PASSWORD)
    content = client.get(route).content.decode()
    assert household_a1.household_no not in content and household_b1.household_no not in content


def test_audit_log_is_for_auditors_and_scoped(personas, household_a1, household_b1):
    client = Client()
    assert client.login(username="village_cadre_a1", password=PASSWORD)
    assert client.get("/audit/").status_code == 403
    assert client.login(username="auditor", password=PASSWORD)
    content = client.get("/audit/").content.decode()
    assert household_a1.household_no in content and household_b1.household_no in content
    assert client.login(username="other_county_admin", password=PASSWORD)
    content = client.get("/audit/").content.decode()
    assert household_a1.household_no not in content


@pytest.mark.parametrize("name", [n for n, (kind, _) in ROUTES.items() if kind != "open"])
def test_anonymous_visitors_see_nothing(name, personas, household_a1):
    route = all_routes()[name]
    member = str(household_a1.members.get(relation="head").public_id)
    response = Client().get(build(route, household_a1.household_no, member))
    assert response.status_code in {302, 401, 403, 404, 405}
    assert "王建国".encode() not in response.content
