"""The files of an export (exchange-format §1, §8): CSV files and a streamed XLSX workbook.

The rows arrive rendered (``export_cells``); this module adds what surrounds them. CSV: UTF-8 with
a byte order mark (so Chinese Excel opens it as UTF-8), the header row, CRLF line ends as
RFC 4180 and Excel write them. XLSX: the OOXML SpreadsheetML parts Excel itself writes (workbook,
styles, shared strings, one worksheet per sheet with a frozen, bold header row and column widths),
each row numbered as it streams out. xlsxwriter, even in constant_memory mode, spends microseconds
per cell call (about 10,000 people per second here); the export must go at the database's speed.
"""

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Protocol
from xml.sax.saxutils import escape

from fupin.exchange.columns import Column, Kind
from fupin.exchange.export_cells import CSV_LINE_END, column_letter, csv_text, xml_text_element
from fupin.exchange.export_zip import DeflatedMember, ZipWriter

BOM = "\ufeff"
# Largest sheet Excel opens: 1,048,576 rows, the header included.
XLSX_MAX_ROWS = 1_048_576


class Sink(Protocol):
    """Where a sheet's bytes go: a file or a ZIP member being deflated."""

    def write(self, data: bytes, /) -> int: ...

    def close(self) -> None: ...


# --- CSV ---------------------------------------------------------------------------------------


class CsvFile:
    """One CSV file of a package: byte order mark, header row, then the rendered lines."""

    def __init__(self, target: Sink, columns: Sequence[Column]) -> None:
        self._target = target
        self.rows = 0
        header = ",".join(csv_text(c.zh) for c in columns)
        self._target.write((BOM + header + CSV_LINE_END).encode("utf-8"))

    def write(self, text: bytes, rows: int) -> None:
        """Rendered lines (UTF-8), each ending with a line end."""
        self._target.write(text)
        self.rows += rows

    def close(self) -> None:
        self._target.close()


# --- XLSX --------------------------------------------------------------------------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# Cell formats (cellXfs of STYLES): 0 general, 1 header, 2 number 0.00, 3 text, 4 text with
# Excel's quote prefix.
STYLES = (
    XML_HEAD + f'<styleSheet xmlns="{MAIN_NS}">'
    '<fonts count="2">'
    '<font><sz val="11"/><name val="宋体"/><family val="3"/><charset val="134"/></font>'
    '<font><b/><sz val="11"/><name val="宋体"/><family val="3"/><charset val="134"/></font>'
    "</fonts>"
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"'
    ' applyNumberFormat="1"/>'
    '<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'
    ' quotePrefix="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="常规" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _width(column: Column) -> int:
    """A column width (in characters) that shows the header and typical values."""
    wide = {Kind.ID_NUMBER: 22, Kind.HOUSEHOLD_NO: 19, Kind.DIVISION: 14, Kind.PHONE: 14}
    return max(wide.get(column.kind, 0), 2 * len(column.zh) + 2, 11)


class XlsxSheet:
    """One worksheet, its rendered rows numbered and streamed into the workbook's ZIP."""

    def __init__(self, book: "XlsxBook", target: Sink, columns: Sequence[Column]) -> None:
        self._target = target
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{_width(c)}" customWidth="1"/>'
            for i, c in enumerate(columns, 1)
        )
        header = "".join(
            f'<c r="{column_letter(i)}1" s="1" t="s"><v>{book.string(c.zh)}</v></c>'
            for i, c in enumerate(columns)
        )
        self._write(
            XML_HEAD + f'<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            '<sheetViews><sheetView workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            "</sheetView></sheetViews>"
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols>'
            f'<sheetData><row r="1">{header}</row>'
        )
        self.rows = 0  # data rows, without the header

    def _write(self, text: str) -> None:
        self._target.write(text.encode("utf-8"))

    def write(self, text: bytes, rows: int) -> None:
        """Rendered, numbered rows (UTF-8; ``rows`` of them)."""
        self._target.write(text)
        self.rows += rows

    def close(self) -> None:
        try:
            self._write("</sheetData></worksheet>")
        finally:
            self._target.close()


