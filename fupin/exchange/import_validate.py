"""Rules across rows and against the registry (exchange-format §2, §3, §5, §6), over the frames
the package reader made.

The reader checks each cell (and a member's sex and birth date against the id); this module
checks what needs more than one row or the registry: duplicates, orphans, heads, sizes, years,
divisions and the actor's scope, and people who belong to another household. Every error names
the household it belongs to (``Issue.household_no``), so partial mode can reject whole
households; a rule never reports a value the reader has already found wrong (a null from a bad
cell is skipped, not reported twice).

People and moves (§3 "unless this file moves them", §5): a person active in registry household
X whom the file puts in household Y moves when the file also holds X without them; then X and
Y are applied together (``Validation.moves``). If the file does not hold X, the file says
nothing about X and the person stays there: ``person_in_other_household`` on the member row in
Y. If the file holds X and still lists them, the file has them twice: ``duplicate_person``.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.db import connection

from fupin.accounts.scope import actor_scope
from fupin.divisions.models import Division, Level
from fupin.exchange.columns import HOUSEHOLD_COLUMNS, HOUSEHOLD_SHEET, MEMBER_COLUMNS, MEMBER_SHEET
from fupin.exchange.import_issues import Issue
from fupin.exchange.parsed import ParsedPackage
from fupin.registry.bulk import frame_by_keys
from fupin.registry.models import Household, Member

HOUSEHOLD_ZH = {c.key: c.zh for c in HOUSEHOLD_COLUMNS}
MEMBER_ZH = {c.key: c.zh for c in MEMBER_COLUMNS}
HOUSEHOLD_LEVELS = (Level.VILLAGE.value, Level.GROUP.value)
MAX_ROWS_IN_DETAIL = 5


@dataclass
class Validation:
    """The outcome of the rules: what to report and what may be applied."""

    errors: list[Issue]
    warnings: list[Issue]
    # Household rows that may be applied, with ``division_id`` and ``division_path`` added.
    households: pl.DataFrame
    # Member rows of those households.
    members: pl.DataFrame
    # People who move: person_key, from_household_no, to_household_no (both households applied).
    moves: pl.DataFrame
    rejected_households: int = 0  # household rows not applied
    rejected_members: int = 0  # member rows not applied
    package_rejected: bool = False  # an error about a whole sheet: nothing is applied
    rejected: set[str] = field(default_factory=set)  # household numbers not applied


class _Issues:
    """Errors being collected, each cell reported once."""

    def __init__(self, existing: Iterable[Issue]) -> None:
        self.items: list[Issue] = []
        self.seen = {(i.sheet, i.row, i.column) for i in existing}

    def add(self, issue: Issue) -> None:
        place = (issue.sheet, issue.row, issue.column)
        if issue.column and place in self.seen:
            return  # the reader (or an earlier rule) already said what is wrong with this cell
        self.seen.add(place)
        self.items.append(issue)

    def rows(
        self,
        frame: pl.DataFrame,
        *,
        sheet: str,
        column: str,
        code: str,
        value: str | None = None,
        detail: str | None = None,
    ) -> None:
        """One issue per row of ``frame`` (columns ``_row``, ``household_no`` and optionally the
        ``value`` and ``detail`` columns named)."""
        columns = [
            pl.col("_row"),
            pl.col("household_no"),
            (pl.col(value).cast(pl.String) if value else pl.lit(None, pl.String)).alias("_v"),
            (pl.col(detail).cast(pl.String) if detail else pl.lit(None, pl.String)).alias("_d"),
        ]
        for row, number, text, more in frame.select(columns).iter_rows():
            self.add(
                Issue(
                    sheet=sheet,
                    row=int(row),
                    column=column,
                    code=code,
                    value=text or "",
                    detail=more or "",
                    household_no=number or "",
                )
            )


def validate_package(package: ParsedPackage, *, actor: Any) -> Validation:
    """Check ``package`` across rows and against the registry, as ``actor`` (None: the operator
    on the command line, who may change the whole registry)."""
    hh = package.households.rows
    mm = package.members.rows
    cell_errors = [*package.households.errors, *package.members.errors]
    issues = _Issues(cell_errors)
    reader_errors = _with_households(package)

    _duplicates(hh, mm, issues)
    _orphans(hh, mm, issues)
    _heads_and_sizes(hh, mm, issues)
    _years(hh, issues)
    _in_row(hh, mm, issues)
    hh = _divisions(hh, actor, issues)
    moves = _people(hh, mm, actor, issues)

    errors = [*reader_errors, *issues.items]
    # An error about a whole sheet, or errors the reader stopped listing (rows beyond them
    # may be wrong without saying so): nothing can be applied.
    package_rejected = any(e.row <= 1 or e.code == "too_many_errors" for e in errors)
    rejected = {e.household_no for e in errors if e.household_no}
    moves = _cascade(moves, rejected, issues, errors)

    numbers = hh["household_no"]
    ok_households = numbers.is_not_null() & ~numbers.is_in(sorted(rejected))
    ok_members = mm["household_no"].is_not_null() & ~mm["household_no"].is_in(sorted(rejected))
    if package_rejected:
        ok_households &= False
        ok_members &= False
    households = hh.filter(ok_households) if not ok_households.all() else hh
    known = mm["household_no"].is_in(households["household_no"].implode())
    members = mm.filter(ok_members & known) if not (ok_members & known).all() else mm
    accepted = households["household_no"].implode()
    moves = moves.filter(
        pl.col("from_household_no").is_in(accepted) & pl.col("to_household_no").is_in(accepted)
    )
    return Validation(
        errors=_ordered(errors),
        warnings=_ordered([*package.households.warnings, *package.members.warnings]),
        households=households,
        members=members,
        moves=moves,
        rejected_households=hh.height - households.height,
        rejected_members=mm.height - members.height,
        package_rejected=package_rejected,
        rejected=rejected,
    )


def _ordered(issues: list[Issue]) -> list[Issue]:
    sheets = {HOUSEHOLD_SHEET: 0, MEMBER_SHEET: 1}
    order = {zh: i for i, zh in enumerate([*HOUSEHOLD_ZH.values(), *MEMBER_ZH.values()])}
    return sorted(
        issues, key=lambda i: (sheets.get(i.sheet, 2), i.row, order.get(i.column, -1), i.code)
    )


def _with_households(package: ParsedPackage) -> list[Issue]:
    """The reader's errors, each with the household its row belongs to."""
    out: list[Issue] = []
    for sheet in (package.households, package.members):
        rows = sorted({i.row for i in sheet.errors if not i.household_no})
        by_row = dict(
            sheet.rows.filter(pl.col("_row").is_in(rows)).select("_row", "household_no").iter_rows()
        )
        for issue in sheet.errors:
            if not issue.household_no and issue.row in by_row and by_row[issue.row]:
                issue = Issue(  # noqa: PLW2901 (the same issue, completed)
                    sheet=issue.sheet,
                    row=issue.row,
                    column=issue.column,
                    code=issue.code,
                    value=issue.value,
                    detail=issue.detail,
                    household_no=by_row[issue.row],
                )
            out.append(issue)
    return out


