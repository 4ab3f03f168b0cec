"""Messages that used to leak internals (sqlglot token dumps, class names, the wrong file) are
project errors: exit 2, `file:line` of the mistake, and what to do — never a traceback.

Issue 21, item 12: (a) Jinja in a SQL asset, (b) a rule expression that is not SQL, (c) a rule
of the wrong type for its column, (d) an `@asset(export=...)` mistake, (e) run ids in `history`.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from assetbuild.errors import ProjectError
from assetbuild.gate.rules import RuleSet, check_types, load_rules
from assetbuild.model.runids import display_run_id, new_run_id

TOML = '[project]\nname = "m"\n\n[sources.orders]\npath = "data/orders.csv"\n'
CSV = "order_id,customer,amount,day\n1,c1,10.5,2024-01-01\n2,c2,3.0,2024-01-02\n"
BASE = {"assetbuild.toml": TOML, "data/orders.csv": CSV}
# What a user must never read: sqlglot's internals, Python's, or assetbuild's.
LEAKS = ("Traceback", "<class", "<Token", "TokenType", "sqlglot", "Required keyword", "internal error")


def project_error(make_project, run_cli, files: dict[str, str], command: str = "plan") -> str:
    """Run `assetbuild COMMAND` on BASE + files; assert exit 2 without leaks; return stderr."""
    root = make_project({**BASE, **files})
    r = run_cli(root, command)
    assert r.code == 2, r
    for leak in LEAKS:
        assert leak not in r.stderr + r.stdout, r
    return r.stderr


# -- (a) Jinja in a SQL asset -----------------------------------------------------------------

JINJA = {
    "ref": ("SELECT *\nFROM {{ ref('orders') }}\n", "assets/x.sql:2:6", "{{ ref('orders') }}"),
    "if block": ("{% if true %}\nSELECT 1 AS a\n{% endif %}\n", "assets/x.sql:1:1", "{% if true %}"),
    # sqlglot reads `{{ x }}` as a DuckDB struct literal: it parsed, and failed only when run
    "variable sqlglot accepts": ("SELECT {{ var }} AS a FROM orders\n", "assets/x.sql:1:8", "{{ var }}"),
    "comment": ("{# the daily roll-up #}\nSELECT 1 AS a\n", "assets/x.sql:1:1", "{# the daily"),
}


@pytest.mark.parametrize("case", sorted(JINJA))
def test_jinja_in_a_sql_asset_is_named_as_such(make_project, run_cli, case):
    sql, location, snippet = JINJA[case]
    err = project_error(make_project, run_cli, {"assets/x.sql": sql})
    assert f"error: {location}: " in err
    assert "Jinja" in err and snippet in err
    assert "native SQL assets do not support" in err
    assert "FROM orders" in err, "the hint shows the plain-SQL way to name an upstream"


def test_braces_in_strings_and_comments_are_plain_sql(make_project, run_cli):
    sql = "-- {{ not a template }}\nSELECT '{{ x }}' AS a, \"{%y\" AS b /* {# c #} */ FROM orders\n"
    root = make_project({**BASE, "assets/x.sql": sql})
    r = run_cli(root, "plan")
    assert r.code == 0, r


def test_jinja_in_a_rule_expression(make_project, run_cli):
    rules = 'asset: orders\ntable:\n  expression: "{{ col }} > 0"\n'
    err = project_error(make_project, run_cli, {"rules/orders.yaml": rules})
    assert "error: rules/orders.yaml:3:16: " in err
    assert "Jinja" in err


# -- (b) rule expressions and queries that are not SQL ----------------------------------------

# expression -> the column (in `  expression: "..."`, the query starts at column 16) it points at
BAD_EXPRESSIONS = {
    "amount > AND": 25,  # the AND where the right side of > should be
    "amount >": 23,
    "1 +": 18,
    "amount BETWEEN 1": 31,
    "CASE WHEN amount > 0 END": 37,
    "amount = 'open": 25,  # a string not closed (sqlglot: TokenError, not ParseError)
    'amount = "open': 25,  # a quoted name not closed
    "amount > 0 /* the rest": 27,  # a comment not closed
    "amount > (1": 26,
    "CAST(amount AS)": 30,
}


@pytest.mark.parametrize("expression", sorted(BAD_EXPRESSIONS))
def test_a_bad_rule_expression_says_it_is_not_valid_sql(make_project, run_cli, expression):
    quoted = f"'{expression}'" if '"' in expression else f'"{expression}"'  # no YAML escapes
    rules = f"asset: orders\ntable:\n  expression: {quoted}\n"
    err = project_error(make_project, run_cli, {"rules/orders.yaml": rules})
    assert f"error: rules/orders.yaml:3:{BAD_EXPRESSIONS[expression]}: " in err
    assert "invalid SQL in 'expression' rule" in err
    assert "hint:" in err


def test_a_bad_sql_rule_says_it_is_not_valid_sql(make_project, run_cli):
    rules = "asset: orders\ntable:\n  sql: |\n    SELECT * FROM orders\n    WHERE amount = 'x\n"
    err = project_error(make_project, run_cli, {"rules/orders.yaml": rules})
    assert "error: rules/orders.yaml:5:20: " in err
    assert "invalid SQL in 'sql' rule" in err and "not closed" in err


SQL_ASSET_ERRORS = {
    # file text -> (location, words the message must hold)
    "SELECT amount,\n  'open AS status\nFROM orders\n": ("assets/x.sql:2:3", "string"),
    'SELECT "amount FROM orders\n': ("assets/x.sql:1:8", "quoted name"),
    "SELECT 1 AS a /* unfinished\n": ("assets/x.sql:1:15", "comment"),
    "SELECT *\nFROM\n": ("assets/x.sql:2:1", "table name"),
    "SELECT amount >\nFROM orders\n": ("assets/x.sql:2:1", "'>' is incomplete"),
    "SELECT * FROM orders WHERE\n": ("assets/x.sql:1:22", "WHERE"),
}


@pytest.mark.parametrize("sql", sorted(SQL_ASSET_ERRORS))
def test_sql_asset_syntax_errors_read_as_sql(make_project, run_cli, sql):
    location, words = SQL_ASSET_ERRORS[sql]
    err = project_error(make_project, run_cli, {"assets/x.sql": sql})
    assert f"error: {location}: SQL syntax error: " in err
    assert words in err


# -- (c) a rule of the wrong type for its column ----------------------------------------------

DECLARED = {
    # column rules -> (the rule key the error points at, words it must hold)
    "{dtype: string, min: 5}": ("min", ["customer.min", "dtype: string", "rules/orders.yaml:4"]),
    "{dtype: int, matches: '^c'}": ("matches", ["customer.matches", "dtype: int"]),
    "{dtype: float, str_length: {max: 3}}": ("str_length", ["customer.str_length", "dtype: float"]),
    "{dtype: date, isin: [1, 2]}": ("isin", ["customer.isin", "dtype: date"]),
    "{dtype: int, use: iso_currency}": ("use", ["customer.iso_currency", "dtype: int"]),
}


@pytest.mark.parametrize("rules", sorted(DECLARED))
def test_a_rule_contradicting_the_declared_dtype_fails_at_load(make_project, run_cli, rules):
    key, words = DECLARED[rules]
    line = f"  customer: {rules}"
    text = f"asset: orders\ncolumns:\n  order_id: {{unique: true}}\n{line}\n"
    err = project_error(make_project, run_cli, {"rules/orders.yaml": text})
    assert f"error: rules/orders.yaml:4:{line.index(key + ':') + 1}: " in err
    for w in words:
        assert w in err


def test_a_rule_agreeing_with_the_declared_dtype_loads(make_project, run_cli):
    text = "asset: orders\ncolumns:\n  amount: {dtype: float, min: 0, isin: [3, 10.5], finite: true}\n"
    root = make_project({**BASE, "rules/orders.yaml": text})
    r = run_cli(root, "plan")
    assert r.code == 0, r


def _ruleset(tmp_path: Path, text: str) -> RuleSet:
    (tmp_path / "rules").mkdir(exist_ok=True)
    (tmp_path / "rules" / "orders.yaml").write_text(text)
    return load_rules(tmp_path, ["orders"])["orders"]


WRONG_TYPE = {
    # column rules, the column's type (as polars names it) -> what the message says
    ("{min: 5}", "String"): "a number compares with numeric columns",
    ("{matches: '^1'}", "Int64"): "applies to text",
    ("{str_length: {max: 4}}", "Float64"): "applies to text",
    ("{isin: [a, b]}", "Int64"): "numeric values",
    ("{isin: [1, 2]}", "String"): "string values",
    ("{finite: true}", "String"): "applies to numbers",
    ("{max: now}", "Int64"): "date or datetime",
    ("{min: 2024-01-01}", "Float64"): "date or datetime",
    ("{matches: '^1'}", "Datetime(time_unit='us', time_zone=None)"): "applies to text",
    # polars' type of a column made of nulls only (pl.lit(None)): no rule on values applies
    ("{min: 0}", "Null"): "a number compares with numeric columns",
}


@pytest.mark.parametrize(("rules", "dtype"), sorted(WRONG_TYPE))
def test_a_rule_of_the_wrong_type_for_the_data_names_rule_column_and_type(tmp_path, rules, dtype):
    rs = _ruleset(tmp_path, f"asset: orders\ncolumns:\n  x: {rules}\n")
    with pytest.raises(ProjectError) as info:
        check_types(rs, {"x": dtype, "other": "String"})
    err = info.value
    assert (err.path, err.line) == ("rules/orders.yaml", 3)
    text = str(err)
    assert f"'x.{rs.rules[0].kind}'" in text and "column 'x'" in text
    assert dtype.split("(")[0] in text
    assert WRONG_TYPE[(rules, dtype)] in text
    assert err.hint


def test_freshness_on_a_text_column_names_its_column(tmp_path):
    rs = _ruleset(tmp_path, "asset: orders\ntable:\n  freshness: {column: day, max_age: 1d}\n")
    with pytest.raises(ProjectError) as info:
        check_types(rs, {"day": "String"})
    assert info.value.line == 3 and "column 'day'" in str(info.value) and "String" in str(info.value)


RIGHT_TYPE = [
    ("{min: 0, max: 10, between: [0, 10], isin: [1, 2.5], finite: true}", "Float64"),
    ("{min: 0, isin: [1, 2]}", "Decimal(precision=38, scale=2)"),
    ("{min: 0, isin: [1, 2]}", "UInt8"),
    ("{matches: '^c', str_length: {max: 3}, isin: [a]}", "String"),
    ("{matches: '^c', isin: [a]}", "Categorical"),
    ("{min: 2024-01-01, max: now}", "Date"),
    ("{min: 2024-01-01T00:00:00, max: now}", "Datetime(time_unit='us', time_zone='UTC')"),
    ("{isin: [true]}", "Boolean"),
    ("{nullable: false, unique: true, dtype: string}", "Int64"),  # dtype is itself the check
]


@pytest.mark.parametrize(("rules", "dtype"), RIGHT_TYPE)
def test_rules_that_fit_their_column_pass_the_type_check(tmp_path, rules, dtype):
    check_types(_ruleset(tmp_path, f"asset: orders\ncolumns:\n  x: {rules}\n"), {"x": dtype})


def _polars_types() -> list[Any]:
    import polars as pl

    return [
        pl.String, pl.Categorical, pl.Int64, pl.UInt8, pl.Float32, pl.Decimal(38, 2), pl.Boolean,
        pl.Date, pl.Datetime("us"), pl.Datetime("ns", "UTC"), pl.Time, pl.Duration("us"),
        pl.Binary, pl.List(pl.Int64), pl.Null,
    ]  # fmt: skip


COLUMN_RULES = [
    "{min: 0}", "{max: 1.5}", "{max: now}", "{between: [2024-01-01, 2025-01-01T00:00:00]}",
    "{isin: [a, b]}", "{isin: [1, 2.5]}", "{isin: [true]}", "{isin: [2024-01-01]}", "{not_isin: [a]}",
    "{matches: x}", "{str_length: {max: 3}}", "{finite: true}",
]  # fmt: skip


@pytest.mark.parametrize("rules", COLUMN_RULES)
def test_the_type_check_refuses_exactly_what_the_rules_cannot_evaluate(tmp_path, rules):
    """`check_types` judges on type names what evaluate.py finds when it compiles a rule: every
    rule it lets through runs on the data, and every rule it refuses would fail as inapplicable."""
    import polars as pl

    from assetbuild.gate.context import CheckContext
    from assetbuild.gate.evaluate import run_checks

    def no_other_asset(name: str) -> pl.DataFrame:
        raise AssertionError(f"these rules read no other asset, not {name}")

    rs = _ruleset(tmp_path, f"asset: orders\ncolumns:\n  x: {rules}\n")
    for dtype in _polars_types():
        df = pl.DataFrame({"x": pl.Series([None], dtype=dtype)})
        (result,) = run_checks(rs, df, CheckContext("orders", no_other_asset))
        inapplicable = "cannot apply" in (result.actual or "")
        try:
            check_types(rs, dict(zip(df.columns, map(str, df.dtypes), strict=True)))
            refused = False
        except ProjectError:
            refused = True
        assert refused == inapplicable, (rules, dtype, result)


def test_a_rule_of_the_wrong_type_fails_the_build_with_exit_2(make_project, run_cli):
    rules = "asset: orders\ncolumns:\n  customer: {nullable: false, min: 5}\n"
    err = project_error(make_project, run_cli, {"rules/orders.yaml": rules}, command="build")
    assert "error: rules/orders.yaml:3: " in err
    assert "customer.min" in err and "column 'customer'" in err and "String" in err


# -- (d) @asset(export=...) names the decorator ---------------------------------------------

EXPORTS = {
    "out/clean.txt": "cannot tell the format",
    "../clean.parquet": "leaves the project",
    ".assetbuild/clean.csv": "overwrite",
}


@pytest.mark.parametrize("target", sorted(EXPORTS))
def test_an_asset_export_error_names_the_decorator(make_project, run_cli, target):
    py = (
        "import polars as pl\nfrom assetbuild import asset\n\n\n"
        f'@asset(\n    description="x",\n    export="{target}",\n)\n'
        "def clean(orders: pl.DataFrame) -> pl.DataFrame:\n    return orders\n"
    )
    err = project_error(make_project, run_cli, {"assets/clean.py": py})
    assert "error: assets/clean.py:7:12: " in err, err
    assert "assetbuild.toml" not in err
    assert EXPORTS[target] in err


# -- (e) run ids that differ where they are shown ---------------------------------------------


def test_run_ids_made_in_one_millisecond_display_apart():
    ids = [new_run_id() for _ in range(2000)]  # far more than a millisecond holds apart by time
    assert len({i[:13] for i in ids}) < len(ids), "the probe must create ids sharing a time prefix"
    shown = [display_run_id(i) for i in ids]
    assert len(set(shown)) == len(ids)
    assert all(s in i for s, i in zip(shown, ids, strict=True)), "what is shown can be searched for"
    assert all(len(s) <= 12 for s in shown)


def test_display_of_other_run_ids():
    assert display_run_id("local") == "local"  # short ids (hand-made, tests) are shown whole
    assert display_run_id("run-2024-06-01-abcdef12") == "abcdef12"


def test_history_shows_two_quick_runs_apart(make_project, run_cli):
    root = make_project({**BASE, "assets/x.sql": "SELECT * FROM orders\n"})
    assert run_cli(root, "build").code == 0
    (root / "data/orders.csv").write_text(CSV + "3,c3,1.0,2024-01-03\n")
    time.sleep(0.01)
    assert run_cli(root, "build").code == 0
    r = run_cli(root, "history", "x")
    assert r.code == 0, r
    shown = re.findall(r"run (\S+)", r.stdout)
    runs = [m["run_id"] for m in run_cli(root, "history", "x", "--format", "json").json["materializations"]]
    assert shown == [display_run_id(i) for i in runs], r.stdout
    assert len(set(shown)) == 2, r.stdout
