"""Pairing policy data: quotas per rank level and visit frequencies, read as of a day.

The bundled defaults (Liaocheng 2016) are loaded after every migration when no rule exists yet,
so a fresh database and every test database have them; later versions are made through
``services.quota_rule_set`` and never overwritten by the defaults.
"""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from fupin.accounts.roles import RankLevel
from fupin.pairing.models import QuotaRule, VisitRule

DEFAULTS_VALID_FROM = dt.date(2016, 1, 1)


def today() -> dt.date:
    """Today in the configured time zone (Asia/Shanghai)."""
    return timezone.localdate()


BULLETIN = "2016年山东省扶贫开发信息通报（聊城）：市级领导包10户、县级5户、科级干部1户；市、县级领导各另包1名孤儿"
# (rank level, households, orphans, source note)
DEFAULT_QUOTAS = (
    (RankLevel.CITY, 10, 1, BULLETIN),
    (RankLevel.COUNTY, 5, 1, BULLETIN),
    (RankLevel.SECTION, 1, 0, BULLETIN),
    (
        RankLevel.OTHER,
        1,
        0,
        "本地设定（通报未规定）：一般干部按科级干部标准包1户 / local choice, not in the bulletin",
    ),
)
# (code, name, statuses, interval in days, source note)
DEFAULT_VISIT_RULES = (
    (
        "key",
        "未脱贫、返贫户每月至少走访一次",
        ["not_out", "returned"],
        31,
        "domain.md §6：重点户每月走访，一般户每季度走访（公开应用说明）",
    ),
    (
        "ordinary",
        "已脱贫户每季度至少走访一次（脱贫不脱帮扶）",
        ["exited"],
        92,
        "domain.md §6：重点户每月走访，一般户每季度走访（公开应用说明）",
    ),
)


def rules_load_defaults(using: str = "default") -> None:
    """Create the default quota and visit rules if none exist (idempotent)."""
    if not QuotaRule.objects.using(using).exists():
        QuotaRule.objects.using(using).bulk_create(
            QuotaRule(
                rank_level=rank,
                households=households,
                orphans=orphans,
                valid_from=DEFAULTS_VALID_FROM,
                source=source,
            )
            for rank, households, orphans, source in DEFAULT_QUOTAS
        )
    if not VisitRule.objects.using(using).exists():
        VisitRule.objects.using(using).bulk_create(
            VisitRule(
                code=code,
                name=name,
                statuses=statuses,
                interval_days=days,
                valid_from=DEFAULTS_VALID_FROM,
                source=source,
            )
            for code, name, statuses, days, source in DEFAULT_VISIT_RULES
        )


def _valid_on(day: dt.date) -> Q:
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gte=day))


@dataclass(frozen=True)
class Quota:
    rank_level: str
    households: int
    orphans: int
    source: str
    valid_from: dt.date


def quotas_on(day: dt.date) -> dict[str, Quota]:
    """rank level → the quota valid on ``day``; a rank level without a rule has no quota."""
    out: dict[str, Quota] = {}
    for rule in QuotaRule.objects.filter(_valid_on(day)).order_by("valid_from"):
        out[rule.rank_level] = Quota(
            rule.rank_level, rule.households, rule.orphans, rule.source, rule.valid_from
        )
    return out


@dataclass(frozen=True)
class VisitFrequency:
    code: str
    name: str
    statuses: tuple[str, ...]
    interval_days: int
    source: str


def visit_rules_on(day: dt.date) -> list[VisitFrequency]:
    """The visit rules valid on ``day``, most frequent first."""
    rules: dict[str, VisitFrequency] = {}
    for rule in VisitRule.objects.filter(_valid_on(day)).order_by("valid_from"):
        rules[rule.code] = VisitFrequency(
            rule.code, rule.name, tuple(rule.statuses), rule.interval_days, rule.source
        )
    return sorted(rules.values(), key=lambda r: (r.interval_days, r.code))


def programme_statuses(day: dt.date) -> list[str]:
    """Household statuses in the pairing programme on ``day``: those a visit rule names."""
    return sorted({s for rule in visit_rules_on(day) for s in rule.statuses})


def interval_for_status(day: dt.date) -> dict[str, int]:
    """status → the shortest visit interval that applies to it on ``day``."""
    out: dict[str, int] = {}
    for rule in visit_rules_on(day):
        for status in rule.statuses:
            out[status] = min(out.get(status, rule.interval_days), rule.interval_days)
    return out


# Statuses whose households come first when officials are too few (the key households).
def priority_statuses(day: dt.date) -> list[str]:
    rules = visit_rules_on(day)
    if not rules:
        return []
    shortest = rules[0].interval_days
    return sorted({s for r in rules if r.interval_days == shortest for s in r.statuses})