def _rows_text(rows: pl.Expr) -> pl.Expr:
    """A list of row numbers as "另见第 3、7 行" (at most a few)."""
    shown = rows.list.head(MAX_ROWS_IN_DETAIL).cast(pl.List(pl.String)).list.join("、")
    more = pl.when(rows.list.len() > MAX_ROWS_IN_DETAIL).then(pl.lit(" 等")).otherwise(pl.lit(""))
    return pl.concat_str([pl.lit("另见第 "), shown, pl.lit(" 行"), more])


def _duplicates(hh: pl.DataFrame, mm: pl.DataFrame, issues: _Issues) -> None:
    """The same household number, or the same person, on more than one row: every such row."""
    for frame, key, sheet, column, code in (
        (hh, "household_no", HOUSEHOLD_SHEET, HOUSEHOLD_ZH["household_no"], "duplicate_household"),
        (mm, "person_key", MEMBER_SHEET, MEMBER_ZH["id_number"], "duplicate_person"),
    ):
        twice = frame.select(*dict.fromkeys([key, "household_no", "_row"])).filter(
            pl.col(key).is_not_null() & pl.col(key).is_duplicated()
        )
        if not twice.height:
            continue
        rows = twice.group_by(key).agg(pl.col("_row").sort().alias("_rows"))
        twice = twice.join(rows, on=key).with_columns(
            _rows_text(pl.col("_rows").list.set_difference(pl.concat_list("_row"))).alias("_detail")
        )
        issues.rows(
            twice.sort("_row"),
            sheet=sheet,
            column=column,
            code=code,
            value="household_no" if key == "household_no" else None,
            detail="_detail",
        )


