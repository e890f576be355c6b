"""A small expression language in which facts and criteria are written once.

Each expression compiles to three forms that must agree (a property test checks it):

* ``to_polars()``: a polars expression over a whole frame (the bulk evaluation);
* ``to_sql()``: SQL text with ``%s`` parameters, for the member and record facts that the bulk
  evaluation aggregates inside the database;
* ``evaluate()``: plain Python over one row (the explanation of one household).

Nulls follow SQL and polars (Kleene logic): a comparison with a null is null, ``null AND false``
is false, ``null OR true`` is true, and a criterion passes only when its test is true. There is
no ``eval()`` of text: an expression is built from these classes in code (STYLE.md §3.4, point 6).
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl

Row = Mapping[str, Any]


class ParameterValues:
    """Resolved parameter values: a plain value, or a mapping qualifier → value."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = dict(values)

    def get(self, name: str, qualifier: str | None = None) -> Any:
        value = self.values.get(name)
        if isinstance(value, Mapping):
            return None if qualifier is None else value.get(qualifier)
        return value

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.values.get(name)
        return dict(value) if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class SqlContext:
    """How column names read in SQL (``columns``) and the parameter values to bind."""

    columns: Mapping[str, str]
    params: ParameterValues


class Expr:
    """An expression over one row (a member, a yearly record, a household or a division)."""

    def to_polars(self, params: ParameterValues) -> pl.Expr:
        if self.is_constant():
            return pl.lit(self.evaluate({}, params))
        return self.polars(params)

    def to_sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        # An expression of parameters only is computed once here and bound as one value.
        if self.is_constant():
            return "%s", [self.evaluate({}, ctx.params)]
        return self.sql(ctx)

    def polars(self, params: ParameterValues) -> pl.Expr:
        raise NotImplementedError

    def sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        raise NotImplementedError

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        raise NotImplementedError

    def is_constant(self) -> bool:
        """Whether the expression reads no column (its value is the same for every row)."""
        return all(child.is_constant() for child in self.children())

    def parameters(self) -> set[str]:
        """Names of the policy parameters this expression reads."""
        found: set[str] = set()
        for child in self.children():
            found |= child.parameters()
        return found

    def children(self) -> Sequence["Expr"]:
        return ()

    # Building expressions with operators keeps the criteria readable.
    def __gt__(self, other: Any) -> "Expr":
        return Compare(">", self, lit(other))

    def __ge__(self, other: Any) -> "Expr":
        return Compare(">=", self, lit(other))

    def __lt__(self, other: Any) -> "Expr":
        return Compare("<", self, lit(other))

    def __le__(self, other: Any) -> "Expr":
        return Compare("<=", self, lit(other))

    def eq(self, other: Any) -> "Expr":
        return Compare("==", self, lit(other))

    def ne(self, other: Any) -> "Expr":
        return Compare("!=", self, lit(other))

    def __and__(self, other: "Expr") -> "Expr":
        return And((self, other))

    def __or__(self, other: "Expr") -> "Expr":
        return Or((self, other))

    def __invert__(self) -> "Expr":
        return Not(self)

    def __add__(self, other: Any) -> "Expr":
        return Arith("+", self, lit(other))

    def __sub__(self, other: Any) -> "Expr":
        return Arith("-", self, lit(other))

    def __rsub__(self, other: Any) -> "Expr":
        return Arith("-", lit(other), self)

    def __mul__(self, other: Any) -> "Expr":
        return Arith("*", self, lit(other))

    def __truediv__(self, other: Any) -> "Expr":
        return Arith("/", self, lit(other))

    def isin(self, values: Iterable[Any]) -> "Expr":
        return IsIn(self, tuple(values))

    def is_null(self) -> "Expr":
        return IsNull(self)

    def is_not_null(self) -> "Expr":
        return Not(IsNull(self))

    __hash__ = object.__hash__


