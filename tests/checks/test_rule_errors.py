"""Every kind of bad rule file is a ProjectError naming the file, line and column, with a hint."""

from __future__ import annotations

import polars as pl
import pytest

from assetbuild.errors import ProjectError
from assetbuild.gate.rules import check_columns


def where(err: ProjectError) -> tuple[str | None, int | None, int | None]:
    return err.path, err.line, err.col


def at(text: str, token: str, path: str = "rules/orders.yaml") -> tuple[str, int, int]:
    """(path, line, column), 1-based, of the first `token` in `text`: where an error must point."""
    before = text[: text.index(token)]
    return path, before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def test_yaml_syntax_error(project):
    text = "asset: orders\ncolumns:\n  amount: {min: 0\n  user: {}\n"
    err = project.error(text)
    assert err.path == "rules/orders.yaml"
    assert err.line == 4 and err.col is not None
    assert "invalid YAML" in err.message


def test_yaml_tab_indentation(project):
    text = "asset: orders\ncolumns:\n\tamount: {min: 0}\n"
    err = project.error(text)
    assert where(err) == at(text, "\tamount")
    assert "invalid YAML" in err.message


def test_empty_file(project):
    err = project.error("# only a comment\n")
    assert err.path == "rules/orders.yaml" and "empty" in err.message


def test_top_level_must_be_a_mapping(project):
    err = project.error("- asset: orders\n")
    assert where(err) == ("rules/orders.yaml", 1, 1)
    assert "must be a mapping" in err.message


def test_unknown_top_level_key(project):
    text = "asset: orders\ncolumn:\n  amount: {min: 0}\n"
    err = project.error(text)
    assert where(err) == at(text, "column:")
    assert "unknown key 'column'" in err.message
    assert err.hint == "did you mean 'columns'?"


def test_missing_asset(project):
    err = project.error("columns:\n  amount: {min: 0}\n")
    assert where(err) == ("rules/orders.yaml", 1, 1)
    assert "asset: NAME" in err.message


def test_unknown_asset(project):
    text = "asset: order\ncolumns:\n  amount: {min: 0}\n"
    err = project.error(text)
    assert where(err) == at(text, "order\n")
    assert "unknown asset 'order'" in err.message
    assert err.hint == "did you mean 'orders'?"


def test_unknown_column_rule(project):
    text = "asset: orders\ncolumns:\n  amount: {dtype: float, minimum: 0}\n"
    err = project.error(text)
    assert where(err) == at(text, "minimum")
    assert "unknown key 'minimum' in column 'amount'" in err.message
    assert err.hint == "did you mean 'min'?"


def test_unknown_table_rule(project):
    text = "asset: orders\ntable:\n  rowcount: {min: 1}\n"
    err = project.error(text)
    assert where(err) == at(text, "rowcount")
    assert err.hint == "did you mean 'row_count'?"


def test_unknown_key_inside_a_rule(project):
    text = "asset: orders\ntable:\n  row_count: {minimum: 1}\n"
    err = project.error(text)
    assert where(err) == at(text, "minimum")
    assert err.hint == "did you mean 'min'?"


def test_unknown_key_in_long_form(project):
    text = "asset: orders\ncolumns:\n  amount:\n    min: {value: 0, severty: warn}\n"
    err = project.error(text)
    assert where(err) == at(text, "severty")
    assert err.hint == "did you mean 'severity'?"


@pytest.mark.parametrize(
    ("body", "token", "text"),
    [
        ("columns:\n  amount: {min: zero}\n", "zero", "must be a number"),
        ("columns:\n  amount: {min: [0]}\n", "[0]", "must be a number"),
        ("columns:\n  amount: {nullable: maybe}\n", "maybe", "must be true or false"),
        ("columns:\n  amount: {between: [0]}\n", "[0]", "two values"),
        ("columns:\n  amount: {between: [5, 1]}\n", "[5, 1]", "greater than high"),
        ("columns:\n  amount: {isin: USD}\n", "USD", "must be a list"),
        ("columns:\n  amount: {isin: []}\n", "[]", "at least one value"),
        ("columns:\n  amount: {isin: [a, ~]}\n", "~", "nulls are governed"),
        ("columns:\n  amount: {str_length: 5}\n", "5", "must be a mapping"),
        ("columns:\n  amount: {str_length: {min: -1}}\n", "-1", ">= 0"),
        ("columns:\n  amount: {str_length: {min: 5, max: 2}}\n", "{min: 5", "greater than max"),
        ("columns:\n  amount: {dtype: 5}\n", "5", "non-empty string"),
        ("columns:\n  amount: {min: {severity: warn}}\n", "{severity", "needs a `value`"),
        ("columns:\n  amount:\n  other: {}\n", "\n  other", "must be a mapping, not an empty value"),
        ("table:\n  row_count: {min: 1.5}\n", "1.5", "whole number"),
        ("table:\n  row_count: {}\n", "{}", "needs at least one of"),
        ("table:\n  row_count_change: {max_drop: 1.5}\n", "1.5", "at most 1"),
        ("table:\n  freshness: {column: ts}\n", "{column", "needs `max_age`"),
        ("table:\n  unique: id\n", "id", "must be a list"),
        ("table:\n  sql: [{query: SELECT 1}]\n", "{query", "needs a `name`"),
        ("table:\n  sql: {name: a b, query: SELECT 1}\n", "a b", "letters, digits"),
        ("severity: fatal\ncolumns:\n  a: {min: 0}\n", "fatal", "must be one of error, warn"),
    ],
)
def test_wrong_value_types(project, body, token, text):
    source = "asset: orders\n" + body
    err = project.error(source)
    assert where(err) == at(source, token), err
    assert text in f"{err.message} {err.hint}"


