"""Public notices (公示/公告) of a village: the households on one publicity or announcement step
of a procedure, as a printable page and a PDF.

A draft is computed from the cases (``notice_draft``); issuing it (``notice_issue``) stores the
whole printed content as a snapshot, so a re-print of an issued notice is the same document even
after the households change. Id numbers are masked (exchange-format §4) before anything is
rendered or stored: a notice is posted in public. The PDF embeds a subset of a CJK TrueType
font (docs/adr/0006-procedures.md): without one it is refused, never printed with empty boxes.
"""

import datetime as dt
import io
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from fupin.accounts.roles import Role
from fupin.accounts.scope import actor_scope
from fupin.core.audit import ChangeSource, audit_record
from fupin.core.errors import NotFound, public_key
from fupin.core.masking import mask_id_number
from fupin.divisions.models import Division, Level, subtree_q
from fupin.procedures.definitions import PROCEDURES, TOWNSHIP, VILLAGE, Procedure, Step
from fupin.procedures.models import Case, PublicNotice, Transition
from fupin.procedures.services import NotAllowed, PublicityCache, publicity_days, publicity_ends
from fupin.registry.models import Member

ANNOUNCEMENT = "announcement"
# Roles that issue a notice of a village: its cadre, or an administrator of the township or
# county above it (the levels that complete publicity and announcement steps).
ISSUER_ROLES = frozenset({Role.VILLAGE_CADRE, Role.TOWNSHIP_ADMIN, Role.COUNTY_ADMIN})
WHERE_TO_OBJECT_MAX = 500
# A notice covers the households that started one step in one period; a year is plenty.
PERIOD_MAX_DAYS = 366
SUPERVISION_HOTLINE = "12317"  # 国务院扶贫办监督举报电话

# Tried in order when settings.PDF_FONT is empty: Debian's fonts-wqy-microhei, fonts-wqy-zenhei,
# fonts-arphic-uming.
PDF_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
FONT_MISSING = gettext_noop(
    "The PDF cannot be made: no Chinese font was found on the server (tried: %(paths)s). "
    "Install the Debian package fonts-wqy-microhei, or set FUPIN_PDF_FONT to a TrueType font "
    "file."
)
FONT_UNUSABLE = gettext_noop(
    "The PDF cannot be made: the font %(path)s cannot be read or lacks characters of the notice "
    "(%(chars)s). Install the Debian package fonts-wqy-microhei, or set FUPIN_PDF_FONT to a "
    "TrueType font file with Chinese characters."
)


def notice_steps(procedure: Procedure) -> list[Step]:
    """The steps of a procedure that are made public: publicity periods and announcements."""
    return [s for s in procedure.steps if s.publicity or s.code == ANNOUNCEMENT]


def notice_step_choices() -> list[tuple[str, str]]:
    """("procedure:step", label) of every step a notice can be made of."""
    return [
        (f"{p.code}:{s.code}", f"{p.label} · {s.label}")
        for p in PROCEDURES.values()
        for s in notice_steps(p)
    ]


# --- Reading ------------------------------------------------------------------------------------


def notice_village(actor: Any, code: str) -> Division:
    """The village ``code`` if it is a village the actor may read; NotFound otherwise (a missing
    code, another level and another area look the same)."""
    scope = actor_scope(actor)
    village = Division.objects.filter(code=code, level=Level.VILLAGE).first()
    if village is None or not scope.can_see(village.path):
        raise NotFound
    return village


def access_notice(actor: Any, public_id: str | uuid.UUID) -> PublicNotice:
    """An issued notice the actor may read (the village is in the actor's area); missing and out
    of scope answer the same NotFound."""
    key = public_key(public_id)
    scope = actor_scope(actor)
    notice = (
        PublicNotice.objects.select_related("village").filter(public_id=key).first()
        if not scope.is_empty
        else None
    )
    if notice is None or not scope.can_see(notice.village.path):
        raise NotFound
    return notice


