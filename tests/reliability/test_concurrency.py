"""DESIGN §7 Atomic, second half: two builds on one project never corrupt it — one waits for the
lock (and says so) or, with `--no-wait`, exits 75 with a clear message — and no update is lost.
`plan`, `show` and `history` read while a build writes, without waiting for it."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from ._support import (
    build_json,
    current_hashes,
    hashes_of,
    integrity,
    parse_json,
    popen_cli,
    reliability_project,
    run_cli,
    store_problems,
    write_files,
)

SLOW = """\
import time

import polars as pl

from assetbuild import asset


@asset()
def slow(src: pl.DataFrame) -> pl.DataFrame:
    time.sleep({seconds})
    return src.with_columns((pl.col("v") * {factor}).alias("w"))
"""


def _slow_project(root: Path, seconds: float = 2.0, factor: int = 2) -> None:
    write_files(
        root,
        {
            "assetbuild.toml": '[project]\nname = "conc"\n\n[sources.src]\npath = "data/src.csv"\n',
            "data/src.csv": "id,v\n" + "".join(f"{i},{i * 3}\n" for i in range(100)),
            "assets/slow.py": SLOW.format(seconds=seconds, factor=factor),
            "assets/after_slow.sql": "SELECT id, w + 1 AS w1 FROM slow\n",
            "assets/other.sql": "SELECT id, v * 10 AS v10 FROM src\n",
        },
    )


def _wait_until_building(
    root: Path, proc: subprocess.Popen, asset: str = "slow", timeout: float = 30
) -> None:
    """Until `proc` holds the build lock and is running `asset` (its run row exists, unfinished)."""
    lock = root / ".assetbuild" / "build.lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the build ended before it was observed running"
        try:
            holder = lock.read_text().strip()
        except OSError:
            holder = ""
        if holder == str(proc.pid):
            conn = sqlite3.connect(root / ".assetbuild" / "state.db", timeout=5)
            try:
                running = conn.execute("SELECT count(*) FROM runs WHERE finished_at IS NULL").fetchone()[0]
            finally:
                conn.close()
            if running:
                time.sleep(0.3)  # into the asset's sleep
                return
        time.sleep(0.02)
    raise AssertionError("the build never took the lock")


@pytest.fixture
def slow_project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    _slow_project(root, seconds=0.0)
    build_json(root)
    _slow_project(root, seconds=3.0, factor=3)  # the next build runs `slow` for 3 s
    return root


def test_second_build_with_no_wait_exits_75_with_a_clear_message(slow_project: Path) -> None:
    root = slow_project
    before = current_hashes(root)
    a = popen_cli(root, "build", stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_building(root, a)
        t0 = time.monotonic()
        b = run_cli(root, "build", "--no-wait")
        assert time.monotonic() - t0 < 5, "--no-wait waited"
        assert b.returncode == 75, (b.returncode, b.stdout, b.stderr)
        assert "another build is running" in b.stderr and f"pid {a.pid}" in b.stderr, b.stderr
        assert "Traceback" not in b.stdout + b.stderr
        j = run_cli(root, "build", "--no-wait", "--format", "json")
        assert j.returncode == 75 and "another build" in parse_json(j.stdout)["error"]
    finally:
        _, a_err = a.communicate(timeout=60)
    assert a.returncode == 0, a_err
    assert integrity(root) == "ok" and store_problems(root) == []
    after = current_hashes(root)
    assert after["slow"] != before["slow"] and after["other"] == before["other"]


def test_second_build_waits_says_so_and_loses_no_update(slow_project: Path, tmp_path: Path) -> None:
    root = slow_project
    a = popen_cli(
        root, "build", "--format", "json", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_until_building(root, a)
        # Changed while A runs (A loaded the project already): only B can see it.
        write_files(root, {"assets/other.sql": "SELECT id, v * 100 AS v100 FROM src\n"})
        b = popen_cli(
            root, "build", "--format", "json", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        b_out, b_err = b.communicate(timeout=60)
        a_out, a_err = a.communicate(timeout=60)
    finally:
        for p in (a,):
            if p.poll() is None:
                p.kill()
    assert a.returncode == 0 and b.returncode == 0, (a_err, b_err)
    assert "waiting for another build" in b_err and f"pid {a.pid}" in b_err, b_err
    assert "Traceback" not in a_out + a_err + b_out + b_err
    ra, rb = parse_json(a_out), parse_json(b_out)
    by_a = {x["name"]: x for x in ra["assets"]}
    by_b = {x["name"]: x for x in rb["assets"]}
    # A's work is kept (B, which waited for it, finds `slow` up to date) and B's change is published.
    assert by_a["slow"]["status"] == "built" and by_b["slow"]["status"] == "up_to_date"
    assert by_b["other"]["status"] == "built"
    assert integrity(root) == "ok" and store_problems(root, content=True) == []
    # Both updates are what a clean build of the final project gives.
    ref = tmp_path / "ref"
    _slow_project(ref, seconds=0.0, factor=3)
    write_files(ref, {"assets/other.sql": "SELECT id, v * 100 AS v100 FROM src\n"})
    assert current_hashes(root) == hashes_of(build_json(ref))


def test_plan_show_history_read_while_a_build_writes(slow_project: Path) -> None:
    root = slow_project
    before = current_hashes(root)
    a = popen_cli(root, "build", stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_building(root, a)
        plan = run_cli(root, "plan", "--format", "json")
        show = run_cli(root, "show", "slow", "--format", "json")
        show_rows = run_cli(root, "show", "other", "--rows", "3")
        history = run_cli(root, "history", "slow", "--format", "json")
        still_running = a.poll() is None
    finally:
        _, a_err = a.communicate(timeout=60)
    # Had they waited for the build lock, they would have ended after the build.
    assert still_running, "the readers ended after the build: they must not wait for its lock"
    for r in (plan, show, show_rows, history):
        assert r.returncode == 0, (r.args, r.stdout, r.stderr)
        assert "Traceback" not in r.stdout + r.stderr
    planned = {x["name"]: x["status"] for x in parse_json(plan.stdout)["assets"]}
    assert planned["slow"] == "will_build" and planned["other"] == "up_to_date", planned
    # `show` reports the published data (the build has not published `slow` yet).
    assert parse_json(show.stdout)["current"]["content_hash"] == before["slow"]
    assert parse_json(history.stdout)
    assert a.returncode == 0, a_err
    assert integrity(root) == "ok" and store_problems(root) == []


@pytest.mark.slow
def test_two_forced_builds_started_together_on_a_real_project(tmp_path: Path) -> None:
    files, _ = reliability_project(n_sql=20)
    root, ref = tmp_path / "p", tmp_path / "ref"
    write_files(root, files)
    write_files(ref, files)
    want = hashes_of(build_json(ref))
    for _ in range(2):
        procs = [
            popen_cli(root, "build", "--force", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        codes = [p.returncode for p in procs]
        assert codes == [0, 0], (codes, [e for _, e in outs])
        assert not any("Traceback" in o + e for o, e in outs)
        assert sum("waiting for another build" in e for _, e in outs) <= 1, [e for _, e in outs]
        assert integrity(root) == "ok" and store_problems(root, content=True) == []
        assert current_hashes(root) == want


def test_readers_never_write_the_store(tmp_path: Path) -> None:
    """`plan`, `show` and `history` open state.db read-only: its bytes (and WAL) do not change."""
    root = tmp_path / "p"
    _slow_project(root, seconds=0.0)
    build_json(root)
    _slow_project(root, seconds=0.0, factor=5)  # so that `plan` has something to say

    def snapshot() -> tuple[bytes, bytes]:
        # A WAL reader may create the -shm index and an empty -wal: SQLite's bookkeeping, not data.
        wal = root / ".assetbuild" / "state.db-wal"
        return (root / ".assetbuild" / "state.db").read_bytes(), wal.read_bytes() if wal.exists() else b""

    before = snapshot()
    for args in (
        ("plan",),
        ("plan", "--format", "json"),
        ("show", "slow", "--rows", "2"),
        ("history", "slow"),
    ):
        r = run_cli(root, *args)
        assert r.returncode == 0 and "Traceback" not in r.stdout + r.stderr, (args, r.stderr)
    assert snapshot() == before
