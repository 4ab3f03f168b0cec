"""`plan` says what a build would run and WHY, and runs nothing."""

from __future__ import annotations

from pathlib import Path

from assetbuild.run.plan import plan
from assetbuild.trace.state import State

from .projects import CLEAN, COUNT, EVENTS, PIPELINE, TOP, run, statuses


def _plan(root: Path, **kwargs) -> dict[str, tuple[str, str]]:
    return {a.name: (a.status.value, a.reason) for a in plan(root, **kwargs).assets}


def _objects(root: Path) -> list[Path]:
    folder = root / ".assetbuild" / "objects"
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_plan_of_a_new_project_runs_nothing(make_project):
    root = make_project(PIPELINE)
    p = _plan(root)
    assert p["events"] == ("will_build", "new asset (never built)")
    assert p["clean"][0] == "pending" and "events" in p["clean"][1]
    assert _objects(root) == []
    assert statuses(run(root))["clean"] == "built", "the plan left everything to build"


def test_plan_after_a_build_is_all_up_to_date(make_project):
    root = make_project(PIPELINE)
    run(root)
    p = _plan(root)
    assert {s for s, _ in p.values()} == {"up_to_date"}
    assert p["by_user"][1] == "code and inputs unchanged"


def test_plan_says_code_changed(make_project):
    root = make_project(PIPELINE)
    run(root)
    (root / "assets/top_users.sql").write_text(TOP.replace("100", "10"))
    p = _plan(root)
    assert p["top_users"] == ("will_build", "code changed: assets/top_users.sql")
    assert p["by_user"][0] == p["user_count"][0] == "up_to_date"


def test_plan_says_which_file_changed(make_project):
    root = make_project(PIPELINE)
    run(root)
    before = _objects(root)
    (root / "data/events.csv").write_text(EVENTS + "999,u1,50\n")
    p = _plan(root)
    assert p["events"] == ("will_build", "file data/events.csv changed")
    assert p["clean"] == ("pending", "runs if upstream 'events' changes its data")
    assert p["user_label"][0] == "pending"
    assert _objects(root) == before, "plan wrote no data"
    assert statuses(run(root))["events"] == "built", "plan did not build it"


def test_plan_says_which_upstream_changed(make_project):
    root = make_project(PIPELINE)
    run(root)
    (root / "assets/clean.py").write_text(CLEAN.replace("LIMIT = 0", "LIMIT = 3"))
    assert statuses(run(root, select=["clean"]))["clean"] == "built"
    p = _plan(root)
    assert p["clean"][0] == "up_to_date"
    assert p["by_user"] == ("will_build", "upstream 'clean' changed")
    result = run(root)
    assert {a.name: a.reason for a in result.assets}["by_user"] == "upstream 'clean' changed"


def test_plan_says_new_asset_forced_and_restore(make_project):
    root = make_project(PIPELINE)
    run(root)
    (root / "assets/extra.sql").write_text("SELECT 1 AS one\n")
    assert _plan(root)["extra"] == ("will_build", "new asset (never built)")
    forced = _plan(root, force=True)
    assert {r for s, r in forced.values() if s == "will_build"} == {"forced (--force)"}
    assert forced["events"] == ("will_build", "forced (--force)")

    run(root)
    (root / "assets/top_users.sql").write_text(TOP.replace("100", "10"))
    run(root)
    (root / "assets/top_users.sql").write_text(TOP)
    status, reason = _plan(root)["top_users"]
    assert status == "will_restore"
    assert "code changed" in reason and "stored version" in reason


def test_cli_plan_text_and_json(make_project, run_cli):
    root = make_project(PIPELINE)
    run(root)
    (root / "assets/top_users.sql").write_text(TOP.replace("100", "10"))
    text = run_cli(root, "plan")
    assert text.code == 0, text
    line = next(ln for ln in text.stdout.splitlines() if "top_users" in ln)
    assert "will build" in line and "code changed" in line
    js = run_cli(root, "plan", "--format", "json")
    assert js.code == 0, js
    assert {a["name"]: a["status"] for a in js.json["assets"]}["top_users"] == "will_build"
    assert {a["name"]: a["reason"] for a in js.json["assets"]}[
        "top_users"
    ] == "code changed: assets/top_users.sql"
    again = run_cli(root, "plan", "--format", "json")
    assert again.json["assets"] == js.json["assets"], "plan changed nothing"


