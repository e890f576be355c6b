"""A scope test for every page and endpoint.

Every route is listed here with how it is keyed. For routes keyed by a household, a village cadre of
village A1 asking for a household of township B gets exactly what a missing household gets: 404,
by page, API or guessed URL, whatever the method. A new route that is not listed fails the suite.
"""

import re
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from conftest import PASSWORD

MISSING = "NO-SUCH-HOUSEHOLD"
MISSING_MEMBER = "00000000-0000-4000-8000-000000000000"
MISSING_JOB = "00000000-0000-4000-8000-0000000000f0"
MISSING_MEASURE = "00000000-0000-4000-8000-0000000000a1"
MISSING_PHOTO = "00000000-0000-4000-8000-0000000000a2"
MISSING_PROJECT = "XM2016-000000-0000"

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
    # Exchange jobs. Kinds: "import-job" / "export-job" (keyed by a job's public id: another
    # person's job answers like a missing one), "job-list" (the jobs the actor may see).
    "exchange:job-list": ("job-list", ("get",)),
    "exchange:import": ("open", ("get",)),
    "exchange:export": ("open", ("get",)),
    "exchange:job-detail": ("export-job", ("get",)),
    "exchange:job-progress": ("export-job", ("get",)),
    "exchange:job-download": ("export-job", ("get",)),
    "exchange:job-error-workbook": ("import-job", ("get",)),
    "api-import-create": ("open", ("post",)),
    "api-import-create-slash": ("open", ("post",)),
    "api-import-detail": ("import-job", ("get",)),
    "api-import-detail-slash": ("import-job", ("get",)),
    "api-import-error-workbook": ("import-job", ("get",)),
    "api-import-error-workbook-slash": ("import-job", ("get",)),
    "api-export-create": ("open", ("post",)),
    "api-export-create-slash": ("open", ("post",)),
    "api-export-detail": ("export-job", ("get",)),
    "api-export-detail-slash": ("export-job", ("get",)),
    "api-export-download": ("export-job", ("get",)),
    "api-export-download-slash": ("export-job", ("get",)),
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
    # Policy. Values are public to every signed-in role; evaluation runs are scoped by their
    # division (fupin/policy/tests/test_views.py checks it) and keyed by their number.
    "policy:value-list": ("open", ("get",)),
    "policy:value-add": ("open", ("get",)),
    "policy:value-history": ("open", ("get",)),
    "policy:value-edit": ("open", ("get",)),
    "policy:run-detail": ("open", ("get",)),
    "policy:simulate": ("open", ("get",)),
    "policy:scenario-detail": ("open", ("get",)),
    "policy:scenario-rerun": ("open", ("post",)),
    "policy:household-evaluation": ("household", ("get",)),
    "policy:renovation-add": ("household", ("post",)),
    "api-household-evaluation": ("household", ("get",)),
    "api-household-evaluation-slash": ("household", ("get",)),
    # Assistance. Kinds: "measure" (keyed by a measure's public id), "project" (by project code),
    # "photo" (by a photo's public id): a record of township B answers like a missing one;
    # "assistance-list" (measures, projects or milestones of the actor's subtree).
    "assistance:measure-list": ("assistance-list", ("get",)),
    "assistance:measure-add": ("household", ("get", "post")),
    "assistance:measure-detail": ("measure", ("get",)),
    "assistance:measure-edit": ("measure", ("get", "post")),
    "assistance:measure-status": ("measure", ("get", "post")),
    "assistance:measure-stage": ("measure", ("get", "post")),
    "assistance:measure-photo": ("measure", ("get", "post")),
    "assistance:photo-file": ("photo", ("get",)),
    "assistance:catalogue": ("open", ("get",)),
    "assistance:measure-type-create": ("open", ("get",)),
    "assistance:measure-type-edit": ("open", ("get",)),
    "assistance:project-list": ("assistance-list", ("get",)),
    "assistance:project-create": ("open", ("get",)),
    "assistance:overdue": ("assistance-list", ("get",)),
    "assistance:project-detail": ("project", ("get",)),
    "assistance:project-edit": ("project", ("get", "post")),
    "assistance:project-funding": ("project", ("get", "post")),
    "assistance:disbursement-add": ("project", ("get", "post")),
    "assistance:milestone": ("project", ("get", "post")),
    "assistance:beneficiaries": ("project", ("get", "post")),
    "assistance:benefits": ("project", ("get", "post")),
    "assistance:project-photo": ("project", ("get", "post")),
    "api-measure-type-list": ("open", ("get",)),
    "api-measure-type-list-slash": ("open", ("get",)),
    "api-measure-type-detail": ("open", ("get",)),
    "api-measure-type-detail-slash": ("open", ("get",)),
    "api-measure-list": ("assistance-list", ("get",)),
    "api-measure-list-slash": ("assistance-list", ("get",)),
    "api-measure-detail": ("measure", ("get", "patch")),
    "api-measure-detail-slash": ("measure", ("get", "patch")),
    "api-measure-status": ("measure", ("post",)),
    "api-measure-status-slash": ("measure", ("post",)),
    "api-measure-stage": ("measure", ("post",)),
    "api-measure-stage-slash": ("measure", ("post",)),
    "api-measure-photos": ("measure", ("get", "post")),
    "api-measure-photos-slash": ("measure", ("get", "post")),
    "api-photo-file": ("photo", ("get",)),
    "api-photo-file-slash": ("photo", ("get",)),
    "api-household-measures": ("household", ("get",)),
    "api-household-measures-slash": ("household", ("get",)),
    "api-household-timeline": ("household", ("get",)),
    "api-household-timeline-slash": ("household", ("get",)),
    "api-project-list": ("assistance-list", ("get",)),
    "api-project-list-slash": ("assistance-list", ("get",)),
    "api-overdue-milestones": ("assistance-list", ("get",)),
    "api-overdue-milestones-slash": ("assistance-list", ("get",)),
    "api-project-detail": ("project", ("get", "patch")),
    "api-project-detail-slash": ("project", ("get", "patch")),
    "api-project-funding": ("project", ("put",)),
    "api-project-funding-slash": ("project", ("put",)),
    "api-project-disbursements": ("project", ("get", "post")),
    "api-project-disbursements-slash": ("project", ("get", "post")),
    "api-project-milestone": ("project", ("put",)),
    "api-project-milestone-slash": ("project", ("put",)),
    "api-project-beneficiaries": ("project", ("get", "post")),
    "api-project-beneficiaries-slash": ("project", ("get", "post")),
    "api-project-benefits": ("project", ("post",)),
    "api-project-benefits-slash": ("project", ("post",)),
    "api-project-photos": ("project", ("get", "post")),
    "api-project-photos-slash": ("project", ("get", "post")),
    # Pairing. Kinds: "pairing-record" (keyed by a pairing, visit, photo or team member public id,
    # an official's username or a key village's code: township B's answers like a missing one),
    # "pairing-list" (coverage, overdue, officials, visits, key villages of the actor's subtree).
    "pairing:coverage": ("pairing-list", ("get",)),
    "pairing:proposal": ("pairing-list", ("get",)),
    "pairing:overdue": ("pairing-list", ("get",)),
    "pairing:rules": ("open", ("get",)),
    "pairing:household": ("household", ("get",)),
    "pairing:assign": ("household", ("get", "post")),
    "pairing:visit-add": ("household", ("get", "post")),
    "pairing:end": ("pairing-record", ("get", "post")),
    "pairing:visit": ("pairing-record", ("get",)),
    "pairing:visit-photo": ("pairing-record", ("get",)),
    "pairing:official": ("pairing-record", ("get",)),
    "pairing:key-villages": ("pairing-list", ("get",)),
    "pairing:key-village": ("pairing-record", ("get",)),
    "pairing:team-add": ("pairing-record", ("get", "post")),
    "pairing:team-end": ("pairing-record", ("get", "post")),
    "pairing:attendance": ("pairing-record", ("get", "post")),
    "api-pairing-list": ("pairing-list", ("get",)),
    "api-pairing-list-slash": ("pairing-list", ("get",)),
    "api-pairing-end": ("pairing-record", ("post",)),
    "api-pairing-end-slash": ("pairing-record", ("post",)),
    "api-household-pairings": ("household", ("get",)),
    "api-household-pairings-slash": ("household", ("get",)),
    "api-official-list": ("pairing-list", ("get",)),
    "api-official-list-slash": ("pairing-list", ("get",)),
    "api-official-detail": ("pairing-record", ("get",)),
    "api-official-detail-slash": ("pairing-record", ("get",)),
    "api-pairing-coverage": ("pairing-list", ("get",)),
    "api-pairing-coverage-slash": ("pairing-list", ("get",)),
    "api-pairing-proposal": ("pairing-list", ("post",)),
    "api-pairing-proposal-slash": ("pairing-list", ("post",)),
    "api-pairing-quotas": ("open", ("get",)),
    "api-pairing-quotas-slash": ("open", ("get",)),
    "api-visit-rules": ("open", ("get",)),
    "api-visit-rules-slash": ("open", ("get",)),
    "api-help-units": ("open", ("get",)),
    "api-help-units-slash": ("open", ("get",)),
    "api-visit-list": ("pairing-list", ("get",)),
    "api-visit-list-slash": ("pairing-list", ("get",)),
    "api-visit-detail": ("pairing-record", ("get",)),
    "api-visit-detail-slash": ("pairing-record", ("get",)),
    "api-visit-photos": ("pairing-record", ("post",)),
    "api-visit-photos-slash": ("pairing-record", ("post",)),
    "api-visit-photo": ("pairing-record", ("get",)),
    "api-visit-photo-slash": ("pairing-record", ("get",)),
    "api-overdue-visits": ("pairing-list", ("get",)),
    "api-overdue-visits-slash": ("pairing-list", ("get",)),
    "api-key-village-list": ("pairing-list", ("get",)),
    "api-key-village-list-slash": ("pairing-list", ("get",)),
    "api-key-village-detail": ("pairing-record", ("get",)),
    "api-key-village-detail-slash": ("pairing-record", ("get",)),
    "api-team-add": ("pairing-record", ("post",)),
    "api-team-add-slash": ("pairing-record", ("post",)),
    "api-team-end": ("pairing-record", ("post",)),
    "api-team-end-slash": ("pairing-record", ("post",)),
    "api-team-attendance": ("pairing-record", ("put",)),
    "api-team-attendance-slash": ("pairing-record", ("put",)),
    # Procedures. Kinds: "procedure-record" (keyed by a case's or an attachment's public id: one
    # of township B answers like a missing one), "procedure-list" (the cases of the actor's
    # subtree). Batches name their cases in the body: fupin/procedures/tests checks their scope.
    "procedures:case-list": ("procedure-list", ("get",)),
    "procedures:case-open": ("open", ("get",)),
    "procedures:case-batch": ("open", ("post",)),
    "procedures:case-detail": ("procedure-record", ("get",)),
    "procedures:case-transition": ("procedure-record", ("post",)),
    "procedures:case-comment": ("procedure-record", ("post",)),
    "procedures:case-objection": ("procedure-record", ("post",)),
    "procedures:case-resolve": ("procedure-record", ("post",)),
    "procedures:case-attachment": ("procedure-record", ("post",)),
    "procedures:attachment-file": ("procedure-record", ("get",)),
    # Public notices. Kinds: "notice-record" (keyed by an issued notice's public id: one of
    # township B answers like a missing one), "notice-list" (the notices of the actor's subtree).
    # The form page checks its village itself (fupin/procedures/tests/test_notices.py).
    "procedures:notice-list": ("notice-list", ("get",)),
    "procedures:notice-new": ("open", ("get",)),
    "procedures:notice-detail": ("notice-record", ("get",)),
    "procedures:notice-pdf": ("notice-record", ("get",)),
    "api-case-list": ("procedure-list", ("get",)),
    "api-case-list-slash": ("procedure-list", ("get",)),
    "api-case-batch": ("open", ("post",)),
    "api-case-batch-slash": ("open", ("post",)),
    "api-case-detail": ("procedure-record", ("get",)),
    "api-case-detail-slash": ("procedure-record", ("get",)),
    "api-case-transition": ("procedure-record", ("post",)),
    "api-case-transition-slash": ("procedure-record", ("post",)),
    "api-case-comments": ("procedure-record", ("get", "post")),
    "api-case-comments-slash": ("procedure-record", ("get", "post")),
    "api-case-objections": ("procedure-record", ("get", "post")),
    "api-case-objections-slash": ("procedure-record", ("get", "post")),
    "api-case-resolve": ("procedure-record", ("post",)),
    "api-case-resolve-slash": ("procedure-record", ("post",)),
    "api-case-attachments": ("procedure-record", ("get", "post")),
    "api-case-attachments-slash": ("procedure-record", ("get", "post")),
    "api-attachment-file": ("procedure-record", ("get",)),
    "api-attachment-file-slash": ("procedure-record", ("get",)),
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


