"""Runs the rules on data: (RuleSet, DataFrame, CheckContext) → one CheckResult per rule.

The only module of `checks` that imports polars, duckdb and pandera (the last two on first use).
Column rules and the row-based table rules compile to polars expressions evaluated together in
one `select` over the frame: cheap aggregates (failing-row counts, min/max for the message), about
5x faster than pandera's polars backend on the same rules (benchmarks/bench_checks.py). Only a rule
that fails pays a second look, to count exactly and fetch at most SAMPLE_ROWS failing rows.
`sql` and `expression` rules run in DuckDB, `@asset(schema=Model)` in pandera, `@check` functions
as written. Nothing a rule or a user function raises escapes, except a ProjectError for a rule that
names a column its data lacks (a mistake in the rule file: exit 2).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from ..errors import ProjectError, did_you_mean
from ..results import CheckResult, Severity
from .rules import Rule, RuleSet, check_columns
from .specs import format_duration

SAMPLE_ROWS = 5
_LIST_IN_MESSAGE = 8  # isin sets up to this size are spelled out in `expected`


@dataclass
class CheckContext:
    """What a check may need besides the data itself."""

    asset: str
    read_asset: Callable[[str], pl.DataFrame]  # current published data of another asset
    previous_rows: int | None = None  # rows of the previous published materialization
    now: dt.datetime | None = None  # the time of the check; default: now, UTC
    python_checks: Sequence[tuple[str, Severity, Callable[..., Any], str | None]] = ()
    schema_model: Any = None  # a pandera.polars DataFrameModel from @asset(schema=...)
    _now: dt.datetime = field(init=False, repr=False)

    def __post_init__(self) -> None:
        now = self.now or dt.datetime.now(dt.UTC)
        # A naive `now` is read as UTC, like naive timestamps in the data.
        self._now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)

    @property
    def utc_now(self) -> dt.datetime:
        return self._now


def run_checks(ruleset: RuleSet | None, df: pl.DataFrame, ctx: CheckContext) -> list[CheckResult]:
    """Every rule of `ruleset`, then the asset's @check functions, then its pandera schema."""
    if isinstance(df, pl.LazyFrame):  # pandera would check a LazyFrame's schema only; be eager
        df = df.collect()
    results: list[CheckResult] = []
    if ruleset is not None:
        check_columns(ruleset, df.columns)
        results.extend(_RuleRun(ruleset, df, ctx).run())
    results.extend(_python_check(name, sev, fn, desc, df) for name, sev, fn, desc in ctx.python_checks)
    if ctx.schema_model is not None:
        results.extend(_schema_checks(ctx.schema_model, df))
    return results


# -- results and samples ----------------------------------------------------------------------


def _result(rule: Rule, passed: bool, failing_rows: int = 0, expected: str | None = None,
            actual: str | None = None, sample: Sequence[dict[str, Any]] = ()) -> CheckResult:  # fmt: skip
    return CheckResult(
        name=rule.name,
        severity=rule.severity,
        passed=passed,
        failing_rows=failing_rows,
        column=rule.column,
        description=rule.description,
        expected=expected,
        actual=actual,
        sample=tuple(sample),
        source=rule.source,
    )


def jsonable(value: Any) -> Any:
    """A sample value as JSON can carry it: dates as ISO text, decimals and durations as text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes | bytearray):
        return value.hex()
    return str(value)


def _rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    return [{k: jsonable(v) for k, v in row.items()} for row in df.head(SAMPLE_ROWS).to_dicts()]


def _sample(df: pl.DataFrame, mask: pl.Series) -> list[dict[str, Any]]:
    # Gather by index rather than `df.filter(mask)`: a rule failing on most rows must not copy the frame.
    return _rows(df[mask.arg_true().head(SAMPLE_ROWS)])


def _examples(sample: Sequence[dict[str, Any]], column: str | None) -> str:
    if column is None:
        return ""
    seen: list[Any] = []
    for row in sample:
        if row.get(column) not in seen:
            seen.append(row.get(column))
    return ", e.g. " + ", ".join(repr(v) for v in seen[:3]) if seen else ""


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _error(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


# -- one pass over the frame ------------------------------------------------------------------


@dataclass
class _Pass:
    """A rule's share of the shared select: aggregates in, a CheckResult out."""

    rule: Rule
    aggs: dict[str, pl.Expr]
    finish: Callable[[dict[str, Any]], CheckResult]


