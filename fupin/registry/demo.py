"""The demo city (示范数据): a synthetic Liaocheng with villages, households, members and yearly
records, built fast enough for a million people.

Everything here is invented: names come from common surnames and given names, id numbers are
built from a county code, a birth date and a sequence with a valid check character, phones are
random. Columns are drawn with a seeded numpy Generator (same seed, same city) and written with
raw ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) in chunks inside one transaction
(``fupin.core.bulk``); the ORM is used only for the division tree, the audit event and the demo accounts.
"""

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from django.core.exceptions import ValidationError
from django.core.management.color import no_style
from django.db import connection, models, transaction
from numpy.typing import NDArray

from fupin.accounts.models import User
from fupin.accounts.roles import RankLevel, Role
from fupin.accounts.services import user_create
from fupin.core import bulk
from fupin.core.audit import ChangeSource, audit_record
from fupin.core.models import AuditEvent
from fupin.divisions.models import Division, Level
from fupin.divisions.services import divisions_load_csv
from fupin.registry.models import Household, Member, YearlyRecord
from fupin.registry.pinyin import name_initials

BUNDLED_DIVISIONS = (
    Path(__file__).resolve().parents[1] / "divisions" / "data" / "liaocheng-divisions.csv"
)
CITY_CODE = "371500000000"
DEMO_PASSWORD = "Fupin-demo-2016"  # noqa: S105 (the documented password of the demo accounts)
DEFAULT_SEED = 2016
DEFAULT_HOUSEHOLDS = 50_000
FIRST_YEAR, LAST_YEAR = 2014, 2020
# National poverty line in yuan per person and year, at current prices (domain.md §0).
POVERTY_LINES = {2014: 2800, 2015: 2855, 2016: 2952, 2017: 2952, 2018: 2995, 2019: 3218, 2020: 4000}
# Ages, schooling and labour describe the people as surveyed in the last year of the records.
REFERENCE_DAY = np.datetime64("2020-07-01")
CHUNK = 25_000  # rows per executemany call or COPY slice

Progress = Callable[[str], None]
Array = NDArray[Any]
T = TypeVar("T")


class DemoError(Exception):
    """The demo city cannot be generated (households exist, bad arguments)."""


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    division_code: str
    division_name: str
    password: str
    created: bool


@dataclass(frozen=True)
class DemoResult:
    villages: int
    households: int
    members: int
    records: int
    seconds: float
    accounts: list[DemoAccount]


def _words(text: str) -> list[str]:
    return text.split()


# --- Names -------------------------------------------------------------------------------------

# Common surnames with rough weights (per mille) of their frequency in Shandong.
SURNAME_TABLE = _words(
    "王95 李85 张80 刘72 陈38 杨40 赵35 黄18 周18 吴16 徐30 孙34 马30 朱15 胡16 郭20 何10 高32 林8 罗6 "
    "郑14 梁12 谢8 宋16 唐8 许12 韩15 冯10 邓6 曹14 彭6 曾4 肖8 田12 董12 袁8 潘6 于16 蒋6 蔡6 "
    "余4 杜10 叶6 程8 苏8 魏12 吕8 丁10 任10 沈6 姚6 卢6 姜14 崔10 钟4 谭4 陆4 汪6 范6 金8 "
    "石12 廖4 贾6 夏6 韦2 付6 方4 白8 邹4 孟12 熊2 秦6 邱6 江4 尹6 薛6 闫10 段8 雷8 侯8 "
    "龙6 史8 陶4 黎6 贺4 顾4 毛4 郝6 龚6 邵4 万6 钱4 严4 武8 戴4 莫2 孔8 汤6 葛4 邢8 "
    "庞6 乔6"
)
SURNAMES = [entry[0] for entry in SURNAME_TABLE]
SURNAME_WEIGHTS = np.array([int(entry[1:]) for entry in SURNAME_TABLE], dtype=np.float64)

# Given names by sex and generation: born before 1965, 1965–1989, 1990 and later.
GIVEN_NAMES: dict[tuple[str, int], list[str]] = {
    ("male", 0): _words(
        "建国 建军 国庆 德胜 振华 保国 志刚 玉林 长福 广田 树林 金山 庆丰 春生 永祥 立新 "
        "洪亮 学文 福山 明德 文华 宝山 连生 殿臣 景林 兆祥 成林 玉亭 德明 守义 庆云 忠 "
        "义 山 林 贵 福"
    ),
    ("male", 1): _words(
        "伟 强 磊 军 勇 杰 涛 斌 超 明 刚 平 辉 鹏 华 波 "
        "建华 海涛 志强 晓东 永刚 春雷 红军 卫东 立伟 海峰 国栋 新民 利民 洪涛 庆华 兆东 "
        "现军 玉江 春光 振东"
    ),
    ("male", 2): _words(
        "浩 宇 轩 博 昊 晨 睿 鑫 子豪 浩然 宇航 俊杰 子轩 一鸣 天宇 皓轩 "
        "宇轩 博文 浩宇 嘉豪 雨泽 明轩 子墨 泽宇 家乐 文博 志远 梓豪 晨阳 思远"
    ),
    ("female", 0): _words(
        "秀英 桂兰 玉兰 凤英 淑珍 秀兰 桂英 玉珍 素珍 兰英 凤兰 翠花 金凤 桂芳 秀珍 玉梅 "
        "春兰 淑英 美兰 玉英 秀云 桂荣 凤琴 玉芝 素英 英 兰 珍 梅 芝"
    ),
    ("female", 1): _words(
        "丽 静 敏 燕 艳 娟 霞 红 芳 玲 丽娟 海燕 晓燕 秀丽 春燕 红梅 "
        "丽华 美玲 雪梅 小红 爱华 立红 秀芹 俊霞 宪英 金玲 桂香 美霞 文静 晓红"
    ),
    ("female", 2): _words(
        "欣怡 子涵 雨欣 诗涵 梓涵 可欣 佳怡 一诺 思琪 雨涵 欣妍 梦瑶 语桐 婉清 雪 萌 "
        "悦 琪 佳琪 雨萱 紫涵 梦琪 晓雪 心怡 静怡 佳欣 雅琪 若曦"
    ),
}

VILLAGE_PREFIXES = (
    "张李王刘赵孙陈杨马高徐郭胡朱何韩魏郑冯董田任吕崔姜贾段侯孟石曹袁邢闫于葛周吴宋许"
)
VILLAGE_PLACES = "前后东西南北大小新老中上下沙柳枣杏梨桑河堤坡"
VILLAGE_SUFFIXES = _words(
    "庄 楼 集 屯 营 寨 店 庙 口 洼 堂 桥 坊 铺 园 湾 "
    "圈 岗 官屯 家庄 家楼 家集 家寨 家洼 辛庄 家屯 庄科 堤口"
)

