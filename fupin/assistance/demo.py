"""Assistance for the demo city (示范数据): measures for most households, housing renovations
with their stages for the C/D households, and about 300 projects with budgets, disbursements,
milestones (some overdue) and beneficiary households with their benefits.

Everything is synthetic and drawn with a seeded numpy Generator from the registry the demo city
generator made: each household gets 0–4 measures of the kinds typical for its main cause of
poverty (因病 → medical assistance, family doctor, 低保; 缺资金 → microcredit, 差价送驴; …), in
its years in the registry. Rows are written in chunks with ``executemany`` (SQLite) or ``COPY``
(PostgreSQL) inside one transaction; no per-row ORM work.
"""

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection, models, transaction
from django.utils import timezone
from numpy.typing import NDArray

from fupin.assistance.models import (
    MILESTONE_ORDER,
    STAGE_ORDER,
    BenefitPayment,
    Disbursement,
    FundSource,
    Measure,
    MeasureStage,
    MeasureType,
    Milestone,
    Photo,
    Project,
    ProjectBeneficiary,
    ProjectFunding,
    ProjectVillage,
)
from fupin.core import bulk
from fupin.core.audit import ChangeSource, audit_record
from fupin.divisions.models import Division, Level
from fupin.registry.models import Household, Member, YearlyRecord

Array = NDArray[Any]
Progress = Callable[[str], None]
FIRST_YEAR, LAST_YEAR = 2014, 2020
PROJECTS = 300
POOL = 48  # pre-drawn detail (extra) variants per measure type
CHUNK = 25_000  # rows per executemany call or COPY slice (as the demo city writes)

# Measure kinds typical for each main cause of poverty, with weights.
BY_CAUSE: dict[str, list[tuple[str, int]]] = {
    "illness": [("medical_assistance", 6), ("medical_insurance_subsidy", 4), ("family_doctor", 4),
                ("dibao", 3), ("pv_dividend", 3), ("donkey_dividend", 1)],
    "disability": [("disability_subsidy", 6), ("dibao", 4), ("public_welfare_job", 3),
                   ("pv_dividend", 3), ("home_schooling", 1)],
    "schooling": [("yulu_plan", 6), ("education_grant", 5), ("transfer_employment", 3),
                  ("microcredit", 1)],
    "disaster": [("temporary_assistance", 5), ("industry_award", 3), ("farming_support", 3),
                 ("microcredit", 2)],
    "marriage": [("microcredit", 4), ("transfer_employment", 4), ("skills_training", 3)],
    "funeral": [("temporary_assistance", 3), ("transfer_employment", 3), ("microcredit", 2)],
    "lack_land": [("vegetable_greenhouse", 5), ("donkey_foster", 4), ("transfer_employment", 4),
                  ("pv_dividend", 2)],
    "lack_water": [("farming_support", 4), ("ecological_compensation", 3), ("pv_dividend", 3)],
    "lack_skills": [("skills_training", 6), ("transfer_employment", 5), ("donkey_price_gap", 3),
                    ("vegetable_greenhouse", 2)],
    "lack_labour": [("dibao", 5), ("pv_dividend", 5), ("donkey_dividend", 4),
                    ("public_welfare_job", 3), ("entrusted_loan", 2)],
    "lack_funds": [("microcredit", 6), ("donkey_price_gap", 4), ("entrusted_loan", 3),
                   ("vegetable_greenhouse", 3)],
    "poor_transport": [("transfer_employment", 4), ("farming_support", 3), ("relocation", 1)],
    "lack_motivation": [("skills_training", 4), ("public_welfare_job", 4), ("industry_award", 3)],
    "other": [("pv_dividend", 4), ("farming_support", 3), ("forest_ranger", 1)],
}  # fmt: skip
# Planned amounts in yuan (low, high) per measure kind.
AMOUNTS: dict[str, tuple[int, int]] = {
    "donkey_price_gap": (3000, 8000), "donkey_foster": (0, 2000), "donkey_dividend": (3000, 5000),
    "vegetable_greenhouse": (5000, 20000), "pv_dividend": (0, 3000), "industry_award": (500, 3000),
    "farming_support": (300, 3000), "public_welfare_job": (3600, 7200),
    "transfer_employment": (0, 500), "skills_training": (500, 2000), "relocation": (30000, 80000),
    "ecological_compensation": (200, 2000), "forest_ranger": (4000, 10000),
    "yulu_plan": (3000, 4000), "education_grant": (500, 3000), "home_schooling": (0, 500),
    "medical_insurance_subsidy": (180, 900), "medical_assistance": (2000, 30000),
    "family_doctor": (0, 200), "dibao": (2400, 7200), "tekun": (4800, 9600),
    "temporary_assistance": (500, 5000), "disability_subsidy": (960, 2400),
    "housing_renovation": (5000, 35000), "microcredit": (1000, 2500), "entrusted_loan": (0, 0),
}  # fmt: skip
UNITS = {
    "industry": "县农业农村局", "employment": "县人力资源和社会保障局", "relocation": "县发展和改革局",
    "ecology": "县自然资源局", "education": "县教育和体育局", "health": "县卫生健康局",
    "social_security": "县民政局", "housing": "县住房和城乡建设局", "finance": "县农村商业银行",
}  # fmt: skip
TEXT = {
    "station": ["村级光伏电站", "联村光伏电站", "户用屋顶光伏"],
    "cooperative": ["东阿阿胶养驴合作社", "聊城毛驴养殖合作社", "冠县黑驴养殖专业合作社"],
    "farm": ["临清规模养驴场", "阳谷毛驴养殖基地", "莘县畜牧养殖场"],
    "crop": ["西红柿", "黄瓜", "香菇", "辣椒", "西瓜"],
    "base": ["扶贫蔬菜大棚基地", "食用菌扶贫基地", "光伏农业大棚"],
    "employer": ["县扶贫车间", "聊城开发区企业", "镇服装加工厂", "江苏建筑公司"],
    "site": ["镇中心安置社区", "县城安置小区"],
    "school": ["聊城职业技术学院", "县职业中专", "县第一中学", "镇中心小学"],
    "grade": ["一年级", "二年级", "三年级"],
    "hospital": ["县人民医院", "聊城市人民医院", "镇卫生院"],
    "disease": ["慢性肾病", "脑梗", "糖尿病", "冠心病", "肿瘤"],
    "doctor": ["刘医生", "王医生", "张医生"],
    "reason": ["火灾", "重病住院", "意外伤残", "冰雹灾害"],
    "item": ["种植奖补", "养殖奖补", "庭院经济奖补"],
    "kind": ["小麦良种", "玉米良种", "肉羊", "蛋鸡"],
    "course": ["家政服务培训", "电焊培训", "蔬菜种植技术培训", "电商培训"],
    "bank": ["聊城农商银行", "莱商银行", "潍坊银行"],
    "use": ["发展养殖", "购买农机", "种植大棚蔬菜"],
    "enterprise": ["县国有投资公司", "东阿阿胶股份有限公司"],
    "unit_name": ["株", "只", "头"],
}  # fmt: skip
PERSONS = ["王建国", "李国庆", "张立新", "刘振华", "陈学文", "杨海涛", "赵永刚", "孙春雷",
           "高庆华", "徐卫东", "马丽娟", "郭海燕"]  # fmt: skip
