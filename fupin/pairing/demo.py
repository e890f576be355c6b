"""The demo's pairing side (示范数据): help units paired with villages, about 20,000 officials
with rank levels, pairings made by the automatic proposal, a year of visits (some overdue),
about 400 provincial key villages with first secretaries and work teams (a few without).

Everything is synthetic and drawn with a seeded numpy Generator. Users, officials, roles, visits
and audit events are written in bulk (COPY on PostgreSQL, executemany on SQLite); officials get
an unusable password (no hashing per row). Builds on the registry demo (``generate-demo``).

The rank mix leans to city and county levels so that 20,000 officials have places for the
default 50,000 households (a real city relies on many more section-level cadres); a larger
registry shows a shortfall on the coverage page, as it would in life.
"""

import calendar
import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.core.management.color import no_style
from django.db import connection, transaction
from django.db.models import Count, Max, OuterRef, Subquery
from django.utils import timezone

from fupin.accounts.models import Official, RoleAssignment, User
from fupin.accounts.roles import RankLevel, Role
from fupin.core import bulk
from fupin.core.audit import ChangeSource, audit_record
from fupin.core.models import AuditEvent
from fupin.divisions.models import Division, Level
from fupin.pairing.models import (
    Attendance,
    HelpUnit,
    KeyVillage,
    Pairing,
    TeamMember,
    Visit,
    VisitPhoto,
)
from fupin.pairing.policy import interval_for_status
from fupin.pairing.proposal import proposal_apply
from fupin.registry.demo import GIVEN_NAMES, SURNAME_WEIGHTS, SURNAMES
from fupin.registry.models import Household

COMMAND = "generate-demo-pairing"
USERNAME_PREFIX = "gb"
DEFAULT_OFFICIALS = 20_000
KEY_VILLAGES = 399  # Liaocheng's provincial key villages (domain.md §0)
KEY_VILLAGE_YEAR = 2016
CITY_CODE = "371500000000"

CITY_DEPARTMENTS = [
    "市委办公室",
    "市政府办公室",
    "市委组织部",
    "市委宣传部",
    "市委统战部",
    "市委政法委",
    "市发展和改革委员会",
    "市教育局",
    "市科学技术局",
    "市工业和信息化局",
    "市公安局",
    "市民政局",
    "市司法局",
    "市财政局",
    "市人力资源和社会保障局",
    "市自然资源和规划局",
    "市生态环境局",
    "市住房和城乡建设局",
    "市交通运输局",
    "市水利局",
    "市农业农村局",
    "市商务局",
    "市文化和旅游局",
    "市卫生健康委员会",
    "市退役军人事务局",
    "市应急管理局",
    "市审计局",
    "市市场监督管理局",
    "市统计局",
    "市医疗保障局",
    "市林业局",
    "市畜牧兽医局",
    "市扶贫开发领导小组办公室",
    "市供销合作社",
    "市总工会",
    "团市委",
    "市妇联",
    "市残联",
    "市农业科学院",
    "聊城大学",
    "市人民医院",
    "市供电公司",
    "市农商银行",
    "市邮政管理局",
]
COUNTY_DEPARTMENTS = [
    "委办公室",
    "政府办公室",
    "委组织部",
    "委宣传部",
    "发展和改革局",
    "教育和体育局",
    "公安局",
    "民政局",
    "司法局",
    "财政局",
    "人力资源和社会保障局",
    "自然资源局",
    "住房和城乡建设局",
    "交通运输局",
    "水务局",
    "农业农村局",
    "商务局",
    "文化和旅游局",
    "卫生健康局",
    "退役军人事务局",
    "应急管理局",
    "审计局",
    "市场监督管理局",
    "统计局",
    "医疗保障局",
    "扶贫办",
    "供销社",
    "总工会",
    "妇联",
    "残联",
    "人民医院",
    "供电公司",
]
# (share of the officials, rank mix: city, county, section, other) per kind of unit.
UNIT_KINDS = {
    "city": (0.12, (0.30, 0.50, 0.20, 0.00)),
    "county": (0.56, (0.00, 0.40, 0.40, 0.20)),
    "township": (0.32, (0.00, 0.10, 0.40, 0.50)),
}
RANKS = (RankLevel.CITY, RankLevel.COUNTY, RankLevel.SECTION, RankLevel.OTHER)
VISIT_CONTENT = (
    "入户走访，了解家庭收入和生产生活情况，宣讲扶贫政策。",
    "核实家庭成员务工情况，登记务工收入。",
    "了解患病成员就医和报销情况，协助办理慢性病卡。",
    "查看危房改造进度，与施工队核对工期。",
    "帮助联系养驴合作社，落实代养母驴事宜。",
    "讲解小额信贷政策，协助准备贷款材料。",
    "送去过冬物资，查看取暖和饮水情况。",
    "了解子女上学情况，落实教育资助（雨露计划）。",
    "协助申请公益性岗位，联系村委会安排。",
    "核对光伏收益分红到账情况。",
    "帮助整理庭院，改善居住环境。",
    "与户主商议下一步增收计划，填写帮扶手册。",
)
NEXT_STEPS = (
    "下次走访核实收入台账。",
    "跟进医疗报销进度。",
    "联系乡镇落实产业项目。",
    "督促危房改造按期完工。",
    "协调就业岗位。",
    "",
)
END_SHARE = 0.01  # pairings ended (transferred officials): their households show as uncovered
OVERDUE_SHARE = 0.12
WITHOUT_SECRETARY = 8
WITHOUT_TEAM = 3

