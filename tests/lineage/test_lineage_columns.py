"""Column lineage from SQL: direct and indirect transformations, through CTEs, stars and set ops."""

from __future__ import annotations

from assetbuild.lineage.columns import ColumnSource, sql_column_lineage

SCHEMAS = {
    "orders": [("order_id", "Int64"), ("user_id", "Int64"), ("amount", "Float64"), ("ts", "Datetime")],
    "users": [("user_id", "Int64"), ("country", "String"), ("email", "String")],
}


def fields(sql: str, schemas: dict | None = None, **kw: object) -> dict[str, set[tuple[str, str, str, str]]]:
    lineage = sql_column_lineage(sql, SCHEMAS if schemas is None else schemas, **kw)  # type: ignore[arg-type]
    return {
        name: {(s.dataset, s.column, s.type, s.subtype) for s in sources}
        for name, sources in lineage.fields.items()
    }


def dataset(sql: str) -> set[tuple[str, str, str, str]]:
    return {(s.dataset, s.column, s.type, s.subtype) for s in sql_column_lineage(sql, SCHEMAS).dataset}


def test_identity_transformation_and_aggregation_are_told_apart() -> None:
    got = fields(
        "SELECT user_id, amount * 2 AS doubled, date_trunc('day', ts) AS day, sum(amount) AS total "
        "FROM orders GROUP BY user_id, day"
    )
    assert got["user_id"] == {("orders", "user_id", "DIRECT", "IDENTITY")}
    assert got["doubled"] == {("orders", "amount", "DIRECT", "TRANSFORMATION")}
    assert got["day"] == {("orders", "ts", "DIRECT", "TRANSFORMATION")}
    assert got["total"] == {("orders", "amount", "DIRECT", "AGGREGATION")}


def test_lineage_follows_ctes_and_expands_select_star() -> None:
    sql = (
        "WITH e AS (SELECT * FROM orders WHERE amount > 3), "
        "t AS (SELECT user_id, amount * 1.19 AS gross FROM e) "
        "SELECT user_id, sum(gross) AS revenue, count(*) AS n FROM t GROUP BY user_id"
    )
    got = fields(sql)
    assert got["user_id"] == {("orders", "user_id", "DIRECT", "IDENTITY")}
    # a transformation under an aggregation composes to the stronger: AGGREGATION
    assert got["revenue"] == {("orders", "amount", "DIRECT", "AGGREGATION")}
    assert "n" not in got  # count(*) reads no column: no lineage is invented for it
    assert dataset(sql) == {
        ("orders", "amount", "INDIRECT", "FILTER"),  # the CTE's WHERE decides the rows
        ("orders", "user_id", "INDIRECT", "GROUP_BY"),
    }


def test_select_star_passes_every_upstream_column_through() -> None:
    got = fields("SELECT * FROM users")
    assert got == {c: {("users", c, "DIRECT", "IDENTITY")} for c in ("user_id", "country", "email")}


def test_join_filter_group_and_sort_are_dataset_level_indirect() -> None:
    sql = (
        "SELECT u.country, sum(o.amount) AS revenue FROM orders o JOIN users u ON o.user_id = u.user_id "
        "WHERE u.email IS NOT NULL GROUP BY u.country HAVING count(o.order_id) > 1 ORDER BY revenue"
    )
    assert fields(sql)["revenue"] == {("orders", "amount", "DIRECT", "AGGREGATION")}
    assert dataset(sql) == {
        ("orders", "user_id", "INDIRECT", "JOIN"),
        ("users", "user_id", "INDIRECT", "JOIN"),
        ("users", "email", "INDIRECT", "FILTER"),
        ("orders", "order_id", "INDIRECT", "FILTER"),  # HAVING filters groups
        ("users", "country", "INDIRECT", "GROUP_BY"),
        ("orders", "amount", "INDIRECT", "SORT"),  # ORDER BY an output alias sorts by its sources
    }


def test_window_and_conditional_are_column_level_indirect() -> None:
    got = fields(
        "SELECT row_number() OVER (PARTITION BY user_id ORDER BY ts) AS rn, "
        "CASE WHEN amount > 10 THEN 'big' ELSE 'small' END AS size, "
        "CASE WHEN amount > 0 THEN amount END AS positive FROM orders"
    )
    assert got["rn"] == {("orders", "user_id", "INDIRECT", "WINDOW"), ("orders", "ts", "INDIRECT", "WINDOW")}
    assert got["size"] == {("orders", "amount", "INDIRECT", "CONDITIONAL")}
    assert got["positive"] == {
        ("orders", "amount", "INDIRECT", "CONDITIONAL"),
        ("orders", "amount", "DIRECT", "TRANSFORMATION"),
    }


def test_hashing_and_counting_mask_the_value() -> None:
    lineage = sql_column_lineage(
        "SELECT md5(email) AS h, count(email) AS n, email FROM users GROUP BY email", SCHEMAS
    )
    masked = {name: [s.masking for s in sources] for name, sources in lineage.fields.items()}
    assert masked == {"h": [True], "n": [True], "email": [False]}


def test_union_derived_tables_and_column_aliases() -> None:
    got = fields("SELECT user_id AS id FROM orders UNION ALL SELECT user_id FROM users")
    assert got["id"] == {
        ("orders", "user_id", "DIRECT", "IDENTITY"),
        ("users", "user_id", "DIRECT", "IDENTITY"),
    }
    got = fields("SELECT k2 FROM (SELECT user_id AS k, amount FROM orders) AS s(k2, a2)")
    assert got == {"k2": {("orders", "user_id", "DIRECT", "IDENTITY")}}


def test_subqueries_in_where_and_select() -> None:
    sql = "SELECT order_id, (SELECT max(country) FROM users) AS top FROM orders WHERE user_id IN (SELECT user_id FROM users WHERE email LIKE '%@x')"
    got = fields(sql)
    assert got["top"] == {("users", "country", "DIRECT", "AGGREGATION")}
    assert dataset(sql) == {
        ("orders", "user_id", "INDIRECT", "FILTER"),
        ("users", "user_id", "INDIRECT", "FILTER"),
        ("users", "email", "INDIRECT", "FILTER"),
    }


def test_nothing_is_invented() -> None:
    # an unknown column, a table that is no upstream, a star over an unknown schema, broken SQL
    assert fields("SELECT nope FROM orders") == {}
    assert fields("SELECT zz FROM read_csv('x.csv')") == {}
    assert fields("SELECT * FROM users", {"users": []}) == {}
    assert sql_column_lineage("SELECT FROM WHERE (", SCHEMAS).fields == {}


def test_output_columns_restore_the_engine_spelling() -> None:
    got = fields("SELECT USER_ID, amount AS Total FROM orders", output_columns=["USER_ID", "Total"])
    assert set(got) == {"USER_ID", "Total"}
    assert got["Total"] == {("orders", "amount", "DIRECT", "IDENTITY")}
    assert fields("SELECT amount + 1 FROM orders", output_columns=["(amount + 1)"]) == {}


def test_upstream_names_keep_the_schema_spelling() -> None:
    lineage = sql_column_lineage("SELECT Amount FROM Orders", {"Orders": [("Amount", "Float64")]})
    assert lineage.fields == {"amount": (ColumnSource("Orders", "Amount", "DIRECT", "IDENTITY"),)}
