"""Runs the rules on data: (RuleSet, DataFrame, CheckContext) → one CheckResult per rule.

With outcome.py (results and samples) and custom.py (sql/expression rules, `@check` functions,
pandera schemas), the only part of `checks` that touches data; duckdb and pandera load on first use.
Column rules and the row-based table rules compile to polars expressions evaluated together in
one `select` over the frame: cheap aggregates (failing-row counts, min/max for the message), about
5x faster than pandera's polars backend on the same rules (benchmarks/bench_checks.py). Only a rule
that fails pays a second look, to count exactly and fetch at most SAMPLE_ROWS failing rows.
Nothing a rule or a user function raises escapes, except a ProjectError for a rule that names a
column its data lacks (a mistake in the rule file: exit 2).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from assetbuild.errors import ProjectError, did_you_mean
from assetbuild.gate.clock import freshness_verdict
from assetbuild.gate.context import CheckContext
from assetbuild.gate.custom import python_check, schema_checks, sql_checks
from assetbuild.gate.outcome import describe_error, examples, plural, result_of, sample_where
from assetbuild.gate.rules import Rule, RuleSet, check_columns
from assetbuild.model.results import CheckResult

_LIST_IN_MESSAGE = 8  # isin sets up to this size are spelled out in `expected`


def run_checks(ruleset: RuleSet | None, df: pl.DataFrame, ctx: CheckContext) -> list[CheckResult]:
    """Every rule of `ruleset`, then the asset's @check functions, then its pandera schema."""
    if isinstance(df, pl.LazyFrame):  # pandera would check a LazyFrame's schema only; be eager
        df = df.collect()
    results: list[CheckResult] = []
    if ruleset is not None:
        check_columns(ruleset, df.columns)
        results.extend(_RuleRun(ruleset, df, ctx).run())
    results.extend(python_check(name, sev, fn, desc, df) for name, sev, fn, desc in ctx.python_checks)
    if ctx.schema_model is not None:
        results.extend(schema_checks(ctx.schema_model, df))
    return results


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
                planned = result_of(rule, False, actual=f"could not evaluate: {describe_error(e)}")
            if isinstance(planned, _Pass):
                passes[i] = planned
            else:
                done[i] = planned
        done.update(self._evaluate(passes))
        if sql:
            done.update(sql_checks(sql, self.ruleset.asset, self.df, self.ctx))
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
                out[i] = result_of(p.rule, False, actual=f"could not evaluate: {describe_error(e)}")
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
                sample = sample_where(df, mask)
            return result_of(
                rule, n == 0, n, expected, actual(n, values, examples(sample, rule.column)), sample
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
            return result_of(rule, _dtype_matches(want, dtype), expected=want, actual=str(dtype))
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
        return result_of(rule, ok, expected=_range_text(lo, hi), actual=plural(n, "row"))

    def _row_count_change(self, rule: Rule) -> CheckResult:
        drop, growth = rule.params["max_drop"], rule.params["max_growth"]
        prev, n = self.ctx.previous_rows, self.df.height
        limits = [
            f"drop <= {drop:.0%}" if drop is not None else "",
            f"growth <= {growth:.0%}" if growth is not None else "",
        ]
        expected = " and ".join(x for x in limits if x)
        if prev is None:
            return result_of(
                rule, True, expected=expected, actual=f"{plural(n, 'row')}, no previous materialization"
            )
        change = (0.0 if n == 0 else math.inf) if prev == 0 else (n - prev) / prev
        ok = not (drop is not None and -change > drop) and not (growth is not None and change > growth)
        shown = "from 0" if math.isinf(change) else f"{change:+.1%}"
        return result_of(
            rule, ok, expected=f"{expected} vs {plural(prev, 'row')}", actual=f"{plural(n, 'row')} ({shown})"
        )

    def _freshness(self, rule: Rule) -> CheckResult | _Pass:
        c = rule.params["column"]
        dtype = self.schema[c]
        if dtype != pl.Date and not isinstance(dtype, pl.Datetime):
            return _incompatible(rule, dtype, "freshness needs a date or datetime column", column=c)
        now = self.ctx.utc_now

        def finish(values: dict[str, Any]) -> CheckResult:
            newest = values["newest"]
            shown = newest.isoformat() if newest is not None else None
            return freshness_verdict(rule, shown, _as_utc(newest) if newest is not None else None, now)

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
            return result_of(
                rule, False, expected=f"matches {pattern!r}", actual=f"invalid pattern: {describe_error(e)}"
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
            return result_of(
                rule, False, expected=expected, actual=f"could not read {asset}: {describe_error(e)}"
            )
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
    return result_of(rule, False, actual=f"cannot apply '{rule.kind}' to {dtype} column '{name}': {reason}")


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
