"""Identity numbers (证件号码) as exchange-format §4 and GB 11643 define them.

Only the check character and the birth date are checked: the address code is the code of
first registration and need not be a current division (domain.md §9).
"""

import datetime as dt
from dataclasses import dataclass

from stdnum.iso7064 import mod_11_2

_FULL_WIDTH = str.maketrans("０１２３４５６７８９ＸｘＡＢＣＤ", "0123456789XxABCD")


class IdNumberError(ValueError):
    """A wrong id number; ``code`` is ``id_invalid`` or ``id_checksum`` (exchange-format §6)."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class IdNumber:
    as_given: str  # 18 characters, or 20 for a disability certificate number
    person_key: str  # the 18-character id: the key for uniqueness and consistency
    birth_date: dt.date
    sex: str  # "male" or "female"
    disability_category: int | None = None
    disability_grade: int | None = None


def normalise_id_number(raw: str) -> str:
    return raw.strip().translate(_FULL_WIDTH).upper()


def parse_id_number(raw: str, *, today: dt.date | None = None) -> IdNumber:
    """Validate and parse an 18-character id or a 20-character disability certificate number."""
    value = normalise_id_number(raw)
    if len(value) not in (18, 20):
        raise IdNumberError("id_invalid", "length")
    person = value[:18]
    if not person[:17].isdigit() or not (person[17].isdigit() or person[17] == "X"):
        raise IdNumberError("id_invalid", "characters")
    extra = value[18:]
    category = grade = None
    if extra:
        if not extra.isdigit() or not ("1" <= extra[0] <= "7") or not ("1" <= extra[1] <= "4"):
            raise IdNumberError("id_invalid", "disability_suffix")
        category, grade = int(extra[0]), int(extra[1])
    try:
        birth = dt.date(int(person[6:10]), int(person[10:12]), int(person[12:14]))
    except ValueError:
        raise IdNumberError("id_invalid", "birth_date") from None
    limit = today or dt.date.today()  # noqa: DTZ011 (a calendar date in local time is meant)
    if birth.year < 1900 or birth > limit:
        raise IdNumberError("id_invalid", "birth_date")
    if mod_11_2.calc_check_digit(person[:17]) != person[17]:
        raise IdNumberError("id_checksum", "checksum")
    sex = "male" if int(person[16]) % 2 == 1 else "female"
    return IdNumber(value, person, birth, sex, category, grade)


def make_id_number(address_code: str, birth: dt.date, sequence: int) -> str:
    """Build a valid 18-character id (for synthetic data): sequence odd for men, even for women."""
    body = f"{address_code}{birth:%Y%m%d}{sequence:03d}"
    return body + mod_11_2.calc_check_digit(body)
