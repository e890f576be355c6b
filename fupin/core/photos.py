"""The one photo check of the platform: is an upload a real JPEG, PNG or WebP image, how large is
it, and when and where was it taken (EXIF).

The bytes decide, never the file's name or the type the browser claims. Pillow opens the file
with only the accepted formats' parsers, ``verify()``-es it, then reopens it and decodes every
pixel, so a renamed text file, a truncated image or a file with broken chunks is refused. The
width and height are checked against the limits before anything is decoded, so a crafted
"decompression bomb" (a tiny file announcing a huge picture) is refused as too large without
allocating its pixels. JPEGs are decoded at 1/8 scale (the whole data stream is still read, so a
truncation is still found) to keep memory small.

The time comes from EXIF DateTimeOriginal, else DateTime; EXIF times carry no zone and are read
in the project's time zone (cameras here are set to China Standard Time). The position comes from
the GPS IFD (latitude/longitude with their N/S/E/W references), as Decimals to 6 places. Broken
or absent metadata gives None, never an error: the picture itself is what is checked.
"""

import datetime as dt
import hashlib
import io
from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from PIL import ExifTags, Image

JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
ALL_TYPES: frozenset[str] = frozenset({JPEG, PNG, WEBP})
# Pillow's format name for each accepted content type, and the file suffix it is stored under.
PIL_FORMAT = {JPEG: "JPEG", PNG: "PNG", WEBP: "WEBP"}
SUFFIX = {JPEG: ".jpg", PNG: ".png", WEBP: ".webp"}
_TYPE_OF_FORMAT = {v: k for k, v in PIL_FORMAT.items()}

# Defaults: 20,000 pixels on a side and 50 megapixels (a 50 MP phone photo is 8160×6120), well
# under Pillow's own bomb limit (MAX_IMAGE_PIXELS, about 89 MP).
MAX_SIDE = 20_000
MAX_PIXELS = 50_000_000

# Error codes.
EMPTY = "empty"
NOT_IMAGE = "not_image"
TOO_LARGE = "too_large"

_TAG_DATETIME = 0x0132
_TAG_DATETIME_ORIGINAL = 0x9003
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4


class PhotoError(ValidationError):
    """The upload is not an acceptable photo; ``code`` is ``empty``, ``not_image`` or
    ``too_large``, and the message is already in the active language."""

    code: str

    def __init__(self, message: Any, code: str) -> None:
        super().__init__(message, code=code)


@dataclass(frozen=True)
class PhotoFacts:
    content_type: str
    width: int
    height: int
    taken_at: dt.datetime | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    content: bytes = field(default=b"", repr=False, compare=False)

    @property
    def size(self) -> int:
        return len(self.content)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def suffix(self) -> str:
        return SUFFIX[self.content_type]


def read_limited(upload: IO[bytes] | Any, max_bytes: int) -> bytes:
    """At most ``max_bytes`` + 1 bytes of an upload, from its start, so that a larger one is
    found without reading all of it."""
    if hasattr(upload, "seek"):
        upload.seek(0)
    return bytes(upload.read(max_bytes + 1))


def inspect_photo(
    data: bytes | IO[bytes] | Any,
    *,
    max_bytes: int,
    types: Collection[str] = ALL_TYPES,
    max_side: int = MAX_SIDE,
    max_pixels: int = MAX_PIXELS,
) -> PhotoFacts:
    """The facts of a photo given as bytes or a file (an upload), or a ``PhotoError``."""
    if isinstance(data, bytes | bytearray | memoryview):
        content = bytes(data)
    else:
        size = getattr(data, "size", None)
        if isinstance(size, int) and size > max_bytes:
            raise _too_large_bytes(max_bytes)
        content = read_limited(data, max_bytes)
    if len(content) > max_bytes:
        raise _too_large_bytes(max_bytes)
    if not content:
        raise PhotoError(_("The file is empty."), EMPTY)
    formats = [PIL_FORMAT[t] for t in PIL_FORMAT if t in types]
    return _decode(content, formats, max_side, max_pixels)