Progress = Callable[[str], None]


class DemoError(Exception):
    """The pairing demo cannot be generated (no registry, data exists, bad arguments)."""


@dataclass(frozen=True)
class PairingDemoResult:
    units: int
    officials: int
    key_villages: int
    team_members: int
    villages_without_secretary: int
    pairings: int
    orphan_pairings: int
    ended: int
    shortfall: int
    visits: int
    seconds: float


def generate_demo_pairing(
    *,
    seed: int,
    officials: int = DEFAULT_OFFICIALS,
    replace: bool = False,
    progress: Progress | None = None,
) -> PairingDemoResult:
    """Build the demo's units, officials, key villages, teams, pairings and visits.

    Refuses (DemoError) without households, or when demo pairing data exists unless
    ``replace`` deletes it first.
    """
    if officials < 10:
        raise DemoError("At least 10 officials.")
    say: Progress = progress or (lambda _line: None)
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    day = timezone.localdate()
    source = ChangeSource.command(COMMAND)
    with transaction.atomic():
        if not Household.objects.exists():
            raise DemoError("No households: run `fupin generate-demo` first.")
        if pairing_demo_exists():
            if not replace:
                raise DemoError("Pairing demo data exists; use --replace to delete it first.")
            _stage(say, "delete", _delete_demo)
        tree = _stage(say, "divisions", _Tree.load)
        keys = _stage(say, "key villages", lambda: _key_villages(rng, tree))
        units = _stage(say, "units", lambda: _units(rng, tree, keys))
        people = _stage(say, "officials", lambda: _officials(rng, units, officials, tree))
        team = _stage(say, "work teams", lambda: _teams(rng, keys, units, people, day))
        proposal = _stage(
            say,
            "pairings (proposal)",
            lambda: proposal_apply(
                actor=None,
                source=source,
                division=None,
                day=day,
                started_on=day - dt.timedelta(days=365),
            ),
        )
        ended = _stage(say, "ended pairings", lambda: _end_some(rng, day))
        visits = _stage(say, "visits", lambda: _visits(rng, tree, day))
        _stage(
            say,
            "statistics",
            lambda: bulk.analyze(
                Pairing, Visit, Official, User, RoleAssignment, HelpUnit, TeamMember, Attendance
            ),
        )
        result = PairingDemoResult(
            units=len(units.names),
            officials=len(people["id"]),
            key_villages=len(keys),
            team_members=team[0],
            villages_without_secretary=team[1],
            pairings=proposal.matched,
            orphan_pairings=proposal.orphans_matched,
            ended=ended,
            shortfall=proposal.shortfall,
            visits=visits,
            seconds=time.perf_counter() - started,
        )
        audit_record(
            actor=None,
            action="demo.pairing",
            entity="pairing",
            entity_key=f"demo-{seed}",
            source=source,
            division_path=tree.city_path,
            after={
                "seed": seed,
                **{k: v for k, v in result.__dict__.items() if k != "seconds"},
            },
        )
    say(
        f"done: {result.officials:,} officials, {result.pairings:,} pairings "
        f"(+{result.orphan_pairings:,} orphans), {result.visits:,} visits, "
        f"{result.key_villages} key villages in {result.seconds:.1f} s"
    )
    return result