def lit(value: Any) -> Expr:
    return value if isinstance(value, Expr) else Lit(value)


@dataclass(frozen=True, eq=False)
class Col(Expr):
    name: str

    def polars(self, params: ParameterValues) -> pl.Expr:
        return pl.col(self.name)

    def sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        return ctx.columns[self.name], []

    def is_constant(self) -> bool:
        return False

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        return row[self.name]


@dataclass(frozen=True, eq=False)
class Lit(Expr):
    value: Any

    def polars(self, params: ParameterValues) -> pl.Expr:
        return pl.lit(self.value)

    def sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        return "%s", [self.value]

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        return self.value


@dataclass(frozen=True, eq=False)
class Param(Expr):
    """A policy parameter; with ``by``, the value for the qualifier in that column (e.g. the
    poverty line of the household's identification standard)."""

    name: str
    by: str | None = None

    def polars(self, params: ParameterValues) -> pl.Expr:
        if self.by is None:
            return pl.lit(params.get(self.name))
        mapping = params.mapping(self.name)
        kinds = {type(v) for v in mapping.values()}
        dtype: Any = pl.Float64 if float in kinds else pl.Int64
        return pl.col(self.by).replace_strict(mapping, default=None, return_dtype=dtype)

    def sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        if self.by is not None:
            raise NotImplementedError("qualified parameters are resolved in polars")
        return "%s", [ctx.params.get(self.name)]

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        if self.by is None:
            return params.get(self.name)
        return params.get(self.name, row[self.by])

    def parameters(self) -> set[str]:
        return {self.name}

    def is_constant(self) -> bool:
        return self.by is None


def _kleene_and(values: Iterable[Any]) -> Any:
    result: Any = True
    for v in values:
        if v is False:
            return False
        if v is None:
            result = None
    return result


def _kleene_or(values: Iterable[Any]) -> Any:
    result: Any = False
    for v in values:
        if v is True:
            return True
        if v is None:
            result = None
    return result


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
_SQL_COMPARE = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "==": "=", "!=": "<>"}


@dataclass(frozen=True, eq=False)
class Compare(Expr):
    op: str
    left: Expr
    right: Expr

    def children(self) -> Sequence[Expr]:
        return (self.left, self.right)

    def polars(self, params: ParameterValues) -> pl.Expr:
        a, b = self.left.to_polars(params), self.right.to_polars(params)
        return {
            ">": a > b,
            ">=": a >= b,
            "<": a < b,
            "<=": a <= b,
            "==": a == b,
            "!=": a != b,
        }[self.op]

    def sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        a, pa = self.left.to_sql(ctx)
        b, pb = self.right.to_sql(ctx)
        return f"({a} {_SQL_COMPARE[self.op]} {b})", pa + pb

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        a, b = self.left.evaluate(row, params), self.right.evaluate(row, params)
        if a is None or b is None:
            return None
        return _COMPARE[self.op](a, b)


@dataclass(frozen=True, eq=False)
class Arith(Expr):
    op: str
    left: Expr
    right: Expr

    def children(self) -> Sequence[Expr]:
        return (self.left, self.right)

    def polars(self, params: ParameterValues) -> pl.Expr:
        a, b = self.left.to_polars(params), self.right.to_polars(params)
        return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[self.op]

    def sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        if self.op == "/":
            raise NotImplementedError("true division is not compiled to SQL")
        a, pa = self.left.to_sql(ctx)
        b, pb = self.right.to_sql(ctx)
        return f"({a} {self.op} {b})", pa + pb

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        a, b = self.left.evaluate(row, params), self.right.evaluate(row, params)
        if a is None or b is None:
            return None
        if self.op == "/":
            return None if b == 0 else a / b
        return {"+": a + b, "-": a - b, "*": a * b}[self.op]