def _decode(content: bytes, formats: list[str], max_side: int, max_pixels: int) -> PhotoFacts:
    """The facts, after verifying the file and decoding every pixel."""
    try:
        with Image.open(io.BytesIO(content), formats=formats) as image:
            content_type = _TYPE_OF_FORMAT[str(image.format)]
            width, height = image.size
            _check_dimensions(width, height, max_side, max_pixels)
            image.verify()
        with Image.open(io.BytesIO(content), formats=formats) as image:
            if image.size != (width, height):
                raise _not_image()
            taken_at, latitude, longitude = _exif_facts(image)
            if image.format == "JPEG":
                # Decode at 1/8 scale: every byte of the scan is still read and checked.
                image.draft(None, (max(1, width // 8), max(1, height // 8)))
            image.load()
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own limit (the warning is an error where warnings are made errors).
        raise _too_large_pixels(max_side, max_pixels) from None
    except Exception:  # Pillow raises many kinds of errors on broken or foreign files
        raise _not_image() from None
    return PhotoFacts(content_type, width, height, taken_at, latitude, longitude, content)


def _check_dimensions(width: int, height: int, max_side: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise _not_image()
    if width > max_side or height > max_side or width * height > max_pixels:
        raise _too_large_pixels(max_side, max_pixels)


def _not_image() -> PhotoError:
    return PhotoError(_("The file is not a photo in an accepted format."), NOT_IMAGE)


def _too_large_bytes(max_bytes: int) -> PhotoError:
    return PhotoError(
        _("The photo is larger than %(size)s.") % {"size": filesizeformat(max_bytes)}, TOO_LARGE
    )


def _too_large_pixels(max_side: int, max_pixels: int) -> PhotoError:
    return PhotoError(
        _("The picture is too large: at most %(side)s pixels on a side and %(mp)s megapixels.")
        % {"side": max_side, "mp": f"{max_pixels / 1_000_000:g}"},
        TOO_LARGE,
    )


# --- EXIF ------------------------------------------------------------------------------------


def _exif_facts(
    image: Image.Image,
) -> tuple[dt.datetime | None, Decimal | None, Decimal | None]:
    """(taken at, latitude, longitude); Nones when absent or broken."""
    try:
        exif = image.getexif()
        taken_at = _taken_at(exif)
        latitude, longitude = _position(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except Exception:  # metadata is untrusted and optional: broken means absent
        return None, None, None
    return taken_at, latitude, longitude


def _taken_at(exif: Image.Exif) -> dt.datetime | None:
    for text in (
        exif.get_ifd(ExifTags.IFD.Exif).get(_TAG_DATETIME_ORIGINAL),
        exif.get(_TAG_DATETIME),
    ):
        if not isinstance(text, str) or not text.strip("\x00 "):
            continue
        try:
            naive = dt.datetime.strptime(text.strip("\x00 "), "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007
        except ValueError:
            continue
        return timezone.make_aware(naive, timezone.get_default_timezone())
    return None


def _position(gps: dict[int, Any]) -> tuple[Decimal | None, Decimal | None]:
    latitude = _degrees(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "NS", 90)
    longitude = _degrees(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "EW", 180)
    if latitude is None or longitude is None:
        return None, None
    return latitude, longitude


def _degrees(parts: Any, ref: Any, refs: str, limit: int) -> Decimal | None:
    if not isinstance(parts, tuple) or len(parts) != 3 or not isinstance(ref, str):
        return None
    ref = ref.strip("\x00 ").upper()
    if ref not in refs:
        return None
    try:
        degrees, minutes, seconds = (_rational(p) for p in parts)
        value = degrees + minutes / 60 + seconds / 3600
    except (InvalidOperation, ZeroDivisionError, TypeError, ValueError):
        return None
    if ref == refs[1]:
        value = -value
    if not value.is_finite() or abs(value) > limit:
        return None
    return value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)


def _rational(part: Any) -> Decimal:
    numerator = getattr(part, "numerator", None)
    denominator = getattr(part, "denominator", None)
    if isinstance(numerator, int) and isinstance(denominator, int):
        return Decimal(numerator) / Decimal(denominator)
    return Decimal(str(part))