# Counties of the bundled tree → (address code on ids issued since 1997, address code of the
# 聊城地区 before 1997). 茌平 became 茌平区 371503 in 2019; its ids kept 371523 until then.
COUNTY_ID_CODES = {
    "371502": ("371502", "372501"),  # 东昌府区 (聊城市)
    "371503": ("371523", "372524"),  # 茌平区 (茌平县)
    "371523": ("371523", "372524"),
    "371521": ("371521", "372522"),  # 阳谷县
    "371522": ("371522", "372523"),  # 莘县
    "371524": ("371524", "372525"),  # 东阿县
    "371525": ("371525", "372526"),  # 冠县
    "371526": ("371526", "372527"),  # 高唐县
    "371581": ("371581", "372528"),  # 临清市
}
# How many poor households a county has, relative to the others (莘县 and 冠县 the most).
COUNTY_WEIGHT = {
    "371522": 1.4,
    "371525": 1.3,
    "371521": 1.15,
    "371581": 1.0,
    "371503": 0.95,
    "371524": 0.9,
    "371526": 0.9,
    "371502": 0.75,
}

# --- Code lists (values of fupin/core/data/code_lists.csv) -------------------------------------

CAUSES = (
    "illness",
    "disability",
    "lack_labour",
    "lack_funds",
    "lack_skills",
    "schooling",
    "disaster",
    "lack_land",
    "lack_water",
    "poor_transport",
    "lack_motivation",
    "other",
    "marriage",
    "funeral",
)
CAUSE_WEIGHTS_2014 = np.array(
    [0.40, 0.18, 0.08, 0.09, 0.08, 0.07, 0.02, 0.025, 0.005, 0.005, 0.03, 0.015, 0, 0]
)
CAUSE_WEIGHTS_2016 = np.array(
    [0.40, 0.18, 0.08, 0.06, 0.08, 0.07, 0.02, 0.025, 0.005, 0.005, 0.03, 0.015, 0.015, 0.015]
)
CAUSE_WEIGHTS_ELDERLY = np.array([0.47, 0.15, 0.24, 0.04, 0.02, 0, 0.02, 0, 0, 0, 0.02, 0.04, 0, 0])
RELATIONS = (
    "head",
    "spouse",
    "son",
    "daughter",
    "daughter_in_law",
    "son_in_law",
    "grandson",
    "granddaughter",
    "daughters_son",
    "daughters_daughter",
    "father",
    "mother",
)
EDUCATION = (
    "illiterate",
    "primary",
    "junior",
    "senior",
    "secondary_vocational",
    "college",
    "preschool",
)
SCHOOLING = (
    "not_student",
    "preschool",
    "primary",
    "junior",
    "senior",
    "secondary_vocational",
    "higher_vocational",
    "junior_college",
    "undergraduate",
)
HEALTH = ("healthy", "chronic", "serious_illness", "disabled")
LABOUR = ("ordinary", "skilled", "weak", "lost", "none")
WORK_PLACES = ("none", "township", "county", "province", "outside")
CATEGORIES = ("general", "dibao", "tekun")
STANDARDS = ("provincial", "national", "city")
STATUSES = ("not_out", "exited", "returned")
GRADES = ("A", "B", "C", "D")
MOBILE_PREFIXES = _words(
    "134 135 136 137 138 139 150 151 152 157 158 159 182 183 187 "
    "188 130 131 132 155 156 185 186 133 153 180 189 177 176 173"
)

# --- Household structures ----------------------------------------------------------------------

# Slots of a household template.
HEAD, SPOUSE, CHILD, ADULT_CHILD, PARTNER, GRANDCHILD, FATHER, MOTHER = range(8)
# (share of all households, head age range, share of female heads, slots). Mean size ≈ 2.9.
TEMPLATES: tuple[tuple[float, int, int, float, tuple[int, ...]], ...] = (
    (0.150, 62, 92, 0.45, (HEAD,)),  # elderly living alone
    (0.050, 35, 61, 0.25, (HEAD,)),  # single adult (often ill or disabled)
    (0.165, 58, 88, 0.03, (HEAD, SPOUSE)),  # elderly couple
    (0.030, 40, 57, 0.03, (HEAD, SPOUSE)),
    (0.045, 55, 85, 0.30, (HEAD, CHILD)),  # elderly parent with an unmarried (often disabled) child
    (0.030, 30, 48, 0.50, (HEAD, CHILD)),  # single parent
    (0.030, 35, 60, 0.20, (HEAD, MOTHER)),
    (0.094, 30, 60, 0.03, (HEAD, SPOUSE, CHILD)),
    (0.017, 35, 58, 0.03, (HEAD, SPOUSE, MOTHER)),
    (0.025, 32, 50, 0.50, (HEAD, CHILD, CHILD)),
    (0.034, 55, 78, 0.03, (HEAD, SPOUSE, GRANDCHILD)),  # grandparents raising a left-behind child
    (0.096, 30, 52, 0.03, (HEAD, SPOUSE, CHILD, CHILD)),
    (0.032, 35, 55, 0.03, (HEAD, SPOUSE, CHILD, MOTHER)),
    (0.032, 55, 78, 0.03, (HEAD, SPOUSE, GRANDCHILD, GRANDCHILD)),
    (0.050, 48, 72, 0.03, (HEAD, SPOUSE, ADULT_CHILD, PARTNER, GRANDCHILD)),
    (0.025, 35, 52, 0.03, (HEAD, SPOUSE, CHILD, CHILD, MOTHER)),
    (0.025, 33, 50, 0.03, (HEAD, SPOUSE, CHILD, CHILD, CHILD)),
    (0.027, 48, 72, 0.03, (HEAD, SPOUSE, ADULT_CHILD, PARTNER, GRANDCHILD, GRANDCHILD)),
    (0.018, 33, 50, 0.03, (HEAD, SPOUSE, CHILD, CHILD, FATHER, MOTHER)),
    (
        0.0125,
        50,
        74,
        0.03,
        (HEAD, SPOUSE, ADULT_CHILD, PARTNER, GRANDCHILD, GRANDCHILD, GRANDCHILD),
    ),
    (0.0125, 35, 50, 0.03, (HEAD, SPOUSE, CHILD, CHILD, CHILD, FATHER, MOTHER)),
)


