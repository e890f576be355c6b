"""Test data for pairing, made through the services (officials through accounts' user_create)."""

import datetime as dt
import io
import itertools
import struct
import zlib
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from conftest import PASSWORD, VILLAGE_A1
from fupin.accounts.models import Official
from fupin.accounts.roles import RankLevel, Role
from fupin.accounts.services import user_create
from fupin.core.audit import ChangeSource
from fupin.divisions.models import Division
from fupin.pairing import services
from fupin.pairing.models import HelpUnit, KeyVillage, Pairing, TeamMember, Visit
from fupin.pairing.policy import today
from fupin.pairing.services import VisitData
from fupin.registry.models import Household
from fupin.registry.tests.factories import MemberDataFactory, register_household

SOURCE = ChangeSource.command("test")
_numbers = itertools.count(1)


def make_official(
    username: str = "",
    *,
    rank: str = RankLevel.SECTION,
    division: str = VILLAGE_A1,
    unit: str = "",
) -> Official:
    """An active pairing official whose role (and so anchor, unless a unit says otherwise) is
    ``division``."""
    n = next(_numbers)
    user = user_create(
        actor=None,
        source=SOURCE,
        username=username or f"official{n}",
        password=PASSWORD,
        role=Role.PAIRING_OFFICIAL,
        division_code=division,
        full_name=f"干部{n}",
        unit=unit or f"单位{n}",
        rank_level=rank,
    )
    return user.official


def make_unit(name: str, paired: str, home: str = "371500000000") -> HelpUnit:
    return HelpUnit.objects.create(
        name=name,
        home=Division.objects.get(code=home),
        paired_division=Division.objects.get(code=paired),
    )


def make_household(actor: Any, *, village: str = VILLAGE_A1, **kwargs: Any) -> Household:
    return register_household(actor, division_code=village, **kwargs)


def assign(official: Official, household: Household, **kwargs: Any) -> Pairing:
    kwargs.setdefault("started_on", today() - dt.timedelta(days=200))
    return services.pairing_assign(
        actor=None, source=SOURCE, official=official, household=household, **kwargs
    )


def visit(pairing: Pairing, days_ago: int = 10, photos: list[Any] | None = None) -> Visit:
    return services.visit_log(
        actor=None,
        source=SOURCE,
        official=pairing.official,
        household=pairing.household,
        data=VisitData(
            visited_on=today() - dt.timedelta(days=days_ago), content="走访，了解收入情况"
        ),
        photos=photos or [],
    )


def key_village(code: str = VILLAGE_A1) -> KeyVillage:
    return services.key_village_designate(
        actor=None, source=SOURCE, division=Division.objects.get(code=code), year=2016
    )


def post(
    village: KeyVillage, official: Official, role: str = TeamMember.Role.FIRST_SECRETARY
) -> TeamMember:
    return services.team_member_add(
        actor=None,
        source=SOURCE,
        village=village,
        official=official,
        role=role,
        started_on=today() - dt.timedelta(days=100),
    )


def orphan_household(actor: Any, *, village: str = VILLAGE_A1, household_no: str = "") -> Household:
    """Grandparents raising a grandchild of 10 with no parent in the household."""
    return make_household(
        actor,
        village=village,
        household_no=household_no,
        members=[
            MemberDataFactory(name="张老汉", relation="head", born=dt.date(1950, 3, 1)),
            MemberDataFactory(
                name="张小宝",
                relation="grandson",
                born=today().replace(year=today().year - 10, month=1, day=15),
                schooling="primary",
                education="primary",
                labour="none",
                work_place="",
                work_months=None,
            ),
        ],
    )


# --- Images -------------------------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A real PNG: white RGB pixels."""
    raw = b"".join(b"\x00" + b"\xff\xff\xff" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )


def jpeg_bytes(width: int = 8, height: int = 8) -> bytes:
    """A real JPEG made by Pillow."""
    return _pillow_bytes("JPEG", width, height)


def webp_bytes(width: int = 5, height: int = 7) -> bytes:
    """A real (lossless) WebP made by Pillow."""
    return _pillow_bytes("WEBP", width, height, lossless=True)


def _pillow_bytes(kind: str, width: int, height: int, **options: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buffer, kind, **options)
    return buffer.getvalue()


def upload(
    content: bytes, name: str = "photo.png", content_type: str = "image/png"
) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def read_file(response: Any) -> bytes:
    """The served file. Exhausting the streaming content closes the file and the response the
    way the test client means it to; an explicit ``close()`` would also end the test's database
    connection (PostgreSQL)."""
    return b"".join(response.streaming_content)
