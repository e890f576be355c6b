"""The shared photo check: real images made with Pillow, broken and foreign files, size limits,
decompression bombs, and the EXIF time and GPS position."""

import datetime as dt
import io
import struct
import zlib
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image
from PIL.TiffImagePlugin import IFDRational

from fupin.core.photos import (
    JPEG,
    PNG,
    WEBP,
    PhotoError,
    PhotoFacts,
    inspect_photo,
)

MB = 1024 * 1024


def image_bytes(kind: str = "JPEG", size: tuple[int, int] = (40, 30), **options: Any) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 140, 60)).save(buffer, kind, **options)
    return buffer.getvalue()


def dms(value: str) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Degrees, minutes and seconds (to 1/10000) as a camera writes them."""
    number = abs(Decimal(value))
    degrees = int(number)
    minutes = int((number - degrees) * 60)
    seconds = ((number - degrees) * 60 - minutes) * 60
    return IFDRational(degrees), IFDRational(minutes), IFDRational(int(seconds * 10000), 10000)


def camera_exif(
    *,
    original: str | None = "2016:05:03 10:20:30",
    modified: str | None = None,
    latitude: str | None = "36.456789",
    longitude: str | None = "115.985432",
    gps: dict[int, Any] | None = None,
) -> Image.Exif:
    exif = Image.Exif()
    if modified:
        exif[0x0132] = modified  # DateTime
    if original:
        exif[ExifTags.IFD.Exif] = {0x9003: original}  # DateTimeOriginal
    if gps is None and latitude and longitude:
        gps = {
            1: "S" if latitude.startswith("-") else "N",
            2: dms(latitude),
            3: "W" if longitude.startswith("-") else "E",
            4: dms(longitude),
        }
    if gps is not None:
        exif[ExifTags.IFD.GPSInfo] = gps
    return exif


def code(data: Any, **limits: Any) -> str:
    with pytest.raises(PhotoError) as exc:
        inspect_photo(data, **({"max_bytes": 8 * MB} | limits))
    return str(exc.value.code)


def png_with_header(width: int, height: int) -> bytes:
    """A well-formed PNG (valid CRCs) that announces a huge picture with a few bytes of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


# --- what is accepted --------------------------------------------------------------------------


def test_a_camera_jpeg_gives_its_size_time_and_position():
    data = image_bytes("JPEG", (64, 48), exif=camera_exif())
    facts = inspect_photo(data, max_bytes=MB)
    assert (facts.content_type, facts.width, facts.height) == (JPEG, 64, 48)
    assert facts.taken_at == dt.datetime(
        2016, 5, 3, 10, 20, 30, tzinfo=timezone.get_default_timezone()
    )
    assert str(facts.taken_at.tzinfo) == "Asia/Shanghai"
    assert (facts.latitude, facts.longitude) == (Decimal("36.456789"), Decimal("115.985432"))
    assert facts.content == data and facts.size == len(data) and len(facts.sha256) == 64
    assert facts.suffix == ".jpg"


def test_south_and_west_are_negative_and_datetime_is_the_fallback():
    exif = camera_exif(
        original=None, modified="2020:01:02 03:04:05", latitude="-12.5", longitude="-45.25"
    )
    facts = inspect_photo(image_bytes("JPEG", exif=exif), max_bytes=MB)
    assert facts.taken_at == dt.datetime(
        2020, 1, 2, 3, 4, 5, tzinfo=timezone.get_default_timezone()
    )
    assert (facts.latitude, facts.longitude) == (Decimal("-12.500000"), Decimal("-45.250000"))


def test_a_png_without_exif_has_no_time_or_position():
    assert inspect_photo(image_bytes("PNG", (7, 5)), max_bytes=MB) == PhotoFacts(PNG, 7, 5)


def test_webp_is_accepted_unless_the_caller_takes_only_jpeg_and_png():
    data = image_bytes("WEBP", (9, 4), lossless=True, exif=camera_exif(latitude=None))
    facts = inspect_photo(data, max_bytes=MB)
    assert (facts.content_type, facts.width, facts.height) == (WEBP, 9, 4)
    assert facts.taken_at is not None and facts.latitude is None
    assert code(data, types={JPEG, PNG}) == "not_image"


def test_an_upload_is_read_from_its_start_whatever_its_name_or_claimed_type():
    upload = SimpleUploadedFile("photo.gif", image_bytes("PNG"), content_type="text/plain")
    upload.read(10)
    assert inspect_photo(upload, max_bytes=MB).content_type == PNG