@dataclass(frozen=True, eq=False)
class DivRound(Expr):
    """Integer division rounded half away from zero (``Decimal`` ROUND_HALF_UP): the per-capita
    income in fen, exactly as ``registry.models.per_capita`` rounds it. ``divisor`` > 0."""

    dividend: Expr
    divisor: Expr

    def children(self) -> Sequence[Expr]:
        return (self.dividend, self.divisor)

    def polars(self, params: ParameterValues) -> pl.Expr:
        a, b = self.dividend.to_polars(params), self.divisor.to_polars(params)
        return (a.abs() * 2 + b) // (b * 2) * a.sign()

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        a, b = self.dividend.evaluate(row, params), self.divisor.evaluate(row, params)
        if a is None or b is None:
            return None
        q = (abs(a) * 2 + b) // (b * 2)
        return q if a >= 0 else -q


@dataclass(frozen=True, eq=False)
class YearEnd(Expr):
    """31 December of a year, as the ISO text ``YYYY-12-31``: dates are compared as ISO text in
    all three forms (SQLite stores them so; ``birth`` is read as ISO text everywhere)."""

    year: Expr

    def children(self) -> Sequence[Expr]:
        return (self.year,)

    def polars(self, params: ParameterValues) -> pl.Expr:
        return pl.format("{}-12-31", self.year.to_polars(params).cast(pl.String).str.zfill(4))

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        year = self.year.evaluate(row, params)
        return None if year is None else f"{int(year):04d}-12-31"


@dataclass(frozen=True, eq=False)
class And(Expr):
    parts: tuple[Expr, ...]

    def children(self) -> Sequence[Expr]:
        return self.parts

    def polars(self, params: ParameterValues) -> pl.Expr:
        out = self.parts[0].to_polars(params)
        for p in self.parts[1:]:
            out = out & p.to_polars(params)
        return out

    def sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        texts, values = _sql_parts(self.parts, ctx)
        return "(" + " AND ".join(texts) + ")", values

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        return _kleene_and(p.evaluate(row, params) for p in self.parts)


@dataclass(frozen=True, eq=False)
class Or(Expr):
    parts: tuple[Expr, ...]

    def children(self) -> Sequence[Expr]:
        return self.parts

    def polars(self, params: ParameterValues) -> pl.Expr:
        out = self.parts[0].to_polars(params)
        for p in self.parts[1:]:
            out = out | p.to_polars(params)
        return out

    def sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        texts, values = _sql_parts(self.parts, ctx)
        return "(" + " OR ".join(texts) + ")", values

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        return _kleene_or(p.evaluate(row, params) for p in self.parts)


def _sql_parts(parts: Sequence[Expr], ctx: SqlContext) -> tuple[list[str], list[Any]]:
    texts: list[str] = []
    values: list[Any] = []
    for p in parts:
        text, v = p.to_sql(ctx)
        texts.append(text)
        values += v
    return texts, values


@dataclass(frozen=True, eq=False)
class Not(Expr):
    operand: Expr

    def children(self) -> Sequence[Expr]:
        return (self.operand,)

    def polars(self, params: ParameterValues) -> pl.Expr:
        return ~self.operand.to_polars(params)

    def sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        text, values = self.operand.to_sql(ctx)
        return f"(NOT {text})", values

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        value = self.operand.evaluate(row, params)
        return None if value is None else not value


@dataclass(frozen=True, eq=False)
class IsIn(Expr):
    operand: Expr
    values: tuple[Any, ...]

    def children(self) -> Sequence[Expr]:
        return (self.operand,)

    def polars(self, params: ParameterValues) -> pl.Expr:
        return self.operand.to_polars(params).is_in(list(self.values))

    def sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        text, values = self.operand.to_sql(ctx)
        marks = ", ".join(["%s"] * len(self.values))
        return f"({text} IN ({marks}))", values + list(self.values)

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        value = self.operand.evaluate(row, params)
        return None if value is None else value in self.values


