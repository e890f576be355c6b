"""Pairing services: quotas, pairings, visits with photos, key villages and teams.

Bad input (a pairing beyond quota, a visit dated in the future, a photo that is not an image or
too large) gives a coded error and saves nothing: no row, no audit event, no file.
"""

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from conftest import VILLAGE_A1, VILLAGE_A2, VILLAGE_B1
from fupin.accounts.roles import RankLevel
from fupin.core.errors import PermissionDenied
from fupin.core.models import AuditEvent
from fupin.pairing import services
from fupin.pairing.images import MAX_PHOTO_BYTES
from fupin.pairing.models import Attendance, Pairing, QuotaRule, TeamMember, Visit, VisitPhoto
from fupin.pairing.policy import quotas_on, today
from fupin.pairing.services import VisitData
from fupin.pairing.tests.factories import (
    SOURCE,
    assign,
    jpeg_bytes,
    key_village,
    make_household,
    make_official,
    orphan_household,
    png_bytes,
    post,
    upload,
    visit,
)

pytestmark = pytest.mark.django_db


def codes(exc: pytest.ExceptionInfo[ValidationError], field: str) -> list[str]:
    return [str(e.code) for e in exc.value.error_dict[field]]


def media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "pairing"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def cadre(personas):
    return personas["village_cadre_a1"]


# --- Quotas -------------------------------------------------------------------------------------


def test_default_quotas_are_liaocheng_numbers_with_their_source(db):
    quotas = quotas_on(today())
    assert (quotas["city"].households, quotas["city"].orphans) == (10, 1)
    assert (quotas["county"].households, quotas["county"].orphans) == (5, 1)
    assert (quotas["section"].households, quotas["section"].orphans) == (1, 0)
    assert "聊城" in quotas["city"].source


def test_pairing_assign_within_quota_is_saved_with_history(personas, cadre):
    official = make_official(rank=RankLevel.COUNTY)
    households = [make_household(cadre) for _ in range(5)]
    for household in households:
        assign(official, household)
    assert Pairing.objects.active().filter(official=official).count() == 5
    events = AuditEvent.objects.filter(action="pairing.assign")
    assert events.count() == 5
    first = events.first()
    assert first is not None
    assert first.household_no in {h.household_no for h in households}
    assert first.after["official"] == official.user.username


def test_pairing_beyond_quota_is_refused_and_nothing_is_saved(personas, cadre):
    official = make_official(rank=RankLevel.SECTION)  # quota 1
    first, second = make_household(cadre), make_household(cadre)
    assign(official, first)
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        assign(official, second)
    assert codes(exc, "official") == ["over_quota"]
    assert not Pairing.objects.filter(household=second).exists()
    assert AuditEvent.objects.count() == events


def test_pairing_quota_follows_the_version_in_force(personas, cadre):
    official = make_official(rank=RankLevel.SECTION)
    services.quota_rule_set(
        actor=None,
        source=SOURCE,
        rank_level=RankLevel.SECTION,
        households=2,
        orphans=0,
        valid_from=today(),
        source_note="test: new rule",
    )
    assign(official, make_household(cadre))
    assign(official, make_household(cadre))
    with pytest.raises(ValidationError) as exc:
        assign(official, make_household(cadre))
    assert codes(exc, "official") == ["over_quota"]
    old = QuotaRule.objects.get(rank_level=RankLevel.SECTION, households=1)
    assert old.valid_to == today() - dt.timedelta(days=1)


def test_quota_rule_set_refuses_a_version_not_after_the_current(db):
    with pytest.raises(ValidationError) as exc:
        services.quota_rule_set(
            actor=None,
            source=SOURCE,
            rank_level=RankLevel.CITY,
            households=200,
            orphans=1,
            valid_from=dt.date(2015, 1, 1),
            source_note="",
        )
    assert set(exc.value.error_dict) == {"households", "valid_from", "source_note"}
    assert QuotaRule.objects.get(rank_level=RankLevel.CITY).households == 10


