"""Python assets: what they may return, LazyFrame parameters, failures, blocking, fail-fast, retries."""

from __future__ import annotations

import pytest

from assetbuild.run.read import read

from .projects import CLEAN, PIPELINE, by_name, run, statuses

TOML = '[project]\nname = "py"\n\n[sources.events]\npath = "data/events.csv"\n'
EVENTS = "id,amount\n1,5\n2,-3\n3,7\n4,0\n"


def _project(make_project, assets: dict[str, str]):
    return make_project({"assetbuild.toml": TOML, "data/events.csv": EVENTS, **assets})


RETURNS = {
    "polars_df": "return events.filter(pl.col('amount') > 0)",
    "lazyframe": "return events.lazy().filter(pl.col('amount') > 0)",
    "pyarrow_table": "return events.filter(pl.col('amount') > 0).to_arrow()",
    "pandas_df": "return events.filter(pl.col('amount') > 0).to_pandas()",
}


@pytest.mark.parametrize("kind", sorted(RETURNS))
def test_return_types_give_the_same_table(make_project, kind):
    body = "from assetbuild import asset\nimport polars as pl\n\n"
    for name, ret in RETURNS.items():
        body += f"@asset\ndef {name}(events):\n    {ret}\n\n"
    root = _project(make_project, {"assets/many.py": body})
    result = run(root)
    assert result.ok, [(a.name, a.reason) for a in result.assets]
    got = by_name(result)
    assert got[kind].status.value == "built" and got[kind].rows == 2
    assert got[kind].content_hash == got["polars_df"].content_hash
    assert got[kind].schema == [("id", "Int64"), ("amount", "Int64")]


def test_lazyframe_annotation_receives_a_lazyframe(make_project):
    code = """\
        from assetbuild import asset
        import polars as pl

        @asset
        def lazy_in(events: pl.LazyFrame) -> pl.DataFrame:
            return pl.DataFrame({"got": [type(events).__name__]})

        @asset
        def eager_in(events: pl.DataFrame) -> pl.DataFrame:
            return pl.DataFrame({"got": [type(events).__name__]})

        @asset
        def plain_in(events):
            return pl.DataFrame({"got": [type(events).__name__]})
        """
    root = _project(make_project, {"assets/kinds.py": code})
    result = run(root)
    assert result.ok, [(a.name, a.reason) for a in result.assets]
    got = {name: read(name, root)["got"].to_list() for name in ("lazy_in", "eager_in", "plain_in")}
    assert got == {"lazy_in": ["LazyFrame"], "eager_in": ["DataFrame"], "plain_in": ["DataFrame"]}


FAILING = """\
from assetbuild import asset
import polars as pl

def _explode(df):
    raise ValueError("amount column is cursed")

@asset
def broken(events):
    return _explode(events)
"""


def test_failing_asset_blocks_downstream_not_independent_branches(make_project):
    root = _project(
        make_project,
        {
            "assets/broken.py": FAILING,
            "assets/after_broken.sql": "SELECT * FROM broken\n",
            "assets/after_after.sql": "SELECT * FROM after_broken\n",
            "assets/independent.sql": "SELECT count(*) AS n FROM events\n",
        },
    )
    result = run(root)
    assert not result.ok
    s = statuses(result)
    assert s == {
        "events": "built",
        "broken": "failed",
        "after_broken": "blocked",
        "after_after": "blocked",
        "independent": "built",
    }
    broken = by_name(result)["broken"]
    assert "assets/broken.py" in broken.reason and "ValueError" in broken.reason
    assert "amount column is cursed" in (broken.error or "")
    assert "_explode" in (broken.error or ""), "the user's own frames are shown"
    assert "assetbuild/build.py" not in (broken.error or ""), "assetbuild's frames are not"
    assert by_name(result)["after_broken"].blocked_by == "broken"


def test_fail_fast_skips_what_had_not_started(make_project):
    root = _project(
        make_project,
        {
            "assets/broken.py": FAILING,
            "assets/z1.sql": "SELECT count(*) AS n FROM events\n",
            "assets/z2.sql": "SELECT n + 1 AS n FROM z1\n",
            "assets/z3.sql": "SELECT n + 1 AS n FROM z2\n",
        },
    )
    result = run(root, fail_fast=True)
    s = statuses(result)
    assert s["broken"] == "failed"
    assert "skipped" in s.values()
    assert s["z3"] == "skipped"
    assert by_name(result)["z3"].reason == "not started (--fail-fast)"
    assert not result.ok


RETRIED = """\
from pathlib import Path
from assetbuild import asset
import polars as pl

COUNTER = Path(__file__).parent.parent / "attempts.txt"

@asset(retries={retries})
def flaky(events):
    n = int(COUNTER.read_text()) if COUNTER.exists() else 0
    COUNTER.write_text(str(n + 1))
    if n < 2:
        raise RuntimeError(f"attempt {{n + 1}} fails")
    return events
"""


def test_retries_run_the_asset_again(make_project):
    root = _project(make_project, {"assets/flaky.py": RETRIED.format(retries=2)})
    result = run(root)
    assert statuses(result)["flaky"] == "built"
    assert (root / "attempts.txt").read_text() == "3"


def test_too_few_retries_fail(make_project):
    root = _project(make_project, {"assets/flaky.py": RETRIED.format(retries=1)})
    result = run(root)
    assert statuses(result)["flaky"] == "failed"
    assert "attempt 2 fails" in by_name(result)["flaky"].reason
    assert (root / "attempts.txt").read_text() == "2"


def test_wrong_return_type_fails_with_a_clear_message(make_project):
    code = "from assetbuild import asset\n\n@asset\ndef nothing(events):\n    return 42\n"
    root = _project(make_project, {"assets/nothing.py": code})
    result = run(root)
    a = by_name(result)["nothing"]
    assert a.status.value == "failed"
    assert "returned int" in a.reason and "assets/nothing.py:4" in a.reason


def test_in_process_rebuild_sees_edited_local_module(make_project):
    files = dict(PIPELINE)
    files["assets/limits_inproc.py"] = "LIMIT = 0\n"
    files["assets/clean.py"] = CLEAN.replace("LIMIT = 0\n", "from limits_inproc import LIMIT\n")
    root = make_project(files)
    before = by_name(run(root))["clean"].rows
    (root / "assets/limits_inproc.py").write_text("LIMIT = 20\n")
    after = by_name(run(root))["clean"]
    assert after.status.value == "built"
    assert after.rows < before
