"""DESIGN §2 and §7 (correct, minimal): statuses built / restored / up_to_date, early cutoff,
restore on revert, formatting edits that run nothing, and incremental == clean."""

from __future__ import annotations

import os
from pathlib import Path

from .projects import (
    BY_USER,
    CLEAN,
    DERIVED,
    EVENTS,
    PIPELINE,
    TOP,
    by_name,
    clean_copy_hashes,
    hashes,
    run,
    statuses,
)


def _edit(root: Path, rel: str, text: str) -> None:
    (root / rel).write_text(text)


def test_cold_build_then_noop(make_project):
    root = make_project(PIPELINE)
    first = run(root)
    assert statuses(first) == {"events": "built", **{a: "built" for a in DERIVED}}
    assert first.ok
    assert all(a.content_hash and a.build_key and a.rows is not None for a in first.assets)
    assert by_name(first)["events"].kind == "source"
    again = run(root)
    assert set(statuses(again).values()) == {"up_to_date"}
    assert hashes(again) == hashes(first)


def test_touch_and_formatting_edits_run_nothing(make_project):
    root = make_project(PIPELINE)
    run(root)
    events = root / "data/events.csv"
    st = events.stat()
    os.utime(events, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert set(statuses(run(root)).values()) == {"up_to_date"}, "touched source, same bytes"
    _edit(
        root,
        "assets/by_user.sql",
        "-- per user\nselect  user_id,\n   SUM(amount) as total , COUNT(*) as n\nfrom clean\n/* all */ group by user_id;\n",
    )
    assert set(statuses(run(root)).values()) == {"up_to_date"}, "SQL reformatted"
    _edit(
        root,
        "assets/clean.py",
        CLEAN.replace('"""Keep positive amounts."""', '"""Keep rows with a positive amount."""  # doc')
        .replace("def _positive(col):", "def _positive(col):  # helper")
        .replace('description="positive amounts"', 'description="only positive amounts", owner="me"'),
    )
    assert set(statuses(run(root)).values()) == {"up_to_date"}, "docstring, comment, decorator metadata"


def test_helper_constant_change_then_revert_restores(make_project):
    root = make_project(PIPELINE)
    first = run(root)
    _edit(root, "assets/clean.py", CLEAN.replace("LIMIT = 0", "LIMIT = 5"))
    changed = statuses(run(root))
    assert changed["events"] == "up_to_date"
    assert changed["clean"] == "built" and changed["by_user"] == "built"
    _edit(root, "assets/clean.py", CLEAN)
    reverted = run(root)
    s = statuses(reverted)
    assert s["clean"] == "restored" and s["by_user"] == "restored"
    assert all(a.duration_s < 5 for a in reverted.assets)
    assert hashes(reverted) == hashes(first)


def test_one_sql_asset_changed_runs_only_it(make_project):
    root = make_project(PIPELINE)
    run(root)
    _edit(root, "assets/top_users.sql", TOP.replace("100", "50"))
    assert statuses(run(root)) == {
        "events": "up_to_date",
        "clean": "up_to_date",
        "by_user": "up_to_date",
        "top_users": "built",
        "user_count": "up_to_date",
        "user_label": "up_to_date",
    }


def test_early_cutoff_when_rebuilt_data_is_identical(make_project):
    root = make_project(PIPELINE)
    first = run(root)
    _edit(root, "assets/by_user.sql", BY_USER.replace("GROUP BY", "WHERE amount IS NOT NULL GROUP BY"))
    second = run(root)
    s = statuses(second)
    assert s["by_user"] == "built", "the code changed: it must run"
    assert by_name(second)["by_user"].content_hash == by_name(first)["by_user"].content_hash
    assert s["top_users"] == s["user_count"] == s["user_label"] == "up_to_date", "cut off below by_user"


def test_source_row_change_and_revert(make_project):
    root = make_project(PIPELINE)
    first = run(root)
    lines = EVENTS.splitlines()
    lines[5] = "5,u5,77"
    _edit(root, "data/events.csv", "\n".join(lines) + "\n")
    changed = run(root)
    s = statuses(changed)
    assert s["events"] == "built" and s["clean"] == "built" and s["by_user"] == "built"
    assert s["user_count"] == "built", "reads by_user, whose data changed"
    assert s["user_label"] == "up_to_date", "user_count's data is the same: cut off"
    assert hashes(changed) == clean_copy_hashes(root, root.parent / "clean")
    _edit(root, "data/events.csv", EVENTS)
    back = run(root)
    assert statuses(back)["events"] == "restored"
    assert statuses(back)["clean"] == "restored"
    assert hashes(back) == hashes(first)


def test_source_row_order_changed_cuts_off(make_project):
    root = make_project(PIPELINE)
    first = run(root)
    header, *rows = EVENTS.splitlines()
    _edit(root, "data/events.csv", "\n".join([header, *reversed(rows)]) + "\n")
    second = run(root)
    s = statuses(second)
    assert s["events"] == "built", "new file bytes: the source is read again"
    assert by_name(second)["events"].content_hash == by_name(first)["events"].content_hash
    assert all(s[a] == "up_to_date" for a in DERIVED)


def test_force_runs_everything_to_the_same_data(make_project):
    root = make_project(PIPELINE)
    first = run(root)
    forced = run(root, force=True)
    assert set(statuses(forced).values()) == {"built"}
    assert all(a.reason == "forced (--force)" for a in forced.assets)
    assert hashes(forced) == hashes(first)


def test_output_alias_case_change_rebuilds(make_project):
    """DuckDB keeps an alias's case in the column name, so `AS Total` is not a formatting edit."""
    root = make_project(PIPELINE)
    run(root)
    _edit(root, "assets/top_users.sql", TOP.replace("total FROM", "total AS Total FROM"))
    second = run(root)
    assert statuses(second)["top_users"] == "built"
    assert [c for c, _ in by_name(second)["top_users"].schema] == ["user_id", "Total"]
    assert hashes(second) == clean_copy_hashes(root, root.parent / "clean")


def test_new_asset_and_removed_upstream_dependency(make_project):
    root = make_project(PIPELINE)
    run(root)
    _edit(root, "assets/big.sql", "SELECT * FROM clean WHERE amount > 50\n")
    result = run(root)
    assert statuses(result)["big"] == "built"
    assert by_name(result)["big"].reason == "new asset (never built)"
    assert {n for n, s in statuses(result).items() if s != "up_to_date"} == {"big"}


def test_local_module_change_rebuilds_through_cli(make_project, run_cli):
    """Editing a project module imported by an asset rebuilds it (subprocesses: fresh imports)."""
    files = dict(PIPELINE)
    files["assets/limits.py"] = "LIMIT = 0\n"
    files["assets/clean.py"] = CLEAN.replace("LIMIT = 0\n", "from limits import LIMIT\n")
    root = make_project(files)
    first = run_cli(root, "build", "--format", "json")
    assert first.code == 0, first
    rows_before = {a["name"]: a["rows"] for a in first.json["assets"]}["clean"]
    (root / "assets/limits.py").write_text("# the threshold\nLIMIT = 0  # zero\n")
    r = run_cli(root, "build", "--format", "json")
    assert {a["status"] for a in r.json["assets"]} == {"up_to_date"}, r
    (root / "assets/limits.py").write_text("LIMIT = 20\n")
    r = run_cli(root, "build", "--format", "json")
    after = {a["name"]: a for a in r.json["assets"]}
    assert after["clean"]["status"] == "built" and after["events"]["status"] == "up_to_date", r
    assert after["clean"]["rows"] < rows_before, "the new threshold is applied"


def test_moving_a_python_asset_to_another_file_runs_nothing(make_project):
    root = make_project(PIPELINE)
    run(root)
    (root / "assets/clean.py").rename(root / "assets/cleaning.py")
    assert set(statuses(run(root)).values()) == {"up_to_date"}


def test_asset_changing_kind_rebuilds(make_project):
    root = make_project(PIPELINE)
    run(root)
    (root / "assets/clean.py").unlink()
    _edit(root, "assets/clean.sql", "SELECT * FROM events WHERE amount > 0\n")
    result = run(root)
    clean = by_name(result)["clean"]
    assert clean.status.value == "built" and clean.kind == "sql"
    assert "kind changed" in clean.reason
    assert statuses(result)["by_user"] == "up_to_date", "same rows as the Python version: cut off"


def test_source_reader_options_are_part_of_the_key(make_project):
    root = make_project({**PIPELINE, "data/events.csv": EVENTS.replace(",", ";")})
    first = by_name(run(root, select=["events"]))["events"]
    assert len(first.schema) == 1, "read with the default separator"
    _edit(
        root, "assetbuild.toml", PIPELINE["assetbuild.toml"] + '\n[sources.events.options]\nseparator = ";"\n'
    )
    second = by_name(run(root))
    assert second["events"].status.value == "built"
    assert "config changed" in second["events"].reason
    assert [c for c, _ in second["events"].schema] == ["id", "user_id", "amount"]
    assert second["clean"].status.value == "built"


def test_asset_in_subfolder_imports_its_sibling_module(make_project, run_cli):
    files = {k: v for k, v in PIPELINE.items() if k != "assets/clean.py"}
    files["assets/cleaning/clean.py"] = CLEAN.replace("LIMIT = 0\n", "from sibling import LIMIT\n")
    files["assets/cleaning/sibling.py"] = "LIMIT = 0\n"
    r = run_cli(make_project(files), "build", "--format", "json")
    assert r.code == 0, r
