"""Real image bytes for the photo tests, made without an imaging library.

``jpeg()`` is a real 2×2 baseline JPEG (it decodes), optionally with an EXIF block that carries
DateTimeOriginal and a GPS position, built byte by byte as cameras write it. ``png()`` is a
real PNG of any size (zlib-compressed rows with valid CRCs).
"""

import base64
import struct
import zlib
from decimal import Decimal

_JPEG_2X2 = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAx"
    "NDQ0Hyc5PTgyPC4zNDL/wAALCAACAAIBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUF"
    "BAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVW"
    "V1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi"
    "4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/ACv/2Q=="
)


def _rational_dms(value: Decimal) -> bytes:
    value = abs(value)
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = (minutes_full - minutes) * 60
    return struct.pack("<6I", degrees, 1, minutes, 1, int(seconds * 10000), 10000)


def exif_block(
    *, taken: str | None = None, latitude: Decimal | None = None, longitude: Decimal | None = None
) -> bytes:
    """A little-endian TIFF/EXIF block with DateTimeOriginal ("YYYY:MM:DD HH:MM:SS") and GPS."""
    ifd0_entries = []
    data = b""
    # Layout: header (8) | IFD0 | Exif IFD | GPS IFD | data area.
    n0 = (1 if taken else 0) + (1 if latitude is not None else 0)
    ifd0_size = 2 + 12 * n0 + 4
    exif_offset = 8 + ifd0_size
    exif_size = (2 + 12 + 4) if taken else 0
    gps_offset = exif_offset + exif_size
    gps_size = (2 + 12 * 4 + 4) if latitude is not None else 0
    data_offset = gps_offset + gps_size
    exif_ifd = b""
    gps_ifd = b""
    if taken:
        ifd0_entries.append(struct.pack("<HHII", 0x8769, 4, 1, exif_offset))
        text = taken.encode() + b"\x00"
        exif_ifd = (
            struct.pack("<H", 1)
            + struct.pack("<HHII", 0x9003, 2, len(text), data_offset + len(data))
            + struct.pack("<I", 0)
        )
        data += text
    if latitude is not None and longitude is not None:
        ifd0_entries.append(struct.pack("<HHII", 0x8825, 4, 1, gps_offset))
        lat_at = data_offset + len(data)
        data += _rational_dms(latitude)
        lon_at = data_offset + len(data)
        data += _rational_dms(longitude)
        gps_ifd = (
            struct.pack("<H", 4)
            + struct.pack("<HHI", 1, 2, 2)
            + (b"N" if latitude >= 0 else b"S")
            + b"\x00\x00\x00"
            + struct.pack("<HHII", 2, 5, 3, lat_at)
            + struct.pack("<HHI", 3, 2, 2)
            + (b"E" if longitude >= 0 else b"W")
            + b"\x00\x00\x00"
            + struct.pack("<HHII", 4, 5, 3, lon_at)
            + struct.pack("<I", 0)
        )
    ifd0 = struct.pack("<H", len(ifd0_entries)) + b"".join(ifd0_entries) + struct.pack("<I", 0)
    return b"II*\x00" + struct.pack("<I", 8) + ifd0 + exif_ifd + gps_ifd + data


def jpeg(
    *,
    taken: str | None = None,
    latitude: Decimal | None = None,
    longitude: Decimal | None = None,
    padding: int = 0,
) -> bytes:
    """The 2×2 JPEG, with an EXIF APP1 segment when a time or position is given, and a comment
    segment of ``padding`` bytes to make it as large as a test needs."""
    body = _JPEG_2X2[2:]
    segments = b""
    if taken or latitude is not None:
        payload = b"Exif\x00\x00" + exif_block(taken=taken, latitude=latitude, longitude=longitude)
        segments += b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    while padding > 0:
        chunk = min(padding, 65000)
        segments += b"\xff\xfe" + struct.pack(">H", chunk + 2) + b"x" * chunk
        padding -= chunk
    return b"\xff\xd8" + segments + body


def png(width: int = 3, height: int = 2) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