def notice_list(*, actor: Any, village: str = "", procedure: str = "") -> QuerySet[PublicNotice]:
    """Issued notices of the villages in the actor's area, newest first."""
    qs = PublicNotice.objects.select_related("village").filter(
        actor_scope(actor).division_q("village__path")
    )
    if village:
        qs = qs.filter(village__code=village)
    if procedure:
        qs = qs.filter(procedure=procedure)
    return qs


def can_issue(actor: Any, village: Division) -> bool:
    return any(
        g.role in ISSUER_ROLES and village.path.startswith(g.path)
        for g in actor_scope(actor).grants
    )


@dataclass(frozen=True)
class NoticeRequest:
    """A validated request for a notice."""

    village: Division
    procedure: Procedure
    step: Step
    # Households whose step started in this period; both None: the cases on the step now.
    period_start: dt.date | None = None
    period_end: dt.date | None = None


def notice_request(
    actor: Any,
    *,
    village: str,
    procedure: str,
    step: str,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
) -> NoticeRequest:
    """Check a notice's input: a village in the actor's area, a step that is made public, a
    period in order. Raises ValidationError keyed by field."""
    errors: dict[str, str] = {}
    try:
        division = notice_village(actor, village.strip())
    except NotFound:
        errors["village"] = _("No such village in your area (give a village's 12-digit code).")
        division = None
    definition = PROCEDURES.get(procedure)
    chosen = definition.step(step) if definition else None
    if definition is None or chosen is None or chosen not in notice_steps(definition):
        errors["step"] = _("Choose a publicity or announcement step of a procedure.")
    if (period_start is None) != (period_end is None):
        errors["period_end"] = _("Give both the first and the last day of the period, or neither.")
    elif period_start and period_end:
        if period_end < period_start:
            errors["period_end"] = _("The period ends before it starts.")
        elif (period_end - period_start).days >= PERIOD_MAX_DAYS:
            errors["period_end"] = _("A period is at most %(days)s days.") % {
                "days": PERIOD_MAX_DAYS
            }
    if errors:
        raise ValidationError(errors)
    assert division is not None and definition is not None and chosen is not None
    return NoticeRequest(division, definition, chosen, period_start, period_end)


def _day_range(start: dt.date, end: dt.date) -> Q:
    tz = timezone.get_current_timezone()
    first = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return Q(at__gte=first, at__lt=after)


def notice_rows(actor: Any, request: NoticeRequest) -> list[dict[str, Any]]:
    """The households of the notice, by household number: number, head's name, the head's id
    number masked, household size, the procedure, and the step's start and end dates.

    Without a period: the open cases on the step now. With one: the cases that entered the step
    in it (wherever they are now: a notice of last month lists last month's households). A
    publicity step ends ``publicity_days`` after its start, later when an objection paused it;
    an announcement has no end."""
    scope = actor_scope(actor)
    cases = Case.objects.select_related("household").filter(
        scope.division_q("division__path"),
        subtree_q(request.village.path, "division__path"),
        procedure=request.procedure.code,
    )
    entries = Transition.objects.filter(to_state=request.step.code, case__in=cases)
    if request.period_start and request.period_end:
        entries = entries.filter(_day_range(request.period_start, request.period_end))
    else:
        cases = cases.filter(state=request.step.code, closed_at__isnull=True)
        entries = entries.filter(case__in=cases)
    # The latest entry of each case into the step (a rejected case opened again is a new case).
    started: dict[int, dt.datetime] = dict(
        entries.values("case_id").annotate(entered=Max("at")).values_list("case_id", "entered")
    )
    chosen = sorted(
        cases.filter(pk__in=list(started)), key=lambda c: (c.household.household_no, c.pk)
    )
    household_ids = [c.household_id for c in chosen]
    heads: dict[int, str] = {}
    sizes: dict[int, int] = {}
    for household_id, relation, id_number in Member.objects.filter(
        household_id__in=household_ids, is_active=True
    ).values_list("household_id", "relation", "id_number"):
        sizes[household_id] = sizes.get(household_id, 0) + 1
        if relation == "head":
            heads[household_id] = id_number
    cache: PublicityCache = {}
    rows = []
    for case in chosen:
        start = timezone.localtime(started[case.pk]).date()
        end: dt.date | None = None
        if request.step.publicity:
            ends = (
                publicity_ends(case, request.step, cache)
                if case.state == request.step.code and case.closed_at is None
                else None
            )
            end = (
                timezone.localtime(ends).date()
                if ends
                else start + dt.timedelta(days=publicity_days(case, request.step, cache))
            )
            end = max(end, start)  # a step start recorded before its entry: never end first
        rows.append(
            {
                "household_no": case.household.household_no,
                "head_name": case.household.head_name,
                "head_id_number": mask_id_number(heads.get(case.household_id, "")),
                "household_size": sizes.get(case.household_id, 0),
                "kind": str(request.procedure.label),
                "start": start.isoformat(),
                "end": end.isoformat() if end else "",
            }
        )
    return rows


