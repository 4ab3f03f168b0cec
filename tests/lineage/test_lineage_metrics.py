"""Data-quality metrics computed from the data, as the dataQualityMetrics facet wants them."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl

from assetbuild.lineage.metrics import data_quality_metrics


def test_metrics_per_column() -> None:
    df = pl.DataFrame(
        {
            "n": [3, 1, None, 1],
            "s": ["a", None, None, "b"],
            "f": [1.5, float("nan"), -2.0, None],
            "d": [dt.date(2024, 1, 1)] * 4,
            "b": [True, False, None, True],
            "l": [[1], [2], [3], None],
        }
    )
    m = data_quality_metrics(df)
    assert m["rowCount"] == 4
    cols = m["columnMetrics"]
    assert cols["n"] == {"nullCount": 1, "distinctCount": 2, "min": 1, "max": 3, "sum": 5}
    assert cols["s"] == {"nullCount": 2, "distinctCount": 2}  # non-null distinct values, as COUNT(DISTINCT)
    assert cols["f"]["min"] == -2.0 and cols["f"]["max"] == 1.5
    assert "sum" not in cols["f"]  # NaN is no JSON number: left out, never sent
    assert cols["d"] == {"nullCount": 0, "distinctCount": 1}  # min/max are numbers in the facet
    assert cols["b"] == {"nullCount": 1, "distinctCount": 2}
    assert cols["l"] == {"nullCount": 1}
    json.dumps(m, allow_nan=False)  # plain, strict JSON


def test_lazy_and_empty_frames() -> None:
    m = data_quality_metrics(pl.DataFrame({"x": [1, 2]}).lazy().filter(pl.col("x") > 5))
    assert m == {"rowCount": 0, "columnMetrics": {"x": {"nullCount": 0, "distinctCount": 0, "sum": 0}}}
