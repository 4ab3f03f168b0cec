"""Ordered tables: a SQL asset with a top-level ORDER BY, or `@asset(ordered=True)`, publishes its
rows in its order, and its content hash sees the order; every other table is a multiset."""

from __future__ import annotations

import polars as pl
import pytest

import assetbuild
from assetbuild.definitions.loader import load_project
from assetbuild.definitions.sql_assets import analyze_sql

from ._support import clean_hashes, errors, hashes, parquet_source_toml, run, statuses, write_source


@pytest.mark.parametrize(
    ("sql", "ordered"),
    [
        ("SELECT a FROM t ORDER BY a DESC", True),
        ("SELECT a FROM t ORDER BY a LIMIT 3", True),
        ("WITH x AS (SELECT a FROM t) SELECT a FROM x ORDER BY 1", True),
        ("SELECT a FROM t UNION ALL SELECT a FROM u ORDER BY a", True),
        ("(SELECT a FROM t ORDER BY a)", True),
        ("SELECT a FROM t", False),
        ("SELECT a FROM (SELECT a FROM t ORDER BY a) s", False),
        ("WITH x AS (SELECT a FROM t ORDER BY a) SELECT a FROM x", False),
        ("SELECT a, row_number() OVER (ORDER BY a) AS r FROM t", False),
        ("SELECT list(a ORDER BY a) AS l FROM t", False),
    ],
)
def test_a_top_level_order_by_makes_an_ordered_table(sql, ordered):
    assert analyze_sql(sql, "x.sql").ordered is ordered


SALES = pl.DataFrame({"who": ["a", "b", "c", "d"], "revenue": [20, 40, 10, 30]})
TOP_DESC = "SELECT who, revenue FROM sales ORDER BY revenue DESC\n"
FIRST = (
    "import polars as pl\n\nfrom assetbuild import asset\n\n\n@asset\n"
    "def first(ranked: pl.DataFrame) -> pl.DataFrame:\n"
    "    return ranked.head(1)\n"
)


def _project(make_project, ranked_sql: str):
    root = make_project(
        {
            "assetbuild.toml": parquet_source_toml("sales"),
            "assets/ranked.sql": ranked_sql,
            "assets/first.py": FIRST,
        }
    )
    write_source(root, "sales", SALES)
    return root


def test_order_by_is_published_in_order_and_desc_to_asc_reaches_downstream(make_project, tmp_path):
    root = _project(make_project, TOP_DESC)
    assert load_project(root).assets["ranked"].ordered
    assert not load_project(root).assets["first"].ordered
    first = run(root)
    assert first.ok, errors(first)
    assert assetbuild.read("ranked", project=root)["revenue"].to_list() == [40, 30, 20, 10]
    assert assetbuild.read("first", project=root)["who"].to_list() == ["b"]
    (root / "assets/ranked.sql").write_text(TOP_DESC.replace("DESC", "ASC"))
    second = run(root)
    assert second.ok, errors(second)
    assert statuses(second) == {"sales": "up_to_date", "ranked": "built", "first": "built"}
    assert hashes(second)["ranked"] != hashes(first)["ranked"]
    assert assetbuild.read("ranked", project=root)["revenue"].to_list() == [10, 20, 30, 40]
    assert assetbuild.read("first", project=root)["who"].to_list() == ["c"]
    assert hashes(second) == clean_hashes(root, tmp_path / "clean")
    # and back: the first object is restored, in its own order
    (root / "assets/ranked.sql").write_text(TOP_DESC)
    third = run(root)
    assert statuses(third)["ranked"] == "restored"
    assert assetbuild.read("ranked", project=root)["revenue"].to_list() == [40, 30, 20, 10]


def test_an_unordered_query_over_the_same_rows_is_a_multiset(make_project):
    root = _project(make_project, "SELECT who, revenue FROM sales\n")
    first = run(root)
    (root / "assets/ranked.sql").write_text("SELECT who, revenue FROM sales WHERE true\n")
    second = run(root)
    assert statuses(second)["ranked"] == "built"
    assert hashes(second)["ranked"] == hashes(first)["ranked"]
    assert statuses(second)["first"] == "up_to_date"  # early cutoff: same multiset


ORDERED_PY = (
    "import polars as pl\n\nfrom assetbuild import asset\n\n\n@asset({opts})\n"
    "def ranked(sales: pl.DataFrame) -> pl.DataFrame:\n"
    '    return sales.sort("revenue", descending={desc})\n'
)


def test_python_asset_declared_ordered(make_project, tmp_path):
    root = make_project(
        {
            "assetbuild.toml": parquet_source_toml("sales"),
            "assets/ranked.py": ORDERED_PY.format(opts="ordered=True", desc="True"),
            "assets/first.py": FIRST,
        }
    )
    write_source(root, "sales", SALES)
    assert load_project(root).assets["ranked"].ordered
    first = run(root)
    assert first.ok, errors(first)
    assert assetbuild.read("ranked", project=root)["revenue"].to_list() == [40, 30, 20, 10]
    (root / "assets/ranked.py").write_text(ORDERED_PY.format(opts="ordered=True", desc="False"))
    second = run(root)
    assert statuses(second) == {"sales": "up_to_date", "ranked": "built", "first": "built"}
    assert assetbuild.read("first", project=root)["who"].to_list() == ["c"]
    assert hashes(second) == clean_hashes(root, tmp_path / "clean")


def test_declaring_a_python_asset_ordered_rebuilds_it(make_project):
    root = make_project(
        {
            "assetbuild.toml": parquet_source_toml("sales"),
            "assets/ranked.py": ORDERED_PY.format(opts="", desc="True"),
        }
    )
    write_source(root, "sales", SALES)
    first = run(root)
    (root / "assets/ranked.py").write_text(ORDERED_PY.format(opts="ordered=True", desc="True"))
    second = run(root)
    assert statuses(second)["ranked"] == "built"
    assert hashes(second)["ranked"] != hashes(first)["ranked"]


def test_ordered_must_be_a_bool(make_project):
    from assetbuild.errors import ProjectError

    root = make_project(
        {
            "assetbuild.toml": parquet_source_toml("sales"),
            "assets/ranked.py": ORDERED_PY.format(opts="ordered='yes'", desc="True"),
        }
    )
    with pytest.raises(ProjectError, match="ordered"):
        load_project(root)
