"""Every kind of bad rule file is a ProjectError naming the file, line and column, with a hint."""

from __future__ import annotations

import polars as pl
import pytest

from assetbuild.checks.rules import check_columns
from assetbuild.errors import ProjectError


def where(err: ProjectError) -> tuple[str | None, int | None, int | None]:
    return err.path, err.line, err.col


def at(text: str, token: str, path: str = "rules/orders.yaml") -> tuple[str, int, int]:
    """(path, line, column), 1-based, of the first `token` in `text`: where an error must point."""
    before = text[: text.index(token)]
    return path, before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1


def test_yaml_syntax_error(project):
    err = project.error("asset: orders\ncolumns:\n  amount: {min: 0\n  user: {}\n")
    assert err.path == "rules/orders.yaml"
    assert err.line == 4 and err.col is not None
    assert "invalid YAML" in err.message


def test_yaml_tab_indentation(project):
    err = project.error("asset: orders\ncolumns:\n\tamount: {min: 0}\n")
    assert where(err) == ("rules/orders.yaml", 3, 1)
    assert "invalid YAML" in err.message


def test_empty_file(project):
    err = project.error("# only a comment\n")
    assert err.path == "rules/orders.yaml" and "empty" in err.message


def test_top_level_must_be_a_mapping(project):
    err = project.error("- asset: orders\n")
    assert where(err) == ("rules/orders.yaml", 1, 1)
    assert "must be a mapping" in err.message


def test_unknown_top_level_key(project):
    err = project.error("asset: orders\ncolumn:\n  amount: {min: 0}\n")
    assert where(err) == ("rules/orders.yaml", 2, 1)
    assert "unknown key 'column'" in err.message
    assert err.hint == "did you mean 'columns'?"


def test_missing_asset(project):
    err = project.error("columns:\n  amount: {min: 0}\n")
    assert where(err) == ("rules/orders.yaml", 1, 1)
    assert "asset: NAME" in err.message


def test_unknown_asset(project):
    err = project.error("asset: order\ncolumns:\n  amount: {min: 0}\n")
    assert where(err) == ("rules/orders.yaml", 1, 8)
    assert "unknown asset 'order'" in err.message
    assert err.hint == "did you mean 'orders'?"


def test_unknown_column_rule(project):
    err = project.error("asset: orders\ncolumns:\n  amount: {dtype: float, minimum: 0}\n")
    assert where(err) == ("rules/orders.yaml", 3, 25)
    assert "unknown key 'minimum' in column 'amount'" in err.message
    assert err.hint == "did you mean 'min'?"


def test_unknown_table_rule(project):
    err = project.error("asset: orders\ntable:\n  rowcount: {min: 1}\n")
    assert where(err) == ("rules/orders.yaml", 3, 3)
    assert err.hint == "did you mean 'row_count'?"


def test_unknown_key_inside_a_rule(project):
    err = project.error("asset: orders\ntable:\n  row_count: {minimum: 1}\n")
    assert where(err) == ("rules/orders.yaml", 3, 15)
    assert err.hint == "did you mean 'min'?"


def test_unknown_key_in_long_form(project):
    err = project.error("asset: orders\ncolumns:\n  amount:\n    min: {value: 0, severty: warn}\n")
    assert where(err) == ("rules/orders.yaml", 4, 22)
    assert err.hint == "did you mean 'severity'?"


