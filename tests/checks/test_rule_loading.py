"""Rule files → RuleSets: naming, merging, severities, descriptions, packs, references, sources."""

from __future__ import annotations

import datetime as dt

import pytest

from assetbuild.gate.specs import format_duration, parse_duration
from assetbuild.model.results import Severity


def test_design_example_loads_with_names_kinds_and_sources(project):
    rs = project.rules(
        """
        asset: orders
        columns:
          transaction_id: {dtype: string, nullable: false, unique: true}
          amount:         {dtype: float, min: 0}
          user_id:        {dtype: string, nullable: false, matches: "^u[0-9]+$"}
          merchant_id:    {references: merchants.merchant_id}
          currency:       {use: iso_currency}
        table:
          row_count: {min: 1}
          row_count_change: {max_drop: 0.5, severity: warn}
          freshness: {column: timestamp, max_age: 1h}
          sql: "SELECT * FROM orders WHERE amount > 1e7"
        severity: error
        """
    )
    by_name = {r.name: r for r in rs.rules}
    assert list(by_name) == [
        "transaction_id.dtype",
        "transaction_id.nullable",
        "transaction_id.unique",
        "amount.dtype",
        "amount.min",
        "user_id.dtype",
        "user_id.nullable",
        "user_id.matches",
        "merchant_id.references",
        "currency.iso_currency.isin",
        "table.row_count",
        "table.row_count_change",
        "table.freshness",
        "table.sql",
    ]
    assert by_name["amount.min"].kind == "min"
    assert by_name["amount.min"].column == "amount"
    assert by_name["amount.min"].params == {"value": 0}
    assert by_name["amount.min"].source == "rules/orders.yaml:4"
    assert by_name["table.freshness"].params == {"column": "timestamp", "max_age_s": 3600.0}
    assert by_name["table.row_count_change"].severity is Severity.WARN
    assert by_name["table.row_count"].severity is Severity.ERROR
    assert by_name["currency.iso_currency.isin"].source == "rules/orders.yaml:7"
    assert rs.references == ("merchants",)
    assert len(rs.fingerprint) == 32 and int(rs.fingerprint, 16) >= 0


def test_no_rules_folder_means_no_rulesets(tmp_path):
    from assetbuild.gate.rules import load_rules

    assert load_rules(tmp_path, ["orders"]) == {}


def test_severity_precedence_rule_over_column_over_file(project):
    rs = project.rules(
        """
        asset: orders
        severity: warn
        columns:
          a: {min: 0}
          b: {min: 0, severity: error}
          c: {min: {value: 0, severity: error}, max: 10}
        """
    )
    sev = {r.name: r.severity for r in rs.rules}
    assert sev == {
        "a.min": Severity.WARN,
        "b.min": Severity.ERROR,  # column-level severity
        "c.min": Severity.ERROR,  # rule-level
        "c.max": Severity.WARN,  # file default
    }


def test_descriptions_rule_column_and_pack(project):
    rs = project.rules(
        """
        asset: orders
        columns:
          amount: {min: {value: 0, description: refunds are separate}, max: 100, description: money}
          currency: {use: iso_currency}
          country: {use: {value: iso_country, description: billing country, severity: warn}}
        """
    )
    r = {x.name: x for x in rs.rules}
    assert r["amount.min"].description == "refunds are separate"
    assert r["amount.max"].description == "money"
    assert r["currency.iso_currency.isin"].description.startswith("ISO 4217")
    assert r["country.iso_country.isin"].description == "billing country"
    assert r["country.iso_country.isin"].severity is Severity.WARN


def test_no_op_flags_make_no_rules(project):
    rs = project.rules(
        """
        asset: orders
        columns:
          a: {nullable: true, unique: false, finite: false}
          b: {nullable: false}
        """
    )
    assert [r.name for r in rs.rules] == ["b.nullable"]


def test_several_files_merge_into_one_ruleset(project):
    project.write("orders_columns.yaml", "asset: orders\ncolumns:\n  amount: {min: 0}\n")
    project.write("orders_table.yml", "asset: orders\ntable:\n  row_count: {min: 1}\n")
    project.write("users.yaml", "asset: users\ncolumns:\n  id: {unique: true}\n")
    loaded = project.load()
    assert set(loaded) == {"orders", "users"}
    assert [r.name for r in loaded["orders"].rules] == ["amount.min", "table.row_count"]
    assert loaded["orders"].rules[1].source == "rules/orders_table.yml:3"


