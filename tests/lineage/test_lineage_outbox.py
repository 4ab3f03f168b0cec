"""The outbox: ordered, crash-safe, shared by processes; one sender at a time."""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from pathlib import Path

import pytest

from assetbuild.lineage.outbox import Outbox, Poison, SendLock, drain, has_pending


def test_events_come_back_in_order_until_delivered(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "lb")
    seqs = [box.append(f"run{i % 2}", "START", "ns/job", f'{{"n": {i}}}') for i in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    assert [p.body for p in box.pending()] == [f'{{"n": {i}}}' for i in range(5)]
    box.mark_delivered(seqs[0])
    box.mark_delivered(seqs[2])
    assert [p.seq for p in box.pending()] == [seqs[1], seqs[3], seqs[4]]
    assert box.count_pending() == 3
    box.close()
    # reopened (another process, a later build): the same state
    again = Outbox(tmp_path / "lb")
    assert again.count_pending() == 3
    again.close()


def test_prune_drops_only_old_delivered_events(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    a, b = box.append("r", "START", "j", "a"), box.append("r", "COMPLETE", "j", "b")
    box.mark_delivered(a)
    box.prune(keep_s=3600)
    assert len(box.rows()) == 2
    box.prune(keep_s=-1)
    assert [r["seq"] for r in box.rows()] == [b]


def test_has_pending_is_false_without_an_outbox(tmp_path: Path) -> None:
    class P:
        root = tmp_path

    assert has_pending(P()) is False
    assert not (tmp_path / ".assetbuild").exists()  # asking creates nothing
    Outbox.of_project(tmp_path).append("r", "START", "j", "x")
    assert has_pending(P()) is True


def test_drain_stops_at_the_first_failure_and_resumes_in_order(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    for i in range(6):
        box.append("r", "START", "j", str(i))
    sent: list[str] = []

    def flaky(body: str) -> None:
        if body == "3" and "3" not in failed:
            failed.append(body)
            raise ConnectionError("down")
        sent.append(body)

    failed: list[str] = []
    first = drain(box, flaky)
    assert (first.delivered, type(first.error)) == (3, ConnectionError)
    assert box.count_pending() == 3
    second = drain(box, flaky)
    assert (second.delivered, second.error) == (3, None)
    assert sent == ["0", "1", "2", "3", "4", "5"]  # each once, in order


def _append_many(directory: str, tag: str, n: int) -> None:
    box = Outbox(Path(directory))
    for i in range(n):
        box.append(tag, "START", "j", f"{tag}:{i}")
    box.close()


def test_two_processes_append_at_once_without_losing_anything(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(tmp_path), tag, 150)) for tag in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    rows = Outbox(tmp_path).rows()
    assert len(rows) == 300
    for tag in ("a", "b"):
        assert [r["body"] for r in rows if r["run_id"] == tag] == [f"{tag}:{i}" for i in range(150)]


def _append_then_die(directory: str) -> None:
    box = Outbox(Path(directory))
    box.append("r", "START", "j", "kept")
    os._exit(9)  # no close, no cleanup: as if killed


def test_an_appended_event_survives_its_process_dying(tmp_path: Path) -> None:
    p = multiprocessing.get_context("spawn").Process(target=_append_then_die, args=(str(tmp_path),))
    p.start()
    p.join(60)
    assert p.exitcode == 9
    assert [r["body"] for r in Outbox(tmp_path).rows()] == ["kept"]


def _hold_lock(directory: str, seconds: float) -> None:
    lock = SendLock(Path(directory))
    assert lock.acquire()
    (Path(directory) / "held").write_text("yes")
    time.sleep(seconds)
    os._exit(0)  # dies holding it


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX lock semantics")
def test_one_sender_at_a_time_and_a_dead_holder_frees_the_lock(tmp_path: Path) -> None:
    mine = SendLock(tmp_path)
    assert mine.acquire()
    assert not SendLock(tmp_path).acquire()  # a second sender, even in this process
    mine.release()
    p = multiprocessing.get_context("spawn").Process(target=_hold_lock, args=(str(tmp_path), 1.0))
    p.start()
    deadline = time.monotonic() + 30
    while not (tmp_path / "held").exists():
        assert time.monotonic() < deadline, "the child never took the lock"
        time.sleep(0.02)
    other = SendLock(tmp_path)
    assert not other.acquire()  # another process holds it
    assert other.acquire(timeout=30.0)  # granted once the holder is gone
    p.join(30)
    other.release()


def test_drain_parks_a_poison_event_and_goes_on(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    for i in range(4):
        box.append("r", "START", f"j{i}", str(i))
    sent: list[str] = []

    def emit(body: str) -> None:
        if body == "1":
            raise Poison("HTTP 422: bad facet")
        sent.append(body)

    result = drain(box, emit)
    assert (result.delivered, result.parked, result.error) == (3, 1, None)
    assert sent == ["0", "2", "3"]
    [parked] = box.parked()
    assert (parked.job, parked.reason) == ("j1", "HTTP 422: bad facet")
    assert box.count_pending() == 0 and box.pending() == []
    assert box.parked(since=parked.parked_at + 1) == []
    assert box.unpark() == 1
    assert [p.body for p in box.pending()] == ["1"] and box.parked() == []


def test_an_outbox_of_the_first_format_is_migrated_in_place(tmp_path: Path) -> None:
    import sqlite3

    tmp_path.mkdir(exist_ok=True)
    conn = sqlite3.connect(tmp_path / "outbox.db")
    conn.execute(
        "CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, event_type TEXT,"
        " job TEXT NOT NULL, body TEXT NOT NULL, created_at REAL NOT NULL, delivered_at REAL)"
    )
    conn.execute(
        "INSERT INTO events (run_id, event_type, job, body, created_at) VALUES ('r', 'START', 'j', 'a', 0)"
    )
    conn.execute(
        "INSERT INTO events (run_id, event_type, job, body, created_at, delivered_at) VALUES ('r', 'END', 'j', 'b', 0, 1)"
    )
    conn.execute("PRAGMA user_version=1")
    conn.commit()
    conn.close()
    box = Outbox(tmp_path)
    assert [p.body for p in box.pending()] == ["a"] and box.count_pending() == 1
    box.park(box.pending()[0].seq, "HTTP 400")
    assert box.count_pending() == 0 and [p.reason for p in box.parked()] == ["HTTP 400"]
    box.close()
    assert Outbox(tmp_path).count_pending() == 0  # opened again: nothing migrated twice