def test_quota_rule_set_is_for_city_administrators(personas):
    with pytest.raises(PermissionDenied):
        services.quota_rule_set(
            actor=personas["county_admin"],
            source=SOURCE,
            rank_level=RankLevel.CITY,
            households=9,
            orphans=1,
            valid_from=today(),
            source_note="x",
        )


def test_a_household_has_one_responsible_official(personas, cadre):
    household = make_household(cadre)
    assign(make_official(rank=RankLevel.CITY), household)
    with pytest.raises(ValidationError) as exc:
        assign(make_official(rank=RankLevel.CITY), household)
    assert codes(exc, "household") == ["already_paired"]


def test_the_database_keeps_one_responsible_official_per_household(personas, cadre):
    household = make_household(cadre)
    first = assign(make_official(rank=RankLevel.CITY), household)
    with pytest.raises(IntegrityError), transaction.atomic():
        Pairing.objects.create(
            official=make_official(rank=RankLevel.CITY),
            household=household,
            kind=Pairing.Kind.HOUSEHOLD,
            origin=Pairing.Origin.MANUAL,
            started_on=first.started_on,
        )


def test_pairing_needs_an_active_pairing_official(personas, cadre):
    household = make_household(cadre)
    with pytest.raises(ValidationError) as exc:
        services.pairing_assign(
            actor=None,
            source=SOURCE,
            official=personas["county_admin"].official,
            household=household,
        )
    assert codes(exc, "official") == ["not_pairing_official"]


def test_pairing_assign_needs_an_administrator_over_the_household(personas, cadre):
    household = make_household(cadre)
    official = make_official()
    with pytest.raises(PermissionDenied):
        services.pairing_assign(actor=cadre, source=SOURCE, official=official, household=household)
    with pytest.raises(PermissionDenied):
        services.pairing_assign(
            actor=personas["outsider"], source=SOURCE, official=official, household=household
        )
    services.pairing_assign(
        actor=personas["township_admin_a"], source=SOURCE, official=official, household=household
    )


def test_pairing_start_date_in_the_future_is_refused(personas, cadre):
    with pytest.raises(ValidationError) as exc:
        assign(make_official(), make_household(cadre), started_on=today() + dt.timedelta(days=1))
    assert codes(exc, "started_on") == ["future_date"]


def test_pairing_end_keeps_history_and_frees_the_place(personas, cadre):
    official = make_official(rank=RankLevel.SECTION)
    first, second = make_household(cadre), make_household(cadre)
    pairing = assign(official, first)
    services.pairing_end(actor=None, source=SOURCE, pairing=pairing, reason="调动")
    pairing.refresh_from_db()
    assert pairing.ended_on == today() and pairing.end_reason == "调动"
    assert AuditEvent.objects.filter(action="pairing.end", household_no=first.household_no).exists()
    assign(official, second)  # the place is free again
    with pytest.raises(ValidationError) as exc:
        services.pairing_end(actor=None, source=SOURCE, pairing=pairing)
    assert codes(exc, "pairing") == ["already_ended"]


def test_an_orphan_is_paired_with_a_leader_on_top_of_the_households(personas, cadre):
    household = orphan_household(cadre)
    child = household.members.get(relation="grandson")
    leader = make_official(rank=RankLevel.CITY)
    pairing = assign(leader, household, kind=Pairing.Kind.ORPHAN, member=child)
    assert pairing.member == child
    # A second orphan is beyond the orphan quota of 1.
    other = orphan_household(cadre)
    with pytest.raises(ValidationError) as exc:
        assign(
            leader,
            other,
            kind=Pairing.Kind.ORPHAN,
            member=other.members.get(relation="grandson"),
        )
    assert codes(exc, "official") == ["over_quota"]
    # Section-level cadres have no orphan places.
    with pytest.raises(ValidationError) as exc:
        assign(
            make_official(rank=RankLevel.SECTION),
            other,
            kind=Pairing.Kind.ORPHAN,
            member=other.members.get(relation="grandson"),
        )
    assert codes(exc, "official") == ["over_quota"]


