"""A ZIP writer whose members are compressed apart, so that the two sheets of an export
compress on two threads at once (zlib releases the GIL); ``zipfile`` allows one member open at a
time. Each member is deflated into a temporary file while it is produced, and ``ZipWriter``
copies the finished members into the archive (ZIP64 where a size or offset needs it).
The format is PKWARE's APPNOTE 6.3: local header, data, central directory, end record.
"""

import os
import shutil
import struct
import tempfile
import time
import zlib
from pathlib import Path
from types import TracebackType
from typing import IO, Self

ZIP_LEVEL = 1  # deflate level: ~3× faster than the default 6, for ~20% more bytes
_MAX = 0xFFFFFFFF  # a 32-bit field's "see the ZIP64 extra"
_LIMIT = _MAX  # sizes and offsets from here on go to ZIP64 fields
_VERSION = 45  # 4.5: ZIP64


class DeflatedMember:
    """One member's data, deflated into a temporary file as it is written."""

    def __init__(self, folder: Path, level: int = ZIP_LEVEL) -> None:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".export-", suffix=".deflate")
        self.path = Path(name)
        self._file = os.fdopen(fd, "wb", buffering=1 << 20)
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
        self.crc = 0
        self.size = 0
        self.compressed = 0

    def write(self, data: bytes, /) -> int:
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        out = self._deflate.compress(data)
        self.compressed += len(out)
        self._file.write(out)
        return len(data)

    def close(self) -> None:
        if self._file.closed:
            return
        out = self._deflate.flush()
        self.compressed += len(out)
        self._file.write(out)
        self._file.close()

    def discard(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.path.unlink(missing_ok=True)


class ZipWriter:
    """Writes members one after the other into ``target``, then the central directory."""

    def __init__(self, target: IO[bytes]) -> None:
        self._target = target
        self._offset = 0
        self._entries: list[bytes] = []
        stamp = time.localtime()
        self._time = (stamp.tm_hour << 11) | (stamp.tm_min << 5) | (stamp.tm_sec // 2)
        self._date = ((stamp.tm_year - 1980) << 9) | (stamp.tm_mon << 5) | stamp.tm_mday

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()

    def add_bytes(self, name: str, data: bytes) -> None:
        deflate = zlib.compressobj(ZIP_LEVEL, zlib.DEFLATED, -15)
        packed = deflate.compress(data) + deflate.flush()
        self._add(
            name,
            crc=zlib.crc32(data),
            size=len(data),
            compressed=len(packed),
            chunks=[packed],
            path=None,
        )

    def add_member(self, name: str, member: DeflatedMember) -> None:
        """Copy a finished member in (and remove its temporary file)."""
        member.close()
        try:
            self._add(
                name,
                crc=member.crc,
                size=member.size,
                compressed=member.compressed,
                chunks=[],
                path=member.path,
            )
        finally:
            member.discard()

    def _add(
        self,
        name: str,
        *,
        crc: int,
        size: int,
        compressed: int,
        chunks: list[bytes],
        path: Path | None,
    ) -> None:
        encoded = name.encode("utf-8")
        zip64 = size >= _LIMIT or compressed >= _LIMIT
        extra = struct.pack("<HHQQ", 1, 16, size, compressed) if zip64 else b""
        sizes = (_MAX, _MAX) if zip64 else (compressed, size)
        flags = 0x800  # names in UTF-8
        header = struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            _VERSION,
            flags,
            8,
            self._time,
            self._date,
            crc,
            *sizes,
            len(encoded),
            len(extra),
        )
        offset = self._offset
        self._write(header + encoded + extra)
        for chunk in chunks:
            self._write(chunk)
        if path is not None:
            with path.open("rb") as source:
                shutil.copyfileobj(source, self._target, 1 << 20)
            self._offset += compressed
        # The central directory entry: sizes and offset go to a ZIP64 extra when too large.
        big: list[int] = []
        if zip64:
            big += [size, compressed]
        if offset >= _LIMIT:
            big.append(offset)
        central_extra = struct.pack(f"<HH{len(big)}Q", 1, 8 * len(big), *big) if big else b""
        self._entries.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                _VERSION | (3 << 8),  # made by Unix
                _VERSION,
                flags,
                8,
                self._time,
                self._date,
                crc,
                _MAX if zip64 else compressed,
                _MAX if zip64 else size,
                len(encoded),
                len(central_extra),
                0,
                0,
                0,
                0o100600 << 16,  # a regular file, owner read/write
                _MAX if offset >= _LIMIT else offset,
            )
            + encoded
            + central_extra
        )

    def _write(self, data: bytes) -> None:
        self._target.write(data)
        self._offset += len(data)

    def close(self) -> None:
        start = self._offset
        for entry in self._entries:
            self._write(entry)
        length = self._offset - start
        count = len(self._entries)
        if start >= _LIMIT or length >= _LIMIT or count >= 0xFFFF:
            end64 = self._offset
            self._write(
                struct.pack(
                    "<IQHHIIQQQQ",
                    0x06064B50,
                    44,
                    _VERSION,
                    _VERSION,
                    0,
                    0,
                    count,
                    count,
                    length,
                    start,
                )
            )
            self._write(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
        self._write(
            struct.pack(
                "<IHHHHIIH",
                0x06054B50,
                0,
                0,
                min(count, 0xFFFF),
                min(count, 0xFFFF),
                _MAX if length >= _LIMIT else length,
                _MAX if start >= _LIMIT else start,
                0,
            )
        )
        self._target.flush()
