"""The export's ZIP writer: what it writes, Python's zipfile reads, CRCs checked; ZIP64 where a
size or offset needs it."""

import io
import zipfile

import pytest

from fupin.exchange import export_zip
from fupin.exchange.export_zip import DeflatedMember, ZipWriter


def archive(tmp_path, parts: dict[str, bytes], streamed: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with ZipWriter(out) as writer:
        for name, data in parts.items():
            writer.add_bytes(name, data)
        for name, data in streamed.items():
            member = DeflatedMember(tmp_path)
            for start in range(0, len(data), 1000):
                member.write(data[start : start + 1000])
            writer.add_member(name, member)
    return out.getvalue()


@pytest.mark.parametrize("limit", [export_zip._LIMIT, 100])
def test_zipfile_reads_back_every_member(tmp_path, monkeypatch, limit):
    # A small limit makes sizes and offsets take the ZIP64 fields.
    monkeypatch.setattr(export_zip, "_LIMIT", limit)
    parts = {"[Content_Types].xml": b"<Types/>", "空.txt": b""}
    streamed = {"xl/worksheets/sheet1.xml": "王".encode() * 5000, "b.csv": bytes(range(256)) * 9}
    data = archive(tmp_path, parts, streamed)
    with zipfile.ZipFile(io.BytesIO(data)) as read:
        assert read.testzip() is None
        assert read.namelist() == [*parts, *streamed]
        for name, content in {**parts, **streamed}.items():
            assert read.read(name) == content
    assert list(tmp_path.iterdir()) == []  # the deflated temporaries are gone


def test_a_discarded_member_leaves_no_file(tmp_path):
    member = DeflatedMember(tmp_path)
    member.write(b"abc")
    member.discard()
    member.discard()
    assert list(tmp_path.iterdir()) == []
