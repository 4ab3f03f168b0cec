"""`assetbuild init DIR`: a small project that builds at once, checked by its rules; never into a full folder."""

from __future__ import annotations

import yaml


def test_init_then_build(run_cli, tmp_path):
    target = tmp_path / "new-project"
    r = run_cli(None, "init", str(target))
    assert r.code == 0, r
    assert "assetbuild build" in r.stdout
    files = {p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()}
    assert {
        "assetbuild.toml",
        "data/orders.csv",
        "assets/clean_orders.py",
        "assets/daily_revenue.sql",
        "rules/clean_orders.yaml",
        "rules/daily_revenue.yaml",
    } <= files
    rows = (target / "data" / "orders.csv").read_text().splitlines()
    assert rows[0].startswith("order_id,") and 90 <= len(rows) - 1 <= 110
    for rule_file in ("rules/clean_orders.yaml", "rules/daily_revenue.yaml"):
        rules = yaml.safe_load((target / rule_file).read_text())
        assert set(rules) == {"asset", "columns"}  # DESIGN §4's format, simple rules only
    built = run_cli(target, "build", "--format", "json")
    assert built.code == 0, built
    status = {a["name"]: (a["kind"], a["status"]) for a in built.json["assets"]}
    assert status == {
        "orders": ("source", "built"),
        "clean_orders": ("python", "built"),
        "daily_revenue": ("sql", "built"),
    }
    checks = {a["name"]: {c["name"]: c["passed"] for c in a["checks"]} for a in built.json["assets"]}
    assert checks["clean_orders"] == {
        "order_id.nullable": True,
        "order_id.unique": True,
        "customer_id.nullable": True,
        "amount.nullable": True,
        "amount.min": True,
    }
    assert checks["daily_revenue"] and all(checks["daily_revenue"].values())
    rows_by = {a["name"]: a["rows"] for a in built.json["assets"]}
    assert (
        rows_by["orders"] > rows_by["clean_orders"] > rows_by["daily_revenue"] > 1
    )  # cancelled dropped; per day
    again = run_cli(target, "build", "--format", "json")
    assert again.code == 0 and again.json["summary"] == {"up_to_date": 3}, again


def test_init_json(run_cli, tmp_path):
    r = run_cli(None, "init", str(tmp_path / "p"), "--format", "json")
    assert r.code == 0, r
    assert r.json["project"] == "p" and "assets/daily_revenue.sql" in r.json["files"]


def test_init_into_an_existing_empty_folder(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    assert run_cli(None, "init", str(tmp_path / "empty")).code == 0
    assert (tmp_path / "empty" / "assetbuild.toml").exists()


def test_init_refuses_a_folder_that_is_not_empty(run_cli, tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    r = run_cli(None, "init", str(target))
    assert r.code == 2, r
    assert "not empty" in r.stderr and "Traceback" not in r.stderr
    assert [p.name for p in target.iterdir()] == ["notes.txt"]  # nothing written


def test_init_refuses_a_file(run_cli, tmp_path):
    target = tmp_path / "afile"
    target.write_text("x")
    r = run_cli(None, "init", str(target))
    assert r.code == 2 and "not a folder" in r.stderr, r
