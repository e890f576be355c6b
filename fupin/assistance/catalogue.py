"""The measure catalogue (帮扶措施目录): each measure type's extra fields, their checks, and the
bundled catalogue of domain.md §5.2 loaded after every migration.

A field spec is a small dict::

    {"key": "donkeys", "type": "integer", "label_zh": "送驴头数", "label_en": "donkeys",
     "required": true, "min": 1, "max": 50, "unit": "头"}

Types: ``text`` (``max_length``, default 200), ``integer`` and ``decimal`` (``min``/``max``),
``date`` (never in the future unless ``"future": true``), ``boolean``, ``choice`` (``choices``:
a list of ``{"value", "label_zh", "label_en"}``). Values are stored as JSON: integers, decimals
as strings with two places, dates as ISO strings.
"""

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fupin.assistance.models import Family, IncomeComponent, MeasureType
from fupin.registry.validation import Errors

BUNDLED_FILE = Path(__file__).resolve().parent / "data" / "measure_types.json"
FIELD_TYPES = ("text", "integer", "decimal", "date", "boolean", "choice")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
NUMBER_LIMIT = Decimal("9999999999.99")
MAX_FIELDS = 30


def field_label(spec: Mapping[str, Any]) -> str:
    key = "label_en" if translation.get_language() == "en" else "label_zh"
    return str(spec.get(key) or spec.get("label_zh") or spec.get("key", ""))


def choice_label(spec: Mapping[str, Any], value: Any) -> str:
    for choice in spec.get("choices") or []:
        if choice.get("value") == value:
            return field_label({**choice, "key": value})
    return str(value)


def validate_field_specs(specs: Any) -> tuple[list[dict[str, Any]], Errors]:
    """Check a type's list of extra fields; returns the normalised list and the errors (under
    ``fields``)."""
    errors = Errors()
    if not isinstance(specs, list):
        errors.add("fields", _("The extra fields must be a list."), "bad_format")
        return [], errors
    if len(specs) > MAX_FIELDS:
        errors.add("fields", _("At most %(n)s extra fields.") % {"n": MAX_FIELDS}, "out_of_range")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, spec in enumerate(specs, start=1):
        where = _("Field %(n)s") % {"n": index}
        if not isinstance(spec, Mapping):
            errors.add("fields", _("%(where)s is not an object.") % {"where": where}, "bad_format")
            continue
        key = spec.get("key")
        kind = spec.get("type")
        if not isinstance(key, str) or not KEY.match(key):
            errors.add(
                "fields",
                _("%(where)s: the key is lower-case letters, digits and _.") % {"where": where},
                "bad_format",
            )
            continue
        if key in seen:
            errors.add("fields", _("The key %(key)s appears twice.") % {"key": key}, "duplicate")
        seen.add(key)
        if kind not in FIELD_TYPES:
            errors.add(
                "fields",
                _("%(key)s: the type is one of %(types)s.")
                % {"key": key, "types": ", ".join(FIELD_TYPES)},
                "bad_code",
            )
            continue
        label_zh = str(spec.get("label_zh") or "").strip()
        label_en = str(spec.get("label_en") or "").strip()
        if not label_zh or len(label_zh) > 60 or len(label_en) > 100:
            errors.add(
                "fields",
                _("%(key)s needs a Chinese label (up to 60 characters).") % {"key": key},
                "required",
            )
        clean: dict[str, Any] = {
            "key": key,
            "type": kind,
            "label_zh": label_zh,
            "label_en": label_en or key,
            "required": bool(spec.get("required", False)),
        }
        if spec.get("unit"):
            clean["unit"] = str(spec["unit"])[:10]
        if kind in ("integer", "decimal"):
            for bound in ("min", "max"):
                if spec.get(bound) is not None:
                    try:
                        number = Decimal(str(spec[bound]))
                    except InvalidOperation:
                        errors.add(
                            "fields",
                            _("%(key)s: %(bound)s is not a number.") % {"key": key, "bound": bound},
                            "bad_format",
                        )
                        continue
                    clean[bound] = int(number) if kind == "integer" else str(number)
            if (
                "min" in clean
                and "max" in clean
                and Decimal(str(clean["min"])) > Decimal(str(clean["max"]))
            ):
                errors.add("fields", _("%(key)s: min is above max.") % {"key": key}, "out_of_range")
        if kind == "text":
            length = spec.get("max_length", 200)
            clean["max_length"] = length if isinstance(length, int) and 1 <= length <= 500 else 200
        if kind == "date" and spec.get("future"):
            clean["future"] = True
        if kind == "choice":
            choices = spec.get("choices")
            values = [c.get("value") for c in choices or [] if isinstance(c, Mapping)]
            if (
                not isinstance(choices, list)
                or not choices
                or len(values) != len(choices)
                or not all(isinstance(v, str) and v for v in values)
                or len(set(values)) != len(values)
            ):
                errors.add(
                    "fields",
                    _("%(key)s: a choice field lists distinct values with labels.") % {"key": key},
                    "bad_format",
                )
            else:
                clean["choices"] = [
                    {
                        "value": c["value"],
                        "label_zh": str(c.get("label_zh") or c["value"]),
                        "label_en": str(c.get("label_en") or c["value"]),
                    }
                    for c in choices
                ]
        out.append(clean)
    return out, errors