class _RuleRun:
    def __init__(self, ruleset: RuleSet, df: pl.DataFrame, ctx: CheckContext) -> None:
        self.ruleset, self.df, self.ctx = ruleset, df, ctx
        self.schema = df.schema

    def run(self) -> list[CheckResult]:
        done: dict[int, CheckResult] = {}
        passes: dict[int, _Pass] = {}
        sql: dict[int, Rule] = {}
        for i, rule in enumerate(self.ruleset.rules):
            if rule.kind in ("sql", "expression"):
                sql[i] = rule
                continue
            try:
                planned = self._plan(rule)
            except ProjectError:
                raise
            except Exception as e:  # a rule that cannot even be planned fails alone
                planned = _result(rule, False, actual=f"could not evaluate: {_error(e)}")
            if isinstance(planned, _Pass):
                passes[i] = planned
            else:
                done[i] = planned
        done.update(self._evaluate(passes))
        if sql:
            done.update(_sql_checks(sql, self.ruleset.asset, self.df, self.ctx))
        return [done[i] for i in range(len(self.ruleset.rules))]

    def _evaluate(self, passes: dict[int, _Pass]) -> dict[int, CheckResult]:
        exprs = [e.alias(f"{i}:{k}") for i, p in passes.items() for k, e in p.aggs.items()]
        try:
            row = self.df.select(exprs).row(0, named=True) if exprs else {}
        except Exception:
            row = None  # one bad expression spoils the batch; isolate it below
        out = {}
        for i, p in passes.items():
            try:
                if row is None:
                    values = self.df.select([e.alias(k) for k, e in p.aggs.items()]).row(0, named=True)
                else:
                    values = {k: row[f"{i}:{k}"] for k in p.aggs}
                out[i] = p.finish(values)
            except Exception as e:
                out[i] = _result(p.rule, False, actual=f"could not evaluate: {_error(e)}")
        return out

    def _rows_rule(self, rule: Rule, fail: pl.Expr | Callable[[], pl.Series], expected: str,
                   actual: Callable[[int, dict[str, Any], str], str], aggs: dict[str, pl.Expr] | None = None,
                   proxy: pl.Expr | None = None) -> _Pass:  # fmt: skip
        """A rule that some rows fail. `fail` marks them (null = passes, as in SQL CHECK), as an
        expression or as a function computing the mask. A `proxy` aggregate, when given, is > 0
        exactly when some row fails but is cheaper than marking them (uniqueness): the mask is
        then computed, and the exact count taken, only for a rule that fails."""
        df = self.df

        def finish(values: dict[str, Any]) -> CheckResult:
            n = int(values["count"] or 0)
            sample: list[dict[str, Any]] = []
            if n:
                if callable(fail) and not isinstance(fail, pl.Expr):
                    mask = fail()
                else:
                    mask = df.select(fail.fill_null(False).alias("m")).to_series()
                n = int(mask.sum()) if proxy is not None else n
                sample = _sample(df, mask)
            return _result(
                rule, n == 0, n, expected, actual(n, values, _examples(sample, rule.column)), sample
            )

        if proxy is None:
            assert isinstance(fail, pl.Expr), "a mask function needs a proxy aggregate"
            proxy_or_count = fail.fill_null(False).sum()
        else:
            proxy_or_count = proxy
        return _Pass(rule, {"count": proxy_or_count, **(aggs or {})}, finish)

    def _duplicated(self, column: str) -> pl.Series:
        """Rows whose non-null value occurs more than once.

        Sorting and comparing neighbours finds the repeated values 3x faster than
        `is_duplicated()` and without its hash table (bench_checks.py --dirty); the mask is then
        a membership test against those few values.
        """
        values = self.df.get_column(column).drop_nulls().sort()
        repeated = values.filter(values == values.shift(1)).unique()
        return self.df.select(pl.col(column).is_in(repeated.implode()).fill_null(False)).to_series()

    # -- planning: one rule → a CheckResult now, or a share of the pass ------------------------

    def _plan(self, rule: Rule) -> CheckResult | _Pass:
        p = rule.params
        if rule.kind in ("row_count", "row_count_change"):
            return self._row_count(rule) if rule.kind == "row_count" else self._row_count_change(rule)
        if rule.kind == "freshness":
            return self._freshness(rule)
        if rule.kind == "unique" and rule.column is None:
            key = pl.struct(p["columns"])
            cols = ", ".join(p["columns"])
            return self._rows_rule(
                rule, key.is_duplicated(), f"unique ({cols})",
                lambda n, v, eg: f"{plural(n, 'row')} share a key with another row" if n else "all keys unique",
                proxy=pl.len() - key.n_unique(),
            )  # fmt: skip
        assert rule.column is not None
        c = rule.column
        col, dtype = pl.col(c), self.schema[c]
        if rule.kind == "dtype":
            want = p["dtype"]
            return _result(rule, _dtype_matches(want, dtype), expected=want, actual=str(dtype))
        if rule.kind == "nullable":
            return self._rows_rule(
                rule, col.is_null(), "no nulls", lambda n, v, eg: plural(n, "null") if n else "no nulls"
            )
        if rule.kind == "unique":
            return self._rows_rule(
                rule, lambda: self._duplicated(c), "unique values",
                lambda n, v, eg: f"{plural(n, 'row')} share a value with another row{eg}" if n else "all values unique",
                proxy=col.count() - col.drop_nulls().n_unique(),
            )  # fmt: skip
        if rule.kind in ("min", "max", "between"):
            return self._bounds(rule, col, dtype)
        if rule.kind in ("isin", "not_isin"):
            return self._isin(rule, col, dtype)
        if rule.kind == "matches":
            return self._matches(rule, col, dtype)
        if rule.kind == "str_length":
            return self._str_length(rule, col, dtype)
        if rule.kind == "finite":
            if not dtype.is_numeric():
                return _incompatible(rule, dtype, "finite applies to numbers")
            fail = ~col.is_finite() if dtype.is_float() else pl.lit(False)
            return self._rows_rule(
                rule, fail, "finite numbers",
                lambda n, v, eg: f"NaN or infinite in {plural(n, 'row')}" if n else "all finite",
            )  # fmt: skip
        if rule.kind == "references":
            return self._references(rule, col, dtype)
        raise AssertionError(f"no evaluator for rule kind {rule.kind!r}")

    def _row_count(self, rule: Rule) -> CheckResult:
        lo, hi, n = rule.params["min"], rule.params["max"], self.df.height
        ok = (lo is None or n >= lo) and (hi is None or n <= hi)
        return _result(rule, ok, expected=_range_text(lo, hi), actual=plural(n, "row"))

    def _row_count_change(self, rule: Rule) -> CheckResult:
        drop, growth = rule.params["max_drop"], rule.params["max_growth"]
        prev, n = self.ctx.previous_rows, self.df.height
        limits = [
            f"drop <= {drop:.0%}" if drop is not None else "",
            f"growth <= {growth:.0%}" if growth is not None else "",
        ]
        expected = " and ".join(x for x in limits if x)
        if prev is None:
            return _result(
                rule, True, expected=expected, actual=f"{plural(n, 'row')}, no previous materialization"
            )
        change = (0.0 if n == 0 else math.inf) if prev == 0 else (n - prev) / prev
        ok = not (drop is not None and -change > drop) and not (growth is not None and change > growth)
        shown = "from 0" if math.isinf(change) else f"{change:+.1%}"
        return _result(
            rule, ok, expected=f"{expected} vs {plural(prev, 'row')}", actual=f"{plural(n, 'row')} ({shown})"
        )

    def _freshness(self, rule: Rule) -> CheckResult | _Pass:
        c, max_age = rule.params["column"], float(rule.params["max_age_s"])
        dtype = self.schema[c]
        if dtype != pl.Date and not isinstance(dtype, pl.Datetime):
            return _incompatible(rule, dtype, "freshness needs a date or datetime column", column=c)
        now = self.ctx.utc_now
        expected = f"newest {c} within {format_duration(max_age)} of {now.isoformat(timespec='seconds')}"

        def finish(values: dict[str, Any]) -> CheckResult:
            newest = values["newest"]
            if newest is None:
                return _result(rule, False, expected=expected, actual=f"no {c} values")
            at = _as_utc(newest)
            age = (now - at).total_seconds()
            shown = f"newest {newest.isoformat()} (age {format_duration(max(age, 0))})"
            return _result(rule, age <= max_age, expected=expected, actual=shown)

        return _Pass(rule, {"newest": pl.col(c).max()}, finish)

    def _bounds(self, rule: Rule, col: pl.Expr, dtype: pl.DataType) -> CheckResult | _Pass:
        p = rule.params
        lo_v = p["value"] if rule.kind == "min" else p.get("min")
        hi_v = p["value"] if rule.kind == "max" else p.get("max")
        lo = _literal(lo_v, dtype, self.ctx.utc_now) if rule.kind != "max" else None
        hi = _literal(hi_v, dtype, self.ctx.utc_now) if rule.kind != "min" else None
        for bound in (lo, hi):
            if isinstance(bound, str):
                return _incompatible(rule, dtype, bound)
        fail = pl.lit(False)
        if isinstance(lo, pl.Expr):
            fail = fail | (col < lo)
        if isinstance(hi, pl.Expr):
            fail = fail | (col > hi)
        now = self.ctx.utc_now

        def show(v: Any) -> str:
            return f"now ({now.isoformat(timespec='seconds')})" if v == "now" else _show(v)

        if rule.kind == "between":
            expected = f"between {show(lo_v)} and {show(hi_v)}"
        else:
            expected = f">= {show(lo_v)}" if rule.kind == "min" else f"<= {show(hi_v)}"

        def actual(n: int, v: dict[str, Any], eg: str) -> str:
            if v["min"] is None:
                return "no values"
            if rule.kind == "between":
                return f"min {_show(v['min'])}, max {_show(v['max'])}"
            return f"{rule.kind} {_show(v[rule.kind])}"

        return self._rows_rule(rule, fail, expected, actual, {"min": col.min(), "max": col.max()})

    def _isin(self, rule: Rule, col: pl.Expr, dtype: pl.DataType) -> CheckResult | _Pass:
        values = rule.params["values"]
        operands = _isin_operands(col, dtype, values)
        if isinstance(operands, str):
            return _incompatible(rule, dtype, operands)
        expr, allowed = operands
        inside = expr.is_in(allowed.implode())
        listed = values if len(values) <= _LIST_IN_MESSAGE else None
        if rule.kind == "isin":
            expected = f"in {listed}" if listed else f"one of {len(values)} allowed values"
            return self._rows_rule(
                rule, col.is_not_null() & ~inside, expected,
                lambda n, v, eg: f"{plural(n, 'row')} not in the set{eg}" if n else "all in the set",
            )  # fmt: skip
        expected = f"not in {listed}" if listed else f"none of {len(values)} forbidden values"
        return self._rows_rule(
            rule, col.is_not_null() & inside, expected,
            lambda n, v, eg: f"{plural(n, 'row')} with a forbidden value{eg}" if n else "no forbidden values",
        )  # fmt: skip

    def _matches(self, rule: Rule, col: pl.Expr, dtype: pl.DataType) -> CheckResult | _Pass:
        pattern = rule.params["pattern"]
        text = _as_text(col, dtype)
        if text is None:
            return _incompatible(rule, dtype, "it applies to strings")
        try:  # the Rust engine may reject what Python's `re` accepted at load time
            pl.select(pl.lit("").str.contains(pattern))
        except Exception as e:
            return _result(
                rule, False, expected=f"matches {pattern!r}", actual=f"invalid pattern: {_error(e)}"
            )
        return self._rows_rule(
            rule, ~text.str.contains(pattern), f"matches {pattern!r}",
            lambda n, v, eg: f"{plural(n, 'value')} not matching{eg}" if n else "all match",
        )  # fmt: skip

    def _str_length(self, rule: Rule, col: pl.Expr, dtype: pl.DataType) -> CheckResult | _Pass:
        lo, hi = rule.params["min"], rule.params["max"]
        text = _as_text(col, dtype)
        if text is None:
            return _incompatible(rule, dtype, "it applies to strings")
        length = text.str.len_chars()
        fail = pl.lit(False)
        if lo is not None:
            fail = fail | (length < lo)
        if hi is not None:
            fail = fail | (length > hi)

        def actual(n: int, v: dict[str, Any], eg: str) -> str:
            if v["shortest"] is None:
                return "no values"
            return (
                f"{plural(n, 'value')} of length {v['shortest']}..{v['longest']}{eg}"
                if n
                else f"length {v['shortest']}..{v['longest']}"
            )

        aggs = {"shortest": length.min(), "longest": length.max()}
        return self._rows_rule(rule, fail, f"length {_range_text(lo, hi)}", actual, aggs)

    def _references(self, rule: Rule, col: pl.Expr, dtype: pl.DataType) -> CheckResult | _Pass:
        asset, column = rule.params["asset"], rule.params["column"]
        expected = f"every value present in {asset}.{column}"
        try:
            other = self.df if asset == self.ruleset.asset else self.ctx.read_asset(asset)
        except Exception as e:
            return _result(rule, False, expected=expected, actual=f"could not read {asset}: {_error(e)}")
        if column not in other.columns:
            raise ProjectError(
                f"rule '{rule.name}' references column '{column}', which asset '{asset}' does not have",
                rule.path,
                rule.line,
                hint=did_you_mean(column, other.columns),
            )
        keys = other.get_column(column).drop_nulls().unique()
        if keys.dtype != dtype:
            try:
                keys = keys.cast(dtype)
            except Exception:
                return _incompatible(rule, dtype, f"{asset}.{column} holds {keys.dtype}")
        return self._rows_rule(
            rule, col.is_not_null() & ~col.is_in(keys.implode()), expected,
            lambda n, v, eg: f"{plural(n, 'row')} not found in {asset}.{column}{eg}" if n else "all found",
        )  # fmt: skip


