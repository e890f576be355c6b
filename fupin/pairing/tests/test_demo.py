"""The pairing demo on a small demo city: as valid as data entered through the services."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from fupin.accounts.models import RoleAssignment, User
from fupin.pairing.demo import WITHOUT_SECRETARY, DemoError, generate_demo_pairing
from fupin.pairing.models import HelpUnit, KeyVillage, Pairing, TeamMember, Visit
from fupin.pairing.policy import quotas_on, today
from fupin.pairing.selectors import key_village_list, overdue_q
from fupin.registry.demo import generate_demo

pytestmark = pytest.mark.django_db
OFFICIALS = 600


@pytest.fixture
def demo(db):
    generate_demo(households=300, seed=7)
    return generate_demo_pairing(seed=7, officials=OFFICIALS)


def test_the_demo_makes_officials_pairings_visits_and_key_villages(demo):
    officials = User.objects.filter(username__startswith="gb")
    assert officials.count() == demo.officials == OFFICIALS
    assert not any(u.has_usable_password() for u in officials[:20])
    assert (
        RoleAssignment.objects.filter(user__in=officials, role="pairing_official").count()
        == OFFICIALS
    )
    assert HelpUnit.objects.count() == demo.units
    quotas = quotas_on(today())
    for row in (
        Pairing.objects.active()
        .values("official", "official__rank_level", "kind")
        .annotate(n=Count("id"))
    ):
        quota = quotas[row["official__rank_level"]]
        assert row["n"] <= (quota.orphans if row["kind"] == "orphan" else quota.households)
    active = Pairing.objects.active().filter(kind="household")
    assert active.count() == demo.pairings - demo.ended
    assert demo.shortfall == 0 and demo.ended >= 1
    assert Visit.objects.count() == demo.visits > 0
    assert not Visit.objects.filter(visited_on__gt=today()).exists()
    assert 0 < Pairing.objects.filter(overdue_q(today())).count() < active.count()
    assert KeyVillage.objects.count() == demo.key_villages == 399
    flagged = [
        r for r in key_village_list(actor=User.objects.get(username="demo_city_admin")) if r.flagged
    ]
    assert len(flagged) == WITHOUT_SECRETARY == demo.villages_without_secretary
    assert TeamMember.objects.filter(role="first_secretary").count() == 399 - WITHOUT_SECRETARY


def test_the_demo_refuses_to_run_twice_unless_replacing(demo):
    with pytest.raises(DemoError):
        generate_demo_pairing(seed=7, officials=OFFICIALS)
    again = generate_demo_pairing(seed=8, officials=OFFICIALS, replace=True)
    assert User.objects.filter(username__startswith="gb").count() == OFFICIALS
    assert Pairing.objects.count() == again.pairings + again.orphan_pairings


def test_the_command(db):
    with pytest.raises(CommandError):
        call_command("generate_demo_pairing", "--seed", "1")  # no registry yet
    generate_demo(households=100, seed=3)
    out = io.StringIO()
    call_command("generate_demo_pairing", "--seed", "1", "--officials", "60", stdout=out)
    assert "60 officials" in out.getvalue()
    out = io.StringIO()
    call_command("generate_demo_pairing", "--seed", "1", "--if-empty", stdout=out)
    assert "nothing to do" in out.getvalue()
