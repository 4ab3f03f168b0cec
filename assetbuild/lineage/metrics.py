"""Data-quality metrics of one materialization, for the OpenLineage `dataQualityMetrics` facet.

The engine calls `data_quality_metrics(df)` on the data it just checked and hands the result to
listeners in `RunInfo.metrics`; it is plain JSON, so it can also be stored. The facet's
numbers are JSON numbers: min, max and sum are given for numeric columns only, and never NaN.
"""

from __future__ import annotations

import math
from typing import Any


def data_quality_metrics(df: Any) -> dict[str, Any]:
    """`{"rowCount": n, "columnMetrics": {column: {nullCount, distinctCount, min, max, sum}}}`.

    `df` is a polars DataFrame or LazyFrame. `distinctCount` counts non-null values, as SQL
    `COUNT(DISTINCT)` does. A column whose type polars cannot count distinct
    values of (nested, object) still gets its null count.
    """
    import polars as pl

    frame = df.collect() if isinstance(df, pl.LazyFrame) else df
    columns: dict[str, dict[str, Any]] = {}
    exprs: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        columns[name] = {}
        col = pl.col(name)
        exprs.append(col.null_count().alias(f"{name}\x00nullCount"))
        if not dtype.is_nested() and dtype != pl.Object:
            exprs.append(col.drop_nulls().n_unique().alias(f"{name}\x00distinctCount"))
        if dtype.is_numeric():
            exprs += [
                col.min().alias(f"{name}\x00min"),
                col.max().alias(f"{name}\x00max"),
                col.sum().alias(f"{name}\x00sum"),
            ]
    values = frame.select(exprs).row(0, named=True) if exprs else {}
    for key, value in values.items():
        name, _, metric = key.rpartition("\x00")
        number = _json_number(value)
        if number is not None:
            columns[name][metric] = number
    return {"rowCount": frame.height, "columnMetrics": columns}


def _json_number(value: Any) -> int | float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
