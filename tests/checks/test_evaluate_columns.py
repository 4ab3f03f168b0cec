"""Column rules on real polars data: each kind passes on good data and fails on bad, with counts,
expected/actual text and a bounded, JSON-able sample of failing rows."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from decimal import Decimal

import polars as pl
import pytest

from assetbuild.model.results import Severity


def rules(columns: str) -> str:
    lines = textwrap.dedent(columns).strip().splitlines()
    return "asset: orders\ncolumns:\n" + "".join(f"  {line}\n" for line in lines)


def test_dtype_families(check):
    df = pl.DataFrame(
        {
            "s": ["a"],
            "i": pl.Series([1], dtype=pl.Int32),
            "f": [1.5],
            "b": [True],
            "d": [dt.date(2024, 1, 1)],
            "ts": pl.Series([dt.datetime(2024, 1, 1)]).dt.replace_time_zone("UTC"),
            "dec": pl.Series([Decimal("1.50")], dtype=pl.Decimal(10, 2)),
            "cat": pl.Series(["x"], dtype=pl.Categorical),
        }
    )
    good = check(
        rules(
            """
            s: {dtype: string}
            i: {dtype: int}
            f: {dtype: float}
            b: {dtype: boolean}
            d: {dtype: date}
            ts: {dtype: datetime}
            dec: {dtype: numeric}
            cat: {dtype: categorical}
            """
        ),
        df,
    )
    assert all(r.passed for r in good.values()), [r for r in good.values() if not r.passed]
    bad = check(rules("i: {dtype: int64}\nf: {dtype: int}\ns: {dtype: float}\nd: {dtype: datetime}"), df)
    assert not any(r.passed for r in bad.values())
    assert (bad["i.dtype"].expected, bad["i.dtype"].actual) == ("int64", "Int32")
    assert bad["f.dtype"].failing_rows == 0 and bad["f.dtype"].actual == "Float64"


def test_nullable(check):
    ok = check(rules("a: {nullable: false}"), pl.DataFrame({"a": [1, 2]}))["a.nullable"]
    assert ok.passed and ok.actual == "no nulls"
    bad = check(rules("a: {nullable: false}"), pl.DataFrame({"a": [1, None, None]}))["a.nullable"]
    assert not bad.passed and bad.failing_rows == 2 and bad.actual == "2 nulls"
    assert [r["a"] for r in bad.sample] == [None, None]


def test_unique_ignores_nulls_and_counts_every_duplicated_row(check):
    ok = check(rules("a: {unique: true}"), pl.DataFrame({"a": [1, 2, None, None]}))["a.unique"]
    assert ok.passed
    bad = check(rules("a: {unique: true}"), pl.DataFrame({"a": ["x", "y", "x", "z", "x", None]}))["a.unique"]
    assert not bad.passed and bad.failing_rows == 3
    assert {r["a"] for r in bad.sample} == {"x"} and "e.g. 'x'" in (bad.actual or "")


@pytest.mark.parametrize(
    ("rule", "values", "failing", "actual"),
    [
        ("min: 0", [0.0, 2.5, None], 0, "min 0"),
        ("min: 0", [-3.5, 2.0, -1.0, None], 2, "min -3.5"),
        ("max: 10", [1, 10, None], 0, "max 10"),
        ("max: 10", [1, 11, 12], 2, "max 12"),
        ("between: [0, 1]", [0.0, 0.5, 1.0], 0, "min 0, max 1"),
        ("between: [0, 1]", [-0.1, 0.5, 1.2], 2, "min -0.1, max 1.2"),
    ],
)
def test_bounds_on_numbers(check, rule, values, failing, actual):
    r = next(iter(check(rules(f"a: {{{rule}}}"), pl.DataFrame({"a": values})).values()))
    assert (r.passed, r.failing_rows, r.actual) == (failing == 0, failing, actual)


def test_bound_expected_text(check):
    out = check(rules("a: {min: 0, max: 5}\nb: {between: [1, 2]}"), pl.DataFrame({"a": [1], "b": [1]}))
    assert [out[n].expected for n in ("a.min", "a.max", "b.between")] == [">= 0", "<= 5", "between 1 and 2"]


def test_bounds_on_decimals_and_unsigned(check):
    df = pl.DataFrame(
        {
            "d": pl.Series([Decimal("1.10"), Decimal("-0.01")], dtype=pl.Decimal(10, 2)),
            "u": pl.Series([3, 200], dtype=pl.UInt8),
        }
    )
    out = check(rules("d: {min: 0}\nu: {max: 100}"), df)
    assert out["d.min"].failing_rows == 1 and out["d.min"].sample[0]["d"] == "-0.01"  # decimals as text
    assert out["u.max"].failing_rows == 1 and out["u.max"].sample[0]["u"] == 200


def test_bounds_on_dates_and_timestamps_across_time_zones(check):
    berlin = pl.Series(
        [dt.datetime(2024, 1, 1, 0, 30), dt.datetime(2023, 12, 31, 23, 30)]
    ).dt.replace_time_zone("Europe/Berlin")
    df = pl.DataFrame(
        {
            "d": [dt.date(2024, 1, 1), dt.date(2023, 12, 31)],
            "ts": berlin,
            "naive": [dt.datetime(2024, 1, 1)] * 2,
        }
    )
    out = check(
        rules(
            """
            d: {min: 2024-01-01}
            ts: {min: "2024-01-01"}
            naive: {max: 2024-01-01T00:00:00Z}
            """
        ),
        df,
    )
    assert out["d.min"].failing_rows == 1
    # a naive bound on a zoned column is read in the column's zone: 23:30 Berlin on Dec 31 fails
    assert out["ts.min"].failing_rows == 1 and out["ts.min"].sample[0]["ts"].startswith("2023-12-31T23:30")
    assert out["naive.max"].passed  # naive data is read as UTC


def test_now_bound_on_datetimes_and_dates(check, now):
    df = pl.DataFrame(
        {
            "ts": [
                now.replace(tzinfo=None) - dt.timedelta(hours=1),
                now.replace(tzinfo=None) + dt.timedelta(hours=1),
            ],
            "tz": pl.Series(
                [now - dt.timedelta(hours=1), now + dt.timedelta(minutes=1)]
            ).dt.convert_time_zone("Asia/Tokyo"),
            "d": [now.date(), now.date() + dt.timedelta(days=1)],
        }
    )
    out = check(rules("ts: {max: now}\ntz: {max: now}\nd: {max: now}"), df)
    for name in ("ts.max", "tz.max", "d.max"):
        assert out[name].failing_rows == 1, out[name]
    assert out["ts.max"].expected == "<= now (2024-06-01T12:00:00+00:00)"


def test_isin_and_not_isin(check):
    df = pl.DataFrame({"s": ["a", "b", "z", None], "n": [1, 2, 3, None]})
    out = check(rules("s: {isin: [a, b]}\nn: {not_isin: [3, 4.5]}"), df)
    assert out["s.isin"].failing_rows == 1 and out["s.isin"].expected == "in ['a', 'b']"
    assert out["s.isin"].actual == "1 row not in the set, e.g. 'z'"
    assert out["n.not_isin"].failing_rows == 1 and out["n.not_isin"].sample[0]["n"] == 3
    ok = check(rules("s: {isin: [a, b, z]}\nn: {not_isin: [7]}"), df)
    assert all(r.passed for r in ok.values())


def test_isin_across_types(check):
    df = pl.DataFrame(
        {
            "u8": pl.Series([1, 2], dtype=pl.UInt8),
            "f": [1.0, 2.5],
            "cat": pl.Series(["a", "q"], dtype=pl.Categorical),
            "enum": pl.Series(["a", "b"], dtype=pl.Enum(["a", "b"])),
            "b": [True, False],
            "d": [dt.date(2024, 1, 1), dt.date(2024, 1, 2)],
        }
    )
    out = check(
        rules(
            """
            u8: {isin: [1, 300, 1.5]}
            f: {isin: [1, 2.5]}
            cat: {isin: [a]}
            enum: {isin: [a, b]}
            b: {isin: [true]}
            d: {isin: [2024-01-01]}
            """
        ),
        df,
    )
    assert {n: r.failing_rows for n, r in out.items()} == {
        "u8.isin": 1,
        "f.isin": 0,
        "cat.isin": 1,
        "enum.isin": 0,
        "b.isin": 1,
        "d.isin": 1,
    }


def test_matches_searches_and_ignores_nulls(check):
    df = pl.DataFrame({"u": ["u1", "u22", "x3", "u4x", None]})
    out = check(rules('u: {matches: "^u[0-9]+$"}'), df)["u.matches"]
    assert out.failing_rows == 2 and out.expected == "matches '^u[0-9]+$'"
    assert [r["u"] for r in out.sample] == ["x3", "u4x"]
    assert check(rules("u: {matches: '[0-9]'}"), df)["u.matches"].passed  # unanchored = search


def test_str_length(check):
    df = pl.DataFrame({"s": ["ab", "abc", "", "abcdefg", None]})
    out = check(rules("s: {str_length: {min: 1, max: 5}}"), df)["s.str_length"]
    assert out.failing_rows == 2 and out.expected == "length between 1 and 5"
    assert "length 0..7" in (out.actual or "")
    assert check(rules("s: {str_length: {max: 7}}"), df)["s.str_length"].passed


def test_finite(check):
    df = pl.DataFrame({"f": [1.0, float("nan"), float("inf"), None], "i": [1, 2, 3, 4]})
    out = check(rules("f: {finite: true}\ni: {finite: true}"), df)
    assert out["f.finite"].failing_rows == 2 and out["i.finite"].passed
    assert [r["f"] for r in out["f.finite"].sample] == ["nan", "inf"]  # JSON has no NaN
    json.dumps([r.to_json() for r in out.values()], allow_nan=False)


def test_references_other_asset(check):
    df = pl.DataFrame({"m": ["m1", "m2", "m9", None]})
    merchants = pl.DataFrame({"merchant_id": ["m1", "m2", None]})
    out = check(rules("m: {references: merchants.merchant_id}"), df, others={"merchants": merchants})[
        "m.references"
    ]
    assert out.failing_rows == 1 and out.sample == ({"m": "m9"},)
    assert out.actual == "1 row not found in merchants.merchant_id, e.g. 'm9'"
    merchants = pl.DataFrame({"merchant_id": ["m1", "m2", "m9"]})
    assert check(rules("m: {references: merchants.merchant_id}"), df, others={"merchants": merchants})[
        "m.references"
    ].passed


def test_references_with_other_integer_width_and_to_itself(check):
    df = pl.DataFrame({"id": [1, 2, 3], "parent": [None, 1, 7]})
    users = pl.DataFrame({"uid": pl.Series([1, 2], dtype=pl.Int32)})
    out = check(
        rules("parent: {references: orders.id}\nid: {references: users.uid}"), df, others={"users": users}
    )
    assert out["parent.references"].failing_rows == 1  # 7 is no id of this same frame
    assert out["id.references"].failing_rows == 1


def test_references_when_the_other_asset_cannot_be_read(check):
    out = check(rules("m: {references: merchants.id}"), pl.DataFrame({"m": [1]}), others={})["m.references"]
    assert not out.passed and "could not read merchants" in (out.actual or "")


@pytest.mark.parametrize(
    ("rule", "column"),
    [
        ("min: 0", "s"),
        ("max: now", "n"),
        ("matches: x", "n"),
        ("str_length: {min: 1}", "n"),
        ("finite: true", "s"),
        ("isin: [1, 2]", "s"),
        ("isin: [a]", "n"),
        ("between: [2024-01-01, 2025-01-01]", "n"),
    ],
)
def test_a_rule_that_does_not_fit_the_column_type_fails_with_a_reason(check, rule, column):
    df = pl.DataFrame({"s": ["a"], "n": [1]})
    r = next(iter(check(rules(f"{column}: {{{rule}}}"), df).values()))
    assert not r.passed and "cannot apply" in (r.actual or ""), r


def test_pattern_rust_rejects_fails_alone(check):
    # an atomic group: Python 3.11's `re` accepts it, polars' Rust engine does not
    df = pl.DataFrame({"s": ["a"], "n": [-1]})
    out = check(rules("s: {matches: '(?>ab)'}\nn: {min: 0}"), df)
    assert not out["s.matches"].passed and "invalid pattern" in (out["s.matches"].actual or "")
    assert out["n.min"].failing_rows == 1  # the rest of the pass still ran


def test_sample_is_bounded_and_counts_are_exact_on_large_failures(check):
    n = 200_000
    df = pl.DataFrame({"a": pl.int_range(n, eager=True) % 1000 - 500, "k": pl.int_range(n, eager=True) % 10})
    out = check(rules("a: {min: 0}\nk: {unique: true, isin: [0, 1, 2]}"), df)
    assert out["a.min"].failing_rows == n // 2
    assert out["k.unique"].failing_rows == n
    assert out["k.isin"].failing_rows == n * 7 // 10
    for r in out.values():
        assert len(r.sample) == 5
        assert r.sample == tuple(json.loads(json.dumps(list(r.sample))))


def test_result_fields_come_from_the_rule(check):
    r = check(
        "asset: orders\ncolumns:\n  a: {min: {value: 0, severity: warn, description: no refunds}}\n",
        pl.DataFrame({"a": [-1]}),
    )["a.min"]
    assert (r.severity, r.column, r.description, r.source) == (
        Severity.WARN,
        "a",
        "no refunds",
        "rules/orders.yaml:3",
    )


def test_empty_frame(check):
    df = pl.DataFrame({"a": pl.Series([], dtype=pl.Float64), "s": pl.Series([], dtype=pl.String)})
    out = check(rules("a: {min: 0, unique: true, nullable: false}\ns: {matches: x, isin: [a]}"), df)
    assert all(r.passed and r.failing_rows == 0 for r in out.values())
    assert out["a.min"].actual == "no values"


def test_lazyframe_is_checked_in_full(check):
    lf = pl.LazyFrame({"a": [1, -1]})
    assert check(rules("a: {min: 0}"), lf)["a.min"].failing_rows == 1