# -- dtype families, literals, operands -------------------------------------------------------


def _dtype_matches(want: str, dtype: pl.DataType) -> bool:
    families: dict[str, Callable[[pl.DataType], bool]] = {
        "string": lambda d: d == pl.String,
        "int": lambda d: d.is_integer(),
        "float": lambda d: d.is_float(),
        "decimal": lambda d: isinstance(d, pl.Decimal),
        "numeric": lambda d: d.is_numeric(),
        "bool": lambda d: d == pl.Boolean,
        "date": lambda d: d == pl.Date,
        "datetime": lambda d: isinstance(d, pl.Datetime),
        "time": lambda d: d == pl.Time,
        "duration": lambda d: isinstance(d, pl.Duration),
        "categorical": lambda d: isinstance(d, pl.Categorical | pl.Enum),
        "binary": lambda d: d == pl.Binary,
        "list": lambda d: isinstance(d, pl.List | pl.Array),
        "struct": lambda d: isinstance(d, pl.Struct),
    }
    if want in families:
        return families[want](dtype)
    return str(dtype).lower() == want  # exact widths: int32, uint8, float64, ...


def _literal(value: Any, dtype: pl.DataType, now: dt.datetime) -> pl.Expr | str:
    """`value` as a literal comparable with a column of `dtype`, or why it is not.

    Naive timestamps (in the data or the rule) are read in the column's time zone, or UTC.
    """
    temporal = dtype == pl.Date or isinstance(dtype, pl.Datetime)
    if value == "now":
        if not temporal:
            return "`now` compares with date or datetime columns"
        value = now
    if isinstance(value, bool) or not isinstance(value, int | float | dt.date):
        return f"{value!r} is no bound"  # specs.py admits only numbers, dates and `now`
    if isinstance(value, int | float):
        return pl.lit(value) if dtype.is_numeric() else "a number compares with numeric columns"
    if isinstance(value, dt.date) and temporal:
        if dtype == pl.Date:
            return pl.lit(value.date() if isinstance(value, dt.datetime) and value.tzinfo is None else value)
        assert isinstance(dtype, pl.Datetime)
        stamp = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        tz = dtype.time_zone
        if stamp.tzinfo is None:
            return pl.lit(stamp).dt.replace_time_zone(tz) if tz else pl.lit(stamp)
        if tz:
            return pl.lit(stamp.astimezone(dt.UTC)).dt.convert_time_zone(tz)
        return pl.lit(stamp.astimezone(dt.UTC).replace(tzinfo=None))
    return "a date compares with date or datetime columns"


