"""Every input of a check verdict is in its check key: a cached verdict is never served for data
it was not reached on (here: `row_count_change`, which depends on the previous published rows)."""

from __future__ import annotations

from pathlib import Path

from assetbuild.run.read import read

from .projects import by_name, run

RULE = "asset: copied\nseverity: error\ntable:\n  row_count_change: {max_drop: 0.5}\n"


def _rows(n: int) -> str:
    return "id\n" + "".join(f"{i}\n" for i in range(n))


def _project(make_project) -> Path:
    return make_project(
        {
            "assetbuild.toml": '[project]\nname = "gate"\n\n[sources.src]\npath = "data/src.csv"\n',
            "data/src.csv": _rows(10),
            "assets/copied.sql": "SELECT * FROM src\n",
            "rules/copied.yaml": RULE,
        }
    )


def test_restored_data_is_judged_against_the_rows_published_before_it(make_project):
    root = _project(make_project)
    assert by_name(run(root))["copied"].status.value == "built"
    steps = []
    for n in (6, 20, 6):  # -40 %, +233 %, then -70 %: the last one breaks max_drop 0.5
        (root / "data/src.csv").write_text(_rows(n))
        steps.append(by_name(run(root))["copied"])
    assert [s.status.value for s in steps[:2]] == ["built", "built"]
    last = steps[2]
    assert last.status.value == "check_failed", (last.status, last.reason)
    failed = [c for c in last.checks if not c.passed]
    assert [c.name for c in failed] == ["table.row_count_change"]
    assert "-70.0%" in (failed[0].actual or "")
    assert read("copied", root).height == 20, "downstream still reads the last good data"
    assert by_name(run(root))["copied"].status.value == "check_failed", "a rerun is not fooled either"


def test_an_unchanged_asset_keeps_the_verdict_it_was_published_with(make_project):
    root = _project(make_project)
    run(root)
    (root / "data/src.csv").write_text(_rows(6))
    assert by_name(run(root))["copied"].status.value == "built"
    again = by_name(run(root))["copied"]
    assert again.status.value == "up_to_date"
    assert [c.passed for c in again.checks] == [True]
