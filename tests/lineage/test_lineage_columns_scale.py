"""Column lineage costs work linear in the number of columns: a 2,000-column SQL asset must not
slow its build down. Counted in Python function calls (cProfile), not in seconds, so the test is
exact on a loaded machine: three times the columns may cost about three times the calls, where
the quadratic analysis this guards against cost about nine times."""

from __future__ import annotations

import cProfile
import pstats
from collections.abc import Callable

import pytest

from assetbuild.lineage.columns import sql_column_lineage

SMALL, LARGE = 300, 900


def _cols(n: int) -> str:
    return ", ".join(f"c{i}" for i in range(n))


QUERIES: dict[str, Callable[[int], str]] = {
    "select": lambda n: f"SELECT {_cols(n)} FROM up",
    "select star": lambda n: "SELECT * FROM up",
    "expressions": lambda n: (
        "SELECT " + ", ".join(f"c{i} + 1 AS x{i}" for i in range(n)) + " FROM up WHERE c0 > 1 ORDER BY x1"
    ),
    "through a CTE": lambda n: f"WITH t AS (SELECT {_cols(n)} FROM up) SELECT {_cols(n)} FROM t",
    "union": lambda n: f"SELECT {_cols(n)} FROM up UNION ALL SELECT {_cols(n)} FROM up",
}


def calls(query: Callable[[int], str], n: int) -> int:
    """Python function calls made by the column lineage of `query` over an n-column upstream."""
    schema = {"up": [(f"c{i}", "BIGINT") for i in range(n)]}
    sql = query(n)
    profile = cProfile.Profile()
    profile.enable()
    lineage = sql_column_lineage(sql, schema)
    profile.disable()
    assert len(lineage.fields) == n  # every column placed: the work really was done
    return pstats.Stats(profile).total_calls  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("shape", list(QUERIES))
def test_column_lineage_work_grows_linearly_with_the_columns(shape: str) -> None:
    query = QUERIES[shape]
    sql_column_lineage(query(3), {"up": [("c0", "x"), ("c1", "x"), ("c2", "x")]})  # imports, caches
    small, large = calls(query, SMALL), calls(query, LARGE)
    growth = large / small
    print(f"{shape}: {small} calls for {SMALL} columns, {large} for {LARGE}: x{growth:.2f}")
    assert growth < 1.2 * LARGE / SMALL, f"{shape}: x{growth:.2f} the work for x{LARGE / SMALL:g} the columns"