def test_a_child_with_a_parent_in_the_household_is_not_an_orphan(personas, household_a1):
    spouse = household_a1.members.get(relation="spouse")
    with pytest.raises(ValidationError) as exc:
        assign(
            make_official(rank=RankLevel.CITY),
            household_a1,
            kind=Pairing.Kind.ORPHAN,
            member=spouse,
        )
    assert codes(exc, "member") == ["not_an_orphan"]


# --- Visits -------------------------------------------------------------------------------------


def test_visit_log_records_the_visit_and_the_last_visit_date(personas, cadre):
    pairing = assign(make_official(), make_household(cadre))
    v = visit(pairing, days_ago=3)
    pairing.refresh_from_db()
    assert pairing.last_visited_on == today() - dt.timedelta(days=3)
    assert v.pairing == pairing
    assert AuditEvent.objects.filter(action="visit.log", entity_key=str(v.public_id)).exists()


def test_a_visit_dated_in_the_future_is_refused_and_nothing_is_saved(personas, cadre):
    pairing = assign(make_official(), make_household(cadre))
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as exc:
        services.visit_log(
            actor=None,
            source=SOURCE,
            official=pairing.official,
            household=pairing.household,
            data=VisitData(visited_on=today() + dt.timedelta(days=1), content="x"),
            photos=[upload(png_bytes())],
        )
    assert codes(exc, "visited_on") == ["future_date"]
    assert not Visit.objects.exists() and not VisitPhoto.objects.exists()
    assert media_files() == []
    assert AuditEvent.objects.count() == events


def test_a_visit_before_the_pairing_started_is_refused(personas, cadre):
    pairing = assign(make_official(), make_household(cadre), started_on=today())
    with pytest.raises(ValidationError) as exc:
        visit(pairing, days_ago=5)
    assert codes(exc, "visited_on") == ["outside_pairing"]


def test_an_official_not_paired_with_the_household_cannot_visit_it(personas, cadre):
    with pytest.raises(ValidationError) as exc:
        services.visit_log(
            actor=None,
            source=SOURCE,
            official=make_official(),
            household=make_household(cadre),
            data=VisitData(visited_on=today(), content="x"),
        )
    assert codes(exc, "official") == ["not_paired"]


def test_visit_gps_is_checked(personas, cadre):
    pairing = assign(make_official(), make_household(cadre))
    from decimal import Decimal

    with pytest.raises(ValidationError) as exc:
        services.visit_log(
            actor=None,
            source=SOURCE,
            official=pairing.official,
            household=pairing.household,
            data=VisitData(
                visited_on=today(), content="x", latitude=Decimal("91"), longitude=Decimal("116")
            ),
        )
    assert codes(exc, "latitude") == ["out_of_range"]
    with pytest.raises(ValidationError) as exc:
        services.visit_log(
            actor=None,
            source=SOURCE,
            official=pairing.official,
            household=pairing.household,
            data=VisitData(visited_on=today(), content="x", latitude=Decimal("36.4")),
        )
    assert codes(exc, "latitude") == ["gps_pair"]


def test_visit_photos_are_stored_when_they_are_real_images(personas, cadre):
    pairing = assign(make_official(), make_household(cadre))
    v = visit(
        pairing, photos=[upload(png_bytes(4, 3)), upload(jpeg_bytes(16, 9), "a.jpg", "image/jpeg")]
    )
    photos = list(v.photos.order_by("id"))
    assert [(p.content_type, p.width, p.height) for p in photos] == [
        ("image/png", 4, 3),
        ("image/jpeg", 16, 9),
    ]
    assert all(Path(p.file.path).is_file() for p in photos)
    assert Path(photos[0].file.path).read_bytes() == png_bytes(4, 3)
    assert "photo" not in photos[0].file.name  # stored under a fresh id, not the uploaded name


def test_a_photo_that_is_not_an_image_is_refused_and_nothing_is_saved(personas, cadre):
    pairing = assign(make_official(), make_household(cadre))
    fake = upload(b"MZ\x90\x00 this is not a picture", "photo.jpg", "image/jpeg")
    with pytest.raises(ValidationError) as exc:
        visit(pairing, photos=[upload(png_bytes()), fake])
    assert codes(exc, "photos") == ["not_an_image"]
    assert not Visit.objects.exists() and not VisitPhoto.objects.exists()
    assert media_files() == []