def _as_text(col: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    if dtype == pl.String:
        return col
    if isinstance(dtype, pl.Categorical | pl.Enum):
        return col.cast(pl.String)
    return None


def _isin_operands(col: pl.Expr, dtype: pl.DataType, values: list[Any]) -> tuple[pl.Expr, pl.Series] | str:
    """The column and the value set in one comparable type (polars 2 no longer casts for is_in)."""
    text = _as_text(col, dtype)
    if text is not None:
        if not all(isinstance(v, str) for v in values):
            return "a string column needs string values"
        return text, pl.Series(values, dtype=pl.String)
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if dtype.is_integer():
        if len(numbers) != len(values):
            return "an integer column needs numeric values"
        # A value the column's type cannot hold (1.5, 300 for UInt8) can never be in it.
        whole = [int(v) for v in numbers if float(v).is_integer()]
        series = (
            pl.Series(whole, dtype=pl.Int128 if whole else pl.Int64).cast(dtype, strict=False).drop_nulls()
        )
        return col, series
    if dtype.is_float() or isinstance(dtype, pl.Decimal):
        if len(numbers) != len(values):
            return "a numeric column needs numeric values"
        return col.cast(pl.Float64), pl.Series([float(v) for v in numbers], dtype=pl.Float64)
    if dtype == pl.Boolean and all(isinstance(v, bool) for v in values):
        return col, pl.Series(values, dtype=pl.Boolean)
    if dtype == pl.Date and all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in values):
        return col, pl.Series(values, dtype=pl.Date)
    return f"isin is not supported for {dtype} columns with these values"


