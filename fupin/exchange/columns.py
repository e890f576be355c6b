"""The columns of exchange format v1 (shared/exchange-format.md §2, §3): one definition for
import and export.

Each column has its Chinese header and its key (either may head a column in a file), its type,
whether it is required, and for coded columns the code list whose Chinese labels the file uses.
"""

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    TEXT = "text"  # trimmed text, max_length characters
    HOUSEHOLD_NO = "household_no"  # text ≤ 32 of [0-9A-Za-z-]
    DIVISION = "division"  # 12 digits, a village or group known to the registry
    ID_NUMBER = "id_number"  # exchange-format §4
    PHONE = "phone"  # 11-digit mobile or landline with area code
    INTEGER = "integer"
    YEAR = "year"
    MONEY = "money"  # yuan ≥ 0, at most 2 decimals
    DECIMAL = "decimal"  # number ≥ 0, at most 2 decimals
    DATE = "date"  # YYYY-MM-DD, YYYY/M/D, YYYYMMDD or an Excel date cell
    CODE = "code"  # a Chinese label (or accepted alias) of the code list ``code_list``
    CODES = "codes"  # up to 2 labels of ``code_list`` separated by 、 , ; or ，
    YES_NO = "yes_no"  # 是 / 否


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    kind: Kind
    required: bool = False
    code_list: str = ""
    max_length: int = 0
    minimum: int | None = None
    maximum: int | None = None


HOUSEHOLD_SHEET = "户信息"
MEMBER_SHEET = "成员信息"
HOUSEHOLD_CSV = "households.csv"
MEMBER_CSV = "members.csv"

HOUSEHOLD_COLUMNS: tuple[Column, ...] = (
    Column("household_no", "户编号", Kind.HOUSEHOLD_NO, required=True, max_length=32),
    Column("division_code", "行政区划代码", Kind.DIVISION, required=True),
    Column("head_name", "户主姓名", Kind.TEXT, required=True, max_length=50),
    Column("head_id_number", "户主证件号码", Kind.ID_NUMBER, required=True),
    Column("phone", "联系电话", Kind.PHONE),
    Column("identified_year", "识别年度", Kind.YEAR, required=True, minimum=2013),
    Column("standard", "识别标准", Kind.CODE, required=True, code_list="standard"),
    Column("category", "贫困户属性", Kind.CODE, required=True, code_list="category"),
    Column("main_cause", "主要致贫原因", Kind.CODE, required=True, code_list="main_cause"),
    Column("other_causes", "其他致贫原因", Kind.CODES, code_list="main_cause"),
    Column("status", "户状态", Kind.CODE, required=True, code_list="status"),
    Column("exit_year", "脱贫年度", Kind.YEAR),
    Column("survey_year", "年度", Kind.YEAR, required=True, minimum=2013),
    Column("household_size", "家庭人口", Kind.INTEGER, required=True, minimum=1, maximum=30),
    Column("wage_income", "工资性收入", Kind.MONEY, required=True),
    Column("business_income", "生产经营性收入", Kind.MONEY, required=True),
    Column("property_income", "财产性收入", Kind.MONEY, required=True),
    Column("transfer_income", "转移性收入", Kind.MONEY, required=True),
    Column("business_cost", "生产经营性支出", Kind.MONEY, required=True),
    Column("excluded_income", "不计入收入", Kind.MONEY),
    Column("farmland_mu", "耕地面积", Kind.DECIMAL),
    Column("housing_grade", "住房安全等级", Kind.CODE, required=True, code_list="housing_grade"),
    Column("safe_water", "饮水安全", Kind.YES_NO, required=True),
    Column("food_secure", "不愁吃", Kind.YES_NO, required=True),
    Column("clothing_secure", "不愁穿", Kind.YES_NO, required=True),
    Column("has_electricity", "通生活用电", Kind.YES_NO),
)

MEMBER_COLUMNS: tuple[Column, ...] = (
    Column("household_no", "户编号", Kind.HOUSEHOLD_NO, required=True, max_length=32),
    Column("name", "姓名", Kind.TEXT, required=True, max_length=50),
    Column("id_number", "证件号码", Kind.ID_NUMBER, required=True),
    Column("sex", "性别", Kind.CODE, required=True, code_list="sex"),
    Column("birth_date", "出生日期", Kind.DATE, required=True),
    Column("relation", "与户主关系", Kind.CODE, required=True, code_list="relation"),
    Column("ethnicity", "民族", Kind.CODE, code_list="ethnicity"),
    Column("education", "文化程度", Kind.CODE, code_list="education"),
    Column("schooling", "在校生状况", Kind.CODE, code_list="schooling"),
    Column("health", "健康状况", Kind.CODE, required=True, code_list="health"),
    Column("labour", "劳动技能", Kind.CODE, required=True, code_list="labour"),
    Column("work_place", "务工状况", Kind.CODE, code_list="work_place"),
    Column("work_months", "务工时间", Kind.INTEGER, minimum=0, maximum=12),
    Column("basic_medical", "基本医疗保险", Kind.YES_NO, required=True),
    Column("critical_illness", "大病保险", Kind.YES_NO),
    Column("pension", "养老保险", Kind.YES_NO),
    Column("dibao", "享受低保", Kind.YES_NO),
    Column("tekun", "特困供养", Kind.YES_NO),
)


def header_lookup(columns: tuple[Column, ...]) -> dict[str, Column]:
    """Both the Chinese header and the key of each column, mapped to the column."""
    lookup: dict[str, Column] = {}
    for column in columns:
        lookup[column.zh] = column
        lookup[column.key] = column
    return lookup