def test_a_photo_over_the_size_limit_is_refused_and_nothing_is_saved(personas, cadre):
    pairing = assign(make_official(), make_household(cadre))
    big = upload(png_bytes() + b"\x00" * MAX_PHOTO_BYTES)
    with pytest.raises(ValidationError) as exc:
        visit(pairing, photos=[big])
    assert codes(exc, "photos") == ["photo_too_large"]
    assert not Visit.objects.exists()
    assert media_files() == []


def test_photo_files_are_removed_when_the_visit_fails_after_writing_them(
    personas, cadre, monkeypatch
):
    pairing = assign(make_official(), make_household(cadre))

    def broken(**kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(services, "audit_record", broken)
    with pytest.raises(RuntimeError):
        visit(pairing, photos=[upload(png_bytes())])
    assert not Visit.objects.exists() and not VisitPhoto.objects.exists()
    assert media_files() == []
    monkeypatch.undo()
    recorded = visit(pairing)
    monkeypatch.setattr(services, "audit_record", broken)
    with pytest.raises(RuntimeError):
        services.visit_photo_add(
            actor=None, source=SOURCE, visit=recorded, photos=[upload(png_bytes())]
        )
    assert not VisitPhoto.objects.exists()
    assert media_files() == []


def test_visit_rights_the_official_themself_or_an_editor_of_the_household(personas, cadre):
    official = make_official()
    pairing = assign(official, make_household(cadre))
    data = VisitData(visited_on=today(), content="x")
    services.visit_log(
        actor=official.user,
        source=SOURCE,
        official=official,
        household=pairing.household,
        data=data,
    )
    services.visit_log(
        actor=cadre, source=SOURCE, official=official, household=pairing.household, data=data
    )
    for outsider in (personas["outsider"], personas["leader"], make_official().user):
        with pytest.raises(PermissionDenied):
            services.visit_log(
                actor=outsider,
                source=SOURCE,
                official=official,
                household=pairing.household,
                data=data,
            )


# --- Key villages and teams ---------------------------------------------------------------------


def test_a_key_village_has_one_first_secretary_at_a_time(personas):
    village = key_village(VILLAGE_A1)
    first = post(village, make_official())
    with pytest.raises(ValidationError) as exc:
        post(village, make_official())
    assert codes(exc, "role") == ["first_secretary_exists"]
    post(village, make_official(), role=TeamMember.Role.MEMBER)
    services.team_member_end(actor=None, source=SOURCE, member=first)
    post(village, make_official())


def test_only_villages_can_be_key_villages(personas):
    from fupin.divisions.models import Division

    with pytest.raises(ValidationError) as exc:
        services.key_village_designate(
            actor=None,
            source=SOURCE,
            division=Division.objects.get(code="371502001000"),
            year=2016,
        )
    assert codes(exc, "division") == ["bad_level"]


def test_attendance_days_are_checked_against_the_month(personas):
    member = post(key_village(VILLAGE_A2), make_official())
    month = today().replace(day=1)
    services.attendance_record(actor=None, source=SOURCE, member=member, month=month, days=3)
    services.attendance_record(actor=None, source=SOURCE, member=member, month=month, days=4)
    assert Attendance.objects.get(member=member).days == 4
    with pytest.raises(ValidationError) as exc:
        services.attendance_record(
            actor=None, source=SOURCE, member=member, month=dt.date(2024, 2, 1), days=30
        )
    assert set(codes(exc, "days")) == {"out_of_range"}
    with pytest.raises(ValidationError) as exc:
        services.attendance_record(
            actor=None,
            source=SOURCE,
            member=member,
            month=(month + dt.timedelta(days=40)).replace(day=1),
            days=1,
        )
    assert "future_date" in codes(exc, "month")


def test_team_management_is_for_administrators_over_the_village(personas):
    village = key_village(VILLAGE_B1)
    with pytest.raises(PermissionDenied):
        services.team_member_add(
            actor=personas["township_admin_a"],
            source=SOURCE,
            village=village,
            official=make_official(),
            role=TeamMember.Role.MEMBER,
            started_on=today(),
        )