def test_unknown_dtype_suggests_a_family(project):
    text = "asset: orders\ncolumns:\n  amount: {dtype: flaot}\n"
    err = project.error(text)
    assert where(err) == at(text, "flaot")
    assert "unknown dtype 'flaot'" in err.message
    assert err.hint == "did you mean 'float'?"


def test_bad_severity_suggests(project):
    text = "asset: orders\ncolumns:\n  a: {min: {value: 0, severity: warning}}\n"
    err = project.error(text)
    assert where(err) == at(text, "warning")
    assert err.hint == "did you mean 'warn'?"


def test_bad_duration(project):
    text = "asset: orders\ntable:\n  freshness: {column: ts, max_age: 1 hour ago}\n"
    err = project.error(text)
    assert where(err) == at(text, "1 hour")
    assert "duration" in err.message and "1h" in (err.hint or "")


def test_invalid_regex_points_into_the_pattern(project):
    # the unbalanced "(" is what `re` reports: the error points at it, inside the pattern
    text = "asset: orders\ncolumns:\n  code: {matches: ^a(b}\n"
    err = project.error(text)
    assert where(err) == at(text, "(b")
    assert "invalid regular expression" in err.message
    quoted = 'asset: orders\ncolumns:\n  code: {matches: "^a(b"}\n'
    assert where(project.error(quoted)) == at(quoted, "(b")


def test_regex_the_polars_engine_cannot_run(project):
    text = 'asset: orders\ncolumns:\n  code: {matches: "^(?!x)a"}\n'
    err = project.error(text)
    assert where(err) == at(text, '"^')
    assert "look-around" in err.message and err.hint


def test_unknown_pack(project):
    text = "asset: orders\ncolumns:\n  currency: {use: iso_curency}\n"
    err = project.error(text)
    assert where(err) == at(text, "iso_curency")
    assert "unknown rule pack 'iso_curency'" in err.message
    assert err.hint == "did you mean 'iso_currency'?"


def test_unknown_pack_in_a_list(project):
    text = "asset: orders\ncolumns:\n  email:\n    use: [email, uuidd]\n"
    err = project.error(text)
    assert where(err) == at(text, "uuidd")
    assert err.hint == "did you mean 'uuid'?"


def test_references_unknown_asset(project):
    text = "asset: orders\ncolumns:\n  merchant_id: {references: merchant.merchant_id}\n"
    err = project.error(text)
    assert where(err) == at(text, "merchant.merchant_id")
    assert "references 'merchant', which is not an asset" in err.message
    assert err.hint == "did you mean 'merchants'?"


def test_references_needs_asset_dot_column(project):
    text = "asset: orders\ncolumns:\n  merchant_id: {references: merchants}\n"
    err = project.error(text)
    assert where(err) == at(text, "merchants}")
    assert "ASSET.COLUMN" in err.message


def test_sql_reads_unknown_asset(project):
    text = 'asset: orders\ntable:\n  sql: "SELECT * FROM orders JOIN user USING (id)"\n'
    err = project.error(text)
    assert where(err) == at(text, '"SELECT')
    assert "reads 'user', which is not an asset" in err.message
    assert err.hint == "did you mean 'users'?"


def test_sql_syntax_error_points_into_the_query(project):
    text = 'asset: orders\ntable:\n  sql: "SELECT * FROM WHERE x"\n'
    err = project.error(text)
    assert where(err) == at(text, "WHERE")
    assert "invalid SQL" in err.message


