"""The demo city's villages carry a registered rural population, above their poor people."""

from collections import Counter

from fupin.divisions.models import Division
from fupin.registry.demo import generate_demo
from fupin.registry.models import Member


def test_every_demo_village_has_a_plausible_population_above_its_poor_people(db):
    generate_demo(households=400, seed=11)
    villages = {d.pk: d.rural_population or 0 for d in Division.objects.filter(level="village")}
    assert villages and all(villages.values())
    assert all(250 <= p <= 20_000 for p in villages.values())
    poor = Counter(Member.objects.values_list("household__division_id", flat=True))
    for village_id, people in poor.items():
        # Poor people are at most 60% of a village at identification (usually far less).
        assert people <= 0.6 * villages[village_id] + 1


def test_the_same_seed_gives_the_same_populations(db):
    generate_demo(households=50, seed=3)
    first = dict(Division.objects.filter(level="village").values_list("code", "rural_population"))
    generate_demo(households=50, seed=3, replace=True)
    again = dict(Division.objects.filter(level="village").values_list("code", "rural_population"))
    assert first == again