def _pick(rng: np.random.Generator, weights: Array, size: int) -> Array:
    """Indices drawn with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(p), size=size, p=p / p.sum())


def _groups(counts: Array) -> tuple[Array, Array, Array]:
    """For groups of the given sizes: each element's group, its position in it, group starts."""
    counts = np.asarray(counts, dtype=np.int64)
    starts = np.cumsum(counts) - counts
    group = np.repeat(np.arange(len(counts)), counts)
    return group, np.arange(int(counts.sum())) - starts[group], starts


def _at_least(rng: np.random.Generator, values: Array, low: float, spread: float) -> Array:
    """``values`` with those below ``low`` drawn again from [low, low + spread)."""
    under = values < low
    return np.where(under, low + rng.random(len(values)) * spread, values)


def _digits(values: Array, width: int) -> Array:
    """ASCII digit codes of non-negative integers, zero-padded: shape (len(values), width)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((np.asarray(values, dtype=np.int64)[:, None] // powers) % 10 + 48).astype(np.uint8)


def _ascii(strings: Sequence[str]) -> Array:
    """Equal-length ASCII strings as a (len, width) uint8 matrix."""
    width = len(strings[0]) if strings else 0
    return np.frombuffer("".join(strings).encode("ascii"), dtype=np.uint8).reshape(
        len(strings), width
    )


def _strings(matrix: Array) -> Array:
    """A (n, width) matrix of ASCII codes back to an array of Python-ready strings."""
    width = matrix.shape[1]
    packed = np.ascontiguousarray(matrix, dtype=np.uint8).view(f"S{width}").ravel()
    return packed.astype(f"U{width}")


ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


def id_numbers(address: Array, birth: Array, sequence: Array) -> Array:
    """18-character id numbers (GB 11643), vectorised: ``address`` 6-digit ints, ``birth``
    datetime64[D], ``sequence`` 0–999. The check character is ISO 7064 MOD 11-2, like
    ``idnumbers.make_id_number``."""
    years = birth.astype("datetime64[Y]")
    months = birth.astype("datetime64[M]")
    ymd = (
        (years.astype(np.int64) + 1970) * 10000
        + (months - years).astype(np.int64) * 100
        + 100
        + (birth - months).astype(np.int64)
        + 1
    )
    body = np.concatenate([_digits(address, 6), _digits(ymd, 8), _digits(sequence, 3)], axis=1)
    check = ID_CHECK[((body.astype(np.int64) - 48) @ ID_WEIGHTS) % 11]
    return np.concatenate([body, check[:, None]], axis=1)


# --- The generation ----------------------------------------------------------------------------


def generate_demo(
    *,
    households: int = DEFAULT_HOUSEHOLDS,
    seed: int = DEFAULT_SEED,
    replace: bool = False,
    progress: Progress | None = None,
) -> DemoResult:
    """Build the demo city into the current database and create the demo accounts.

    Refuses (DemoError) when households exist, unless ``replace`` deletes the registry first.
    """
    if households < 1:
        raise DemoError("The number of households must be at least 1.")
    say: Progress = progress or (lambda _line: None)
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    with transaction.atomic():
        if Household.objects.exists():
            if not replace:
                raise DemoError(
                    "Households exist already; use --replace to delete the registry first."
                )
            _stage(say, "delete registry", lambda: f"{_delete_registry():,} rows")
        with bulk.bulk_session():
            villages = _stage(say, "villages", lambda: _villages(rng))
            hh = _stage(
                say, "households (draw)", lambda: _draw_households(rng, households, villages)
            )
            mem = _stage(say, "members (draw)", lambda: _draw_members(rng, hh, villages))
            rec = _stage(say, "records (draw)", lambda: _draw_records(rng, hh, mem))
            _stage(say, "households (write)", lambda: _write_households(hh, villages, mem, rec))
            _stage(say, "members (write)", lambda: _write_members(mem, hh, rec))
            _stage(say, "records (write)", lambda: _write_records(rec, hh))
            _stage(say, "populations (write)", lambda: _write_populations(hh, mem, villages, seed))
            _stage(say, "history (write)", lambda: _write_history(hh, villages, seed))
            _stage(say, "statistics", _analyze)
        city = Division.objects.get(code=CITY_CODE)
        result = DemoResult(
            villages=len(villages.codes),
            households=households,
            members=len(mem["hh"]),
            records=len(rec["hh"]),
            seconds=0.0,
            accounts=[],
        )
        audit_record(
            actor=None,
            action="demo.generate",
            entity="registry",
            entity_key=f"demo-{seed}",
            division_path=city.path,
            source=ChangeSource.command("generate-demo"),
            after={
                "seed": seed,
                "households": households,
                "members": result.members,
                "records": result.records,
                "villages": result.villages,
                "replace": replace,
            },
        )
        accounts = _stage(say, "demo accounts", lambda: _accounts(villages))
    seconds = time.perf_counter() - started
    say(
        f"done: {households:,} households, {result.members:,} people, "
        f"{result.records:,} yearly records in {seconds:.1f} s"
    )
    return DemoResult(
        result.villages, households, result.members, result.records, seconds, accounts
    )


def _stage(say: Progress, name: str, work: Callable[[], T]) -> T:
    started = time.perf_counter()
    value = work()
    detail = value if isinstance(value, str) else _describe(value)
    say(f"{name + ':':<20} {detail:<34} {time.perf_counter() - started:6.1f} s")
    return value


def _describe(value: Any) -> str:
    if isinstance(value, _Villages):
        return f"{len(value.codes):,} villages"
    if isinstance(value, dict) and "hh" in value:
        return f"{len(value['hh']):,} rows"
    if isinstance(value, dict) and "count" in value:
        return f"{value['count']:,} rows"
    if isinstance(value, list):
        return f"{len(value)} accounts"
    return "" if value is None else str(value)


@dataclass(frozen=True)
class _Villages:
    codes: list[str]
    ids: Array  # Division primary keys
    county: Array  # index into counties
    counties: list[str]  # 6-digit county codes


def _townships() -> list[tuple[str, str]]:
    """(code, parent county code) of the townships under the city; loads the bundled tree if
    the database has none."""
    city = Division.objects.filter(code=CITY_CODE).first()
    if city is None:
        divisions_load_csv(BUNDLED_DIVISIONS)
        city = Division.objects.get(code=CITY_CODE)
    rows = list(
        Division.objects.subtree(city.path)
        .filter(level=Level.TOWNSHIP)
        .order_by("code")
        .values_list("code", "parent__code")
    )
    if not rows:
        divisions_load_csv(BUNDLED_DIVISIONS)
        return _townships()
    return [(code, parent or code) for code, parent in rows]


def _village_names(rng: np.random.Generator, count: int) -> list[str]:
    names: list[str] = []
    taken: set[str] = set()
    while len(names) < count:
        prefix = VILLAGE_PREFIXES[int(rng.integers(len(VILLAGE_PREFIXES)))]
        if rng.random() < 0.25:
            prefix = VILLAGE_PLACES[int(rng.integers(len(VILLAGE_PLACES)))] + prefix
        name = prefix + VILLAGE_SUFFIXES[int(rng.integers(len(VILLAGE_SUFFIXES)))] + "村"
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def _villages(rng: np.random.Generator) -> _Villages:
    """35–55 villages under each township, codes from 201, loaded as a division file."""
    townships = _townships()
    lines = ["code,name,level,parent_code"]
    codes: list[str] = []
    county_of: list[str] = []
    for township, county in townships:
        count = int(rng.integers(35, 56))
        for number, name in enumerate(_village_names(rng, count), start=201):
            code = f"{township[:9]}{number:03d}"
            codes.append(code)
            county_of.append(county[:6])
            lines.append(f"{code},{name},{Level.VILLAGE},{township}")
    with tempfile.TemporaryDirectory(prefix="fupin-demo-") as folder:
        path = Path(folder) / "demo-villages.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        divisions_load_csv(path)
    ids = dict(
        Division.objects.filter(level=Level.VILLAGE, code__in=codes).values_list("code", "id")
    )
    counties = sorted(set(county_of))
    index = {c: i for i, c in enumerate(counties)}
    return _Villages(
        codes=codes,
        ids=np.array([ids[c] for c in codes], dtype=np.int64),
        county=np.array([index[c] for c in county_of], dtype=np.int64),
        counties=counties,
    )


def _draw_households(rng: np.random.Generator, n: int, villages: _Villages) -> dict[str, Any]:
    """Household-level columns that do not depend on the members."""
    weights = rng.lognormal(0.0, 0.6, len(villages.codes))
    weights *= np.array([COUNTY_WEIGHT.get(c, 1.0) for c in villages.counties])[villages.county]
    per_village = rng.multinomial(n, weights / weights.sum())
    village, serial, _ = _groups(per_village)
    if serial.max(initial=0) >= 99_999:
        raise DemoError("Too many households for one village; generate fewer households.")
    template = _pick(rng, np.array([t[0] for t in TEMPLATES]), n)
    year = FIRST_YEAR + _pick(rng, np.array([0.80, 0.12, 0.08]), n)
    # Phones: a plausible mobile for most, none for some elderly.
    prefixes = np.array(MOBILE_PREFIXES).astype(np.int64)[
        rng.integers(len(MOBILE_PREFIXES), size=n)
    ]
    phone = _strings(
        np.concatenate(
            [_digits(prefixes, 3), _digits(rng.integers(0, 100_000_000, size=n), 8)], axis=1
        )
    ).astype(object)
    phone[rng.random(n) < 0.05] = ""
    codes = _ascii(villages.codes)
    household_no = _strings(np.concatenate([codes[village], _digits(serial + 1, 5)], axis=1))
    return {
        "hh": np.arange(n),
        "village": village,
        "household_no": household_no,
        "template": template,
        "year": year,
        "phone": phone,
        "standard": _pick(rng, np.array([0.92, 0.06, 0.02]), n),
        "hui": rng.random(n) < 0.015,
    }


def _draw_members(
    rng: np.random.Generator, hh: dict[str, Any], villages: _Villages
) -> dict[str, Any]:
    """Members of every household, with the household facts that follow from them (cause,
    category)."""
    n = len(hh["hh"])
    tmpl = hh["template"]
    t_slots = [t[4] for t in TEMPLATES]
    t_size = np.array([len(s) for s in t_slots])
    t_offset = np.cumsum(t_size) - t_size
    flat_slots = np.array([s for slots in t_slots for s in slots])
    size = t_size[tmpl]
    member_hh, pos, starts = _groups(size)
    m = len(member_hh)
    slot = flat_slots[t_offset[tmpl[member_hh]] + pos]
    has_spouse = np.array([SPOUSE in s for s in t_slots])[tmpl]
    has_adult_child = np.array([ADULT_CHILD in s for s in t_slots])[tmpl]

    # Ages in years on the reference day.
    lo = np.array([t[1] for t in TEMPLATES], dtype=np.float64)[tmpl]
    hi = np.array([t[2] for t in TEMPLATES], dtype=np.float64)[tmpl]
    head_age = lo + rng.random(n) * (hi - lo + 1)
    ha = head_age[member_hh]
    age = np.select(
        [
            slot == HEAD,
            slot == SPOUSE,
            slot == CHILD,
            slot == ADULT_CHILD,
            slot == PARTNER,
            slot == GRANDCHILD,
            slot == FATHER,
            slot == MOTHER,
        ],
        [
            ha,
            ha + rng.normal(-2.5, 2.5, m),
            ha - rng.uniform(22, 34, m),
            ha - rng.uniform(22, 30, m),
            0.0,
            ha - rng.uniform(46, 56, m),
            ha + rng.uniform(24, 34, m),
            ha + rng.uniform(22, 32, m),
        ],
    )
    partner = slot == PARTNER
    adult_child = slot == ADULT_CHILD
    # Ages out of range are drawn again within it (clipping would pile people on one birthday).
    age[adult_child] = _at_least(rng, age[adult_child], 21, 4)
    age[partner] = _at_least(
        rng, age[np.flatnonzero(partner) - 1] + rng.normal(-1.5, 2.0, int(partner.sum())), 20, 4
    )
    age[slot == SPOUSE] = _at_least(rng, age[slot == SPOUSE], 19, 6)
    # Grandchildren of a married child are 22–30 years younger than that child.
    parent_age = np.zeros(n)
    parent_age[has_adult_child] = age[starts[has_adult_child] + 2]
    via_child = (slot == GRANDCHILD) & has_adult_child[member_hh]
    age[via_child] = parent_age[member_hh[via_child]] - rng.uniform(22, 30, int(via_child.sum()))
    raised = (slot == GRANDCHILD) & ~has_adult_child[member_hh] & ((age < 1) | (age > 17))
    age[raised] = rng.uniform(1, 17, int(raised.sum()))  # a left-behind grandchild
    age = _at_least(rng, age, 0.05, 6)
    too_old = age > 97
    age[too_old] = rng.uniform(85, 97, int(too_old.sum()))
    age_days = np.rint(age * 365.25).astype(np.int64)
    birth = REFERENCE_DAY - age_days.astype("timedelta64[D]")
    years = age_days / 365.25

    # Sex: heads mostly men; spouses and partners the other sex.
    female_head = rng.random(n) < np.array([t[3] for t in TEMPLATES])[tmpl]
    male = rng.random(m) < np.where(slot == ADULT_CHILD, 0.85, 0.52)
    male[slot == HEAD] = ~female_head
    male[slot == SPOUSE] = female_head[member_hh[slot == SPOUSE]]
    male[slot == FATHER] = True
    male[slot == MOTHER] = False
    male[partner] = ~male[np.flatnonzero(partner) - 1]
    ac_female = np.zeros(n, dtype=bool)
    ac_female[has_adult_child] = ~male[starts[has_adult_child] + 2]

    relation = np.select(
        [
            slot == HEAD,
            slot == SPOUSE,
            (slot == CHILD) | (slot == ADULT_CHILD),
            partner & ~male,
            partner & male,
            (slot == GRANDCHILD) & ~ac_female[member_hh],
            slot == GRANDCHILD,
            slot == FATHER,
        ],
        [0, 1, np.where(male, 2, 3), 4, 5, np.where(male, 6, 7), np.where(male, 8, 9), 10],
        default=11,
    )

    # Surnames: children take the family name (the head's, or the husband's of a woman head);
    # a daughter's children take her husband's; spouses, partners and mothers have their own.
    own = _pick(rng, SURNAME_WEIGHTS, m)
    head_s = own[starts]
    family = head_s.copy()
    married_woman_head = female_head & has_spouse
    family[married_woman_head] = own[starts[married_woman_head] + 1]
    surname = own.copy()
    kin = (slot == CHILD) | (slot == ADULT_CHILD) | (slot == GRANDCHILD)
    surname[kin] = family[member_hh[kin]]
    via_daughter = (slot == GRANDCHILD) & ac_female[member_hh]
    surname[via_daughter] = own[starts[member_hh[via_daughter]] + 3]
    surname[slot == FATHER] = head_s[member_hh[slot == FATHER]]

    # Given names by sex and generation.
    birth_year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    generation = np.where(birth_year < 1965, 0, np.where(birth_year < 1990, 1, 2))
    pools = [(sex, g) for sex in ("male", "female") for g in range(3)]
    pool = np.where(male, 0, 3) + generation
    pool_size = np.array([len(GIVEN_NAMES[p]) for p in pools])
    pool_offset = np.cumsum(pool_size) - pool_size
    given_all = np.array([g for p in pools for g in GIVEN_NAMES[p]], dtype=object)
    given = given_all[pool_offset[pool] + (rng.random(m) * pool_size[pool]).astype(np.int64)]
    surnames = np.array(SURNAMES, dtype=object)
    name = surnames[surname] + given

    # Health by age; then the household's main cause, made true of at least one member.
    u = rng.random(m)
    cut = np.where(
        years[:, None] < 16,
        [0.95, 0.96, 0.97],
        np.where(years[:, None] < 60, [0.80, 0.91, 0.93], [0.48, 0.88, 0.92]),
    )
    health = (u[:, None] >= cut).sum(axis=1)

    elderly_only = np.minimum.reduceat(years, starts) >= 60
    in_school_age = (years >= 6) & (years < 22)
    has_pupil = np.bincount(member_hh, weights=in_school_age, minlength=n) > 0
    cause = np.empty(n, dtype=np.int64)
    for weights, chosen in (
        (CAUSE_WEIGHTS_ELDERLY, elderly_only),
        (CAUSE_WEIGHTS_2014, ~elderly_only & (hh["year"] < 2016)),
        (CAUSE_WEIGHTS_2016, ~elderly_only & (hh["year"] >= 2016)),
    ):
        cause[chosen] = _pick(rng, weights, int(chosen.sum()))
    cause[(cause == CAUSES.index("schooling")) & ~has_pupil] = CAUSES.index("illness")
    patient = starts + np.where(rng.random(n) < 0.5, 0, (rng.random(n) * size).astype(np.int64))
    ill = cause == CAUSES.index("illness")
    health[patient[ill]] = np.where(rng.random(int(ill.sum())) < 0.4, 2, 1)
    disabled_cause = cause == CAUSES.index("disability")
    health[patient[disabled_cause]] = 3

    # Category: elderly singles and couples are often dibao or tekun (特困供养).
    small_elderly = elderly_only & (size <= 2)
    category = np.where(
        small_elderly,
        _pick(rng, np.array([0.40, 0.35, 0.25]), n),
        _pick(rng, np.array([0.79, 0.20, 0.01]), n),
    )
    weak_causes = np.isin(cause, [CAUSES.index("illness"), CAUSES.index("disability")])
    category[(category == 0) & weak_causes & (rng.random(n) < 0.12)] = 1

    # Other causes: 0–2, different from the main cause and from each other.
    other_count = _pick(rng, np.array([0.45, 0.40, 0.15]), n)
    first = _pick(rng, CAUSE_WEIGHTS_2014, n)
    second = _pick(rng, CAUSE_WEIGHTS_2014, n)
    first[(other_count < 1) | (first == cause)] = -1
    second[(other_count < 2) | (second == cause) | (second == first)] = -1
    table = np.empty((len(CAUSES) + 1, len(CAUSES) + 1), dtype=object)
    for a in range(-1, len(CAUSES)):
        for b in range(-1, len(CAUSES)):
            table[a, b] = json.dumps([CAUSES[c] for c in (a, b) if c >= 0])
    other_causes = table[first, second]

    # Schooling and education by age and birth cohort.
    schooling = np.select(
        [years < 3, years < 6, years < 12, years < 15, years < 16, years < 19, years < 23],
        [
            0,
            1,
            2,
            3,
            np.where(rng.random(m) < 0.5, 3, 4),
            _pick(rng, np.array([0.25, 0, 0, 0, 0.50, 0.25]), m),
            _pick(rng, np.array([0.80, 0, 0, 0, 0, 0, 0.08, 0.05, 0.07]), m),
        ],
        default=0,
    )
    adult_education = np.select(
        [years >= 60, years >= 40],
        [
            _pick(rng, np.array([0.45, 0.40, 0.15]), m),
            _pick(rng, np.array([0.15, 0.40, 0.38, 0.07]), m),
        ],
        default=_pick(rng, np.array([0, 0.10, 0.55, 0.20, 0.08, 0.07]), m),
    )
    education = np.select(
        [years < 6, years < 12, years < 15, years < 19, schooling >= 6],
        [6, 1, 2, np.where(schooling == 4, 3, np.where(schooling == 5, 4, 2)), 5],
        default=adult_education,
    )

    # Labour and work: children and students none, the elderly none or weak.
    student = (schooling > 0) & (years >= 6)
    u = rng.random(m)
    labour = np.select(
        [(years < 16) | student, years >= 65, health == 0, health == 1, health == 2],
        [
            4,
            np.where(u < 0.45, 4, np.where(u < 0.9, 2, 3)),
            np.where(u < 0.85, 0, np.where(u < 0.95, 1, 2)),
            np.where(u < 0.4, 0, 2),
            np.where(u < 0.5, 3, 2),
        ],
        default=np.where(u < 0.5, 3, np.where(u < 0.9, 2, 4)),
    )
    working_age = (years >= 16) & (years < 60) & ~student & (labour <= 1)
    away = working_age & (rng.random(m) < 0.5)
    work_place = np.where(away, 1 + _pick(rng, np.array([0.15, 0.30, 0.30, 0.25]), m), 0)
    work_months = np.where(away, rng.integers(3, 13, m), 0)

    # Id numbers: the county of the village (spouses and in-laws partly from other counties);
    # most people born before 1997 still carry the 3725xx code of the 聊城地区.
    county = villages.county[hh["village"]][member_hh]
    married_in = (slot == SPOUSE) | partner | (slot == MOTHER)
    moved = married_in & (rng.random(m) < 0.25)
    county = np.where(moved, rng.integers(0, len(villages.counties), m), county)
    new_codes = np.array([int(COUNTY_ID_CODES.get(c, (c, "372501"))[0]) for c in villages.counties])
    old_codes = np.array([int(COUNTY_ID_CODES.get(c, (c, "372501"))[1]) for c in villages.counties])
    old = (birth_year < 1997) & (rng.random(m) < 0.9)
    address = np.where(old, old_codes[county], new_codes[county])
    address[(address == 371523) & (birth_year >= 2019)] = 371503
    sequence = _sequences(rng, address, birth, male)
    ids = id_numbers(address, birth, sequence)
    person_key = _strings(ids)
    # A few disabled people registered with their 20-character disability certificate number.
    certificate = (health == 3) & (rng.random(m) < 0.05)
    suffix = np.stack(
        [48 + _pick(rng, np.array([1, 2, 1, 5, 2, 2, 1]), m) + 1, 48 + rng.integers(1, 5, m)],
        axis=1,
    ).astype(np.uint8)
    id_number = person_key.astype(object)
    id_number[certificate] = _strings(
        np.concatenate([ids[certificate], suffix[certificate]], axis=1)
    )
    # Public ids: uuid4 from the seeded generator, so the same seed gives the same city.
    raw = rng.integers(0, 256, size=(m, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    hexed = raw.tobytes().hex()
    public_id = np.array([hexed[i : i + 32] for i in range(0, len(hexed), 32)], dtype=object)

    ethnicity = np.where(hh["hui"][member_hh], "03", "01")
    basic_medical = rng.random(m) < 0.99
    return {
        "hh": member_hh,
        "starts": starts,
        "size": size,
        "slot": slot,
        "name": name,
        "public_id": public_id,
        "id_number": id_number,
        "person_key": person_key,
        "male": male,
        "birth": np.datetime_as_string(birth, unit="D"),
        "relation": relation,
        "ethnicity": ethnicity,
        "education": education,
        "schooling": schooling,
        "health": health,
        "labour": labour,
        "work_place": work_place,
        "work_months": work_months,
        "basic_medical": basic_medical,
        "critical_illness": basic_medical & (rng.random(m) < 0.95),
        "pension": np.where(years >= 16, rng.random(m) < 0.88, -1),
        "cause": cause,
        "category": category,
        "other_causes": other_causes,
        "migrant": np.bincount(member_hh, weights=away, minlength=n) > 0,
    }


def _sequences(rng: np.random.Generator, address: Array, birth: Array, male: Array) -> Array:
    """Sequence codes that make every id unique: odd for men, even for women, counted from a
    random start within each group of people of one sex, address code and birth date."""
    key = address.astype(np.int64) * 100_000 + (birth - np.datetime64("1900-01-01")).astype(
        np.int64
    )
    key = key * 2 + male
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    new_group = np.ones(len(key), dtype=bool)
    new_group[1:] = sorted_key[1:] != sorted_key[:-1]
    group = np.cumsum(new_group) - 1
    group_size = np.bincount(group)
    if group_size.max(initial=0) > 499:
        raise DemoError(
            "Too many people share a county and a birth date; generate fewer households."
        )
    first = np.flatnonzero(new_group)
    start = np.minimum(rng.integers(0, 250, len(first)), 499 - group_size)
    number = np.empty(len(key), dtype=np.int64)
    number[order] = np.arange(len(key)) - first[group] + start[group]
    return number * 2 + np.where(male, 1, 2)


def _draw_records(
    rng: np.random.Generator, hh: dict[str, Any], mem: dict[str, Any]
) -> dict[str, Any]:
    """Yearly records from the identification year to 2020 and the household status they imply."""
    n = len(hh["hh"])
    size = mem["size"]
    first_year = hh["year"]
    lines = np.array([POVERTY_LINES[y] for y in range(FIRST_YEAR, LAST_YEAR + 1)], dtype=np.float64)
    count = LAST_YEAR + 1 - first_year
    rec_hh, pos, starts = _groups(count)
    r = len(rec_hh)
    year = first_year[rec_hh] + pos
    line = lines[year - FIRST_YEAR]

    # Per-capita net income: below the line when identified, then growing year on year; a few
    # households suffer a shock (illness, disaster) and fall back.
    start_ratio = rng.uniform(0.50, 0.95, n)
    growth = np.clip(rng.normal(1.27, 0.075, n), 1.0, 1.5)
    step = np.log(growth[rec_hh]) + rng.normal(0.0, 0.06, r)
    shocked = rng.random(n) < 0.045
    shock_year = first_year + rng.integers(2, count)
    hit = shocked[rec_hh] & (year == shock_year[rec_hh])
    step[hit] += np.log(rng.uniform(0.45, 0.75, int(hit.sum())))
    step[starts] = np.log(start_ratio * lines[first_year - FIRST_YEAR])
    total = np.cumsum(step)
    per_capita = np.exp(total - (total[starts] - step[starts])[rec_hh])
    # Keep clear of the line so that > and ≥ tests agree.
    ratio = per_capita / line
    ratio = np.where((ratio > 0.98) & (ratio < 1.03), np.where(ratio < 1.0, 0.97, 1.04), ratio)
    rsize = size[rec_hh]
    net = np.rint(ratio * line * rsize * 100).astype(np.int64)

    # Split the net income into the components (in cents).
    category = mem["category"][rec_hh]
    transfer_share = np.select(
        [category == 1, category == 2],
        [rng.uniform(0.40, 0.65, r), rng.uniform(0.65, 0.90, r)],
        default=rng.uniform(0.08, 0.30, r),
    )
    transfer = np.rint(net * transfer_share).astype(np.int64)
    solar = (rng.random(n) < 0.3)[rec_hh] & (year >= 2016)
    dividend = rng.integers(300, 1001, n)[rec_hh] * 100 + (year - 2016) * 5000
    prop = np.minimum(np.where(solar, dividend, 0), net - transfer)
    rest = net - transfer - prop
    wage_share = np.where(
        mem["migrant"][rec_hh], rng.uniform(0.55, 0.85, r), rng.uniform(0.10, 0.40, r)
    )
    wage = np.rint(rest * wage_share).astype(np.int64)
    business_net = rest - wage
    business = np.rint(business_net / (1 - rng.uniform(0.25, 0.45, r))).astype(np.int64)
    cost = business - business_net

    above = net >= np.rint(line * 100).astype(np.int64) * rsize
    excluded = np.where(rng.random(r) < 0.15, rng.integers(200, 1501, r) * 100, 0)
    # Short-term aid never decides the exit: drop it where counting it out would cross the line.
    excluded[above & (net - excluded < line * 100 * rsize * 1.02)] = 0

    # Status from the records: exit in the first year above the line.
    above_year = np.where(above, year, 9999)
    exit_year = np.minimum.reduceat(above_year, starts)
    last_above = above[starts + count - 1]
    exited = exit_year < 9999
    status = np.where(~exited, 0, np.where(last_above, 1, 2))

    # Conditions: C/D houses renovated and water made safe by the exit year.
    grade0 = _pick(rng, np.array([0.20, 0.45, 0.25, 0.10]), n)
    deadline = np.where(exited, exit_year, LAST_YEAR + 2)
    renovated = first_year + 1 + (rng.random(n) * (deadline - first_year)).astype(np.int64)
    new_grade = np.where(rng.random(n) < 0.4, 0, 1)
    grade = np.where(
        (grade0[rec_hh] >= 2) & (year >= renovated[rec_hh]), new_grade[rec_hh], grade0[rec_hh]
    )
    water_fixed = np.where(rng.random(n) < 0.25, renovated, first_year)
    safe_water = year >= water_fixed[rec_hh]
    hungry = (rng.random(n) < 0.08)[rec_hh] & (pos == 0)
    farmland = np.round(size * rng.uniform(0.6, 1.5, n), 2).astype(object)
    farmland[rng.random(n) < 0.05] = None
    return {
        "hh": rec_hh,
        "year": year,
        "size": rsize,
        "wage": wage,
        "business": business,
        "property": prop,
        "transfer": transfer,
        "cost": cost,
        "excluded": excluded,
        "farmland": farmland[rec_hh],
        "grade": grade,
        "safe_water": safe_water,
        "food": ~hungry,
        "clothing": ~hungry,
        "status": status,
        "exit_year": np.where(exited, exit_year, -1),
    }


# --- Writing -----------------------------------------------------------------------------------


def _write_households(
    hh: dict[str, Any], villages: _Villages, mem: dict[str, Any], rec: dict[str, Any]
) -> dict[str, int]:
    n = len(hh["hh"])
    first_id = (Household.objects.aggregate(models.Max("id"))["id__max"] or 0) + 1
    hh["id"] = np.arange(first_id, first_id + n, dtype=np.int64)
    heads = mem["name"][mem["starts"]]
    initials = {name: name_initials(name) for name in set(heads.tolist())}
    status = np.array(STATUSES, dtype=object)[rec["status"]]
    exit_year = rec["exit_year"].astype(object)
    exit_year[rec["exit_year"] < 0] = None
    now = bulk.now_value()
    bulk.insert_rows(
        Household,
        {
            "id": hh["id"],
            "created_at": now,
            "updated_at": now,
            "household_no": hh["household_no"],
            "division": villages.ids[hh["village"]],
            "head_name": heads,
            "head_name_initials": np.array([initials[h] for h in heads.tolist()], dtype=object),
            "phone": hh["phone"],
            "identified_year": hh["year"],
            "standard": np.array(STANDARDS, dtype=object)[hh["standard"]],
            "category": np.array(CATEGORIES, dtype=object)[mem["category"]],
            "main_cause": np.array(CAUSES, dtype=object)[mem["cause"]],
            "other_causes": mem["other_causes"],
            "status": status,
            "exit_year": exit_year,
        },
        n,
        chunk=CHUNK,
    )
    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), [Household]):
            cursor.execute(sql)
    return {"count": n}


def _write_members(mem: dict[str, Any], hh: dict[str, Any], rec: dict[str, Any]) -> dict[str, int]:
    m = len(mem["hh"])
    category = mem["category"][mem["hh"]]
    # Basic medical insurance is part of the exit test (三保障): every exited member has it.
    basic_medical = mem["basic_medical"] | (rec["status"][mem["hh"]] == STATUSES.index("exited"))
    nullable = np.array([False, True, None], dtype=object)
    now = bulk.now_value()
    bulk.insert_rows(
        Member,
        {
            "created_at": now,
            "updated_at": now,
            "public_id": mem["public_id"],
            "household": hh["id"][mem["hh"]],
            "name": mem["name"],
            "id_number": mem["id_number"],
            "person_key": mem["person_key"],
            "sex": np.where(mem["male"], "male", "female").astype(object),
            "birth_date": mem["birth"],
            "relation": np.array(RELATIONS, dtype=object)[mem["relation"]],
            "ethnicity": mem["ethnicity"],
            "education": np.array(EDUCATION, dtype=object)[mem["education"]],
            "schooling": np.array(SCHOOLING, dtype=object)[mem["schooling"]],
            "health": np.array(HEALTH, dtype=object)[mem["health"]],
            "labour": np.array(LABOUR, dtype=object)[mem["labour"]],
            "work_place": np.array(WORK_PLACES, dtype=object)[mem["work_place"]],
            "work_months": mem["work_months"],
            "basic_medical": basic_medical,
            "critical_illness": mem["critical_illness"] & basic_medical,
            "pension": nullable[mem["pension"].astype(np.int64)],
            "dibao": category == 1,
            "tekun": category == 2,
            "is_active": True,
            "left_on": None,
            "left_reason": "",
        },
        m,
        chunk=CHUNK,
    )
    return {"count": m}


def _write_records(rec: dict[str, Any], hh: dict[str, Any]) -> dict[str, int]:
    r = len(rec["hh"])
    now = bulk.now_value()

    def yuan(cents: Array) -> Array:
        return np.round(cents / 100.0, 2)

    bulk.insert_rows(
        YearlyRecord,
        {
            "created_at": now,
            "updated_at": now,
            "household": hh["id"][rec["hh"]],
            "survey_year": rec["year"],
            "household_size": rec["size"],
            "wage_income": yuan(rec["wage"]),
            "business_income": yuan(rec["business"]),
            "property_income": yuan(rec["property"]),
            "transfer_income": yuan(rec["transfer"]),
            "business_cost": yuan(rec["cost"]),
            "excluded_income": yuan(rec["excluded"]),
            "farmland_mu": rec["farmland"],
            "housing_grade": np.array(GRADES, dtype=object)[rec["grade"]],
            "safe_water": rec["safe_water"],
            "food_secure": rec["food"],
            "clothing_secure": rec["clothing"],
            "has_electricity": True,
        },
        r,
        chunk=CHUNK,
    )
    return {"count": r}


def _write_populations(
    hh: dict[str, Any], mem: dict[str, Any], villages: _Villages, seed: int
) -> dict[str, int]:
    """Each village's registered rural population (农村户籍人口), the denominator of the poverty
    incidence: a few hundred to a few thousand people, and always well above the village's
    registered poor people (an incidence at identification of about 10–60% at most)."""
    # A generator of its own, so that the rest of the city stays what the seed made it before.
    rng = np.random.default_rng([seed, 2])
    count = len(villages.codes)
    poor = np.bincount(hh["village"][mem["hh"]], minlength=count)
    typical = np.clip(rng.lognormal(np.log(900.0), 0.4, count), 250, 4000)
    population = np.maximum(typical, poor / rng.uniform(0.10, 0.60, count))
    population = np.rint(population).astype(np.int64)
    table, (column, key) = bulk.table_and_columns(Division, ["rural_population", "id"])
    sql = f"UPDATE {table} SET {column} = %s WHERE {key} = %s"  # noqa: S608 (identifiers from _meta)
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(zip(population.tolist(), villages.ids.tolist(), strict=True)))
    return {"count": count}


def _write_history(hh: dict[str, Any], villages: _Villages, seed: int) -> dict[str, int]:
    """One registration event per household, so each household's history says where it came from."""
    n = len(hh["hh"])
    paths = dict(Division.objects.filter(pk__in=villages.ids.tolist()).values_list("pk", "path"))
    village_paths = np.array([paths[i] for i in villages.ids.tolist()], dtype=object)
    after = json.dumps({"note": "synthetic demo data", "seed": seed}, ensure_ascii=False)
    bulk.insert_rows(
        AuditEvent,
        {
            "occurred_at": bulk.now_value(),
            "actor_username": "",
            "action": "household.register",
            "entity": "household",
            "entity_key": hh["household_no"],
            "household_no": hh["household_no"],
            "division_path": village_paths[hh["village"]],
            "before": "{}",
            "after": after,
            "source": AuditEvent.Source.COMMAND,
            "source_detail": json.dumps({"command": "generate-demo"}),
        },
        n,
        chunk=CHUNK,
    )
    return {"count": n}