def _orphans(hh: pl.DataFrame, mm: pl.DataFrame, issues: _Issues) -> None:
    known = hh["household_no"].drop_nulls().unique().implode()
    orphans = mm.filter(pl.col("household_no").is_not_null() & ~pl.col("household_no").is_in(known))
    issues.rows(
        orphans,
        sheet=MEMBER_SHEET,
        column=MEMBER_ZH["household_no"],
        code="orphan_member",
        value="household_no",
    )


def _heads_and_sizes(hh: pl.DataFrame, mm: pl.DataFrame, issues: _Issues) -> None:
    """Exactly one 户主 per household, whose name and id the household row repeats; as many
    member rows as 家庭人口 says."""
    per_household = (
        mm.select("household_no", "relation")
        .filter(pl.col("household_no").is_not_null())
        .group_by("household_no")
        .agg(
            pl.len().alias("_members"),
            (pl.col("relation") == "head").sum().alias("_heads"),
            pl.col("relation").is_null().any().alias("_unknown_relation"),
        )
    )
    h = (
        hh.filter(pl.col("household_no").is_not_null())
        .join(per_household, on="household_no", how="left")
        .with_columns(
            pl.col("_members").fill_null(0),
            pl.col("_heads").fill_null(0),
            pl.col("_unknown_relation").fill_null(False),
        )
    )
    # A member whose relation could not be read may be the head: no_head would be a guess.
    issues.rows(
        h.filter((pl.col("_heads") == 0) & ~pl.col("_unknown_relation")),
        sheet=HOUSEHOLD_SHEET,
        column="",
        code="no_head",
    )
    heads = mm.select("household_no", "_row", "name", "person_key", "relation").filter(
        pl.col("relation") == "head"
    )
    several = h.filter(pl.col("_heads") > 1).select("household_no")
    issues.rows(
        heads.join(several, on="household_no").sort("_row"),
        sheet=MEMBER_SHEET,
        column=MEMBER_ZH["relation"],
        code="multiple_heads",
    )
    sized = h.filter(pl.col("household_size") != pl.col("_members")).with_columns(
        pl.format("成员信息中有 {} 行", pl.col("_members")).alias("_detail"),
        pl.col("household_size").cast(pl.String).alias("_value"),
    )
    issues.rows(
        sized,
        sheet=HOUSEHOLD_SHEET,
        column=HOUSEHOLD_ZH["household_size"],
        code="size_mismatch",
        value="_value",
        detail="_detail",
    )
    head_rows = heads.select(
        "household_no",
        pl.col("name").alias("_member_name"),
        pl.col("person_key").alias("_member_person"),
    ).unique("household_no", keep="first")
    paired = h.filter(pl.col("_heads") == 1).join(head_rows, on="household_no")
    issues.rows(
        paired.filter(pl.col("head_name") != pl.col("_member_name")),
        sheet=HOUSEHOLD_SHEET,
        column=HOUSEHOLD_ZH["head_name"],
        code="head_mismatch",
    )
    issues.rows(
        paired.filter(pl.col("head_id_number_person") != pl.col("_member_person")),
        sheet=HOUSEHOLD_SHEET,
        column=HOUSEHOLD_ZH["head_id_number"],
        code="head_mismatch",
    )


def _years(hh: pl.DataFrame, issues: _Issues) -> None:
    """脱贫年度 when 已脱贫; neither it nor 年度 before 识别年度."""
    exit_column = HOUSEHOLD_ZH["exit_year"]
    issues.rows(
        hh.filter((pl.col("status") == "exited") & pl.col("exit_year").is_null()),
        sheet=HOUSEHOLD_SHEET,
        column=exit_column,
        code="exit_year_missing",
    )
    for key in ("exit_year", "survey_year"):
        early = hh.filter(pl.col(key) < pl.col("identified_year")).with_columns(
            pl.col(key).cast(pl.String).alias("_value"),
            pl.format("早于识别年度 {}", pl.col("identified_year")).alias("_detail"),
        )
        issues.rows(
            early,
            sheet=HOUSEHOLD_SHEET,
            column=HOUSEHOLD_ZH[key],
            code="out_of_range",
            value="_value",
            detail="_detail",
        )