def _incompatible(rule: Rule, dtype: pl.DataType, reason: str, column: str | None = None) -> CheckResult:
    """A rule that cannot apply to this column's type fails (it is no ProjectError: the type is
    a property of the data, which may change from one materialization to the next)."""
    name = column or rule.column
    return _result(rule, False, actual=f"cannot apply '{rule.kind}' to {dtype} column '{name}': {reason}")


def _as_utc(value: dt.date) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        # A date counts as its end: today's rows are fresh all day long.
        return dt.datetime.combine(value, dt.time.max, tzinfo=dt.UTC)
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _show(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, float):
        # 150.0 reads as 150 in a message; other floats keep every digit (":g" would round).
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _range_text(lo: Any, hi: Any) -> str:
    if lo is not None and hi is not None:
        return f"between {lo} and {hi}"
    return f">= {lo}" if lo is not None else f"<= {hi}"


# -- sql and expression rules (DuckDB) --------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_checks(
    rules: dict[int, Rule], asset: str, df: pl.DataFrame, ctx: CheckContext
) -> dict[int, CheckResult]:
    """Audits as queries: an `sql` rule returns the failing rows; an `expression` must hold on
    every row (a NULL result passes, as in an SQL CHECK constraint). The asset is registered under
    its own name, other assets on demand through `ctx.read_asset`."""
    import duckdb

    out: dict[int, CheckResult] = {}
    # No file access: a rule sees only the assets registered here, which the check key covers.
    with duckdb.connect(":memory:", config={"enable_external_access": False}) as con:
        registered: set[str] = set()

        def register(name: str) -> None:
            if name not in registered:
                con.register(name, df if name == asset else ctx.read_asset(name))
                registered.add(name)

        for i, rule in rules.items():
            text = rule.params.get("query") or rule.params["expression"]
            if rule.kind == "sql":
                failing, expected = rule.params["query"], "no rows returned"
            else:
                failing = f"SELECT * FROM {_quote(asset)} WHERE NOT ({rule.params['expression']})"
                expected = f"{text} on every row"
            try:
                for name in {asset, *rule.params.get("tables", ())}:
                    register(name)
                # fetchall, not fetchone: DuckDB keeps a half-read result open and then refuses
                # to register the next asset on this connection.
                (row,) = con.execute(f"SELECT count(*) FROM ({failing}) AS failing").fetchall()
                n = int(row[0])
                sample: list[dict[str, Any]] = []
                if n:
                    cur = con.execute(f"SELECT * FROM ({failing}) AS failing LIMIT {SAMPLE_ROWS}")
                    names = [d[0] for d in cur.description or ()]
                    sample = [{k: jsonable(v) for k, v in zip(names, r, strict=True)} for r in cur.fetchall()]
                out[i] = _result(
                    rule, n == 0, n, expected, plural(n, "failing row") if n else "no failing rows", sample
                )
            except Exception as e:
                out[i] = _result(rule, False, expected=expected, actual=f"query failed: {_error(e)}")
    return out