PROJECT_KINDS: list[tuple[str, str, str, int, bool]] = [
    # (category, name template, responsible unit, weight, pays benefits to households)
    ("industry", "{place}光伏扶贫电站", "县扶贫开发领导小组办公室", 5, True),
    ("industry", "{place}扶贫蔬菜大棚", "县农业农村局", 4, True),
    ("industry", "{place}养驴扶贫基地", "县畜牧兽医局", 3, True),
    ("employment", "{place}扶贫车间", "县人力资源和社会保障局", 3, True),
    ("infrastructure", "{place}道路硬化工程", "县交通运输局", 4, False),
    ("infrastructure", "{place}安全饮水工程", "县水利局", 3, False),
    ("housing", "{place}危房改造集中项目", "县住房和城乡建设局", 2, False),
    ("training", "{place}实用技术培训", "县扶贫开发领导小组办公室", 1, False),
    ("ecology", "{place}经济林种植", "县自然资源局", 1, True),
]  # fmt: skip


class DemoAssistanceError(Exception):
    """The demo assistance cannot be generated (no demo city, assistance data exists)."""


@dataclass(frozen=True)
class DemoAssistanceResult:
    measures: int
    stages: int
    projects: int
    beneficiaries: int
    payments: int
    overdue_milestones: int
    seconds: float


def generate_demo_assistance(
    *,
    seed: int,
    replace: bool = False,
    progress: Progress | None = None,
    today: dt.date | None = None,
) -> DemoAssistanceResult:
    """Draw the demo assistance into the current database from its registry.

    Refuses (DemoAssistanceError) when measures or projects exist, unless ``replace`` deletes all
    assistance data first (the catalogue stays).
    """
    say: Progress = progress or (lambda _line: None)
    started = time.perf_counter()
    day = today or timezone.localdate()
    rng = np.random.default_rng([seed, 5])
    with transaction.atomic():
        if assistance_exists():
            if not replace:
                msg = "Assistance data exists already; use --replace to delete it first."
                raise DemoAssistanceError(msg)
            _stage(say, "delete assistance", lambda: f"{_delete_assistance():,} rows")
        hh = _stage(say, "households (read)", _read_households)
        if not len(hh["id"]):
            msg = "The registry is empty: generate the demo city first (fupin generate-demo)."
            raise DemoAssistanceError(msg)
        types = {t.code: t for t in MeasureType.objects.all()}
        missing = sorted({c for pairs in BY_CAUSE.values() for c, _w in pairs} - set(types))
        if missing or "housing_renovation" not in types:
            msg = f"The measure catalogue lacks {missing or ['housing_renovation']}; run migrate."
            raise DemoAssistanceError(msg)
        with bulk.bulk_session():
            result = _draw_and_write(rng, hh, types, day, say)
        city = Division.objects.filter(level=Level.CITY).order_by("code").first()
        audit_record(
            actor=None,
            action="demo.assistance",
            entity="assistance",
            entity_key=f"demo-{seed}",
            division_path=city.path if city else "",
            source=ChangeSource.command("generate-demo-assistance"),
            after={"seed": seed, "replace": replace, **_counts(result)},
        )
    seconds = time.perf_counter() - started
    say(
        f"done: {result.measures:,} measures ({result.stages:,} construction stages), "
        f"{result.projects:,} projects, {result.beneficiaries:,} beneficiaries, "
        f"{result.payments:,} benefit payments in {seconds:.1f} s"
    )
    return dataclasses.replace(result, seconds=seconds)


