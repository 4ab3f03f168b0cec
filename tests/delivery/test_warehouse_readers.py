"""Readers of the warehouse never fail, never see torn data and never block a build.

While five builds replace every row of a table, a separate process opens the warehouse read-only
over and over and checks each snapshot (all rows of `a` carry one version, `b` agrees with `a`),
another connection stays open in the test process the whole time, and the builds must all
succeed. Afterwards a new connection sees the last build's data.

(Within one process DuckDB shares one database instance per file among its open connections, so a
process that keeps a connection open sees that snapshot in new connections too; hence the
repeated connections live in their own process, which holds nothing open between them.)"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from ._support import build, statuses, warehouse

N = 1000

READER = r"""
import json, sys, time
from pathlib import Path
import duckdb

wh, stop, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
seen, errors, iterations = [], [], 0
print("ready", flush=True)
while not stop.exists() or iterations < 20:
    iterations += 1
    try:
        c = duckdb.connect(wh, read_only=True)
        try:
            lo, hi, count = c.execute("SELECT min(ver), max(ver), count(*) FROM a").fetchone()
            b = c.execute("SELECT lo, hi, n FROM b").fetchone()
        finally:
            c.close()
        if lo != hi or count != n or tuple(b) != (lo, hi, count):
            errors.append(f"torn snapshot: a=({lo}, {hi}, {count}) b={b}")
        if not seen or seen[-1] != lo:
            seen.append(lo)
        time.sleep(0.002)  # leave the builds some CPU
    except Exception as e:
        errors.append(f"{type(e).__name__}: {e}")
print(json.dumps({"seen": seen, "errors": errors[:5], "iterations": iterations}))
"""


def src(version: int) -> str:
    return "id,ver\n" + "".join(f"{i},{version}\n" for i in range(N))


def test_readers_during_builds(make_project, tmp_path: Path):
    root = make_project(
        {
            "assetbuild.toml": '[project]\nname = "rd"\n\n[sources.src]\npath = "data/src.csv"\n',
            "data/src.csv": src(0),
            "assets/a.sql": "SELECT id, ver FROM src\n",
            "assets/b.sql": "SELECT min(ver) AS lo, max(ver) AS hi, count(*) AS n FROM a\n",
        }
    )
    build(root)
    wh = warehouse(root)
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(wh), str(stop), str(N)], stdout=subprocess.PIPE, text=True
    )
    assert reader.stdout is not None
    assert reader.stdout.readline().strip() == "ready"
    held = duckdb.connect(str(wh), read_only=True)  # a notebook keeping the warehouse open
    try:
        for version in range(1, 6):
            (root / "data/src.csv").write_text(src(version))
            t0 = time.monotonic()
            r = build(root)  # exit 0: not blocked, not failed by the readers
            assert time.monotonic() - t0 < 30
            assert statuses(r) == {"src": "built", "a": "built", "b": "built"}, r
            # the open connection keeps reading its consistent snapshot
            assert held.execute("SELECT min(ver), max(ver), count(*) FROM a").fetchone() == (0, 0, N)
            assert held.execute("SELECT lo, hi, n FROM b").fetchone() == (0, 0, N)
            time.sleep(0.05)
    finally:
        stop.touch()
        out, _ = reader.communicate(timeout=60)
        held.close()
    report = json.loads(out.strip().splitlines()[-1])
    assert reader.returncode == 0
    assert report["errors"] == [], report
    assert report["seen"] == sorted(report["seen"]) and report["seen"][-1] == 5, report
    assert len(report["seen"]) >= 3, f"the reader did not overlap the builds: {report}"

    # a new connection, in this process (once the old one is closed) and in another, sees the new data
    fresh = duckdb.connect(str(wh), read_only=True)
    try:
        assert fresh.execute("SELECT min(ver), max(ver), count(*) FROM a").fetchone() == (5, 5, N)
    finally:
        fresh.close()
    code = "import duckdb,sys; print(duckdb.connect(sys.argv[1], read_only=True).execute('SELECT lo FROM b').fetchone()[0])"
    other = subprocess.run([sys.executable, "-c", code, str(wh)], capture_output=True, text=True)
    assert other.stdout.strip() == "5", other.stderr
