"""Checks that an uploaded visit photo really is a JPEG, PNG or WebP image, within the size limits.

The check itself is the platform's one photo check, ``fupin.core.photos`` (Pillow: the file is
verified and decoded, its size checked before any pixel is allocated). This module keeps the
pairing app's limits and answers in its own error codes (``photo_too_large``, ``not_an_image``,
``photo_empty``) keyed by the form field.
"""

from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import ValidationError

from fupin.core import photos
from fupin.core.photos import read_limited as _read_limited

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_PIXELS_SIDE = 12_000
MAX_PHOTOS_PER_VISIT = 10

_CODES = {
    photos.TOO_LARGE: "photo_too_large",
    photos.NOT_IMAGE: "not_an_image",
    photos.EMPTY: "photo_empty",
}


@dataclass(frozen=True)
class CheckedImage:
    content: bytes
    content_type: str
    width: int
    height: int
    sha256: str

    @property
    def size(self) -> int:
        return len(self.content)


class NotAnImage(Exception):  # noqa: N818 (reads as the finding)
    pass


def read_limited(upload: IO[bytes] | Any, limit: int = MAX_PHOTO_BYTES) -> bytes:
    """Read at most ``limit`` + 1 bytes, so a huge upload is refused without reading it all."""
    return _read_limited(upload, limit)


def _inspect(data: bytes | IO[bytes] | Any) -> photos.PhotoFacts:
    return photos.inspect_photo(data, max_bytes=MAX_PHOTO_BYTES, max_side=MAX_PIXELS_SIDE)


def check_photo(upload: IO[bytes] | Any, *, field: str = "photos") -> CheckedImage:
    """The checked image, or a ValidationError (codes ``photo_too_large``, ``not_an_image``,
    ``photo_empty``) keyed by ``field``."""
    try:
        facts = _inspect(upload)
    except photos.PhotoError as exc:
        error = ValidationError(exc.message, code=_CODES.get(str(exc.code), "not_an_image"))
        raise ValidationError({field: error}) from None
    return CheckedImage(facts.content, facts.content_type, facts.width, facts.height, facts.sha256)


def sniff(data: bytes) -> tuple[str, int, int]:
    """(content type, width, height) of a whole JPEG, PNG or WebP image; NotAnImage otherwise."""
    try:
        facts = _inspect(data)
    except photos.PhotoError:
        raise NotAnImage from None
    return facts.content_type, facts.width, facts.height