def _analyze() -> str:
    """Fresh planner statistics for the tables just filled (sampled on SQLite, as on PostgreSQL)."""
    tables = (Division, Household, Member, YearlyRecord)
    bulk.analyze(*tables)
    return f"{len(tables)} tables analysed"


def _delete_registry() -> int:
    """Delete every household, member and yearly record (raw, in dependency order)."""
    deleted = 0
    with connection.cursor() as cursor:
        for model in (Member, YearlyRecord):
            cursor.execute("DELETE FROM " + connection.ops.quote_name(model._meta.db_table))  # noqa: S608
            deleted += cursor.rowcount
    # Rows that other apps (assistance, …) hang on households: only when there are some does the
    # (slow, row-by-row) ORM cascade have to apply their on_delete rules.
    others = [
        r
        for r in Household._meta.related_objects
        if r.related_model not in (Member, YearlyRecord) and r.field.model._base_manager.exists()
    ]
    if others:
        deleted += Household.objects.all().delete()[0]
    else:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM " + connection.ops.quote_name(Household._meta.db_table))  # noqa: S608
            deleted += cursor.rowcount
    return deleted


# --- Accounts ----------------------------------------------------------------------------------

DEMO_ACCOUNTS = (
    ("demo_city_admin", Role.CITY_ADMIN, CITY_CODE, "聊城市扶贫办", RankLevel.SECTION),
    ("demo_county_admin", Role.COUNTY_ADMIN, "371502000000", "东昌府区扶贫办", RankLevel.SECTION),
    ("demo_township_a", Role.TOWNSHIP_ADMIN, "371502001000", "古楼街道办事处", RankLevel.OTHER),
    ("demo_township_b", Role.TOWNSHIP_ADMIN, "371502002000", "柳园街道办事处", RankLevel.OTHER),
    ("demo_village_cadre", Role.VILLAGE_CADRE, "371502001201", "村委会", RankLevel.OTHER),
    ("demo_leader", Role.LEADER, CITY_CODE, "聊城市人民政府", RankLevel.CITY),
    ("demo_auditor", Role.AUDITOR, CITY_CODE, "聊城市审计局", RankLevel.SECTION),
    ("demo_department", Role.DEPARTMENT_USER, CITY_CODE, "聊城市农业农村局", RankLevel.SECTION),
    ("demo_pairing", Role.PAIRING_OFFICIAL, "371502000000", "东昌府区教育局", RankLevel.SECTION),
)