def _in_row(hh: pl.DataFrame, mm: pl.DataFrame, issues: _Issues) -> None:
    """Two columns of one row that must agree (the reader may have said so already)."""
    same = hh.filter(
        pl.col("other_causes").list.contains(pl.col("main_cause")).fill_null(False)
    ).with_columns(pl.lit("不能与主要致贫原因相同").alias("_detail"))
    issues.rows(
        same,
        sheet=HOUSEHOLD_SHEET,
        column=HOUSEHOLD_ZH["other_causes"],
        code="bad_code",
        detail="_detail",
    )
    working = mm.filter(
        (pl.col("work_place") == "none") & (pl.col("work_months") != 0)
    ).with_columns(
        pl.col("work_months").cast(pl.String).alias("_value"),
        pl.lit("未务工时应为 0").alias("_detail"),
    )
    issues.rows(
        working,
        sheet=MEMBER_SHEET,
        column=MEMBER_ZH["work_months"],
        code="out_of_range",
        value="_value",
        detail="_detail",
    )


# --- The registry ------------------------------------------------------------------------------


def _within(paths: list[str] | None) -> pl.Expr:
    """Whether ``path`` lies in one of the subtrees (None: everywhere)."""
    if paths is None:
        return pl.lit(True)
    if not paths:
        return pl.lit(False)
    return pl.any_horizontal([pl.col("path").str.starts_with(p) for p in paths])


def _scope_paths(actor: Any) -> tuple[list[str] | None, list[str] | None]:
    """The subtrees ``actor`` may see and may change (None: the whole registry)."""
    if actor is None:
        return None, None
    from fupin.accounts.roles import EDITOR_ROLES

    scope = actor_scope(actor)
    return scope.paths(), scope.paths(EDITOR_ROLES)


def _divisions(hh: pl.DataFrame, actor: Any, issues: _Issues) -> pl.DataFrame:
    """Each household's division: known, a village or group, and in the actor's editable
    area; an existing household must be in that area too. Adds ``division_id`` and
    ``division_path``."""
    visible, editable = _scope_paths(actor)
    divisions = pl.DataFrame(
        list(Division.objects.values_list("code", "id", "path", "level")),
        schema={
            "division_code": pl.String,
            "division_id": pl.Int64,
            "path": pl.String,
            "level": pl.String,
        },
        orient="row",
    ).with_columns(_within(visible).alias("_visible"), _within(editable).alias("_editable"))
    h = hh.join(divisions, on="division_code", how="left")
    column = HOUSEHOLD_ZH["division_code"]
    known = (
        pl.col("division_id").is_not_null()
        & pl.col("level").is_in(HOUSEHOLD_LEVELS)
        & pl.col("_visible")
    ).fill_null(False)
    issues.rows(
        h.filter(pl.col("division_code").is_not_null() & ~known),
        sheet=HOUSEHOLD_SHEET,
        column=column,
        code="unknown_division",
        value="division_code",
    )
    issues.rows(
        h.filter(known & ~pl.col("_editable")),
        sheet=HOUSEHOLD_SHEET,
        column=column,
        code="out_of_scope",
        value="division_code",
    )
    h = h.with_columns(
        pl.when(known).then(pl.col("division_id")).alias("division_id"),
        pl.when(known).then(pl.col("path")).alias("division_path"),
    ).drop("path", "level", "_visible", "_editable")

    # An existing household outside the area may not be changed, wherever the file puts it.
    existing = _existing_households(h["household_no"])
    if existing.height and editable is not None:
        outside = existing.filter(~_within(editable)).select("household_no")
        issues.rows(
            h.join(outside, on="household_no").sort("_row"),
            sheet=HOUSEHOLD_SHEET,
            column=HOUSEHOLD_ZH["household_no"],
            code="out_of_scope",
            value="household_no",
        )
    return h.join(
        existing.select("household_no", pl.col("id").alias("registry_id")),
        on="household_no",
        how="left",
    )


def _existing_households(numbers: pl.Series) -> pl.DataFrame:
    """The households of the registry among ``numbers``: household_no, id, division path."""
    return _households_with_path("household_no", numbers)