# -- @check functions -------------------------------------------------------------------------


def _python_check(name: str, severity: Severity, fn: Callable[..., Any], description: str | None,
                  df: pl.DataFrame) -> CheckResult:  # fmt: skip
    """fn(df) → True/False, a boolean Series (False marks a failing row), or a frame of failing rows."""
    label = name if name.startswith("python:") else f"python:{name}"
    expected = "True, or no failing rows"

    def result(
        passed: bool, n: int = 0, actual: str | None = None, sample: Sequence[dict[str, Any]] = ()
    ) -> CheckResult:
        return CheckResult(label, severity, passed, n, None, description, expected, actual, tuple(sample))

    try:
        out = fn(df)
        if isinstance(out, pl.LazyFrame):
            out = out.collect()
    except Exception as e:
        return result(False, actual=f"raised {_error(e)}")
    if isinstance(out, pl.DataFrame):
        n = out.height
        return result(n == 0, n, plural(n, "failing row") if n else "no failing rows", _rows(out))
    if isinstance(out, pl.Series) and out.dtype == pl.Boolean:
        bad = ~out.fill_null(True)
        n = int(bad.sum())
        sample = _sample(df, bad) if n and len(out) == df.height else []
        return result(n == 0, n, plural(n, "failing row") if n else "no failing rows", sample)
    if isinstance(out, bool) or (type(out).__module__ == "numpy" and type(out).__name__ in ("bool", "bool_")):
        return result(bool(out), 0 if out else 1, str(bool(out)))
    return result(
        False, actual=f"returned {type(out).__name__}; return True/False or a DataFrame of failing rows"
    )