class XlsxBook:
    """A workbook of streamed sheets: the shared strings their rows use, then the package.

    Render each sheet into a ``DeflatedMember`` (``sheet``), on any thread, then ``write`` the
    package.
    """

    def __init__(self, sheet_names: Sequence[str]) -> None:
        self._names = list(sheet_names)
        self._strings: dict[str, int] = {}
        self._lock = threading.Lock()

    def string(self, value: str) -> int:
        """The index of a shared string, added on first use (from any thread)."""
        index = self._strings.get(value)
        if index is None:
            with self._lock:
                index = self._strings.setdefault(value, len(self._strings))
        return index

    def sheet(self, columns: Sequence[Column], target: Sink) -> XlsxSheet:
        return XlsxSheet(self, target, columns)

    def write(self, archive: ZipWriter, sheets: Sequence[DeflatedMember]) -> None:
        """The whole package into ``archive``, with the finished sheet parts in order."""
        for name, data in self._fixed_parts():
            archive.add_bytes(name, data.encode("utf-8"))
        for number, member in enumerate(sheets, 1):
            archive.add_member(f"xl/worksheets/sheet{number}.xml", member)
        items = "".join(f"<si>{xml_text_element(s)}</si>" for s in self._strings)
        archive.add_bytes(
            "xl/sharedStrings.xml",
            (
                XML_HEAD + f'<sst xmlns="{MAIN_NS}" uniqueCount="{len(self._strings)}">'
                f"{items}</sst>"
            ).encode("utf-8"),
        )

    def _fixed_parts(self) -> list[tuple[str, str]]:
        sheets = range(1, len(self._names) + 1)
        ct = "application/vnd.openxmlformats-"
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{ct}officedocument.'
            'spreadsheetml.worksheet+xml"/>'
            for i in sheets
        )
        content_types = (
            XML_HEAD
            + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="{ct}package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}officedocument.'
            'spreadsheetml.sheet.main+xml"/>'
            f"{overrides}"
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}officedocument.'
            'spreadsheetml.styles+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}officedocument.'
            'spreadsheetml.sharedStrings+xml"/>'
            f'<Override PartName="/docProps/core.xml" ContentType="{ct}package.'
            'core-properties+xml"/>'
            f'<Override PartName="/docProps/app.xml" ContentType="{ct}officedocument.'
            'extended-properties+xml"/>'
            "</Types>"
        )
        rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
        package_rels = (
            XML_HEAD + f'<Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/'
            'relationships/metadata/core-properties" Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{rel}/extended-properties" Target="docProps/app.xml"/>'
            "</Relationships>"
        )
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        core = (
            XML_HEAD + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/'
            '2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<dc:creator>Fupin</dc:creator>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
            "</cp:coreProperties>"
        )
        app = (
            XML_HEAD + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/'
            '2006/extended-properties"><Application>Fupin</Application></Properties>'
        )
        sheet_list = "".join(
            f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in zip(sheets, self._names, strict=True)
        )
        workbook = (
            XML_HEAD + f'<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}">'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f"<sheets>{sheet_list}</sheets></workbook>"
        )
        n = len(self._names)
        sheet_rels = "".join(
            f'<Relationship Id="rId{i}" Type="{rel}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in sheets
        )
        workbook_rels = (
            XML_HEAD + f'<Relationships xmlns="{PKG_REL_NS}">{sheet_rels}'
            f'<Relationship Id="rId{n + 1}" Type="{rel}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{n + 2}" Type="{rel}/sharedStrings" '
            'Target="sharedStrings.xml"/>'
            "</Relationships>"
        )
        return [
            ("[Content_Types].xml", content_types),
            ("_rels/.rels", package_rels),
            ("docProps/core.xml", core),
            ("docProps/app.xml", app),
            ("xl/workbook.xml", workbook),
            ("xl/_rels/workbook.xml.rels", workbook_rels),
            ("xl/styles.xml", STYLES),
        ]
