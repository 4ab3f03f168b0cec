"""A clock-dependent verdict is judged against the clock at every build and check, from the data's
own figure kept with it (the newest timestamp), without reading the data again."""

from __future__ import annotations

import datetime as dt

import pytest

from assetbuild.gate import clock
from assetbuild.run.check import check_assets

from .projects import by_name, run

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock_at(monkeypatch):
    now = {"t": T0}
    monkeypatch.setattr(clock, "utc_now", lambda: now["t"])
    return now


def _project(make_project, rule: str):
    return make_project(
        {
            "assetbuild.toml": '[project]\nname = "fresh"\n\n[sources.events]\npath = "data/events.csv"\n',
            "data/events.csv": "id,ts\n1,2026-12-01T11:59:00Z\n2,2026-12-01T11:58:00Z\n",
            "assets/recent.sql": "SELECT * FROM events\n",
            "rules/recent.yaml": f"asset: recent\ntable:\n  {rule}\n",
        }
    )


def test_fresh_data_that_grows_stale_fails_the_next_build_and_check(make_project, clock_at, monkeypatch):
    root = _project(make_project, "freshness: {column: ts, max_age: 5m}")
    assert by_name(run(root))["recent"].status.value == "built"
    clock_at["t"] = T0 + dt.timedelta(minutes=1)  # newest is 2 minutes old: still fresh
    assert by_name(run(root))["recent"].status.value == "up_to_date"

    import polars as pl

    reads = []
    real = pl.read_parquet
    monkeypatch.setattr(pl, "read_parquet", lambda *a, **k: reads.append(a) or real(*a, **k))
    clock_at["t"] = T0 + dt.timedelta(minutes=6)  # newest is 7 minutes old now
    stale = by_name(run(root))["recent"]
    assert stale.status.value == "check_failed", stale.reason
    failed = [c for c in stale.checks if not c.passed]
    assert [c.name for c in failed] == ["table.freshness"]
    assert "age 7m" in (failed[0].actual or "")
    assert reads == [], "judged from the newest timestamp kept with the verdict, not the data"
    gate = check_assets(root)
    assert not gate.ok and by_name(gate)["recent"].status.value == "check_failed"


def test_a_passing_not_in_the_future_bound_stays_settled(make_project, clock_at):
    root = _project(make_project, "expression: {sql: 'id > 0'}")
    (root / "rules/recent.yaml").write_text("asset: recent\ncolumns:\n  ts: {max: now}\n")
    assert by_name(run(root))["recent"].status.value == "built"
    clock_at["t"] = T0 + dt.timedelta(days=30)
    again = by_name(run(root))["recent"]
    assert again.status.value == "up_to_date" and "checks re-run" not in again.reason
