"""Masking of personal data (id numbers, phones) for people without the right to see it."""

import re
from typing import Any

PERSONAL_KEYS = frozenset({"id_number", "head_id_number", "phone", "certificate_number"})


def mask_id_number(value: str | None) -> str:
    """``371502199001011234`` → ``3715**********1234`` (exchange-format §4)."""
    if not value:
        return ""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str | None) -> str:
    """``13812345678`` → ``138****5678``; landlines keep their area code and last 4 digits."""
    if not value:
        return ""
    digits = value.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_value(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if key == "phone":
        return mask_phone(value)
    if key in PERSONAL_KEYS:
        return mask_id_number(value)
    return value


def mask_mapping(values: dict[str, Any]) -> dict[str, Any]:
    return {key: mask_value(key, value) for key, value in values.items()}


_ID_PATTERN = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}[0-9]{7}[0-9Xx](?:[0-9]{2})?(?![0-9])"
)
_MOBILE_PATTERN = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")


def scrub_text(text: str) -> str:
    """Replace anything shaped like an id number or a mobile number by its masked form."""
    text = _ID_PATTERN.sub(lambda m: mask_id_number(m.group(0)), text)
    return _MOBILE_PATTERN.sub(lambda m: mask_phone(m.group(0)), text)
