"""Who counts as an orphan (孤儿) for the leaders' orphan pairing.

The registry does not record whether a parent has died, so an orphan is read from the household
as registered: an active member **under 18** on the day **with no member of the parent
generation active in the same household**, judged by the relation to the head:

- the head (a child-headed household): always;
- a grandchild (之孙子/之孙女/之外孙子/之外孙女): no active son, daughter, son-in-law or
  daughter-in-law of the head;
- a sibling of the head: no active father or mother of the head.

A son or daughter of the head has the head as a parent and is never counted; relation "other" is
not inferred. Children left with their grandparents (事实无人抚养) show the same way as orphans;
the village confirms each case before the pairing (docs/adr/0005-pairing.md).
"""

import datetime as dt

from django.db.models import Exists, OuterRef, Q, QuerySet

from fupin.registry.models import Member

ADULT_AGE = 18
GRANDCHILD = ("grandson", "granddaughter", "daughters_son", "daughters_daughter")
CHILD_GENERATION = ("son", "daughter", "son_in_law", "daughter_in_law")
HEADS_PARENTS = ("father", "mother")


def adult_cutoff(day: dt.date) -> dt.date:
    """Members born after this day are under 18 on ``day``."""
    try:
        return day.replace(year=day.year - ADULT_AGE)
    except ValueError:  # 29 February
        return day.replace(year=day.year - ADULT_AGE, day=28)


def orphan_q(day: dt.date) -> Q:
    """The condition on Member rows that makes an orphan on ``day`` (see the module docstring)."""

    def parent_present(relations: tuple[str, ...]) -> Exists:
        return Exists(
            Member.objects.filter(
                household=OuterRef("household"), is_active=True, relation__in=relations
            )
        )

    return Q(is_active=True, birth_date__gt=adult_cutoff(day)) & (
        Q(relation="head")
        | (Q(relation__in=GRANDCHILD) & ~parent_present(CHILD_GENERATION))
        | (Q(relation="sibling") & ~parent_present(HEADS_PARENTS))
    )


def orphans(day: dt.date) -> QuerySet[Member]:
    return Member.objects.filter(orphan_q(day))


def is_orphan(member: Member, day: dt.date) -> bool:
    return Member.objects.filter(orphan_q(day), pk=member.pk).exists()
