import pytest
from django.core.management import call_command

from fupin.procedures.models import Case
from fupin.registry.tests.factories import register_household

pytestmark = pytest.mark.django_db


def test_the_demo_spreads_cases_over_the_steps(personas, capsys):
    for i in range(30):
        register_household(personas["village_cadre_a1"], household_no=f"A1-D{i:03d}")
    call_command("generate_demo_procedures", "--cases", "20", "--seed", "1")
    assert Case.objects.count() == 20
    assert Case.objects.values("state").distinct().count() > 3
    assert all(c.transitions.exists() for c in Case.objects.all())
    # Each case entered its current step when the step started, after its earlier steps.
    for case in Case.objects.all():
        times = [t.at for t in case.transitions.order_by("id")]
        assert times == sorted(times) and times[-1] == case.step_started_at
    call_command("generate_demo_procedures", "--cases", "20", "--seed", "1", "--replace")
    assert Case.objects.count() == 20
    assert "20 cases" in capsys.readouterr().out