def _accounts(villages: _Villages) -> list[DemoAccount]:
    """The demo accounts (skipping those that exist), all with DEMO_PASSWORD."""
    names = dict(
        Division.objects.filter(code__in=[a[2] for a in DEMO_ACCOUNTS]).values_list("code", "name")
    )
    out: list[DemoAccount] = []
    for index, (username, role, code, unit, rank) in enumerate(DEMO_ACCOUNTS):
        if code not in names:
            continue  # a custom division tree without this division
        created = False
        if not User.objects.filter(username=username).exists():
            try:
                user_create(
                    actor=None,
                    source=ChangeSource.command("generate-demo"),
                    username=username,
                    password=DEMO_PASSWORD,
                    role=role,
                    division_code=code,
                    full_name=f"演示用户{index + 1}",
                    unit=unit,
                    rank_level=rank,
                    phone=f"1390635{index:04d}",
                )
                created = True
            except ValidationError as exc:
                raise DemoError(f"{username}: {'; '.join(exc.messages)}") from None
        out.append(DemoAccount(username, str(role), code, names[code], DEMO_PASSWORD, created))
    return out


def demo_seed_of_database() -> tuple[int, int] | None:
    """(seed, households) of the last demo generation in this database, if any."""
    from fupin.core.models import AuditEvent

    event = AuditEvent.objects.filter(action="demo.generate").order_by("-id").first()
    if event is None:
        return None
    return int(event.after.get("seed", -1)), int(event.after.get("households", -1))
