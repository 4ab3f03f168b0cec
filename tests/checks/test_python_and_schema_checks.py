"""@check functions and @asset(schema=Model) pandera models, run beside (or without) rule files."""

from __future__ import annotations

import numpy as np
import pandera.polars as pa
import polars as pl

from assetbuild.model.results import Severity

DF = pl.DataFrame({"id": [1, 2, 2, 4], "amount": [10.0, -5.0, 3.0, 250.0]})


def python(check, *checks):
    return check("", DF, python_checks=list(checks))


def test_boolean_results(check):
    out = python(
        check,
        ("positive_total", Severity.ERROR, lambda df: df["amount"].sum() > 0, None),
        ("small", Severity.WARN, lambda df: bool(df["amount"].max() < 100), "no big orders"),
        ("numpy", Severity.ERROR, lambda df: np.bool_(True), None),
    )
    assert out["python:positive_total"].passed and out["python:positive_total"].failing_rows == 0
    small = out["python:small"]
    assert (small.passed, small.failing_rows, small.severity, small.description) == (
        False,
        1,
        Severity.WARN,
        "no big orders",
    )
    assert out["python:numpy"].passed


def test_frame_of_failing_rows(check):
    out = python(
        check,
        ("no_negative", Severity.ERROR, lambda df: df.filter(pl.col("amount") < 0), None),
        ("lazy", Severity.ERROR, lambda df: df.lazy().filter(pl.col("amount") > 1000), None),
        ("dupes", Severity.ERROR, lambda df: df.filter(pl.col("id").is_duplicated()), None),
    )
    assert out["python:no_negative"].failing_rows == 1
    assert out["python:no_negative"].sample == ({"id": 2, "amount": -5.0},)
    assert out["python:lazy"].passed
    assert out["python:dupes"].failing_rows == 2


def test_boolean_series_marks_failing_rows(check):
    r = python(check, ("mask", Severity.ERROR, lambda df: df["amount"] < 100, None))["python:mask"]
    assert r.failing_rows == 1 and r.sample == ({"id": 4, "amount": 250.0},)


def test_sample_of_a_returned_frame_is_bounded(check):
    r = python(check, ("all", Severity.ERROR, lambda df: pl.concat([df] * 10), None))["python:all"]
    assert r.failing_rows == 40 and len(r.sample) == 5


def test_an_exception_becomes_a_failed_result(check):
    def boom(df):
        raise KeyError("amount_eur")

    out = python(
        check,
        ("boom", Severity.ERROR, boom, None),
        ("after", Severity.ERROR, lambda df: True, None),
    )
    assert not out["python:boom"].passed and out["python:boom"].actual == "raised KeyError: 'amount_eur'"
    assert out["python:after"].passed  # one broken check does not stop the others


def test_an_unusable_return_value_fails_with_a_reason(check):
    r = python(check, ("none", Severity.ERROR, lambda df: None, None))["python:none"]
    assert not r.passed and "returned NoneType" in (r.actual or "")


def test_names_already_prefixed_stay_as_they_are(check):
    assert "python:x" in python(check, ("python:x", Severity.ERROR, lambda df: True, None))


class Orders(pa.DataFrameModel):
    id: int = pa.Field(unique=True)
    amount: float = pa.Field(ge=0)

    @pa.dataframe_check(name="not_huge")
    def not_huge(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("amount") < 100)


def test_schema_model_passes_on_good_data(check):
    good = pl.DataFrame({"id": [1, 2], "amount": [1.0, 2.0]})
    out = check("", good, schema_model=Orders)
    assert set(out) == {
        "schema:id.dtype",
        "schema:id.nullable",
        "schema:id.unique",
        "schema:amount.dtype",
        "schema:amount.nullable",
        "schema:amount.greater_than_or_equal_to(0)",
        "schema:table.not_huge",
    }
    assert all(r.passed for r in out.values())


def test_schema_model_reports_each_failing_check(check):
    out = check("", DF, schema_model=Orders)
    failed = {n: r.failing_rows for n, r in out.items() if not r.passed}
    assert failed == {
        "schema:id.unique": 2,
        "schema:amount.greater_than_or_equal_to(0)": 1,
        "schema:table.not_huge": 1,
    }
    assert out["schema:amount.greater_than_or_equal_to(0)"].sample == ({"id": 2, "amount": -5.0},)
    assert out["schema:table.not_huge"].sample == ({"id": 4, "amount": 250.0},)


def test_schema_model_dtype_failure(check):
    r = check("", pl.DataFrame({"id": [1], "amount": [1]}), schema_model=Orders)["schema:amount.dtype"]
    assert not r.passed and r.actual == "Int64"


def test_schema_model_checks_a_lazyframe_in_full(check):
    # pandera alone would check only the schema of a LazyFrame and let the bad amount through
    out = check("", DF.lazy(), schema_model=Orders)
    assert not out["schema:amount.greater_than_or_equal_to(0)"].passed


def test_rules_python_checks_and_schema_together_in_order(check):
    out = check(
        "asset: orders\ncolumns:\n  amount: {min: 0}\n",
        DF,
        python_checks=[("p", Severity.ERROR, lambda df: True, None)],
        schema_model=Orders,
    )
    names = list(out)
    assert names[0] == "amount.min" and names[1] == "python:p" and names[2].startswith("schema:")
