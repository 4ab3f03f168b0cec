"""Table rules on real data: row counts, change against the previous materialization, freshness,
compound keys, and SQL audits and expressions run in DuckDB over this and other assets."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest


def table(body: str) -> str:
    return "asset: orders\ntable:\n" + "".join(f"  {line}\n" for line in body.strip().splitlines())


@pytest.mark.parametrize(
    ("rule", "rows", "passed", "expected"),
    [
        ("{min: 1}", 0, False, ">= 1"),
        ("{min: 1}", 3, True, ">= 1"),
        ("{max: 2}", 3, False, "<= 2"),
        ("{min: 1, max: 3}", 3, True, "between 1 and 3"),
    ],
)
def test_row_count(check, rule, rows, passed, expected):
    r = check(table(f"row_count: {rule}"), pl.DataFrame({"a": list(range(rows))}))["table.row_count"]
    assert (r.passed, r.expected, r.actual) == (passed, expected, f"{rows} row" + ("" if rows == 1 else "s"))


@pytest.mark.parametrize(
    ("previous", "rows", "passed"),
    [
        (None, 1, True),  # first materialization: nothing to compare with
        (100, 50, True),  # a drop of exactly 50%
        (100, 49, False),
        (100, 300, True),  # growth of exactly 200%
        (100, 301, False),
        (0, 0, True),
        (0, 5, False),  # from nothing to something is unbounded growth
    ],
)
def test_row_count_change(check, previous, rows, passed):
    r = check(
        table("row_count_change: {max_drop: 0.5, max_growth: 2}"),
        pl.DataFrame({"a": list(range(rows))}),
        previous_rows=previous,
    )["table.row_count_change"]
    assert r.passed is passed, r


def test_row_count_change_message(check):
    r = check(table("row_count_change: {max_drop: 0.5}"), pl.DataFrame({"a": [1] * 40}), previous_rows=100)[
        "table.row_count_change"
    ]
    assert (r.expected, r.actual) == ("drop <= 50% vs 100 rows", "40 rows (-60.0%)")


def test_freshness_on_timestamps(check, now):
    fresh = pl.DataFrame({"ts": [now - dt.timedelta(hours=5), now - dt.timedelta(minutes=20)]})
    stale = pl.DataFrame({"ts": [now - dt.timedelta(hours=5), now - dt.timedelta(minutes=61)]})
    assert check(table("freshness: {column: ts, max_age: 1h}"), fresh)["table.freshness"].passed
    r = check(table("freshness: {column: ts, max_age: 1h}"), stale)["table.freshness"]
    assert not r.passed and "age 1h1m" in (r.actual or "")
    # naive timestamps are UTC; zoned ones are compared as instants
    naive = fresh.with_columns(pl.col("ts").dt.replace_time_zone(None))
    assert check(table("freshness: {column: ts, max_age: 30m}"), naive)["table.freshness"].passed
    tokyo = fresh.with_columns(pl.col("ts").dt.convert_time_zone("Asia/Tokyo"))
    assert check(table("freshness: {column: ts, max_age: 30m}"), tokyo)["table.freshness"].passed
    assert not check(table("freshness: {column: ts, max_age: 10m}"), tokyo)["table.freshness"].passed


def test_freshness_on_dates_counts_the_whole_day(check, now):
    today = pl.DataFrame({"d": [now.date()]})
    yesterday = pl.DataFrame({"d": [now.date() - dt.timedelta(days=1)]})
    assert check(table("freshness: {column: d, max_age: 1h}"), today)["table.freshness"].passed
    assert not check(table("freshness: {column: d, max_age: 1h}"), yesterday)["table.freshness"].passed
    assert check(table("freshness: {column: d, max_age: 1d}"), yesterday)["table.freshness"].passed


def test_freshness_without_values_or_on_a_wrong_type(check):
    empty = pl.DataFrame({"ts": pl.Series([None], dtype=pl.Datetime)})
    r = check(table("freshness: {column: ts, max_age: 1h}"), empty)["table.freshness"]
    assert not r.passed and r.actual == "no ts values"
    r = check(table("freshness: {column: ts, max_age: 1h}"), pl.DataFrame({"ts": ["2024-01-01"]}))[
        "table.freshness"
    ]
    assert not r.passed and "cannot apply" in (r.actual or "")


def test_compound_unique(check):
    df = pl.DataFrame({"a": [1, 1, 1, 2], "b": ["x", "y", "x", "x"]})
    r = check(table("unique: [a, b]"), df)["table.unique"]
    assert not r.passed and r.failing_rows == 2 and r.expected == "unique (a, b)"
    assert [(s["a"], s["b"]) for s in r.sample] == [(1, "x"), (1, "x")]
    assert check(table("unique: [a, b]"), df.unique())["table.unique"].passed


def test_sql_rule_returns_failing_rows(check):
    df = pl.DataFrame({"id": [1, 2, 3], "amount": [5.0, 2e7, 3e7]})
    r = check(table('sql: "SELECT id, amount FROM orders WHERE amount > 1e7"'), df)["table.sql"]
    assert not r.passed and r.failing_rows == 2 and r.actual == "2 failing rows"
    assert {s["id"] for s in r.sample} == {2, 3}
    ok = check(table('sql: "SELECT * FROM orders WHERE amount > 1e9"'), df)["table.sql"]
    assert ok.passed and ok.failing_rows == 0


def test_sql_rules_join_other_assets_and_use_ctes(check):
    df = pl.DataFrame({"id": [1, 2, 3], "user_id": ["u1", "u2", "u3"]})
    users = pl.DataFrame({"uid": ["u1", "u2"], "signup": [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]})
    out = check(
        table(
            """
            sql:
              - name: unknown_user
                query: |
                  WITH known AS (SELECT uid FROM users)
                  SELECT o.* FROM orders o LEFT JOIN known k ON o.user_id = k.uid WHERE k.uid IS NULL
              - {name: dates, query: "SELECT uid, signup FROM users WHERE signup > DATE '2024-01-15'", severity: warn}
            """
        ),
        df,
        others={"users": users},
    )
    assert out["table.sql.unknown_user"].failing_rows == 1
    assert out["table.sql.unknown_user"].sample == ({"id": 3, "user_id": "u3"},)
    assert out["table.sql.dates"].sample == ({"uid": "u2", "signup": "2024-02-01"},)  # dates as ISO text


def test_sql_sample_is_bounded(check):
    df = pl.DataFrame({"a": list(range(1000))})
    r = check(table('sql: "SELECT * FROM orders"'), df)["table.sql"]
    assert r.failing_rows == 1000 and len(r.sample) == 5


def test_sql_error_fails_the_rule_not_the_run(check):
    df = pl.DataFrame({"a": [1]})
    out = check(table('sql: "SELECT * FROM orders WHERE nope > 1"\nrow_count: {min: 1}'), df)
    assert not out["table.sql"].passed and "query failed" in (out["table.sql"].actual or "")
    assert out["table.row_count"].passed


def test_a_file_path_in_sql_is_no_asset(project, tmp_path):
    err = project.error(f"asset: orders\ntable:\n  sql: \"SELECT * FROM '{tmp_path}/x.csv'\"\n")
    assert "which is not an asset" in err.message


def test_duckdb_runs_rules_without_file_access(project, tmp_path, now):
    # The loader refuses table functions; this is the second guard, should one slip through.
    from dataclasses import replace

    from assetbuild.gate.evaluate import CheckContext, run_checks

    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n")
    rs = project.rules(table('sql: "SELECT * FROM orders"'))
    rule = rs.rules[0]
    sneaky = replace(rule, params=dict(rule.params, query=f"SELECT * FROM read_csv('{secret}')"))
    results = run_checks(
        replace(rs, rules=(sneaky,)), pl.DataFrame({"a": [1]}), CheckContext("orders", dict, now=now)
    )
    assert not results[0].passed and "Permission" in (results[0].actual or "")


def test_expression_holds_on_every_row_and_null_passes(check):
    df = pl.DataFrame({"amount": [1.0, -2.0, None], "fee": [0.1, 0.1, 0.1]})
    r = check(table('expression: "amount >= 0 AND fee < 1"'), df)["table.expression"]
    assert not r.passed and r.failing_rows == 1 and r.sample == ({"amount": -2.0, "fee": 0.1},)
    assert r.expected == "amount >= 0 AND fee < 1 on every row"
    assert check(table('expression: "fee < 1"'), df)["table.expression"].passed


def test_expression_list_and_subquery_on_another_asset(check):
    df = pl.DataFrame({"qty": [1, 5, 9]})
    merchants = pl.DataFrame({"stock": [3, 6]})
    out = check(
        table(
            """
            expression:
              - qty > 0
              - {name: in_stock, expression: "qty <= (SELECT max(stock) FROM merchants)"}
            """
        ),
        df,
        others={"merchants": merchants},
    )
    assert out["table.expression.1"].passed
    assert out["table.expression.in_stock"].failing_rows == 1


def test_expression_on_an_asset_whose_name_is_a_keyword(project, now):
    from assetbuild.gate.evaluate import CheckContext, run_checks

    project.write("select.yaml", 'asset: select\ntable:\n  expression: "x > 0"\n')
    rs = project.load(("select",))["select"]
    results = run_checks(rs, pl.DataFrame({"x": [1, -1]}), CheckContext("select", lambda name: None, now=now))
    assert [(r.name, r.failing_rows) for r in results] == [("table.expression", 1)]