def test_sql_syntax_error_in_a_literal_block(project):
    text = "asset: orders\ntable:\n  sql: |\n    SELECT *\n    FROM orders WHERE\n"
    err = project.error(text)
    assert where(err) == at(text, "WHERE")
    assert "invalid SQL" in err.message


def test_sql_must_be_a_query(project):
    text = 'asset: orders\ntable:\n  sql: "DELETE FROM orders"\n'
    err = project.error(text)
    assert where(err) == at(text, '"DELETE')
    assert "SELECT" in err.message


def test_expression_must_not_be_a_query(project):
    text = 'asset: orders\ntable:\n  expression: "SELECT * FROM orders"\n'
    err = project.error(text)
    assert where(err) == at(text, '"SELECT')
    assert err.hint and "sql:" in err.hint


def test_qualified_table_names_are_refused(project):
    text = 'asset: orders\ntable:\n  sql: "SELECT * FROM main.orders"\n'
    err = project.error(text)
    assert where(err) == at(text, '"SELECT')
    assert "bare name" in err.message


def test_table_functions_are_refused(project):
    text = "asset: orders\ntable:\n  sql: \"SELECT * FROM read_parquet('x.parquet')\"\n"
    err = project.error(text)
    assert where(err) == at(text, '"SELECT')
    assert "reads assets only" in err.message


def test_duplicate_key_in_a_mapping(project):
    text = "asset: orders\ncolumns:\n  amount: {min: 0}\n  amount: {max: 1}\n"
    err = project.error(text)
    assert where(err) == at(text, "amount: {max")
    assert "appears twice" in err.message and "line 3" in err.message


def test_same_rule_in_two_files(project):
    project.write("a.yaml", "asset: orders\ncolumns:\n  amount: {min: 0}\n")
    err = project.error("asset: orders\n\ncolumns:\n  amount: {min: 1}\n", name="b.yaml")
    assert where(err) == ("rules/b.yaml", 4, None)
    assert "already defined at rules/a.yaml:3" in err.message


def test_norway_problem_in_value_lists(project):
    text = "asset: orders\ncolumns:\n  country: {isin: [SE, NO, DK]}\n"
    err = project.error(text)
    assert where(err) == at(text, "NO")
    assert "boolean" in err.message and err.hint == 'write it in quotes: "NO"'


def test_unknown_parameter_of_a_mapping_rule(project):
    text = "asset: orders\ncolumns:\n  a: {str_length: {min: 1, value: 3}}\n"
    err = project.error(text)
    assert where(err) == at(text, "value")
    assert "unknown key 'value' in 'str_length'" in err.message


def test_check_columns_names_the_rule_and_suggests(project):
    rs = project.rules("asset: orders\ncolumns:\n  amount: {min: 0}\n  amout: {max: 9}\n")
    with pytest.raises(ProjectError) as info:
        check_columns(rs, ["id", "amount"])
    err = info.value
    assert where(err) == ("rules/orders.yaml", 4, None)
    assert "rule 'amout.max' names column 'amout'" in err.message
    assert err.hint == "did you mean 'amount'?"


def test_check_columns_covers_table_rules(project):
    rs = project.rules("asset: orders\ntable:\n  unique: [id, dy]\n")
    with pytest.raises(ProjectError) as info:
        check_columns(rs, ["id", "day"])
    assert info.value.hint == "did you mean 'day'?"
    rs = project.rules("asset: orders\ntable:\n  freshness: {column: tss, max_age: 1h}\n")
    with pytest.raises(ProjectError, match="'tss'"):
        check_columns(rs, ["ts"])
    check_columns(rs, ["tss"])  # and a present column is fine


def test_run_checks_refuses_unknown_columns_too(check):
    with pytest.raises(ProjectError, match="names column 'amout'"):
        check("asset: orders\ncolumns:\n  amout: {min: 0}\n", pl.DataFrame({"amount": [1]}))


def test_reference_to_a_missing_column_of_the_other_asset(check):
    with pytest.raises(ProjectError) as info:
        check(
            "asset: orders\ncolumns:\n  m: {references: merchants.merchant}\n",
            pl.DataFrame({"m": ["a"]}),
            others={"merchants": pl.DataFrame({"merchant_id": ["a"]})},
        )
    assert where(info.value) == ("rules/orders.yaml", 3, None)
    assert info.value.hint == "did you mean 'merchant_id'?"


def test_error_text_is_one_readable_line_with_hint(project):
    err = project.error("asset: orders\ncolumn:\n  a: {min: 0}\n")
    assert (
        str(err)
        == "rules/orders.yaml:2:1: unknown key 'column' in a rule file\n  hint: did you mean 'columns'?"
    )