def _demo_users() -> Any:
    return User.objects.filter(
        username__regex=r"^" + USERNAME_PREFIX + r"[0-9]{5,}$",
        password__startswith="!",  # noqa: S106 (an unusable password: the demo's officials)
    )


def pairing_demo_exists() -> bool:
    return (
        HelpUnit.objects.exists()
        or Pairing.objects.exists()
        or KeyVillage.objects.exists()
        or _demo_users().exists()
    )


def _stage(say: Progress, name: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    value = work()
    say(f"{name + ':':<22} {time.perf_counter() - started:6.1f} s")
    return value


def _delete_demo() -> None:
    """Delete every pairing row and the demo's officials (their users, profiles and roles)."""
    for photo in VisitPhoto.objects.all().iterator():
        photo.file.delete(save=False)
    with connection.cursor() as cursor:
        for model in (Attendance, TeamMember, KeyVillage, VisitPhoto, Visit, Pairing, HelpUnit):
            cursor.execute("DELETE FROM " + connection.ops.quote_name(model._meta.db_table))  # noqa: S608
    demo_users = _demo_users()
    RoleAssignment.objects.filter(user__in=demo_users).delete()
    Official.objects.filter(user__in=demo_users).delete()
    AuditEvent.objects.filter(actor__in=demo_users).update(actor=None)
    demo_users.delete()
    AuditEvent.objects.filter(source_detail__command=COMMAND).delete()


class _Tree:
    """The city's counties, townships and villages, with household counts per village."""

    def __init__(self) -> None:
        self.city_path = ""
        self.counties: list[tuple[int, str, str, str]] = []  # id, code, name, path
        self.townships: list[tuple[int, str, str, str, int]] = []  # … county id
        self.villages: list[tuple[int, str, str, str, int]] = []  # … township id
        self.households: dict[int, int] = {}

    @classmethod
    def load(cls) -> "_Tree":
        tree = cls()
        city = Division.objects.filter(code=CITY_CODE).first()
        if city is None:
            raise DemoError("The city 371500000000 is missing: run `fupin generate-demo` first.")
        tree.city_path = city.path
        under = Division.objects.subtree(city.path)
        tree.counties = list(
            under.filter(level=Level.COUNTY).values_list("id", "code", "name", "path")
        )
        tree.townships = list(
            under.filter(level=Level.TOWNSHIP).values_list(
                "id", "code", "name", "path", "parent_id"
            )
        )
        tree.villages = list(
            under.filter(level=Level.VILLAGE).values_list("id", "code", "name", "path", "parent_id")
        )
        tree.households = dict(
            Household.objects.values_list("division_id").annotate(n=Count("id")).order_by()
        )
        if not tree.villages:
            raise DemoError("The city has no villages: run `fupin generate-demo` first.")
        return tree

    def township_county(self) -> dict[int, int]:
        return {t[0]: t[4] for t in self.townships}


def _key_villages(rng: np.random.Generator, tree: _Tree) -> list[KeyVillage]:
    """About 400 villages, the poorest (most registered households) more likely."""
    weights = np.array([tree.households.get(v[0], 0) for v in tree.villages], np.float64) + 1
    weights = weights**1.5
    count = min(KEY_VILLAGES, len(tree.villages))
    chosen = rng.choice(len(tree.villages), size=count, replace=False, p=weights / weights.sum())
    rows = [
        KeyVillage(
            division_id=tree.villages[i][0],
            designated_year=KEY_VILLAGE_YEAR,
            source="示范数据：省定重点村（聊城399个）",
        )
        for i in sorted(chosen.tolist())
    ]
    return KeyVillage.objects.bulk_create(rows)


@dataclass
class _Units:
    names: list[str]
    kind: list[str]
    ids: list[int]
    anchor: list[int]  # paired division id
    anchor_township: list[int]


def _units(rng: np.random.Generator, tree: _Tree, keys: list[KeyVillage]) -> _Units:
    """City and county departments paired with villages (key villages first), and each
    township's government paired with its own township."""
    city = Division.objects.get(code=CITY_CODE)
    village_township = {v[0]: v[4] for v in tree.villages}
    key_ids = [k.division_id for k in keys]
    rng.shuffle(key_ids)
    rows: list[HelpUnit] = []
    kinds: list[str] = []
    key_iter = iter(key_ids)
    for name in CITY_DEPARTMENTS:
        village = next(key_iter, None) or tree.villages[int(rng.integers(len(tree.villages)))][0]
        rows.append(HelpUnit(name=f"聊城{name}", home=city, paired_division_id=village))
        kinds.append("city")
    by_county: dict[int, list[int]] = {}
    county_of = tree.township_county()
    for v in tree.villages:
        by_county.setdefault(county_of.get(v[4], 0), []).append(v[0])
    keys_by_county: dict[int, list[int]] = {}
    for k in key_iter:
        keys_by_county.setdefault(county_of.get(village_township[k], 0), []).append(k)
    for county_id, _code, county_name, _path in tree.counties:
        villages = by_county.get(county_id, [])
        if not villages:
            continue
        pool = keys_by_county.get(county_id, [])
        for name in COUNTY_DEPARTMENTS:
            village = pool.pop() if pool else villages[int(rng.integers(len(villages)))]
            rows.append(
                HelpUnit(name=f"{county_name}{name}", home_id=county_id, paired_division_id=village)
            )
            kinds.append("county")
    for township_id, _code, township_name, _path, _county in tree.townships:
        suffix = "办事处" if township_name.endswith("街道") else "人民政府"
        rows.append(
            HelpUnit(
                name=f"{township_name}{suffix}", home_id=township_id, paired_division_id=township_id
            )
        )
        kinds.append("township")
    created = HelpUnit.objects.bulk_create(rows)
    return _Units(
        names=[u.name for u in created],
        kind=kinds,
        ids=[u.pk for u in created],
        anchor=[u.paired_division_id for u in created],
        anchor_township=[
            village_township.get(u.paired_division_id, u.paired_division_id) for u in created
        ],
    )


def _names(rng: np.random.Generator, n: int) -> tuple[list[str], list[bool]]:
    surnames = np.array(SURNAMES, dtype=object)[
        rng.choice(len(SURNAMES), size=n, p=SURNAME_WEIGHTS / SURNAME_WEIGHTS.sum())
    ]
    male = rng.random(n) < 0.62
    generation = np.where(rng.random(n) < 0.7, 1, 2)
    names = []
    for surname, is_male, gen in zip(
        surnames.tolist(), male.tolist(), generation.tolist(), strict=True
    ):
        pool = GIVEN_NAMES[("male" if is_male else "female", gen)]
        names.append(surname + pool[int(rng.integers(len(pool)))])
    return names, male.tolist()


def _officials(rng: np.random.Generator, units: _Units, total: int, tree: _Tree) -> dict[str, Any]:
    """``total`` officials spread over the units, with users, profiles and pairing roles."""
    kinds = np.array(units.kind)
    weights = np.zeros(len(units.names))
    for kind, (share, _mix) in UNIT_KINDS.items():
        mask = kinds == kind
        if mask.any():
            weights[mask] = share / mask.sum()
    weights /= weights.sum()
    unit_of = np.repeat(np.arange(len(units.names)), rng.multinomial(total, weights))
    rank = np.empty(total, np.int64)
    for kind, (_share, mix) in UNIT_KINDS.items():
        mask = kinds[unit_of] == kind
        rank[mask] = rng.choice(4, size=int(mask.sum()), p=np.array(mix) / sum(mix))
    names, _male = _names(rng, total)
    first_id = (User.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    ids = np.arange(first_id, first_id + total, dtype=np.int64)
    usernames = [f"{USERNAME_PREFIX}{i:05d}" for i in range(1, total + 1)]
    if User.objects.filter(username__in=usernames[:1] + usernames[-1:]).exists():
        raise DemoError("Usernames gb00001… are taken by real accounts.")
    now = bulk.now_value()
    passwords = ["!" + h for h in bulk.uuid_values(total, rng)]  # unusable: never matches a hash
    bulk.insert_rows(
        User,
        {
            "id": ids,
            "password": passwords,
            "last_login": None,
            "is_superuser": False,
            "username": usernames,
            "first_name": "",
            "last_name": "",
            "email": "",
            "is_staff": False,
            "is_active": True,
            "date_joined": now,
        },
        total,
    )
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [User]):
            cursor.execute(sql)
    phones = (13_900_000_000 + rng.choice(99_999_999, size=total, replace=False)).astype(str)
    unit_names = np.array(units.names, dtype=object)[unit_of]
    bulk.insert_rows(
        Official,
        {
            "user": ids,
            "full_name": names,
            "unit": unit_names,
            "rank_level": np.array([r.value for r in RANKS], dtype=object)[rank],
            "phone": phones.astype(object),
        },
        total,
    )
    # The pairing role over the township the unit is paired with (or in).
    role_division = np.array(units.anchor_township, np.int64)[unit_of]
    bulk.insert_rows(
        RoleAssignment,
        {
            "user": ids,
            "role": Role.PAIRING_OFFICIAL.value,
            "division": role_division,
            "created_at": now,
        },
        total,
    )
    official_ids = dict(Official.objects.filter(user_id__gte=first_id).values_list("user_id", "id"))
    return {
        "id": np.array([official_ids[i] for i in ids.tolist()], np.int64),
        "unit": unit_of,
        "rank": rank,
        "unit_name": unit_names,
    }


def _teams(
    rng: np.random.Generator,
    keys: list[KeyVillage],
    units: _Units,
    people: dict[str, Any],
    day: dt.date,
) -> tuple[int, int]:
    """A first secretary and one or two members for each key village (a few go without), with
    monthly attendance for the last year. Returns (members, villages without a secretary)."""
    kinds = np.array(units.kind)[people["unit"]]
    # Sent by city and county departments (section level or other cadres), then anyone left.
    preferred = np.isin(kinds, ["city", "county"]) & (people["rank"] >= 2)
    candidates = np.r_[
        rng.permutation(np.flatnonzero(preferred)), rng.permutation(np.flatnonzero(~preferred))
    ]
    order = rng.permutation(len(keys))
    no_secretary = set(order[:WITHOUT_SECRETARY].tolist())
    no_team = set(order[:WITHOUT_TEAM].tolist())
    members: list[TeamMember] = []
    pool = iter(candidates.tolist())

    def posting(village: KeyVillage, who: int, role: str) -> TeamMember:
        return TeamMember(
            village=village,
            official_id=int(people["id"][who]),
            role=role,
            unit=str(people["unit_name"][who]),
            started_on=day - dt.timedelta(days=int(rng.integers(200, 900))),
        )

    # First secretaries for every village first, then one or two members each while people last.
    for index, village in enumerate(keys):
        if index not in no_secretary and (who := next(pool, None)) is not None:
            members.append(posting(village, who, TeamMember.Role.FIRST_SECRETARY))
    for index, village in enumerate(keys):
        if index in no_team:
            continue
        chosen = [next(pool, None) for _slot in range(int(rng.integers(1, 3)))]
        members.extend(
            posting(village, who, TeamMember.Role.MEMBER) for who in chosen if who is not None
        )
    created = TeamMember.objects.bulk_create(members)
    rows: list[Attendance] = []
    this_month = day.replace(day=1)
    for member in created:
        month = max(member.started_on.replace(day=1), _add_months(this_month, -12))
        while month < this_month:
            last = calendar.monthrange(month.year, month.month)[1]
            days = int(np.clip(rng.normal(21, 4), 0, last))
            rows.append(Attendance(member=member, month=month, days=days))
            month = _add_months(month, 1)
    Attendance.objects.bulk_create(rows, batch_size=5000)
    return len(created), len(no_secretary)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _end_some(rng: np.random.Generator, day: dt.date) -> int:
    """End about 1% of the household pairings (the official was transferred), with history."""
    rows = list(
        Pairing.objects.active()
        .filter(kind=Pairing.Kind.HOUSEHOLD)
        .order_by("id")
        .values_list(
            "id",
            "public_id",
            "household__household_no",
            "household__division__path",
            "official__user__username",
        )
    )
    if not rows:
        return 0
    count = max(1, int(len(rows) * END_SHARE))
    chosen = sorted(rng.choice(len(rows), size=count, replace=False).tolist())
    ended_on = day - dt.timedelta(days=int(rng.integers(5, 40)))
    reason = "帮扶干部工作调动"
    ids = [rows[i][0] for i in chosen]
    for begin in range(0, len(ids), 5000):
        Pairing.objects.filter(pk__in=ids[begin : begin + 5000]).update(
            ended_on=ended_on, end_reason=reason
        )
    now = bulk.now_value()
    bulk.insert_rows(
        AuditEvent,
        {
            "occurred_at": now,
            "actor": None,
            "actor_username": "",
            "action": "pairing.end",
            "entity": "pairing",
            "entity_key": [str(rows[i][1]) for i in chosen],
            "household_no": [rows[i][2] for i in chosen],
            "division_path": [rows[i][3] for i in chosen],
            "before": json.dumps({"ended_on": None, "end_reason": ""}),
            "after": [
                json.dumps(
                    {
                        "official": rows[i][4],
                        "ended_on": ended_on.isoformat(),
                        "end_reason": reason,
                    },
                    ensure_ascii=False,
                )
                for i in chosen
            ],
            "source": AuditEvent.Source.COMMAND.value,
            "source_detail": json.dumps({"command": COMMAND}),
        },
        count,
    )
    return count


def _visits(rng: np.random.Generator, tree: _Tree, day: dt.date) -> int:
    """Visits over the last year for every active household pairing, spaced by the visit rule
    of the household's status; about 12% are overdue (the last visit too long ago)."""
    rows = list(
        Pairing.objects.active()
        .filter(kind=Pairing.Kind.HOUSEHOLD)
        .order_by("id")
        .values_list(
            "id",
            "official_id",
            "household_id",
            "household__status",
            "household__division_id",
            "official__user_id",
        )
    )
    if not rows:
        return 0
    intervals = interval_for_status(day)
    n = len(rows)
    pairing = np.array([r[0] for r in rows], np.int64)
    official = np.array([r[1] for r in rows], np.int64)
    household = np.array([r[2] for r in rows], np.int64)
    interval = np.array([intervals.get(r[3], 92) for r in rows], np.int64)
    village = np.array([r[4] for r in rows], np.int64)
    user = np.array([r[5] for r in rows], np.int64)
    overdue = rng.random(n) < OVERDUE_SHARE
    gap = np.where(
        overdue,
        interval + rng.integers(1, 90, n),
        (rng.random(n) * (interval - 1)).astype(np.int64),
    )
    spacing = interval * rng.uniform(0.7, 0.97, n)
    count = np.maximum(1, ((365 - gap) / spacing).astype(np.int64) + 1)
    count = np.minimum(count, 14)
    which = np.repeat(np.arange(n), count)
    step = np.arange(len(which)) - np.repeat(np.cumsum(count) - count, count)
    offset = gap[which] + (step * spacing[which]).astype(np.int64) + rng.integers(-2, 3, len(which))
    offset = np.clip(offset, 0, 364)
    dates = np.datetime64(day) - offset.astype("timedelta64[D]")
    # A place near the village: each village gets a point in Liaocheng, visits scatter around it.
    village_ids = np.unique(village)
    base_lat = dict(
        zip(village_ids.tolist(), rng.uniform(36.05, 36.85, len(village_ids)).tolist(), strict=True)
    )
    base_lon = dict(
        zip(
            village_ids.tolist(),
            rng.uniform(115.25, 116.55, len(village_ids)).tolist(),
            strict=True,
        )
    )
    lat = np.array([base_lat[v] for v in village[which].tolist()]) + rng.normal(
        0, 0.004, len(which)
    )
    lon = np.array([base_lon[v] for v in village[which].tolist()]) + rng.normal(
        0, 0.004, len(which)
    )
    total = len(which)
    content = np.array(VISIT_CONTENT, dtype=object)[rng.integers(len(VISIT_CONTENT), size=total)]
    steps = np.array(NEXT_STEPS, dtype=object)[rng.integers(len(NEXT_STEPS), size=total)]
    now = bulk.now_value()
    day_values = [bulk.date_value(d) for d in dates.astype(object).tolist()]
    bulk.insert_rows(
        Visit,
        {
            "public_id": bulk.uuid_values(total, rng),
            "pairing": pairing[which],
            "official": official[which],
            "household": household[which],
            "visited_on": day_values,
            "latitude": [round(x, 6) for x in lat.tolist()],
            "longitude": [round(x, 6) for x in lon.tolist()],
            "content": content,
            "next_steps": steps,
            "recorded_by": user[which],
            "created_at": now,
        },
        total,
    )
    latest = (
        Visit.objects.filter(pairing=OuterRef("pk"))
        .order_by("-visited_on")
        .values("visited_on")[:1]
    )
    Pairing.objects.filter(kind=Pairing.Kind.HOUSEHOLD, ended_on__isnull=True).update(
        last_visited_on=Subquery(latest)
    )
    return total