@dataclass(frozen=True, eq=False)
class Fen(Expr):
    """An amount in yuan as whole fen (分), rounded half away from zero: exact on ``Decimal`` in
    Python; in SQL the sum is rounded once (REAL on SQLite: amounts of two decimals far below
    10^9 yuan stay within a thousandth of a fen, so the rounding is the same)."""

    amount: Expr

    def children(self) -> Sequence[Expr]:
        return (self.amount,)

    def sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        text, values = self.amount.to_sql(ctx)
        return f"CAST(ROUND(({text}) * 100) AS BIGINT)", values

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        value = self.amount.evaluate(row, params)
        if value is None:
            return None
        return int((Decimal(value) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, eq=False)
class IsNull(Expr):
    operand: Expr

    def children(self) -> Sequence[Expr]:
        return (self.operand,)

    def polars(self, params: ParameterValues) -> pl.Expr:
        return self.operand.to_polars(params).is_null()

    def sql(self, ctx: SqlContext) -> tuple[str, list[Any]]:
        text, values = self.operand.to_sql(ctx)
        return f"({text} IS NULL)", values

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        return self.operand.evaluate(row, params) is None


@dataclass(frozen=True, eq=False)
class Coalesce(Expr):
    parts: tuple[Expr, ...]

    def children(self) -> Sequence[Expr]:
        return self.parts

    def polars(self, params: ParameterValues) -> pl.Expr:
        return pl.coalesce([p.to_polars(params) for p in self.parts])

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        for p in self.parts:
            value = p.evaluate(row, params)
            if value is not None:
                return value
        return None


@dataclass(frozen=True, eq=False)
class When(Expr):
    """``when(c1, v1).when(c2, v2).otherwise(v)``: the first branch whose condition is true
    (a null condition is not true)."""

    branches: tuple[tuple[Expr, Expr], ...]
    default: Expr

    def children(self) -> Sequence[Expr]:
        return (*(e for pair in self.branches for e in pair), self.default)

    def when(self, condition: Expr, value: Any) -> "When":
        return When((*self.branches, (condition, lit(value))), self.default)

    def otherwise(self, value: Any) -> "When":
        return When(self.branches, lit(value))

    def polars(self, params: ParameterValues) -> pl.Expr:
        (c0, v0), *rest = self.branches
        chain: Any = pl.when(c0.to_polars(params)).then(v0.to_polars(params))
        for c, v in rest:
            chain = chain.when(c.to_polars(params)).then(v.to_polars(params))
        result: pl.Expr = chain.otherwise(self.default.to_polars(params))
        return result

    def evaluate(self, row: Row, params: ParameterValues) -> Any:
        for condition, value in self.branches:
            if condition.evaluate(row, params) is True:
                return value.evaluate(row, params)
        return self.default.evaluate(row, params)


def when(condition: Expr, value: Any) -> When:
    return When(((condition, lit(value)),), Lit(None))


def all_of(*parts: Expr) -> Expr:
    return parts[0] if len(parts) == 1 else And(tuple(parts))


def any_of(*parts: Expr) -> Expr:
    return parts[0] if len(parts) == 1 else Or(tuple(parts))


def count_sql(predicate: Expr, ctx: SqlContext) -> tuple[str, list[Any]]:
    """``COUNT(*) FILTER (WHERE predicate)``: how many rows of a group satisfy it (an unknown
    predicate counts as not satisfied, as ``count_python`` does). Both SQLite (3.30+) and
    PostgreSQL take the aggregate filter; on SQLite it costs less than a CASE per row."""
    if isinstance(predicate, Lit) and predicate.value is True:
        return "COUNT(*)", []
    text, values = predicate.to_sql(ctx)
    return f"COUNT(*) FILTER (WHERE {text})", values


def count_python(predicate: Expr, rows: Iterable[Row], params: ParameterValues) -> int:
    return sum(1 for r in rows if predicate.evaluate(r, params) is True)