def test_values_are_canonical(project):
    rs = project.rules(
        """
        asset: orders
        columns:
          status: {isin: [b, a, b, c]}
          day: {between: [2024-01-01, 2024-12-31]}
          code: {dtype: Utf8}
          flag: {dtype: boolean}
        table:
          unique: [day, status]
          freshness: {column: day, max_age: 1h30m}
        """
    )
    r = {x.name: x for x in rs.rules}
    assert r["status.isin"].params == {"values": ["a", "b", "c"]}
    assert r["day.between"].params == {"min": dt.date(2024, 1, 1), "max": dt.date(2024, 12, 31)}
    assert r["code.dtype"].params == {"dtype": "string"}
    assert r["flag.dtype"].params == {"dtype": "bool"}
    assert r["table.unique"].params == {"columns": ["day", "status"]}
    assert r["table.freshness"].params["max_age_s"] == 5400


def test_sql_and_expression_forms_and_references(project):
    rs = project.rules(
        """
        asset: orders
        table:
          sql:
            - {name: big, query: "SELECT * FROM orders WHERE amount > 10"}
            - name: unknown_user
              query: |
                WITH u AS (SELECT id FROM users)
                SELECT o.* FROM orders o LEFT JOIN u ON o.user_id = u.id WHERE u.id IS NULL
              severity: warn
          expression:
            - amount >= 0
            - {name: in_stock, expression: "qty <= (SELECT max(stock) FROM merchants)"}
        """
    )
    r = {x.name: x for x in rs.rules}
    assert list(r) == [
        "table.sql.big",
        "table.sql.unknown_user",
        "table.expression.1",
        "table.expression.in_stock",
    ]
    assert r["table.sql.unknown_user"].severity is Severity.WARN
    assert r["table.sql.unknown_user"].params["tables"] == ["orders", "users"]  # the CTE `u` is no table
    assert r["table.expression.in_stock"].params["tables"] == ["merchants"]
    assert rs.references == ("merchants", "users")  # never the asset itself


def test_self_reference_is_not_a_dependency(project):
    rs = project.rules("asset: orders\ncolumns:\n  parent_id: {references: orders.id}\n")
    assert rs.references == ()
    assert rs.rules[0].params == {"asset": "orders", "column": "id"}


def test_clock_and_previous_rows_dependence_is_visible(project):
    plain = project.rules("asset: orders\ncolumns:\n  a: {min: 0}\n")
    assert not plain.uses_clock and not plain.uses_previous_rows
    timed = project.rules("asset: orders\ncolumns:\n  ts: {use: not_in_future}\n")
    assert timed.uses_clock
    fresh = project.rules(
        "asset: orders\ntable:\n  freshness: {column: ts, max_age: 1d}\n  row_count_change: {max_drop: 0.1}\n"
    )
    assert fresh.uses_clock and fresh.uses_previous_rows


def test_column_names_are_read_as_written(project):
    # YAML 1.1 would read these keys as booleans and numbers.
    rs = project.rules("asset: orders\ncolumns:\n  on: {min: 0}\n  2024: {min: 0}\n")
    assert [r.column for r in rs.rules] == ["on", "2024"]


@pytest.mark.parametrize(
    ("text", "seconds", "shown"),
    [
        ("45s", 45, "45s"),
        ("30m", 1800, "30m"),
        ("1h30m", 5400, "1h30m"),
        ("2 days", 172800, "2d"),
        ("1w", 604800, "7d"),
    ],
)
def test_durations(text, seconds, shown):
    assert parse_duration(text) == seconds
    assert format_duration(seconds) == shown


@pytest.mark.parametrize("text", ["", "1", "h", "1 hour ago", "-1h", "0s", "1y"])
def test_not_durations(text):
    assert parse_duration(text) is None


def test_dot_files_and_other_suffixes_are_not_rules(project):
    project.write("orders.yaml", "asset: orders\ncolumns:\n  a: {min: 0}\n")
    project.write(".orders.yaml.swp", "garbage: [")
    project.write(".#orders.yaml", "garbage: [")
    project.write("notes.txt", "asset: nope")
    assert [r.name for r in project.load()["orders"].rules] == ["a.min"]