def _draw_and_write(
    rng: np.random.Generator,
    hh: dict[str, Any],
    types: dict[str, MeasureType],
    day: dt.date,
    say: Progress,
) -> DemoAssistanceResult:
    first_measure_id = _next_id(Measure)
    measures = _stage(say, "measures (draw)", lambda: _draw_measures(rng, hh, types, day))
    housing = _stage(say, "housing (draw)", lambda: _draw_housing(rng, hh, types, day))
    all_measures = _concat(measures, housing)
    _stage(say, "measures (write)", lambda: _write_measures(all_measures, first_measure_id))
    stages = _stage(
        say,
        "stages (write)",
        lambda: _write_stages(housing, first_measure_id + len(measures["hh"]), day),
    )
    projects = _stage(say, "projects", lambda: _projects(rng, hh, day))
    _stage(say, "statistics", _analyze)
    return DemoAssistanceResult(
        measures=len(all_measures["hh"]),
        stages=stages,
        projects=projects["projects"],
        beneficiaries=projects["beneficiaries"],
        payments=projects["payments"],
        overdue_milestones=projects["overdue"],
        seconds=0.0,
    )


def assistance_exists() -> bool:
    return Measure.objects.exists() or Project.objects.exists()


def _counts(result: DemoAssistanceResult) -> dict[str, int]:
    return {
        "measures": result.measures,
        "stages": result.stages,
        "projects": result.projects,
        "beneficiaries": result.beneficiaries,
        "payments": result.payments,
        "overdue_milestones": result.overdue_milestones,
    }


def _stage(say: Progress, name: str, work: Callable[[], Any]) -> Any:
    began = time.perf_counter()
    value = work()
    if isinstance(value, dict) and "hh" in value:
        detail = f"{len(value['hh']):,} rows"
    elif isinstance(value, dict) and "id" in value:
        detail = f"{len(value['id']):,} households"
    elif isinstance(value, dict):
        detail = ", ".join(f"{v:,} {k}" for k, v in value.items())
    elif isinstance(value, int):
        detail = f"{value:,} rows"
    else:
        detail = str(value)
    say(f"{name + ':':<20} {detail:<40} {time.perf_counter() - began:6.1f} s")
    return value


# --- Reading the registry ----------------------------------------------------------------------


