"""`assetbuild history ASSET`: every materialization with when, build key, content hash, rows, the
outcome of its checks, whether it is current or quarantined, and the run that made it."""

from __future__ import annotations

PROJECT = {
    "assetbuild.toml": '[project]\nname = "hist"\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": "id,v\n1,10\n2,20\n3,30\n",
    "assets/out.sql": "SELECT id, v FROM src\n",
    "rules/out.yaml": "asset: out\ncolumns:\n  v: {min: 0}\n",
}


def test_history_fields_and_outcomes(make_project, run_cli):
    root = make_project(PROJECT)
    runs = [run_cli(root, "build", "--format", "json").json]
    (root / "assets" / "out.sql").write_text("SELECT id, v - 25 AS v FROM src\n")  # fails v.min: quarantined
    runs.append(run_cli(root, "build", "--format", "json").json)
    (root / "assets" / "out.sql").write_text("SELECT id, v * 2 AS v FROM src\n")
    runs.append(run_cli(root, "build", "--format", "json").json)
    assert [r["status"] for r in runs] == ["success", "failed", "success"]
    built = [{a["name"]: a for a in r["assets"]}["out"] for r in runs]

    r = run_cli(root, "history", "out", "--format", "json")
    assert r.code == 0, r
    mats = r.json["materializations"]
    assert len(mats) == 3
    newest, bad, first = mats  # newest first
    for m, b, run in zip((newest, bad, first), reversed(built), reversed(runs), strict=True):
        assert m["content_hash"] == b["content_hash"] and m["build_key"] == b["build_key"]
        assert m["run_id"] == run["run_id"] and m["rows"] == 3 and m["created_at"]
    assert (newest["current"], newest["quarantined"], newest["checks_passed"]) == (True, False, True)
    assert (bad["current"], bad["quarantined"], bad["checks_passed"]) == (False, True, False)
    assert [c["name"] for c in bad["checks"] if not c["passed"]] == ["v.min"]
    assert (first["current"], first["quarantined"], first["checks_passed"]) == (False, False, True)
    assert [x["status"] for x in r.json["runs"]] == ["built", "check_failed", "built"]

    text = run_cli(root, "history", "out")
    lines = text.stdout.splitlines()
    assert lines[0] == "out: 3 materializations"
    assert lines[1].startswith(" * ") and lines[1].endswith("checks ok")
    assert lines[2].startswith(" q ") and lines[2].endswith("checks FAILED")


def test_history_of_an_unknown_asset_suggests_one(make_project, run_cli):
    root = make_project(PROJECT)
    r = run_cli(root, "history", "otu")
    assert r.code == 2 and "did you mean 'out'" in r.stderr, r