@pytest.mark.parametrize(
    "gps",
    [
        {1: "N", 2: (IFDRational(36), IFDRational(0), IFDRational(1, 0)), 3: "E", 4: dms("115")},
        {1: "N", 2: dms("36"), 3: "E"},  # no longitude
        {1: "Q", 2: dms("36"), 3: "E", 4: dms("115")},  # no such reference
        {1: "N", 2: dms("95"), 3: "E", 4: dms("115")},  # off the globe
        {1: "N", 2: (IFDRational(36),), 3: "E", 4: dms("115")},
    ],
)
def test_broken_metadata_is_ignored_not_fatal(gps):
    data = image_bytes("JPEG", exif=camera_exif(original="yesterday at noon", gps=gps))
    facts = inspect_photo(data, max_bytes=MB)
    assert (facts.taken_at, facts.latitude, facts.longitude) == (None, None, None)
    assert (facts.width, facts.height) == (40, 30)


# --- what is refused ---------------------------------------------------------------------------


def test_a_text_file_named_jpg_is_not_an_image():
    upload = SimpleUploadedFile("house.jpg", b"just some text, honest", content_type="image/jpeg")
    assert code(upload) == "not_image"


@pytest.mark.parametrize(
    "data",
    [
        image_bytes("JPEG", (64, 48))[:-200],  # cut off in the scan
        image_bytes("JPEG")[:-2],  # no end of image
        image_bytes("PNG")[:-6],  # no IEND
        image_bytes("WEBP", lossless=True)[:-10],
        image_bytes("GIF"),  # a real image, but not a format we take
        image_bytes("BMP"),
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
        b"\xff\xd8\xff\xe0 truncated",
        b"\x89PNG\r\n\x1a\n",
    ],
)
def test_broken_or_foreign_files_are_not_images(data):
    assert code(data) == "not_image"


def test_a_png_with_a_broken_crc_is_not_an_image():
    data = bytearray(image_bytes("PNG"))
    data[20] ^= 0xFF  # inside IHDR
    assert code(bytes(data)) == "not_image"


def test_an_empty_file_is_refused():
    assert code(b"") == "empty"
    assert code(SimpleUploadedFile("a.jpg", b"", "image/jpeg")) == "empty"


def test_a_file_over_the_limit_is_refused_without_reading_it_all():
    data = image_bytes("JPEG")
    assert code(data, max_bytes=len(data) - 1) == "too_large"
    assert inspect_photo(data, max_bytes=len(data)).width == 40

    class Huge(io.BytesIO):
        size = 9 * MB

        def read(self, *args: Any) -> bytes:
            raise AssertionError("read despite its size")

    assert code(Huge(data)) == "too_large"

    class Unsized(io.BytesIO):
        read_sizes: list[int] = []

        def read(self, size: int | None = -1) -> bytes:
            self.read_sizes.append(-1 if size is None else size)
            return super().read(size)

    unsized = Unsized(data + b"\x00" * MB)
    assert code(unsized, max_bytes=MB) == "too_large"
    assert unsized.read_sizes == [MB + 1]


def test_too_many_pixels_are_refused_before_decoding():
    assert code(image_bytes("PNG", (300, 10)), max_side=299) == "too_large"
    assert code(image_bytes("PNG", (100, 100)), max_pixels=9_999) == "too_large"
    assert inspect_photo(image_bytes("PNG", (100, 100)), max_bytes=MB, max_pixels=10_000)


@pytest.mark.parametrize(
    ("width", "height", "limits"),
    [
        (20_001, 20_001, {}),  # our own limits
        (10_000, 10_000, {"max_side": 10**6, "max_pixels": 10**12}),  # Pillow's warning
        (60_000, 60_000, {"max_side": 10**6, "max_pixels": 10**12}),  # Pillow's bomb error
    ],
)
def test_a_decompression_bomb_is_too_large(width, height, limits):
    data = png_with_header(width, height)
    assert len(data) < 200
    assert code(data, **limits) == "too_large"


def test_an_image_announcing_no_pixels_is_not_an_image():
    assert code(png_with_header(0, 10)) == "not_image"


def test_errors_are_validation_errors_with_a_message():
    with pytest.raises(PhotoError) as exc:
        inspect_photo(b"not an image", max_bytes=MB)
    assert exc.value.messages and exc.value.code == "not_image"


@settings(max_examples=200, deadline=None)
@given(
    prefix=st.sampled_from(
        [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"RIFF\x04\x00\x00\x00WEBP", b"GIF89a"]
    ),
    data=st.binary(max_size=300),
)
def test_any_bytes_are_answered_without_crashing(prefix, data):
    try:
        inspect_photo(prefix + data, max_bytes=MB)
    except PhotoError as exc:
        assert exc.code in {"not_image", "too_large", "empty"}


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(min_value=1, max_value=400))
def test_a_real_jpeg_cut_anywhere_before_its_end_is_refused(cut):
    data = image_bytes("JPEG", (64, 48), exif=camera_exif())
    assert code(data[: max(0, len(data) - cut)]) in {"not_image", "empty"}