def _households_with_path(key: str, values: pl.Series) -> pl.DataFrame:
    """The households whose ``key`` (``id`` or ``household_no``) is among ``values``: the key,
    the other of the two and their division's path."""
    other = "household_no" if key == "id" else "id"
    qn = connection.ops.quote_name
    sql = " ".join(
        [
            f"SELECT h.{key}, h.{other}, d.path FROM",
            qn(Household._meta.db_table),
            "h JOIN",
            qn(Division._meta.db_table),
            "d ON d.id = h.division_id WHERE {keys}",
        ]
    )
    types = {"id": pl.Int64, "household_no": pl.String}
    schema = {key: types[key], other: types[other], "path": pl.String}
    return frame_by_keys(sql, f"h.{key}", values, schema, table=Household)


def _memberships(people: pl.Series) -> pl.DataFrame:
    """The registry household (id) where each of ``people`` is an active member."""
    sql = " ".join(
        [
            "SELECT m.person_key, m.household_id FROM",
            connection.ops.quote_name(Member._meta.db_table),
            "m WHERE m.is_active = %s AND {keys}",
        ]
    )
    schema = {"person_key": pl.String, "registry_household_id": pl.Int64}
    return frame_by_keys(sql, "m.person_key", people, schema, table=Member, before=[True])


def _people(hh: pl.DataFrame, mm: pl.DataFrame, actor: Any, issues: _Issues) -> pl.DataFrame:
    """People the registry has in another household: moves, or person_in_other_household."""
    people = mm.select("person_key", "household_no", "_row").filter(
        pl.col("person_key").is_not_null() & ~pl.col("person_key").is_duplicated()
    )
    registry = _memberships(people["person_key"])
    if not registry.height:
        return pl.DataFrame(
            schema={
                "person_key": pl.String,
                "from_household_no": pl.String,
                "to_household_no": pl.String,
                "_row": pl.Int64,
            }
        )
    file_ids = (
        hh.filter(pl.col("household_no").is_not_null())
        .select("household_no", "registry_id")
        .unique("household_no")
    )
    elsewhere = (
        people.select("person_key", "household_no", "_row")
        .join(registry, on="person_key")
        .join(file_ids, on="household_no", how="left")
        .filter(pl.col("registry_household_id").ne_missing(pl.col("registry_id")))
    )
    places = _households_by_id(elsewhere["registry_household_id"])
    elsewhere = elsewhere.join(places, on="registry_household_id", how="left")
    in_file = hh["household_no"].drop_nulls().unique().implode()
    moving = pl.col("registry_household_no").is_in(in_file)
    visible, _editable = _scope_paths(actor)
    stuck = elsewhere.filter(~moving).with_columns(
        pl.when(_within(visible))
        .then(pl.format("该人员现为户 {} 的成员", pl.col("registry_household_no")))
        .alias("_detail")
    )
    issues.rows(
        stuck,
        sheet=MEMBER_SHEET,
        column=MEMBER_ZH["id_number"],
        code="person_in_other_household",
        detail="_detail",
    )
    return elsewhere.filter(moving).select(
        "person_key",
        pl.col("registry_household_no").alias("from_household_no"),
        pl.col("household_no").alias("to_household_no"),
        "_row",
    )


def _households_by_id(ids: pl.Series) -> pl.DataFrame:
    return _households_with_path("id", ids).rename(
        {"id": "registry_household_id", "household_no": "registry_household_no"}
    )


def _cascade(
    moves: pl.DataFrame, rejected: set[str], issues: _Issues, errors: list[Issue]
) -> pl.DataFrame:
    """A person cannot join their new household while the household they leave is rejected:
    reject the new one too (and so on along chains of moves)."""
    while True:
        blocked = moves.filter(
            pl.col("from_household_no").is_in(sorted(rejected))
            & ~pl.col("to_household_no").is_in(sorted(rejected))
        )
        if not blocked.height:
            return moves
        for row, source, target in blocked.select(
            "_row", "from_household_no", "to_household_no"
        ).iter_rows():
            issue = Issue(
                sheet=MEMBER_SHEET,
                row=int(row),
                column=MEMBER_ZH["id_number"],
                code="person_in_other_household",
                detail=f"该人员现为户 {source} 的成员，该户有错误未能导入",
                household_no=target,
            )
            before = len(issues.items)
            issues.add(issue)
            if len(issues.items) > before:
                errors.append(issue)
            rejected.add(target)
