"""Validation of registry input, shared by the web forms, the API and imports.

Each check adds an error with a code from exchange-format §6 to the field it concerns, so
every interface can show it at the field and imports can report it by column.
"""

import datetime as dt
import re
from dataclasses import dataclass, field, fields
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from fupin.core.code_lists import CodeList, code_lists
from fupin.registry.idnumbers import IdNumber, IdNumberError, parse_id_number

HOUSEHOLD_NO = re.compile(r"^[0-9A-Za-z-]{1,32}$")
PHONE = re.compile(r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$")
MONEY_LIMIT = Decimal("9999999999.99")

HOUSEHOLD_LISTS = ("standard", "category", "main_cause", "status")
MEMBER_LISTS = (
    "sex",
    "relation",
    "ethnicity",
    "education",
    "schooling",
    "health",
    "labour",
    "work_place",
)
RECORD_LISTS = ("housing_grade",)


@dataclass
class HouseholdData:
    division_code: str
    identified_year: int
    standard: str
    category: str
    main_cause: str
    status: str
    other_causes: list[str] = field(default_factory=list)
    exit_year: int | None = None
    phone: str = ""


@dataclass
class MemberData:
    name: str
    id_number: str
    sex: str
    birth_date: dt.date
    relation: str
    health: str
    labour: str
    basic_medical: bool
    ethnicity: str = ""
    education: str = ""
    schooling: str = ""
    work_place: str = ""
    work_months: int | None = None
    critical_illness: bool | None = None
    pension: bool | None = None
    dibao: bool | None = None
    tekun: bool | None = None


@dataclass
class RecordData:
    survey_year: int
    household_size: int
    wage_income: Decimal
    business_income: Decimal
    property_income: Decimal
    transfer_income: Decimal
    business_cost: Decimal
    housing_grade: str
    safe_water: bool
    food_secure: bool
    clothing_secure: bool
    excluded_income: Decimal = Decimal(0)
    farmland_mu: Decimal | None = None
    has_electricity: bool | None = None


MEMBER_FIELDS = tuple(f.name for f in fields(MemberData))
RECORD_FIELDS = tuple(f.name for f in fields(RecordData))


class Errors:
    """Field errors collected before anything is written."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.items: dict[str, list[ValidationError]] = {}

    def add(self, field_name: str, message: str, code: str) -> None:
        self.items.setdefault(self.prefix + field_name, []).append(
            ValidationError(message, code=code)
        )

    def merge(self, other: "Errors") -> None:
        for key, errors in other.items.items():
            self.items.setdefault(key, []).extend(errors)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


def _check_code(
    errors: Errors,
    lists: dict[str, CodeList],
    list_key: str,
    field_name: str,
    value: str,
    *,
    required: bool = True,
) -> None:
    if not value:
        if required:
            errors.add(field_name, _("This field is required."), "required")
        return
    item = lists[list_key].codes.get(value)
    if item is None or not item.valid_on(timezone.localdate()):
        errors.add(
            field_name, _("“%(value)s” is not a valid choice.") % {"value": value}, "bad_code"
        )


def _check_year(errors: Errors, field_name: str, value: int | None, *, lowest: int = 2013) -> None:
    this_year = timezone.localdate().year
    if value is None:
        errors.add(field_name, _("This field is required."), "required")
    elif not lowest <= value <= this_year:
        errors.add(
            field_name,
            _("The year must be between %(low)s and %(high)s.")
            % {"low": lowest, "high": this_year},
            "out_of_range",
        )


def validate_household(data: HouseholdData, lists: dict[str, CodeList] | None = None) -> Errors:
    lists = lists or code_lists(*HOUSEHOLD_LISTS)
    errors = Errors()
    _check_year(errors, "identified_year", data.identified_year)
    for key in HOUSEHOLD_LISTS:
        _check_code(errors, lists, key, key, getattr(data, key))
    if len(data.other_causes) > 2:
        errors.add("other_causes", _("At most two other causes may be given."), "out_of_range")
    for cause in data.other_causes:
        _check_code(errors, lists, "main_cause", "other_causes", cause)
        if cause == data.main_cause:
            errors.add(
                "other_causes", _("Other causes must differ from the main cause."), "bad_code"
            )
    if data.phone and not PHONE.match(data.phone):
        errors.add(
            "phone",
            _("Enter an 11-digit mobile number or a landline with its area code."),
            "bad_format",
        )
    if data.status == "exited" and data.exit_year is None:
        errors.add("exit_year", _("An exited household needs its exit year."), "exit_year_missing")
    if data.exit_year is not None:
        _check_year(errors, "exit_year", data.exit_year)
        if data.identified_year and data.exit_year < data.identified_year:
            errors.add(
                "exit_year",
                _("The exit year cannot be before the identification year."),
                "out_of_range",
            )
    return errors


def id_error_message(error: IdNumberError) -> str:
    if error.code == "id_checksum":
        return _("The check character of the id number is wrong.")
    if error.reason == "birth_date":
        return _("The id number holds an impossible birth date.")
    if error.reason == "disability_suffix":
        return _("A 20-character disability number ends with a category 1–7 and a grade 1–4.")
    return _("An id number has 18 characters (or 20 for a disability certificate number).")


def validate_member(
    data: MemberData, lists: dict[str, CodeList] | None = None, prefix: str = ""
) -> tuple[Errors, IdNumber | None]:
    lists = lists or code_lists(*MEMBER_LISTS)
    errors = Errors(prefix)
    if not 1 <= len(data.name.strip()) <= 50:
        errors.add(
            "name",
            _("A name of 1 to 50 characters is required."),
            "required" if not data.name else "too_long",
        )
    parsed: IdNumber | None = None
    if not data.id_number:
        errors.add("id_number", _("This field is required."), "required")
    else:
        try:
            parsed = parse_id_number(data.id_number)
        except IdNumberError as exc:
            errors.add("id_number", id_error_message(exc), exc.code)
    for key in ("sex", "relation", "health", "labour"):
        _check_code(errors, lists, key, key, getattr(data, key))
    for key in ("ethnicity", "education", "schooling", "work_place"):
        _check_code(errors, lists, key, key, getattr(data, key), required=False)
    if data.birth_date is None:
        errors.add("birth_date", _("This field is required."), "required")
    if parsed is not None:
        if data.sex and data.sex != parsed.sex:
            errors.add("sex", _("The sex does not agree with the id number."), "id_sex_mismatch")
        if data.birth_date and data.birth_date != parsed.birth_date:
            errors.add(
                "birth_date",
                _("The birth date does not agree with the id number."),
                "id_birth_mismatch",
            )
    if data.work_months is not None:
        if not 0 <= data.work_months <= 12:
            errors.add("work_months", _("Months of work are between 0 and 12."), "out_of_range")
        elif data.work_place == "none" and data.work_months != 0:
            errors.add(
                "work_months", _("Someone not working away has 0 months of work."), "out_of_range"
            )
    return errors, parsed


def validate_record(
    data: RecordData, *, identified_year: int | None, lists: dict[str, CodeList] | None = None
) -> Errors:
    lists = lists or code_lists(*RECORD_LISTS)
    errors = Errors()
    _check_year(errors, "survey_year", data.survey_year, lowest=identified_year or 2013)
    if not 1 <= data.household_size <= 30:
        errors.add("household_size", _("The household size is between 1 and 30."), "out_of_range")
    for key in (
        "wage_income",
        "business_income",
        "property_income",
        "transfer_income",
        "business_cost",
        "excluded_income",
        "farmland_mu",
    ):
        value = getattr(data, key)
        if value is None:
            if key != "farmland_mu":
                errors.add(key, _("This field is required."), "required")
            continue
        if value < 0:
            errors.add(key, _("The amount cannot be negative."), "out_of_range")
        elif value > MONEY_LIMIT:
            errors.add(key, _("The amount is too large."), "out_of_range")
        elif int(value.as_tuple().exponent) < -2:
            errors.add(key, _("At most 2 decimal places."), "bad_format")
    _check_code(errors, lists, "housing_grade", "housing_grade", data.housing_grade)
    return errors
