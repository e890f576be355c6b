"""Checking uploaded evidence photos and reading when and where they were taken.

A photo must really be a JPEG or PNG image: the platform's one photo check,
``fupin.core.photos`` (Pillow), verifies and decodes it, never trusting its name or the type the
browser claims, and reads the EXIF time (DateTimeOriginal) and GPS position. The upload's size
limit is applied by the service before this check.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from fupin.core import photos

JPEG = photos.JPEG
PNG = photos.PNG
SUFFIX = {JPEG: photos.SUFFIX[JPEG], PNG: photos.SUFFIX[PNG]}
MAX_SIDE = 20_000


class NotAnImageError(ValueError):
    """The bytes are not a JPEG or PNG image we can read."""


@dataclass(frozen=True)
class ImageFacts:
    content_type: str
    width: int
    height: int
    taken_at: dt.datetime | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None


def inspect_image(data: bytes) -> ImageFacts:
    """The type, size and EXIF time and position of an image; NotAnImageError when it is not one."""
    try:
        facts = photos.inspect_photo(
            data, max_bytes=max(len(data), 1), types=SUFFIX.keys(), max_side=MAX_SIDE
        )
    except photos.PhotoError:
        raise NotAnImageError from None
    return ImageFacts(
        facts.content_type,
        facts.width,
        facts.height,
        facts.taken_at,
        facts.latitude,
        facts.longitude,
    )