# -- @asset(schema=Model): pandera ------------------------------------------------------------


_PANDERA_LABELS = {
    "not_nullable": "nullable",
    "field_uniqueness": "unique",
    "column_in_dataframe": "present",
    "column_in_schema": "allowed",
}


def _schema_checks(model: Any, df: pl.DataFrame) -> list[CheckResult]:
    """One result per check the pandera model declares, named `schema:COLUMN.CHECK`."""
    import pandera.polars as pa
    from pandera.config import ValidationDepth, config_context

    model_name = getattr(model, "__name__", "schema")
    try:
        schema = model.to_schema() if hasattr(model, "to_schema") else model
        # Eager data, full depth: pandera checks only the schema of a LazyFrame by default.
        with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
            schema.validate(df, lazy=True)
        failures = None
    except pa.errors.SchemaErrors as e:
        failures = e.failure_cases
    except Exception as e:
        return [
            CheckResult(
                f"schema:{model_name}", Severity.ERROR, False, expected="valid", actual=f"raised {_error(e)}"
            )
        ]

    declared: dict[str, str] = {}  # result name → expected
    for col_name, column in schema.columns.items():
        if column.dtype is not None:
            declared[f"{col_name}.dtype"] = f"dtype {column.dtype}"
        if not column.nullable:
            declared[f"{col_name}.nullable"] = "no nulls"
        if column.unique:
            declared[f"{col_name}.unique"] = "unique values"
        for check in column.checks:
            declared[f"{col_name}.{check.error or check.name}"] = str(check.error or check.name)
    for check in schema.checks:
        declared[f"table.{check.error or check.name}"] = str(check.error or check.name)

    failed: dict[str, tuple[int, str, list[int]]] = {}
    if failures is not None:
        for (context, column, check), group in failures.group_by(
            ["schema_context", "column", "check"], maintain_order=True
        ):
            where = "table" if context == "DataFrameSchema" else str(column)
            check = str(check)
            label = "dtype" if check.startswith("dtype(") else _PANDERA_LABELS.get(check, check)
            index = group.get_column("index").drop_nulls().unique().sort()
            cases = (
                group.get_column("failure_case").drop_nulls().unique(maintain_order=True).head(3).to_list()
            )
            failed[f"{where}.{label}"] = (len(index), ", ".join(cases), index.head(SAMPLE_ROWS).to_list())

    out = []
    for key in [*declared, *(k for k in failed if k not in declared)]:
        expected = declared.get(key, key.split(".", 1)[-1])
        if key in failed:
            n, cases, index = failed[key]
            sample = _rows(df[index]) if index else []
            actual = f"{plural(n, 'failing row')}, e.g. {cases}" if n else cases
            out.append(
                CheckResult(
                    f"schema:{key}", Severity.ERROR, False, n, None, None, expected, actual, tuple(sample)
                )
            )
        else:
            out.append(CheckResult(f"schema:{key}", Severity.ERROR, True, 0, None, None, expected, "ok"))
    return out