def clean_extra(
    specs: list[dict[str, Any]], values: Mapping[str, Any] | None, *, prefix: str = "extra."
) -> tuple[dict[str, Any], Errors]:
    """Check a measure's extra values against its type's fields; returns the JSON to store and
    the errors, keyed ``extra.<key>``."""
    errors = Errors(prefix)
    values = values or {}
    known = {s["key"] for s in specs}
    for key in values:
        if key not in known:
            errors.add(str(key), _("This measure type has no such field."), "unknown_field")
    out: dict[str, Any] = {}
    today = timezone.localdate()
    for spec in specs:
        key, kind = spec["key"], spec["type"]
        raw = values.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if spec.get("required"):
                errors.add(key, _("This field is required."), "required")
            continue
        try:
            value = _convert(kind, raw)
        except ValueError:
            errors.add(key, _bad_value_message(kind), "bad_format")
            continue
        if kind in ("integer", "decimal"):
            number = Decimal(str(value))
            if number < 0 and spec.get("min") is None:
                errors.add(key, _("The value cannot be negative."), "negative_amount")
                continue
            if "min" in spec and number < Decimal(str(spec["min"])):
                errors.add(
                    key,
                    _("The value must be at least %(min)s.") % {"min": spec["min"]},
                    "out_of_range",
                )
                continue
            if "max" in spec and number > Decimal(str(spec["max"])):
                errors.add(
                    key,
                    _("The value must be at most %(max)s.") % {"max": spec["max"]},
                    "out_of_range",
                )
                continue
            if abs(number) > NUMBER_LIMIT:
                errors.add(key, _("The value is too large."), "out_of_range")
                continue
        if kind == "date" and not spec.get("future") and value > today.isoformat():
            errors.add(key, _("The date cannot be in the future."), "future_date")
            continue
        if kind == "text" and len(value) > spec.get("max_length", 200):
            errors.add(
                key,
                _("At most %(n)s characters.") % {"n": spec.get("max_length", 200)},
                "too_long",
            )
            continue
        if kind == "choice" and value not in {c["value"] for c in spec.get("choices", [])}:
            errors.add(key, _("“%(value)s” is not a valid choice.") % {"value": value}, "bad_code")
            continue
        out[key] = value
    return out, errors


def _to_integer(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    if not re.fullmatch(r"-?[0-9]{1,12}", text):
        raise ValueError
    return int(text)


def _to_decimal(raw: Any) -> str:
    if isinstance(raw, bool):
        raise ValueError
    try:
        number = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError from None
    if not number.is_finite() or int(number.as_tuple().exponent) < -2:
        raise ValueError
    return f"{number:.2f}"


def _to_date(raw: Any) -> str:
    if isinstance(raw, dt.date):
        return raw.isoformat()
    return dt.date.fromisoformat(str(raw).strip()).isoformat()


def _to_boolean(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in {"true", "1", "yes", "是"}:
        return True
    if text in {"false", "0", "no", "否"}:
        return False
    raise ValueError


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "integer": _to_integer,
    "decimal": _to_decimal,
    "date": _to_date,
    "boolean": _to_boolean,
}


def _convert(kind: str, raw: Any) -> Any:
    """The stored JSON value of one input; ValueError when it cannot be read as ``kind``."""
    converter = _CONVERTERS.get(kind)
    return converter(raw) if converter else str(raw).strip()


def _bad_value_message(kind: str) -> str:
    if kind == "integer":
        return _("Enter a whole number.")
    if kind == "decimal":
        return _("Enter a number with at most 2 decimal places.")
    if kind == "date":
        return _("Enter a date as YYYY-MM-DD.")
    if kind == "boolean":
        return _("Answer yes or no.")
    return _("Enter a valid value.")


def read_bundled(path: Path = BUNDLED_FILE) -> list[dict[str, Any]]:
    """The bundled catalogue, checked: a bad entry stops the load with its code."""
    entries: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    for entry in entries:
        specs, errors = validate_field_specs(entry.get("fields", []))
        if errors or entry.get("family") not in Family.values or not CODE.match(entry["code"]):
            msg = f"bundled measure type {entry.get('code')!r} is invalid"
            raise ValueError(msg)
        if entry.get("income_component", "none") not in IncomeComponent.values:
            msg = f"bundled measure type {entry['code']!r}: bad income_component"
            raise ValueError(msg)
        entry["fields"] = specs
    return entries


@transaction.atomic
def catalogue_load_bundled(*, using: str = "default", path: Path = BUNDLED_FILE) -> int:
    """Add the bundled measure types that the database lacks; returns how many were added.

    Types present already are left alone, so a city administrator's changes survive every
    migration.
    """
    entries = read_bundled(path)
    existing = set(MeasureType.objects.using(using).values_list("code", flat=True))
    added = [
        MeasureType(
            code=e["code"],
            family=e["family"],
            name_zh=e["name_zh"],
            name_en=e["name_en"],
            description=e.get("description", ""),
            target=e.get("target", MeasureType.Target.HOUSEHOLD),
            fields=e["fields"],
            has_stages=bool(e.get("has_stages", False)),
            income_component=e.get("income_component", IncomeComponent.NONE),
            default_income=(
                Decimal(str(e["default_income"])) if e.get("default_income") is not None else None
            ),
            is_bundled=True,
            sort_order=index,
        )
        for index, e in enumerate(entries, start=1)
        if e["code"] not in existing
    ]
    MeasureType.objects.using(using).bulk_create(added)
    return len(added)