def default_where_to_object(village: Division) -> str:
    township = village.parent.name if village.parent else ""
    return _(
        "During the publicity period, objections may be raised with the villagers' committee of "
        "%(village)s or with %(township)s, or by calling the supervision hotline of the State "
        "Council Poverty Alleviation Office: %(hotline)s."
    ) % {"village": village.name, "township": township, "hotline": SUPERVISION_HOTLINE}


def _issuing_body(village: Division, step: Step) -> str:
    """Who a notice is from: the villagers' committee for village steps, else the township."""
    if step.level == VILLAGE or village.parent is None:
        return _("%(village)s villagers' committee") % {"village": village.name}
    if step.level == TOWNSHIP or village.parent.parent is None:
        return village.parent.name
    return village.parent.parent.name


def notice_draft(
    actor: Any, request: NoticeRequest, *, where_to_object: str = ""
) -> dict[str, Any]:
    """The content of a notice as it would be issued now (the snapshot an issue stores)."""
    village = request.village
    rows = notice_rows(actor, request)
    starts = [r["start"] for r in rows]
    ends = [r["end"] or r["start"] for r in rows]
    today = timezone.localdate().isoformat()
    period_start = (
        request.period_start.isoformat() if request.period_start else min(starts, default=today)
    )
    period_end = (
        request.period_end.isoformat() if request.period_end else max([*ends, period_start])
    )
    announcement = not request.step.publicity
    names = [d.name for d in _ancestors(village)]
    return {
        "title": _("%(village)s: %(procedure)s, %(step)s")
        % {
            "village": village.name,
            "procedure": request.procedure.label,
            "step": request.step.label,
        },
        "kind": "announcement" if announcement else "publicity",
        "village_code": village.code,
        "village": village.name,
        "area": "".join(names),
        "procedure": request.procedure.code,
        "procedure_label": str(request.procedure.label),
        "step": request.step.code,
        "step_label": str(request.step.label),
        "period_start": period_start,
        "period_end": period_end,
        "where_to_object": where_to_object.strip() or default_where_to_object(village),
        "issuing_body": _issuing_body(village, request.step),
        "rows": rows,
    }


def _ancestors(village: Division) -> list[Division]:
    """County, township and village (the names a notice's heading gives)."""
    codes = village.ancestor_codes
    found = {d.code: d for d in Division.objects.filter(code__in=codes)}
    return [
        found[c]
        for c in codes
        if c in found and found[c].level in {Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE}
    ]


# --- Issuing ------------------------------------------------------------------------------------