def test_build_dry_run_is_a_plan(make_project, run_cli):
    root = make_project(PIPELINE)
    r = run_cli(root, "build", "--dry-run", "--format", "json")
    assert r.code == 0, r
    assert {a["status"] for a in r.json["assets"]} <= {"will_build", "pending"}
    assert _objects(root) == []


def _statuses(result) -> dict[str, str]:
    return {a.name: a.status.value for a in result.assets}


def test_plan_of_one_asset_in_a_new_project_names_the_upstream_a_build_makes(make_project):
    root = make_project(PIPELINE)
    p = _statuses(plan(root, select=["by_user"]))
    assert p == {"events": "will_build", "clean": "pending", "by_user": "pending"}
    b = _statuses(run(root, select=["by_user"]))
    assert list(b) == list(p)
    assert set(b.values()) == {"built"}


def test_plan_does_not_promise_a_restore_of_damaged_data(make_project):
    root = make_project(PIPELINE)
    run(root)
    (root / "assets/top_users.sql").write_text(TOP.replace("100", "10"))
    run(root)
    (root / "assets/top_users.sql").write_text(TOP)  # back to a stored version ...
    assert _plan(root)["top_users"][0] == "will_restore"
    state = State.open(root / ".assetbuild", readonly=True)
    assert state is not None
    current = state.current("default")["top_users"].mat.id
    old = next(m for m in state.materializations("top_users") if m.id != current)
    state.close()
    obj = root / ".assetbuild" / "objects" / old.object
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0xFF  # ... whose bytes are damaged, its size unchanged
    obj.write_bytes(bytes(data))
    assert _plan(root)["top_users"] == ("will_build", "code changed: assets/top_users.sql")
    assert _statuses(run(root))["top_users"] == "built"


def test_an_asset_whose_rules_read_a_changing_asset_waits_for_it(make_project):
    files = dict(PIPELINE)
    files["rules/top_users.yaml"] = (
        "asset: top_users\nseverity: warn\ncolumns:\n  total: {references: user_count.users}\n"
    )
    root = make_project(files)
    run(root)
    (root / "assets/user_count.sql").write_text(COUNT.replace("count(*)", "count(*) + 1"))
    p = _plan(root)
    assert p["user_count"][0] == "will_build"
    assert p["top_users"] == ("pending", "runs if upstream 'user_count' changes its data")
    assert _statuses(run(root))["top_users"] == "up_to_date"


def test_plan_json_says_which_input_changed(make_project, run_cli):
    root = make_project(PIPELINE)
    run(root)
    (root / "data/events.csv").write_text(EVENTS + "999,u1,50\n")
    js = run_cli(root, "plan", "--format", "json")
    why = {a["name"]: a["why"] for a in js.json["assets"]}
    assert why["events"] == [{"cause": "inputs_changed", "inputs": [{"file": "data/events.csv"}]}]
    assert why["clean"] == [{"cause": "waits_for_upstream", "inputs": [{"asset": "events"}]}]


def test_a_pending_asset_whose_own_code_changed_says_it_will_run(make_project):
    root = make_project(PIPELINE)
    run(root)
    (root / "data/events.csv").write_text(EVENTS + "999,u1,50\n")
    (root / "assets/top_users.sql").write_text(TOP.replace("100", "10"))
    p = _plan(root)
    assert p["top_users"] == (
        "pending",
        "code changed: assets/top_users.sql; runs once upstream 'by_user' has settled",
    )
    assert p["user_count"] == ("pending", "runs if upstream 'by_user' changes its data")
    assert _statuses(run(root))["top_users"] == "built"
