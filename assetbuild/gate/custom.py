"""Checks written by the user rather than declared: `sql`/`expression` rules run in DuckDB,
`@check` functions, and `@asset(schema=Model)` validated by pandera. Nothing they raise escapes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from assetbuild.gate.outcome import (
    SAMPLE_ROWS,
    describe_error,
    jsonable,
    plural,
    result_of,
    sample_rows,
    sample_where,
)
from assetbuild.gate.rules import Rule
from assetbuild.model.results import CheckResult, Severity

if TYPE_CHECKING:
    from assetbuild.gate.context import CheckContext


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_checks(
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
                out[i] = result_of(
                    rule, n == 0, n, expected, plural(n, "failing row") if n else "no failing rows", sample
                )
            except Exception as e:
                out[i] = result_of(
                    rule, False, expected=expected, actual=f"query failed: {describe_error(e)}"
                )
    return out


# -- @check functions -------------------------------------------------------------------------


def python_check(name: str, severity: Severity, fn: Callable[..., Any], description: str | None,
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
        return result(False, actual=f"raised {describe_error(e)}")
    if isinstance(out, pl.DataFrame):
        n = out.height
        return result(n == 0, n, plural(n, "failing row") if n else "no failing rows", sample_rows(out))
    if isinstance(out, pl.Series) and out.dtype == pl.Boolean:
        bad = ~out.fill_null(True)
        n = int(bad.sum())
        sample = sample_where(df, bad) if n and len(out) == df.height else []
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


def schema_checks(model: Any, df: pl.DataFrame) -> list[CheckResult]:
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
                f"schema:{model_name}",
                Severity.ERROR,
                False,
                expected="valid",
                actual=f"raised {describe_error(e)}",
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
            sample = sample_rows(df[index]) if index else []
            actual = f"{plural(n, 'failing row')}, e.g. {cases}" if n else cases
            out.append(
                CheckResult(
                    f"schema:{key}", Severity.ERROR, False, n, None, None, expected, actual, tuple(sample)
                )
            )
        else:
            out.append(CheckResult(f"schema:{key}", Severity.ERROR, True, 0, None, None, expected, "ok"))
    return out