@pytest.mark.parametrize(
    ("body", "line", "col", "text"),
    [
        ("columns:\n  amount: {min: zero}\n", 3, 18, "must be a number"),
        ("columns:\n  amount: {min: [0]}\n", 3, 18, "must be a number"),
        ("columns:\n  amount: {nullable: maybe}\n", 3, 23, "must be true or false"),
        ("columns:\n  amount: {between: [0]}\n", 3, 22, "two values"),
        ("columns:\n  amount: {between: [5, 1]}\n", 3, 22, "greater than high"),
        ("columns:\n  amount: {isin: USD}\n", 3, 19, "must be a list"),
        ("columns:\n  amount: {isin: []}\n", 3, 19, "at least one value"),
        ("columns:\n  amount: {isin: [a, ~]}\n", 3, 23, "nulls are governed"),
        ("columns:\n  amount: {str_length: 5}\n", 3, 25, "must be a mapping"),
        ("columns:\n  amount: {str_length: {min: -1}}\n", 3, 31, ">= 0"),
        ("columns:\n  amount: {str_length: {min: 5, max: 2}}\n", 3, 25, "greater than max"),
        ("columns:\n  amount: {dtype: 5}\n", 3, 19, "non-empty string"),
        ("columns:\n  amount: {min: {severity: warn}}\n", 3, 18, "needs a `value`"),
        ("columns:\n  amount:\n", 3, 10, "must be a mapping, not an empty value"),
        ("table:\n  row_count: {min: 1.5}\n", 3, 19, "whole number"),
        ("table:\n  row_count: {}\n", 3, 14, "needs at least one of"),
        ("table:\n  row_count_change: {max_drop: 1.5}\n", 3, 33, "at most 1"),
        ("table:\n  freshness: {column: ts}\n", 3, 14, "needs `max_age`"),
        ("table:\n  unique: id\n", 3, 11, "must be a list"),
        ("table:\n  sql: [{query: SELECT 1}]\n", 3, 9, "needs a `name`"),
        ("table:\n  sql: {name: a b, query: SELECT 1}\n", 3, 16, "letters, digits"),
        ("severity: fatal\ncolumns:\n  a: {min: 0}\n", 2, 11, "must be one of error, warn"),
    ],
)
def test_wrong_value_types(project, body, line, col, text):
    err = project.error("asset: orders\n" + body)
    assert where(err) == ("rules/orders.yaml", line, col), err
    assert text in err.message


def test_unknown_dtype_suggests_a_family(project):
    err = project.error("asset: orders\ncolumns:\n  amount: {dtype: flaot}\n")
    assert where(err) == ("rules/orders.yaml", 3, 19)
    assert "unknown dtype 'flaot'" in err.message
    assert err.hint == "did you mean 'float'?"


def test_bad_severity_suggests(project):
    err = project.error("asset: orders\ncolumns:\n  a: {min: {value: 0, severity: warning}}\n")
    assert where(err) == ("rules/orders.yaml", 3, 33)
    assert err.hint == "did you mean 'warn'?"


def test_bad_duration(project):
    err = project.error("asset: orders\ntable:\n  freshness: {column: ts, max_age: 1 hour ago}\n")
    assert where(err) == ("rules/orders.yaml", 3, 37)
    assert "duration" in err.message and "1h" in (err.hint or "")


def test_invalid_regex_points_into_the_pattern(project):
    # plain scalar: the pattern starts at column 20; the unbalanced "(" is at its offset 2
    err = project.error("asset: orders\ncolumns:\n  code: {matches: ^a(b}\n")
    assert where(err) == ("rules/orders.yaml", 3, 21)
    assert "invalid regular expression" in err.message
    # quoted: one more column for the quote
    err = project.error('asset: orders\ncolumns:\n  code: {matches: "^a(b"}\n')
    assert where(err) == ("rules/orders.yaml", 3, 22)


def test_regex_the_polars_engine_cannot_run(project):
    err = project.error('asset: orders\ncolumns:\n  code: {matches: "^(?!x)a"}\n')
    assert where(err) == ("rules/orders.yaml", 3, 19)
    assert "look-around" in err.message and err.hint


def test_unknown_pack(project):
    err = project.error("asset: orders\ncolumns:\n  currency: {use: iso_curency}\n")
    assert where(err) == ("rules/orders.yaml", 3, 19)
    assert "unknown rule pack 'iso_curency'" in err.message
    assert err.hint == "did you mean 'iso_currency'?"


def test_unknown_pack_in_a_list(project):
    err = project.error("asset: orders\ncolumns:\n  email:\n    use: [email, uuidd]\n")
    assert where(err) == ("rules/orders.yaml", 4, 17)
    assert err.hint == "did you mean 'uuid'?"