def build(route: str, household_no: str, public_id: str, job_id: str = MISSING_JOB) -> str:
    return (
        route.replace("<str:household_no>", household_no)
        .replace("<uuid:public_id>", public_id)
        .replace("<str:public_id>", public_id)
        .replace("<uuid:job_id>", job_id)
        .replace("<str:job_id>", job_id)
        .replace("<int:year>", "2015")
        .replace("<uuid:measure_id>", MISSING_MEASURE)
        .replace("<str:measure_id>", MISSING_MEASURE)
        .replace("<uuid:photo_id>", MISSING_PHOTO)
        .replace("<str:photo_id>", MISSING_PHOTO)
        .replace("<str:project_code>", MISSING_PROJECT)
        .replace("<str:kind>", "approval")
        .replace("<str:type_code>", "pv_dividend")
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


JOB_KINDS = {"import-job": "import", "export-job": "export"}


@pytest.fixture
def exchange_jobs(personas, settings, tmp_path):
    """kind → (job of village A1's cadre, job of township B's administrator), done, with files."""
    from fupin.exchange.services import export_job_create, import_job_create
    from fupin.exchange.tests.job_helpers import finished_export, finished_import, upload

    settings.JOBS_AUTOSTART = False
    settings.DATA_DIR = tmp_path
    jobs = {}
    for kind in JOB_KINDS.values():
        pair = []
        for username, prefix in (("village_cadre_a1", "a1"), ("outsider", "b1")):
            actor = personas[username]
            if kind == "import":
                job = import_job_create(actor=actor, files=[upload(f"{prefix}-package.xlsx")])
                pair.append(finished_import(job, errors=1))
            else:
                pair.append(finished_export(export_job_create(actor=actor)))
        jobs[kind] = tuple(pair)
    return jobs


@pytest.mark.parametrize("name", [n for n, (kind, _) in ROUTES.items() if kind in JOB_KINDS])
def test_another_persons_job_answers_like_a_missing_one(name, exchange_jobs):
    own, other = exchange_jobs[JOB_KINDS[ROUTES[name][0]]]
    route = all_routes()[name]
    client = Client()
    assert client.login(username="village_cadre_a1", password=PASSWORD)
    for method in ROUTES[name][1]:
        outside = request(client, method, build(route, "", "", str(other.public_id)))
        missing = request(client, method, build(route, "", "", MISSING_JOB))
        assert outside.status_code == missing.status_code == 404, (method, outside.status_code)
        assert comparable(outside.content, str(other.public_id)) == comparable(
            missing.content, MISSING_JOB
        )
        assert b"b1-package" not in outside.content
    own_response = request(client, ROUTES[name][1][0], build(route, "", "", str(own.public_id)))
    assert own_response.status_code == 200
    if own_response.streaming:
        b"".join(own_response.streaming_content)  # read to the end, which closes the file


@pytest.mark.parametrize("name", [n for n, (kind, _) in ROUTES.items() if kind == "job-list"])
def test_job_lists_show_own_jobs_and_to_administrators_their_subtree(name, exchange_jobs):
    route = all_routes()[name]
    client = Client()
    seen = {}
    for username in ("village_cadre_a1", "county_admin", "other_county_admin"):
        assert client.login(username=username, password=PASSWORD)
        content = client.get(route).content.decode()
        seen[username] = {p for p in ("a1-package", "b1-package") if p in content}
    assert seen == {
        "village_cadre_a1": {"a1-package"},
        "county_admin": {"a1-package", "b1-package"},
        "other_county_admin": set(),
    }


@pytest.mark.parametrize("name", [n for n, (kind, _) in ROUTES.items() if kind != "open"])
def test_anonymous_visitors_see_nothing(name, personas, household_a1):
    route = all_routes()[name]
    member = str(household_a1.members.get(relation="head").public_id)
    response = Client().get(build(route, household_a1.household_no, member))
    assert response.status_code in {302, 401, 403, 404, 405}
    assert "王建国".encode() not in response.content


# --- assistance: measures, projects and photos of township B answer like missing ones ---------

ASSISTANCE_KINDS = {"measure": MISSING_MEASURE, "project": MISSING_PROJECT, "photo": MISSING_PHOTO}
ASSISTANCE_PLACEHOLDERS = {
    "measure": ("<uuid:measure_id>", "<str:measure_id>"),
    "project": ("<str:project_code>",),
    "photo": ("<uuid:photo_id>", "<str:photo_id>"),
}


@pytest.fixture
def assistance_records(personas, household_a1, household_b1, settings, tmp_path):
    """kind → (key of a record of village A1, key of a record of township B)."""
    import datetime as dt

    from django.utils import timezone

    from fupin.assistance.services import PhotoData, beneficiaries_add, photo_add
    from fupin.assistance.tests.factories import SOURCE, make_measure, make_project
    from fupin.assistance.tests.images import png

    settings.MEDIA_ROOT = tmp_path / "media"
    overdue = {"approval": timezone.localdate() - dt.timedelta(days=5)}
    measures, projects, photos = [], [], []
    for user, household, division, village in (
        ("township_admin_a", household_a1, "371502001000", "371502001201"),
        ("outsider", household_b1, "371502002000", "371502002201"),
    ):
        actor = personas[user]
        measure = make_measure(actor, household)
        project = make_project(
            actor, division_code=division, village_codes=[village], planned=overdue
        )
        beneficiaries_add(
            actor=actor, source=SOURCE, project=project, household_nos=[household.household_no]
        )
        photo = photo_add(
            actor=actor, source=SOURCE, upload=png(), data=PhotoData(), measure=measure
        )
        measures.append(str(measure.public_id))
        projects.append(project.code)
        photos.append(str(photo.public_id))
    return {"measure": tuple(measures), "project": tuple(projects), "photo": tuple(photos)}


def assert_outside_answers_like_missing(
    name: str, url: Callable[[tuple[str, ...]], str], own, other, missing
) -> None:
    """As village cadre A1, the record ``other`` (township B) answers every method of route
    ``name`` exactly as the missing ``missing`` does, while the own record ``own`` is there.
    ``url`` builds the route's address from a record's keys (a tuple of strings)."""
    client = Client()
    assert client.login(username="village_cadre_a1", password=PASSWORD)
    for method in ROUTES[name][1]:
        outside = request(client, method, url(other))
        absent = request(client, method, url(missing))
        assert outside.status_code == absent.status_code == 404, (method, outside.status_code)
        assert comparable(outside.content, *other) == comparable(absent.content, *missing)
        assert "赵大海".encode() not in outside.content and b"B1-0001" not in outside.content
    own_response = request(client, ROUTES[name][1][0], url(own))
    assert own_response.status_code != 404
    if own_response.streaming:  # a photo or attachment: reading it to the end closes its file
        b"".join(own_response.streaming_content)


def build_keyed(route: str, kind: str, key: str) -> str:
    for placeholder in ASSISTANCE_PLACEHOLDERS[kind]:
        route = route.replace(placeholder, key)
    return build(route, MISSING, MISSING_MEMBER)


@pytest.mark.parametrize("name", [n for n, (kind, _) in ROUTES.items() if kind in ASSISTANCE_KINDS])
def test_an_assistance_record_outside_the_scope_answers_like_a_missing_one(
    name, assistance_records
):
    kind = ROUTES[name][0]
    own, other = assistance_records[kind]
    route = all_routes()[name]
    assert_outside_answers_like_missing(
        name,
        lambda keys: build_keyed(route, kind, keys[0]),
        (own,),
        (other,),
        (ASSISTANCE_KINDS[kind],),
    )


@pytest.mark.parametrize(
    "name", [n for n, (kind, _) in ROUTES.items() if kind == "assistance-list"]
)
def test_assistance_lists_show_only_the_actor_subtree(name, assistance_records):
    route = all_routes()[name]
    own_project, other_project = assistance_records["project"]
    client = Client()
    assert client.login(username="village_cadre_a1", password=PASSWORD)
    content = client.get(route).content.decode()
    assert "A1-0001" in content or own_project in content
    assert "B1-0001" not in content and other_project not in content and "赵大海" not in content
    assert client.login(username="county_admin", password=PASSWORD)
    content = client.get(route).content.decode()
    assert ("B1-0001" in content) or (other_project in content)
    assert client.login(username="other_county_admin", password=PASSWORD)
    content = client.get(route).content.decode()
    assert "A1-0001" not in content and own_project not in content


# --- pairing: records of township B answer like missing ones; lists show the actor's subtree ---

MISSING_PAIRING_KEYS = {
    "pairing": "00000000-0000-4000-8000-0000000000b1",
    "visit": "00000000-0000-4000-8000-0000000000b2",
    "photo": "00000000-0000-4000-8000-0000000000b3",
    "team_member": "00000000-0000-4000-8000-0000000000b4",
    "official": "no-such-official",
    "village": "371502009999",
}
PAIRING_PLACEHOLDERS = {
    "<uuid:pairing_id>": "pairing",
    "<uuid:visit_id>": "visit",
    "<uuid:photo_id>": "photo",
    "<str:photo_id>": "photo",
    "<uuid:member_id>": "team_member",
    "<str:username>": "official",
    "<str:code>": "village",
}


@pytest.fixture
def pairing_records(personas, household_a1, household_b1, settings, tmp_path):
    """side ("a", "b") → keys of a pairing, an overdue visit with a photo, the official, the
    key village and its first secretary, in village A1 and in township B."""
    from conftest import VILLAGE_A1, VILLAGE_B1
    from fupin.accounts.roles import RankLevel
    from fupin.pairing.tests.factories import (
        assign,
        key_village,
        make_official,
        png_bytes,
        post,
        upload,
        visit,
    )

    settings.MEDIA_ROOT = tmp_path / "media"
    records = {}
    for side, household, village in (
        ("a", household_a1, VILLAGE_A1),
        ("b", household_b1, VILLAGE_B1),
    ):
        official = make_official(f"pairing_{side}1", rank=RankLevel.CITY, division=village)
        pairing = assign(official, household)
        seen = visit(pairing, days_ago=60, photos=[upload(png_bytes())])
        member = post(key_village(village), official)
        records[side] = {
            "pairing": str(pairing.public_id),
            "visit": str(seen.public_id),
            "photo": str(seen.photos.get().public_id),
            "team_member": str(member.public_id),
            "official": official.user.username,
            "village": village,
        }
    return records


def build_pairing(route: str, keys: dict[str, str]) -> str:
    for prefix, entity in (
        ("pairings/", "pairing"),
        ("visits/", "visit"),
        ("team-members/", "team_member"),
    ):
        route = route.replace(prefix + "<str:public_id>", prefix + keys[entity])
    for placeholder, entity in PAIRING_PLACEHOLDERS.items():
        route = route.replace(placeholder, keys[entity])
    return route.replace("<str:month>", "2026-01")


@pytest.mark.parametrize("name", [n for n, (kind, _) in ROUTES.items() if kind == "pairing-record"])
def test_a_pairing_record_outside_the_scope_answers_like_a_missing_one(name, pairing_records):
    route = all_routes()[name]
    entities = tuple(MISSING_PAIRING_KEYS)

    def keyed(record: dict[str, str]) -> tuple[str, ...]:
        return tuple(record[entity] for entity in entities)

    assert_outside_answers_like_missing(
        name,
        lambda keys: build_pairing(route, dict(zip(entities, keys, strict=True))),
        keyed(pairing_records["a"]),
        keyed(pairing_records["b"]),
        keyed(MISSING_PAIRING_KEYS),
    )


@pytest.mark.parametrize("name", [n for n, (kind, _) in ROUTES.items() if kind == "pairing-list"])
def test_pairing_lists_show_only_the_actor_subtree(name, pairing_records):
    route = all_routes()[name]
    method = ROUTES[name][1][0]
    own = ("A1-0001", pairing_records["a"]["official"], pairing_records["a"]["village"])
    other = ("B1-0001", "赵大海", pairing_records["b"]["official"], pairing_records["b"]["village"])
    client = Client()
    assert client.login(username="village_cadre_a1", password=PASSWORD)
    content = request(client, method, route).content.decode()
    assert any(marker in content for marker in own), content[:500]
    assert not any(marker in content for marker in other)
    assert client.login(username="other_county_admin", password=PASSWORD)
    content = request(client, method, route).content.decode()
    assert not any(marker in content for marker in own + other)


# --- procedures: cases of township B answer like missing ones; lists show the actor's subtree ---

MISSING_CASE = "00000000-0000-4000-8000-0000000000c1"
MISSING_ATTACHMENT = "00000000-0000-4000-8000-0000000000c2"


@pytest.fixture
def procedure_records(personas, household_a1, household_b1, settings, tmp_path):
    """side ("a", "b") → (case id, attachment id) of an exit case in village A1 / township B."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from fupin.procedures.services import attachment_add, case_open
    from fupin.procedures.tests.helpers import SOURCE

    settings.DATA_DIR = tmp_path
    records = {}
    for side, household, user in (
        ("a", household_a1, "village_cadre_a1"),
        ("b", household_b1, None),
    ):
        actor = personas[user] if user else _village_cadre_b1()
        case = case_open(
            actor=actor, source=SOURCE, household=household, procedure="exit", year=2016
        )
        attachment = attachment_add(
            actor=actor, source=SOURCE, case=case, upload=SimpleUploadedFile("a.pdf", b"%PDF")
        )
        records[side] = (str(case.public_id), str(attachment.public_id))
    return records


def _village_cadre_b1():
    from conftest import VILLAGE_B1, _make
    from fupin.accounts.roles import Role

    return _make("village_cadre_b1", Role.VILLAGE_CADRE, VILLAGE_B1)


def build_procedure(route: str, keys: tuple[str, str]) -> str:
    return route.replace("<uuid:case_id>", keys[0]).replace("<uuid:attachment_id>", keys[1])


@pytest.mark.parametrize(
    "name", [n for n, (kind, _) in ROUTES.items() if kind == "procedure-record"]
)
def test_a_procedure_case_outside_the_scope_answers_like_a_missing_one(name, procedure_records):
    route = all_routes()[name]
    assert_outside_answers_like_missing(
        name,
        lambda keys: build_procedure(route, keys),
        procedure_records["a"],
        procedure_records["b"],
        (MISSING_CASE, MISSING_ATTACHMENT),
    )


@pytest.mark.parametrize("name", [n for n, (kind, _) in ROUTES.items() if kind == "procedure-list"])
def test_procedure_lists_show_only_the_actor_subtree(name, procedure_records):
    route = all_routes()[name]
    client = Client()
    assert client.login(username="village_cadre_a1", password=PASSWORD)
    content = client.get(route).content.decode()
    assert "A1-0001" in content and "B1-0001" not in content and "赵大海" not in content
    assert client.login(username="other_county_admin", password=PASSWORD)
    content = client.get(route).content.decode()
    assert "A1-0001" not in content and "B1-0001" not in content


# --- public notices: a notice of township B answers like a missing one ---------------------------

MISSING_NOTICE = "00000000-0000-4000-8000-0000000000c3"


@pytest.fixture
def notice_records(procedure_records, personas):
    """side ("a", "b") → public id of a notice issued of village A1 / of township B's village,
    listing the exit case of procedure_records."""
    from conftest import VILLAGE_A1, VILLAGE_B1
    from fupin.accounts.models import User
    from fupin.procedures.models import Case
    from fupin.procedures.notices import notice_issue, notice_request
    from fupin.procedures.services import case_transition
    from fupin.procedures.tests.helpers import SOURCE

    cadre_b1 = User.objects.get(username="village_cadre_b1")
    notices = {}
    for side, village, actor in (
        ("a", VILLAGE_A1, personas["village_cadre_a1"]),
        ("b", VILLAGE_B1, cadre_b1),
    ):
        case = Case.objects.get(public_id=procedure_records[side][0])
        while case.state != "publicity":
            case = case_transition(actor=actor, source=SOURCE, case=case, action="advance")
        asked = notice_request(actor, village=village, procedure="exit", step="publicity")
        notices[side] = str(notice_issue(actor=actor, source=SOURCE, request=asked).public_id)
    return notices


@pytest.mark.parametrize("name", [n for n, (kind, _) in ROUTES.items() if kind == "notice-record"])
def test_a_notice_outside_the_scope_answers_like_a_missing_one(name, notice_records):
    route = all_routes()[name]
    assert_outside_answers_like_missing(
        name,
        lambda keys: route.replace("<uuid:notice_id>", keys[0]),
        (notice_records["a"],),
        (notice_records["b"],),
        (MISSING_NOTICE,),
    )


@pytest.mark.parametrize("name", [n for n, (kind, _) in ROUTES.items() if kind == "notice-list"])
def test_notice_lists_show_only_the_actor_subtree(name, notice_records):
    route = all_routes()[name]
    client = Client()
    assert client.login(username="village_cadre_a1", password=PASSWORD)
    content = client.get(route).content.decode()
    assert notice_records["a"] in content and notice_records["b"] not in content
    assert "柳村" not in content
    assert client.login(username="other_county_admin", password=PASSWORD)
    content = client.get(route).content.decode()
    assert notice_records["a"] not in content and notice_records["b"] not in content