@transaction.atomic
def notice_issue(
    *,
    actor: Any,
    source: ChangeSource,
    request: NoticeRequest,
    where_to_object: str = "",
) -> PublicNotice:
    """Issue a notice: the village's cadre or an administrator of its township or county. Stores
    the content as a snapshot and writes the audit trail (household numbers only, no names or id
    numbers). Refuses an empty notice and an over-long "where to object"."""
    if not can_issue(actor, request.village):
        raise NotAllowed(
            _(
                "A notice of a village is issued by its village cadre or by an administrator of "
                "its township or county."
            )
        )
    if len(where_to_object.strip()) > WHERE_TO_OBJECT_MAX:
        raise ValidationError(
            {
                "where_to_object": _("At most %(n)s characters.") % {"n": WHERE_TO_OBJECT_MAX},
            }
        )
    content = notice_draft(actor, request, where_to_object=where_to_object)
    if not content["rows"]:
        raise ValidationError(
            {
                "step": _(
                    "No household is on this step in the period: there is nothing to make public."
                )
            }
        )
    issuer = getattr(actor, "full_name", "") or getattr(actor, "username", "") or ""
    content["issued_by"] = issuer
    content["issued_on"] = timezone.localdate().isoformat()
    notice = PublicNotice.objects.create(
        village=request.village,
        procedure=request.procedure.code,
        step=request.step.code,
        title=content["title"][:200],
        period_start=dt.date.fromisoformat(content["period_start"]),
        period_end=dt.date.fromisoformat(content["period_end"]),
        where_to_object=content["where_to_object"],
        snapshot=content,
        issued_by=actor if getattr(actor, "pk", None) else None,
        issued_by_name=issuer[:150],
    )
    audit_record(
        actor=actor,
        action="procedure.notice_issue",
        entity="public_notice",
        entity_key=str(notice.public_id),
        division_path=request.village.path,
        source=source,
        after={
            "procedure": notice.procedure,
            "step": notice.step,
            "period_start": content["period_start"],
            "period_end": content["period_end"],
            "where_to_object": notice.where_to_object,
            "households": [r["household_no"] for r in content["rows"]],
        },
    )
    return notice


# --- PDF ----------------------------------------------------------------------------------------


class PdfFontMissing(Exception):  # noqa: N818 (reads as what is wrong)
    """No usable CJK font: ``message`` is the English text, ``translated`` the reader's."""

    def __init__(self, template: str, values: dict[str, str]) -> None:
        self.message = template % values
        self.translated = _(template) % values
        super().__init__(self.message)


_FONTS: dict[str, Any] = {}


def pdf_font_path() -> Path:
    """The font file the PDFs use: settings.PDF_FONT when set (no fallback: a wrong setting is
    reported), else the first of PDF_FONT_CANDIDATES that exists."""
    configured = str(getattr(settings, "PDF_FONT", "") or "")
    candidates = [configured] if configured else list(PDF_FONT_CANDIDATES)
    for candidate in candidates:
        if Path(candidate).is_file():
            return Path(candidate)
    raise PdfFontMissing(FONT_MISSING, {"paths": ", ".join(candidates)})


def _font(path: Path) -> tuple[str, Any]:
    """(registered font name, TTFont) of a font file, loaded once per process."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    key = str(path)
    if key not in _FONTS:
        name = f"FupinCJK{len(_FONTS)}"
        try:
            # A collection (.ttc) holds several faces: the first is the regular one.
            font = (
                TTFont(name, key, subfontIndex=0)
                if path.suffix.lower() == ".ttc"
                else TTFont(name, key)
            )
        except (TTFError, OSError, ValueError):
            raise PdfFontMissing(FONT_UNUSABLE, {"path": key, "chars": "—"}) from None
        pdfmetrics.registerFont(font)
        _FONTS[key] = font
    font = _FONTS[key]
    return font.fontName, font


def _check_glyphs(font: Any, path: Path, texts: list[str]) -> None:
    """Refuse a font without the notice's characters: they would print as empty boxes."""
    known = font.face.charToGlyph
    lacking = sorted({ch for text in texts for ch in text if ord(ch) > 32 and ord(ch) not in known})
    if lacking:
        raise PdfFontMissing(FONT_UNUSABLE, {"path": str(path), "chars": "".join(lacking[:10])})


