"""The photo check: real JPEG/PNG/WebP structure, size limits, and no crash on any bytes."""

import contextlib
import io
import struct

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin.pairing.images import MAX_PHOTO_BYTES, NotAnImage, check_photo, sniff
from fupin.pairing.tests.factories import jpeg_bytes, png_bytes, webp_bytes


def code(data: bytes | io.BytesIO) -> str:
    with pytest.raises(ValidationError) as exc:
        check_photo(data if isinstance(data, io.BytesIO) else io.BytesIO(data))
    return str(exc.value.error_dict["photos"][0].code)


def test_real_images_are_recognised_with_their_size():
    assert sniff(png_bytes(4, 3)) == ("image/png", 4, 3)
    assert sniff(jpeg_bytes(640, 480)) == ("image/jpeg", 640, 480)
    assert sniff(webp_bytes(5, 7)) == ("image/webp", 5, 7)
    checked = check_photo(io.BytesIO(png_bytes()))
    assert checked.size == len(png_bytes()) and len(checked.sha256) == 64


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GIF89a" + b"\x00" * 40,
        b"%PDF-1.4 not a photo",
        b"\x89PNG\r\n\x1a\n",  # a signature alone
        png_bytes()[:-12],  # no IEND
        png_bytes()[:30] + b"\x00" + png_bytes()[31:],  # a broken CRC
        jpeg_bytes()[:-2],  # no end of image
        jpeg_bytes().replace(b"\xff\xc0", b"\xff\xc4"),  # no frame header before the scan
        b"RIFF\x10\x00\x00\x00WEBPVP8X",  # truncated
    ],
)
def test_what_is_not_a_whole_image_is_refused(data):
    assert code(data) in {"not_an_image", "photo_empty"}


def test_an_image_with_too_many_pixels_is_refused():
    assert code(png_bytes(20_000, 1)) == "photo_too_large"


def test_a_file_over_the_limit_is_refused_without_reading_it_all():
    class Huge(io.BytesIO):
        size = MAX_PHOTO_BYTES + 1

    assert code(Huge(png_bytes())) == "photo_too_large"
    assert code(png_bytes() + b"\x00" * MAX_PHOTO_BYTES) == "photo_too_large"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_answered_without_crashing(data):
    for prefix in (
        b"",
        b"\xff\xd8\xff",
        b"\x89PNG\r\n\x1a\n",
        b"RIFF" + struct.pack("<I", 4) + b"WEBP",
    ):
        with contextlib.suppress(NotAnImage):
            sniff(prefix + data)
