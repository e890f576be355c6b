"""Versioned code lists (代码表): reading, validating and loading.

The bundled lists (``data/code_lists.csv``, the national lists of domain.md §3.3 and
exchange-format §2–3) are upserted after every migration, so every database has them.
"""

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from fupin.core.models import CodeItem

BUNDLED_FILE = Path(__file__).resolve().parent / "data" / "code_lists.csv"


@dataclass(frozen=True)
class Code:
    code: str
    label_zh: str
    label_en: str
    aliases: tuple[str, ...]
    valid_from: dt.date
    valid_to: dt.date | None

    def valid_on(self, day: dt.date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    @property
    def label(self) -> str:
        return self.label_en if translation.get_language() == "en" else self.label_zh


class CodeList:
    """All values of one code list, current and historical."""

    def __init__(self, key: str, codes: list[Code]) -> None:
        self.key = key
        self.codes = {c.code: c for c in codes}
        self._by_text: dict[str, Code] = {}
        for c in codes:
            for text in (c.code, c.label_zh, c.label_en, *c.aliases):
                self._by_text.setdefault(text, c)

    def label(self, code: str | None) -> str:
        if not code:
            return ""
        item = self.codes.get(code)
        return item.label if item else code

    def current(self, on: dt.date | None = None) -> list[Code]:
        day = on or timezone.localdate()
        return [c for c in self.codes.values() if c.valid_on(day)]

    def choices(self, on: dt.date | None = None) -> list[tuple[str, str]]:
        return [(c.code, c.label) for c in self.current(on)]

    def lookup(self, text: str) -> Code | None:
        """Find a value by its code, Chinese or English label or an accepted alias."""
        return self._by_text.get(text.strip())

    def validate(self, code: str, on: dt.date | None = None) -> str:
        item = self.codes.get(code)
        day = on or timezone.localdate()
        if item is None or not item.valid_on(day):
            raise ValidationError(
                _("%(value)s is not a valid value of the code list %(list)s."),
                code="bad_code",
                params={"value": code, "list": self.key},
            )
        return code


def code_list(key: str) -> CodeList:
    """Read one code list from the database (one small query)."""
    return code_lists(key)[key]


def code_lists(*keys: str) -> dict[str, CodeList]:
    """Read several code lists in one query."""
    grouped: dict[str, list[Code]] = {key: [] for key in keys}
    items = CodeItem.objects.filter(list_key__in=keys).order_by("list_key", "sort_order", "code")
    for i in items:
        grouped[i.list_key].append(
            Code(
                code=i.code,
                label_zh=i.label_zh,
                label_en=i.label_en,
                aliases=tuple(a for a in i.aliases.split("|") if a),
                valid_from=i.valid_from,
                valid_to=i.valid_to,
            )
        )
    empty = [key for key, codes in grouped.items() if not codes]
    if empty:
        msg = f"code list(s) {empty!r} are empty; run 'fupin migrate' to load the bundled lists"
        raise LookupError(msg)
    return {key: CodeList(key, codes) for key, codes in grouped.items()}


@transaction.atomic
def code_lists_load_bundled(*, using: str = "default", path: Path = BUNDLED_FILE) -> int:
    """Upsert the bundled code lists; values are matched by (list, code). Returns rows read."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    existing = {(i.list_key, i.code): i for i in CodeItem.objects.using(using).all()}
    for row in rows:
        values = {
            "label_zh": row["label_zh"],
            "label_en": row["label_en"],
            "aliases": row["aliases"],
            "valid_from": dt.date.fromisoformat(row["valid_from"]),
            "valid_to": dt.date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
            "sort_order": int(row["sort_order"]),
        }
        item = existing.get((row["list_key"], row["code"]))
        if item is None:
            CodeItem.objects.using(using).create(
                list_key=row["list_key"], code=row["code"], **values
            )
        elif any(getattr(item, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(item, k, v)
            item.save(using=using)
    return len(rows)