def notice_pdf(content: dict[str, Any]) -> bytes:
    """The notice as an A4 PDF: the font subset is embedded, the table's header row repeats on
    every page, and each page is numbered "page x of y". Raises PdfFontMissing."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    path = pdf_font_path()
    font_name, font = _font(path)
    headers = notice_headers(content)
    lines = notice_lines(content)
    cells = [
        [
            str(i),
            r["household_no"],
            r["head_name"],
            r["head_id_number"],
            str(r["household_size"]),
            r["kind"],
            r["start"],
            r["end"] or "—",
        ]
        for i, r in enumerate(content["rows"], start=1)
    ]
    footer = _("Page %(page)s of %(pages)s")
    _check_glyphs(
        font,
        path,
        [
            *headers,
            *lines.values(),
            *(c for row in cells for c in row),
            footer % {"page": 0, "pages": 0},
        ],
    )

    base = ParagraphStyle("notice", fontName=font_name, fontSize=10.5, leading=15)
    title = ParagraphStyle("title", parent=base, fontSize=18, leading=24, alignment=TA_CENTER)
    cell = ParagraphStyle("cell", parent=base, fontSize=9, leading=12)
    right = ParagraphStyle("right", parent=base, alignment=TA_RIGHT)

    def para(text: str, style: ParagraphStyle = base) -> Any:
        return Paragraph(escape(text), style)

    table = Table(
        [[para(h, cell) for h in headers], *([para(c, cell) for c in row] for row in cells)],
        colWidths=[w * mm for w in (9, 34, 20, 35, 19, 21, 24, 24)],  # 186 mm: A4 less margins
        repeatRows=1,
    )
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )

    class NumberedCanvas(Canvas):  # type: ignore[misc]
        """Holds the pages back until the end, to print "page x of y" on each."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 (reportlab's name)
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self.setFont(font_name, 9)
                self.drawCentredString(
                    A4[0] / 2, 10 * mm, footer % {"page": number, "pages": total}
                )
                super().showPage()
            super().save()

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=content["title"],
        author=content["issuing_body"],
    )
    document.build(
        [
            para(content["title"], title),
            Spacer(1, 4 * mm),
            para(lines["intro"]),
            Spacer(1, 3 * mm),
            table,
            Spacer(1, 5 * mm),
            para(lines["objection"]),
            Spacer(1, 10 * mm),
            para(lines["issuer"], right),
            para(lines["date"], right),
            Spacer(1, 6 * mm),
            para(lines["seal"], right),
        ],
        canvasmaker=NumberedCanvas,
    )
    return buffer.getvalue()


def notice_headers(content: dict[str, Any]) -> list[str]:
    """The table's column headings, shared by the page and the PDF."""
    announcement = content["kind"] == "announcement"
    return [
        _("No."),
        _("Household number"),
        _("Head of household"),
        _("Id number (masked)"),
        _("Household size"),
        _("Type"),
        _("Announced on") if announcement else _("Publicity starts"),
        _("Until") if announcement else _("Publicity ends"),
    ]


def notice_lines(content: dict[str, Any]) -> dict[str, str]:
    """The notice's sentences, shared by the page and the PDF."""
    values = {
        "count": str(len(content["rows"])),
        "start": content["period_start"],
        "end": content["period_end"],
        "area": content["area"],
        "step": content["step_label"],
    }
    if content["kind"] == "announcement":
        intro = _(
            "%(area)s: the following %(count)s households are announced (%(step)s), "
            "from %(start)s to %(end)s."
        )
    else:
        intro = _(
            "%(area)s: the following %(count)s households are made public (%(step)s) from "
            "%(start)s to %(end)s. Anyone who objects may say so during the publicity period."
        )
    return {
        "intro": intro % values,
        "objection": _("Where to object: %(text)s") % {"text": content["where_to_object"]},
        "issuer": content["issuing_body"],
        "date": _("Issued on %(date)s by %(name)s")
        % {
            "date": content.get("issued_on") or timezone.localdate().isoformat(),
            "name": content.get("issued_by") or "—",
        },
        "seal": _("(seal) Signature: ____________"),
    }


def notice_villages(actor: Any, limit: int = 2000) -> list[Division]:
    """The villages of the actor's area (suggestions for the notice form), by code."""
    return list(
        Division.objects.select_related("parent")
        .filter(actor_scope(actor).division_q("path"), level=Level.VILLAGE)
        .order_by("code")[:limit]
    )