def test_references_unknown_asset(project):
    err = project.error("asset: orders\ncolumns:\n  merchant_id: {references: merchant.merchant_id}\n")
    assert where(err) == ("rules/orders.yaml", 3, 29)
    assert "references 'merchant', which is not an asset" in err.message
    assert err.hint == "did you mean 'merchants'?"


def test_references_needs_asset_dot_column(project):
    err = project.error("asset: orders\ncolumns:\n  merchant_id: {references: merchants}\n")
    assert where(err) == ("rules/orders.yaml", 3, 29)
    assert "ASSET.COLUMN" in err.message


def test_sql_reads_unknown_asset(project):
    err = project.error('asset: orders\ntable:\n  sql: "SELECT * FROM orders JOIN user USING (id)"\n')
    assert where(err) == ("rules/orders.yaml", 3, 8)
    assert "reads 'user', which is not an asset" in err.message
    assert err.hint == "did you mean 'users'?"


def test_sql_syntax_error_points_into_the_query(project):
    err = project.error('asset: orders\ntable:\n  sql: "SELECT * FROM WHERE x"\n')
    # the query starts at column 9 (after the quote); WHERE is its 15th character
    assert where(err) == ("rules/orders.yaml", 3, 9 + 14)
    assert "invalid SQL" in err.message


def test_sql_syntax_error_in_a_literal_block(project):
    err = project.error("asset: orders\ntable:\n  sql: |\n    SELECT *\n    FROM orders WHERE (\n")
    assert err.line == 5 and err.col is not None and err.col >= 5
    assert "invalid SQL" in err.message


def test_sql_must_be_a_query(project):
    err = project.error('asset: orders\ntable:\n  sql: "DELETE FROM orders"\n')
    assert where(err) == ("rules/orders.yaml", 3, 8)
    assert "SELECT" in err.message


def test_expression_must_not_be_a_query(project):
    err = project.error('asset: orders\ntable:\n  expression: "SELECT * FROM orders"\n')
    assert where(err) == ("rules/orders.yaml", 3, 15)
    assert err.hint and "sql:" in err.hint


def test_qualified_table_names_are_refused(project):
    err = project.error('asset: orders\ntable:\n  sql: "SELECT * FROM main.orders"\n')
    assert where(err) == ("rules/orders.yaml", 3, 8)
    assert "bare name" in err.message


def test_duplicate_key_in_a_mapping(project):
    err = project.error("asset: orders\ncolumns:\n  amount: {min: 0}\n  amount: {max: 1}\n")
    assert where(err) == ("rules/orders.yaml", 4, 3)
    assert "appears twice" in err.message and "line 3" in err.message


def test_same_rule_in_two_files(project):
    project.write("a.yaml", "asset: orders\ncolumns:\n  amount: {min: 0}\n")
    err = project.error("asset: orders\n\ncolumns:\n  amount: {min: 1}\n", name="b.yaml")
    assert where(err) == ("rules/b.yaml", 4, None)
    assert "already defined at rules/a.yaml:3" in err.message


def test_norway_problem_in_value_lists(project):
    err = project.error("asset: orders\ncolumns:\n  country: {isin: [SE, NO, DK]}\n")
    assert where(err) == ("rules/orders.yaml", 3, 25)
    assert "boolean" in err.message and err.hint == 'write it in quotes: "NO"'


def test_pack_keys_are_refused_in_packs_only(project):
    # `references` is fine on a column but a pack may not hold it: tested in test_packs; here
    # the column-level meta keys are accepted but not inside a rule parameter mapping.
    err = project.error("asset: orders\ncolumns:\n  a: {str_length: {min: 1, value: 3}}\n")
    assert where(err) == ("rules/orders.yaml", 3, 27)


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
    assert str(err) == "rules/orders.yaml:2:1: unknown key 'column' in a rule file\n  hint: did you mean 'columns'?"