def _fetch(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _read_households() -> dict[str, Any]:
    """Household columns, the members (for measures given to one person) and the years each
    household lived in a C/D house."""
    rows = _fetch(
        f"SELECT id, division_id, main_cause, category, identified_year, exit_year "  # noqa: S608
        f"FROM {_table(Household)} ORDER BY id"
    )
    if not rows:
        return {"id": np.zeros(0, dtype=np.int64)}
    ids, division, cause, category, identified, exit_year = zip(*rows, strict=True)
    hh: dict[str, Any] = {
        "id": np.array(ids, dtype=np.int64),
        "division": np.array(division, dtype=np.int64),
        "cause": np.array(cause, dtype=object),
        "category": np.array(category, dtype=object),
        "identified": np.array(identified, dtype=np.int64),
        "exit": np.array([e if e is not None else 0 for e in exit_year], dtype=np.int64),
    }
    members = _fetch(
        f"SELECT household_id, id FROM {_table(Member)} WHERE is_active "  # noqa: S608
        f"ORDER BY household_id, id"
    )
    member_hh = np.array([m[0] for m in members], dtype=np.int64)
    hh["member_id"] = np.array([m[1] for m in members], dtype=np.int64)
    index = np.searchsorted(hh["id"], member_hh)
    hh["member_start"] = np.searchsorted(index, np.arange(len(hh["id"])), side="left")
    hh["member_count"] = np.bincount(index, minlength=len(hh["id"]))
    bad = _fetch(
        f"SELECT household_id, MIN(survey_year), MAX(survey_year), MAX(housing_grade) "  # noqa: S608
        f"FROM {_table(YearlyRecord)} WHERE housing_grade IN ('C', 'D') GROUP BY household_id"
    )
    position = np.searchsorted(hh["id"], np.array([b[0] for b in bad], dtype=np.int64))
    hh["cd_position"] = position
    hh["cd_first"] = np.array([b[1] for b in bad], dtype=np.int64)
    hh["cd_last"] = np.array([b[2] for b in bad], dtype=np.int64)
    hh["cd_grade"] = np.array([b[3] for b in bad], dtype=object)
    villages = _fetch(
        f"SELECT v.id, v.parent_id, v.name, t.parent_id FROM {_table(Division)} v "  # noqa: S608
        f"JOIN {_table(Division)} t ON t.id = v.parent_id WHERE v.level = %s",
        [Level.VILLAGE],
    )
    hh["villages"] = villages
    return hh


# --- Measures ----------------------------------------------------------------------------------


def _next_id(model: type[models.Model]) -> int:
    return int(model._default_manager.aggregate(m=models.Max("id"))["m"] or 0) + 1


def _uuids(rng: np.random.Generator, n: int) -> Array:
    """Public ids laid out as UUIDv7: a rising 48-bit prefix then random bits, so the unique
    index takes them in order (random uuid4s would scatter a million inserts over the index)."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    base = int(rng.integers(1 << 40, 1 << 44))  # drawn, so the same seed gives the same ids
    prefix = (np.arange(n, dtype=np.uint64) + np.uint64(base)).astype(">u8").view(np.uint8)
    raw[:, :6] = prefix.reshape(n, 8)[:, 2:]
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x70  # version 7
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = raw.tobytes().hex()
    return np.array([hexed[i : i + 32] for i in range(0, len(hexed), 32)], dtype=object)


def _money(cents: Array) -> Array:
    """Yuan as exact decimal text (``"1234.50"``) from integer cents."""
    values = np.asarray(cents, dtype=np.int64)
    return np.array([f"{c // 100}.{c % 100:02d}" for c in values.tolist()], dtype=object)


def _dates(days: Array) -> Array:
    return np.datetime_as_string(np.asarray(days, dtype="datetime64[D]"), unit="D").astype(object)


def _extra_pool(rng: np.random.Generator, measure_type: MeasureType) -> list[str]:
    """POOL JSON variants of a type's extra fields, valid against its field specs."""
    pool = []
    for _ in range(POOL):
        values: dict[str, Any] = {}
        for spec in measure_type.fields:
            kind, key = spec["type"], spec["key"]
            if not spec.get("required") and rng.random() < 0.3:
                continue
            if kind == "integer":
                least = int(spec.get("min", 0))
                most = min(int(spec.get("max", least + 10)), least + 10)
                values[key] = int(rng.integers(least, most + 1))
            elif kind == "decimal":
                bottom = float(spec.get("min", 0))
                top = min(float(spec.get("max", bottom + 5000)), bottom + 5000)
                values[key] = f"{rng.uniform(bottom, top):.2f}"
            elif kind == "date":
                values[key] = (
                    dt.date(2015, 1, 1) + dt.timedelta(days=int(rng.integers(0, 2000)))
                ).isoformat()
            elif kind == "boolean":
                values[key] = bool(rng.random() < 0.5)
            elif kind == "choice":
                choices = [c["value"] for c in spec["choices"]]
                values[key] = choices[int(rng.integers(len(choices)))]
            else:
                options = TEXT.get(key, ["示范"])
                values[key] = options[int(rng.integers(len(options)))][
                    : spec.get("max_length", 200)
                ]
        pool.append(json.dumps(values, ensure_ascii=False))
    return pool


def _draw_measures(
    rng: np.random.Generator, hh: dict[str, Any], types: dict[str, MeasureType], today: dt.date
) -> dict[str, Any]:
    """0–4 measures per household of the kinds typical for its main cause (about 90% of the
    households get at least one)."""
    n = len(hh["id"])
    count = rng.choice(5, size=n, p=[0.1, 0.3, 0.3, 0.2, 0.1])
    # Households on 低保 / 特困 support get that measure first.
    codes: list[Array] = []
    owners: list[Array] = []
    for cause, pairs in BY_CAUSE.items():
        rows = np.flatnonzero(hh["cause"] == cause)
        if not len(rows):
            continue
        names = np.array([c for c, _w in pairs], dtype=object)
        weights = np.array([w for _c, w in pairs], dtype=np.float64)
        # Distinct kinds per household: the k smallest of weighted exponential keys.
        keys = rng.exponential(size=(len(rows), len(names))) / weights
        order = np.argsort(keys, axis=1)
        k = np.minimum(count[rows], len(names))
        for slot in range(int(k.max(initial=0))):
            take = rows[k > slot]
            codes.append(names[order[k > slot, slot]])
            owners.append(take)
    support = np.flatnonzero(np.isin(hh["category"], ["dibao", "tekun"]))
    codes.append(np.where(hh["category"][support] == "tekun", "tekun", "dibao").astype(object))
    owners.append(support)
    owner = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
    code = np.concatenate(codes) if codes else np.zeros(0, dtype=object)
    # The measure's year lies within the household's years in the registry (2014–2020).
    first = np.maximum(hh["identified"][owner], FIRST_YEAR)
    last = np.where(hh["exit"][owner] > 0, hh["exit"][owner], LAST_YEAR)
    last = np.clip(np.maximum(last, first), FIRST_YEAR, min(LAST_YEAR, today.year))
    first = np.minimum(first, last)
    year = first + np.floor(rng.random(len(owner)) * (last - first + 1)).astype(np.int64)
    return _measure_columns(rng, hh, types, owner=owner, code=code, year=year, today=today)


def _measure_columns(
    rng: np.random.Generator,
    hh: dict[str, Any],
    types: dict[str, MeasureType],
    *,
    owner: Array,
    code: Array,
    year: Array,
    today: dt.date,
    done_share: float = 0.85,
) -> dict[str, Any]:
    m = len(owner)
    quarter = rng.integers(1, 5, m)
    type_id = np.array([types[c].pk for c in code.tolist()], dtype=np.int64)
    family = np.array([types[c].family for c in code.tolist()], dtype=object)
    # Planned amounts by kind, in cents.
    low = np.array([AMOUNTS.get(c, (0, 1000))[0] for c in code.tolist()], dtype=np.float64)
    high = np.array([AMOUNTS.get(c, (0, 1000))[1] for c in code.tolist()], dtype=np.float64)
    planned = np.round(low + rng.random(m) * (high - low)).astype(np.int64) * 100
    # Dates: a start within the quarter, completion 1–4 months later, verification 1–8 weeks on.
    months = (year - 1970) * 12 + 3 * (quarter - 1)
    quarter_start = months.astype("datetime64[M]").astype("datetime64[D]")
    start = quarter_start + rng.integers(0, 80, m).astype("timedelta64[D]")
    end = start + rng.integers(30, 120, m).astype("timedelta64[D]")
    verified = end + rng.integers(7, 60, m).astype("timedelta64[D]")
    limit = np.datetime64(today)
    roll = rng.random(m)
    status = np.where(
        roll < done_share * 0.8, "verified", np.where(roll < done_share, "done", "under_way")
    ).astype(object)
    status[start > limit] = "planned"
    status[(status == "verified") & (verified > limit)] = "done"
    status[(status == "done") & (end > limit)] = "under_way"
    # What was left under way years ago has been done since (awaiting verification).
    status[(status == "under_way") & (end < limit - np.timedelta64(365, "D"))] = "done"
    started = _dates(start).astype(object)
    completed = _dates(end).astype(object)
    verified_on = _dates(verified).astype(object)
    started[status == "planned"] = None
    completed[np.isin(status, ["planned", "under_way"])] = None
    verified_on[status != "verified"] = None
    actual = np.round(planned * rng.uniform(0.9, 1.02, m) / 100).astype(np.int64) * 100
    actual_text = _money(actual)
    actual_text[np.isin(status, ["planned", "under_way"])] = None
    default = np.array(
        [int((types[c].default_income or 0) * 100) for c in code.tolist()], dtype=np.int64
    )
    expected = np.round(default * rng.uniform(0.8, 1.2, m) / 100).astype(np.int64) * 100
    expected_text = _money(expected)
    expected_text[default == 0] = None
    recorded_text = _money(
        np.round(expected * rng.uniform(0.7, 1.15, m) / 100).astype(np.int64) * 100
    )
    recorded_text[(default == 0) | (status != "verified")] = None
    # A person for the kinds given to one member.
    by_member = np.array([types[c].target == MeasureType.Target.MEMBER for c in code.tolist()])
    counts = hh["member_count"][owner]
    pick = hh["member_start"][owner] + np.floor(rng.random(m) * np.maximum(counts, 1)).astype(
        np.int64
    )
    member = np.where(
        by_member & (counts > 0), hh["member_id"][np.minimum(pick, len(hh["member_id"]) - 1)], 0
    ).astype(object)
    member[member == 0] = None
    pools = {c: _extra_pool(rng, types[c]) for c in sorted(set(code.tolist()))}
    choice = rng.integers(0, POOL, m)
    extra = np.array(
        [pools[c][i] for c, i in zip(code.tolist(), choice.tolist(), strict=True)], dtype=object
    )
    names = np.array([types[c].name_zh for c in code.tolist()], dtype=object)
    units = np.array([UNITS.get(f, "县扶贫办") for f in family.tolist()], dtype=object)
    sources = np.array(FundSource.values, dtype=object)
    fund = sources[rng.choice(len(sources), size=m, p=[0.25, 0.15, 0.1, 0.3, 0.1, 0.05, 0.05])]
    return {
        "hh": owner,
        "household": hh["id"][owner],
        "member": member,
        "type": type_id,
        "content": names,
        "year": year,
        "quarter": quarter,
        "planned": _money(planned),
        "actual": actual_text,
        "fund": fund,
        "unit": units,
        "person": np.array(PERSONS, dtype=object)[rng.integers(0, len(PERSONS), m)],
        "status": status,
        "started": started,
        "completed": completed,
        "verified": verified_on,
        "expected": expected_text,
        "recorded": recorded_text,
        "extra": extra,
        "public_id": _uuids(rng, m),
        "end_day": end,
    }


def _draw_housing(
    rng: np.random.Generator, hh: dict[str, Any], types: dict[str, MeasureType], today: dt.date
) -> dict[str, Any]:
    """A renovation for every household that lived in a C/D house, in the year its house became
    safe (or its last C/D year), with the stages 开工 → 竣工 → 验收 → 入住."""
    owner = hh["cd_position"]
    renovation = types["housing_renovation"]
    year = np.clip(np.minimum(hh["cd_last"] + 1, LAST_YEAR), FIRST_YEAR, today.year)
    code = np.full(len(owner), "housing_renovation", dtype=object)
    out = _measure_columns(
        rng, hh, types, owner=owner, code=code, year=year, today=today, done_share=0.95
    )
    grade = hh["cd_grade"]
    area = rng.integers(40, 110, len(owner))
    subsidy = np.where(
        grade == "D", rng.integers(20000, 35000, len(owner)), rng.integers(5000, 12000, len(owner))
    )
    own_funds = rng.integers(0, 8000, len(owner))
    out["extra"] = np.array(
        [
            json.dumps(
                {"grade_before": g, "mode": "rebuild" if g == "D" else "reinforce",
                 "area_m2": f"{a}.00", "subsidy": f"{s}.00", "self_funded": f"{o}.00"},
                ensure_ascii=False,
            )
            for g, a, s, o in zip(grade.tolist(), area.tolist(), subsidy.tolist(), own_funds.tolist(), strict=True)
        ],
        dtype=object,
    )  # fmt: skip
    out["planned"] = _money(subsidy * 100)
    out["content"] = np.where(grade == "D", "D级危房拆除重建", "C级危房修缮加固").astype(object)
    out["unit"] = np.full(len(owner), UNITS["housing"], dtype=object)
    # Stage dates: 开工 at the start, 竣工 at the end, 验收 and 入住 after; only those not in the
    # future are recorded, so a renovation under way has only its first stages.
    start = np.array(out["started"], dtype=object)
    begin = np.array(
        [np.datetime64(d) if d else np.datetime64("NaT") for d in start.tolist()],
        dtype="datetime64[D]",
    )
    finish = out["end_day"]
    accepted = finish + rng.integers(5, 30, len(owner)).astype("timedelta64[D]")
    moved = accepted + rng.integers(3, 40, len(owner)).astype("timedelta64[D]")
    days = np.stack([begin, finish, accepted, moved], axis=1)
    # A renovation under way has only been started.
    days[~np.isin(out["status"], ["done", "verified"]), 1:] = np.datetime64("NaT")
    out["stage_days"] = days
    assert renovation.has_stages
    return out


def _concat(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    keys = [k for k in a if k in b and k not in ("stage_days",)]
    return {k: np.concatenate([a[k], b[k]]) for k in keys}


def _write_measures(ms: dict[str, Any], first_id: int) -> int:
    m = len(ms["hh"])
    now = bulk.now_value()
    bulk.insert_rows(
        Measure,
        {
            "id": np.arange(first_id, first_id + m, dtype=np.int64),
            "created_at": now,
            "updated_at": now,
            "public_id": ms["public_id"],
            "household": ms["household"],
            "member": ms["member"],
            "type": ms["type"],
            "project": None,
            "content": ms["content"],
            "year": ms["year"],
            "quarter": ms["quarter"],
            "planned_amount": ms["planned"],
            "actual_amount": ms["actual"],
            "fund_source": ms["fund"],
            "responsible_unit": ms["unit"],
            "responsible_person": ms["person"],
            "status": ms["status"],
            "started_on": ms["started"],
            "completed_on": ms["completed"],
            "verified_on": ms["verified"],
            "verified_by": None,
            "expected_income": ms["expected"],
            "recorded_income": ms["recorded"],
            "extra": ms["extra"],
            "notes": "",
        },
        m,
        chunk=CHUNK,
    )
    _reset_sequence(Measure)
    return m


def _write_stages(housing: dict[str, Any], first_id: int, today: dt.date) -> int:
    days = housing["stage_days"]
    limit = np.datetime64(today)
    measure_ids = np.arange(first_id, first_id + len(days), dtype=np.int64)
    reached = ~np.isnat(days) & (days <= limit)
    # A stage is recorded only when every earlier one is.
    reached = np.cumprod(reached, axis=1).astype(bool)
    rows, cols = np.nonzero(reached)
    total = len(rows)
    now = bulk.now_value()
    bulk.insert_rows(
        MeasureStage,
        {
            "measure": measure_ids[rows],
            "stage": np.array(STAGE_ORDER, dtype=object)[cols],
            "on": _dates(days[rows, cols]),
            "note": "",
            "recorded_at": now,
        },
        total,
        chunk=CHUNK,
    )
    return total


# --- Projects ----------------------------------------------------------------------------------


def _projects(rng: np.random.Generator, hh: dict[str, Any], today: dt.date) -> dict[str, int]:
    """About 300 projects over the townships, each with 1–5 of its villages, a budget from 2–4
    sources, disbursements in step with its progress, milestones (recent ones sometimes overdue)
    and, for income projects, beneficiary households with yearly benefits."""
    villages = hh["villages"]
    by_township: dict[int, list[tuple[int, str]]] = {}
    county_of: dict[int, int] = {}
    for village_id, township_id, name, county_id in villages:
        by_township.setdefault(township_id, []).append((village_id, name))
        county_of[township_id] = county_id
    townships = sorted(by_township)
    if not townships:
        return {"projects": 0, "beneficiaries": 0, "payments": 0, "overdue": 0}
    codes = dict(
        Division.objects.filter(pk__in=townships + list(county_of.values())).values_list(
            "pk", "code"
        )
    )
    names = dict(Division.objects.filter(pk__in=townships).values_list("pk", "name"))
    households_by_village: dict[int, Array] = {}
    order = np.argsort(hh["division"], kind="stable")
    sorted_div = hh["division"][order]
    weights = np.array([k[3] for k in PROJECT_KINDS], dtype=np.float64)
    weights /= weights.sum()
    count = min(PROJECTS, max(1, len(townships) * 3))
    first_id = _next_id(Project)
    rows: dict[str, list[Any]] = {
        k: []
        for k in (
            "id",
            "code",
            "name",
            "category",
            "year",
            "division",
            "unit",
            "person",
            "content",
            "benefit",
            "progress",
        )
    }
    links: list[tuple[int, int]] = []
    funding: list[tuple[int, str, int]] = []
    payouts: list[tuple[int, str, int, str]] = []
    milestones: list[tuple[int, str, str | None, str | None]] = []
    beneficiaries: list[tuple[int, int, int, str]] = []
    payments: list[tuple[int, int, int, int, str]] = []
    serial: dict[str, int] = {}
    overdue = 0
    years = np.arange(2015, today.year + 1)
    year_weights = np.where(years <= LAST_YEAR, 3.0, 1.0)
    year_weights /= year_weights.sum()
    for index in range(count):
        pid = first_id + index
        township = townships[int(rng.integers(len(townships)))]
        kind = PROJECT_KINDS[int(rng.choice(len(PROJECT_KINDS), p=weights))]
        category, template, unit, _w, pays = kind
        year = int(years[int(rng.choice(len(years), p=year_weights))])
        at_county = rng.random() < 0.2
        owner = county_of[township] if at_county else township
        options = by_township[township]
        chosen = rng.choice(
            len(options), size=min(len(options), int(rng.integers(1, 6))), replace=False
        )
        chosen_villages = [options[int(c)] for c in chosen]
        place = chosen_villages[0][1] if len(chosen_villages) == 1 else names[township]
        prefix = f"XM{year}-{codes[owner][:6]}-"
        serial[prefix] = serial.get(prefix, 0) + 1
        # Milestones: planned a month or two apart from the approval; reached ones have their
        # actual date near the plan; the first one not reached is overdue once its plan passed.
        # Older projects are finished, some stalled; recent ones are on their way.
        age = (today - dt.date(year, 3, 1)).days
        stalled = rng.random() < 0.12
        reach = (
            len(MILESTONE_ORDER)
            if age > 540 and not stalled
            else int(rng.integers(1, len(MILESTONE_ORDER)))
        )
        planned = dt.date(year, 1, 15) + dt.timedelta(days=int(rng.integers(0, 120)))
        for position, milestone in enumerate(MILESTONE_ORDER):
            actual = planned + dt.timedelta(days=int(rng.integers(-5, 20)))
            reached = position < reach and actual <= today
            if not reached and position < reach:
                reach = position
            milestones.append(
                (pid, milestone, planned.isoformat(), actual.isoformat() if reached else None)
            )
            if not reached and planned < today:
                overdue += 1
            planned = (actual if reached else planned) + dt.timedelta(
                days=int(rng.integers(25, 75))
            )
        finished = reach == len(MILESTONE_ORDER)
        progress = 100 if finished else min(95, 10 + 17 * reach + int(rng.integers(0, 10)))
        rows["id"].append(pid)
        rows["code"].append(f"{prefix}{serial[prefix]:04d}")
        rows["name"].append(template.format(place=place))
        rows["category"].append(category)
        rows["year"].append(year)
        rows["division"].append(owner)
        rows["unit"].append(unit)
        rows["person"].append(PERSONS[int(rng.integers(len(PERSONS)))])
        rows["content"].append(f"{template.format(place=place)}：建设内容见项目申报书。")
        rows["benefit"].append("受益贫困户按年分红" if pays else "改善贫困村生产生活条件")
        rows["progress"].append(progress)
        links.extend((pid, v) for v, _name in chosen_villages)
        # Budget: 2–4 sources, 100,000 – 3,000,000 yuan in all; paid out in step with progress.
        total = int(rng.uniform(1e5, 3e6) / 100) * 100
        sources = rng.choice(len(FundSource.values), size=int(rng.integers(2, 5)), replace=False)
        shares = rng.dirichlet(np.ones(len(sources)))
        for source_index, share in zip(sources.tolist(), shares.tolist(), strict=True):
            amount = int(total * share / 100) * 100
            if amount <= 0:
                continue
            source = FundSource.values[source_index]
            funding.append((pid, source, amount * 100))
            paid = int(amount * progress / 100 * rng.uniform(0.6, 1.0) / 100) * 100
            parts = int(rng.integers(1, 4))
            for part in range(parts):
                piece = paid // parts if part < parts - 1 else paid - (paid // parts) * (parts - 1)
                if piece <= 0:
                    continue
                offset = int(rng.integers(0, max(1, min(age, 720))))
                paid_day = min(today, dt.date(year, 4, 1) + dt.timedelta(days=offset))
                payouts.append((pid, source, piece * 100, paid_day.isoformat()))
        # Beneficiaries: up to 60 households of the villages, for projects that pay out.
        if pays:
            pool = []
            for village_id, _name in chosen_villages:
                found = households_by_village.get(village_id)
                if found is None:
                    lo, hi = np.searchsorted(sorted_div, [village_id, village_id + 1])
                    found = hh["id"][order[lo:hi]]
                    households_by_village[village_id] = found
                pool.append(found)
            candidates = np.concatenate(pool) if pool else np.zeros(0, dtype=np.int64)
            size = min(len(candidates), int(rng.integers(10, 61)))
            take: list[int] = rng.choice(candidates, size=size, replace=False).tolist()
            yearly = int(rng.integers(3, 11)) * 10000  # 300–1,000 yuan in cents
            completed_year = year + 1
            for household_id in take:
                beneficiaries.append(
                    (pid, int(household_id), yearly, dt.date(year, 6, 1).isoformat())
                )
                if finished:
                    for paid_year in range(completed_year, min(today.year, LAST_YEAR + 2) + 1):
                        pay_day = dt.date(paid_year, 12, 20)
                        if pay_day <= today:
                            payments.append(
                                (pid, int(household_id), paid_year, yearly, pay_day.isoformat())
                            )
    now = bulk.now_value()
    n = len(rows["id"])
    bulk.insert_rows(
        Project,
        {
            "id": np.array(rows["id"], dtype=np.int64),
            "created_at": now,
            "updated_at": now,
            "code": np.array(rows["code"], dtype=object),
            "name": np.array(rows["name"], dtype=object),
            "category": np.array(rows["category"], dtype=object),
            "year": np.array(rows["year"], dtype=np.int64),
            "division": np.array(rows["division"], dtype=np.int64),
            "responsible_unit": np.array(rows["unit"], dtype=object),
            "responsible_person": np.array(rows["person"], dtype=object),
            "content": np.array(rows["content"], dtype=object),
            "expected_benefit": np.array(rows["benefit"], dtype=object),
            "progress": np.array(rows["progress"], dtype=np.int64),
        },
        n,
        chunk=CHUNK,
    )
    _reset_sequence(Project)
    _insert_rows(ProjectVillage, ["project", "village"], links)
    _insert_rows(
        ProjectFunding,
        ["project", "source", "amount"],
        [(p, s, _yuan(c)) for p, s, c in funding],
    )
    _insert_rows(
        Disbursement,
        ["project", "source", "amount", "paid_on", "note", "recorded_at"],
        [(p, s, _yuan(c), d, "", now) for p, s, c, d in payouts],
    )
    _insert_rows(
        Milestone,
        ["project", "kind", "planned_on", "actual_on", "note"],
        [(p, k, pl, ac, "") for p, k, pl, ac in milestones],
    )
    _insert_rows(
        ProjectBeneficiary,
        ["project", "household", "expected_benefit", "added_on"],
        [(p, h, _yuan(c), d) for p, h, c, d in beneficiaries],
    )
    _insert_rows(
        BenefitPayment,
        ["project", "household", "year", "amount", "paid_on"],
        [(p, h, y, _yuan(c), d) for p, h, y, c, d in payments],
    )
    return {
        "projects": n,
        "beneficiaries": len(beneficiaries),
        "payments": len(payments),
        "overdue": overdue,
    }


def _yuan(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# --- Writing -----------------------------------------------------------------------------------


def _insert_rows(model: type[models.Model], names: list[str], rows: list[tuple[Any, ...]]) -> int:
    """Write explicit row tuples (one object array a column)."""
    values: dict[str, Any] = {}
    for i, name in enumerate(names):
        column = np.empty(len(rows), dtype=object)
        column[:] = [row[i] for row in rows]
        values[name] = column
    return bulk.insert_rows(model, values, len(rows), chunk=CHUNK)


def _reset_sequence(model: type[models.Model]) -> None:
    from django.core.management.color import no_style

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [model]):
            cursor.execute(sql)


def _analyze() -> str:
    tables = (Measure, MeasureStage, Project, ProjectVillage, Milestone, ProjectBeneficiary)
    bulk.analyze(*tables)
    return f"{len(tables)} tables analysed"


def _delete_assistance() -> int:
    """Delete every measure, stage, photo and project row (raw, in dependency order); the photo
    files go too. The catalogue stays."""
    for photo in Photo.objects.all().only("file"):
        photo.file.delete(save=False)
    deleted = 0
    order = (
        Photo, MeasureStage, Measure, BenefitPayment, ProjectBeneficiary, Milestone,
        Disbursement, ProjectFunding, ProjectVillage, Project,
    )  # fmt: skip
    with connection.cursor() as cursor:
        for model in order:
            cursor.execute("DELETE FROM " + connection.ops.quote_name(model._meta.db_table))  # noqa: S608
            deleted += max(cursor.rowcount, 0)
    return deleted
