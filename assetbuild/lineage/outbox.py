"""The lineage outbox: every OpenLineage event of a project, kept until a backend has taken it.

Events are appended to an SQLite table in `.assetbuild/lineage/outbox.db` (WAL, one transaction
per event, so a killed process loses nothing it had appended and two processes can write at
once). A sender delivers pending events in append order and marks each one delivered as soon as
the transport has taken it; a file lock lets only one process send at a time, so no event is
sent twice. Nothing here talks to a network or imports openlineage.

An event the backend refuses for good (the emit function raises `Poison`: a 400, 413 or 422, the
same answer every time) would block every event behind it. It is *parked* instead: kept, with
its reason, out of the pending queue, so that the events behind it go on. It is never dropped and
never retried on its own; `unpark()` (`assetbuild lineage push --retry-parked`) makes it pending
again, in its original place in the order.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

OUTBOX_DIR = Path(".assetbuild") / "lineage"
OUTBOX_FILE = "outbox.db"
LOCK_FILE = "send.lock"
KEEP_DELIVERED_S = 7 * 24 * 3600  # delivered events stay a week, to show what was sent
_SCHEMA_VERSION = 2  # 2: parked_at, parked_reason


class Poison(Exception):
    """Raised by an emit function when the backend refused this one event for good.

    `reason` says why, fit to print (no secrets): e.g. `HTTP 422: <first 200 chars of the body>`.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Pending:
    seq: int
    body: str


@dataclass(frozen=True)
class Parked:
    """An event the backend refused for good, kept aside with the reason."""

    seq: int
    run_id: str
    event_type: str | None
    job: str
    reason: str
    parked_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "run_id": self.run_id,
            "event_type": self.event_type,
            "job": self.job,
            "reason": self.reason,
            "parked_at": self.parked_at,
        }


@dataclass(frozen=True)
class DrainResult:
    delivered: int
    error: BaseException | None = None
    stopped: bool = False  # asked to stop before the outbox was empty
    parked: int = 0  # events refused for good and parked by this drain


class Outbox:
    """An append-only event log with a delivered mark per event. Thread-safe."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / OUTBOX_FILE
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.opened_at = time.time()  # what was parked since, is news to whoever opened it

    @classmethod
    def of_project(cls, root: Path) -> Outbox:
        return cls(Path(root) / OUTBOX_DIR)

    def exists(self) -> bool:
        return self.path.exists()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
            _set_wal(conn)
            # NORMAL in WAL mode survives any process crash; only a power cut may lose the last
            # commits, and FULL would cost an fsync per event.
            conn.execute("PRAGMA synchronous=NORMAL")
            if conn.execute("PRAGMA user_version").fetchone()[0] < _SCHEMA_VERSION:
                with _transaction(conn):
                    _migrate(conn)
            self._conn = conn
        return self._conn

    def append(self, run_id: str, event_type: str | None, job: str, body: str) -> int:
        with self._lock:
            conn = self._connection()
            with _transaction(conn):
                cur = conn.execute(
                    "INSERT INTO events (run_id, event_type, job, body, created_at) VALUES (?, ?, ?, ?, ?)",
                    (run_id, event_type, job, body, time.time()),
                )
            return int(cur.lastrowid or 0)

    def pending(self, limit: int = 200) -> list[Pending]:
        with self._lock:
            rows = (
                self._connection()
                .execute(
                    "SELECT seq, body FROM events WHERE delivered_at IS NULL AND parked_at IS NULL"
                    " ORDER BY seq LIMIT ?",
                    (limit,),
                )
                .fetchall()
            )
        return [Pending(int(seq), str(body)) for seq, body in rows]

    def count_pending(self) -> int:
        if self._conn is None and not self.exists():
            return 0
        with self._lock:
            row = (
                self._connection()
                .execute("SELECT count(*) FROM events WHERE delivered_at IS NULL AND parked_at IS NULL")
                .fetchone()
            )
        return int(row[0])

    def mark_delivered(self, seq: int) -> None:
        with self._lock:
            conn = self._connection()
            with _transaction(conn):
                conn.execute("UPDATE events SET delivered_at = ? WHERE seq = ?", (time.time(), seq))

    def park(self, seq: int, reason: str) -> None:
        """Set event `seq` aside: the backend refused it for good, for `reason`."""
        with self._lock:
            conn = self._connection()
            with _transaction(conn):
                conn.execute(
                    "UPDATE events SET parked_at = ?, parked_reason = ? WHERE seq = ? AND delivered_at IS NULL",
                    (time.time(), reason, seq),
                )

    def parked(self, since: float | None = None) -> list[Parked]:
        """The parked events, oldest first; with `since`, only those parked since then."""
        if self._conn is None and not self.exists():
            return []
        with self._lock:
            rows = (
                self._connection()
                .execute(
                    "SELECT seq, run_id, event_type, job, parked_reason, parked_at FROM events"
                    " WHERE parked_at IS NOT NULL AND delivered_at IS NULL AND parked_at >= ? ORDER BY seq",
                    (since if since is not None else 0.0,),
                )
                .fetchall()
            )
        return [Parked(int(q), str(r), e, str(j), str(why or ""), float(t)) for q, r, e, j, why, t in rows]

    def unpark(self) -> int:
        """Make every parked event pending again (in its place in the order); how many there were."""
        if self._conn is None and not self.exists():
            return 0
        with self._lock:
            conn = self._connection()
            with _transaction(conn):
                cur = conn.execute(
                    "UPDATE events SET parked_at = NULL, parked_reason = NULL WHERE parked_at IS NOT NULL"
                )
            return int(cur.rowcount or 0)

    def prune(self, keep_s: float = KEEP_DELIVERED_S) -> None:
        with self._lock:
            conn = self._connection()
            with _transaction(conn):
                conn.execute(
                    "DELETE FROM events WHERE delivered_at IS NOT NULL AND delivered_at < ?",
                    (time.time() - keep_s,),
                )

    def rows(self) -> list[dict[str, Any]]:
        """Every kept event with its delivery state, oldest first (for tests and inspection)."""
        with self._lock:
            cur = self._connection().execute(
                "SELECT seq, run_id, event_type, job, body, delivered_at, parked_at, parked_reason"
                " FROM events ORDER BY seq"
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def has_pending(project: Any) -> bool:
    """Whether `project` (anything with a `root`) has events no backend has taken yet.

    Cheap when there is no outbox: a no-op build asks this every time.
    """
    outbox = Outbox.of_project(project.root)
    if not outbox.exists():
        return False
    try:
        return outbox.count_pending() > 0
    except sqlite3.Error:
        return False
    finally:
        outbox.close()


def drain(
    outbox: Outbox,
    emit: Callable[[str], object],
    *,
    should_stop: Callable[[], bool] = lambda: False,
) -> DrainResult:
    """Send pending events oldest first; stop at the first failure so that order is kept.

    An event refused for good (`emit` raises `Poison`) is parked with its reason, and the
    events behind it go on: one bad event never blocks the rest.
    """
    delivered = parked = 0
    while True:
        batch = outbox.pending()
        if not batch:
            return DrainResult(delivered, parked=parked)
        for item in batch:
            if should_stop():
                return DrainResult(delivered, stopped=True, parked=parked)
            try:
                emit(item.body)
            except Poison as e:
                outbox.park(item.seq, e.reason)
                parked += 1
                continue
            except Exception as e:  # whatever the transport raises: the event stays pending
                return DrainResult(delivered, error=e, parked=parked)
            outbox.mark_delivered(item.seq)
            delivered += 1


class SendLock:
    """An exclusive, process-wide file lock: only its holder sends the outbox's events.

    The OS drops it when the holder dies, so a killed sender never blocks the next one.
    """

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / LOCK_FILE
        self._file: IO[bytes] | None = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self, timeout: float = 0.0) -> bool:
        if self._file is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + timeout
        handle = open(self.path, "a+b")  # noqa: SIM115 - held open for as long as the lock is
        while True:
            if _try_lock(handle):
                self._file = handle
                return True
            if time.monotonic() >= deadline:
                handle.close()
                return False
            time.sleep(0.05)

    def release(self) -> None:
        if self._file is not None:
            _unlock(self._file)
            self._file.close()
            self._file = None

    def __enter__(self) -> SendLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _try_lock(handle: IO[bytes]) -> bool:
    try:
        if os.name == "nt":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(handle: IO[bytes]) -> None:
    try:
        if os.name == "nt":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    except OSError:
        pass


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the outbox to `_SCHEMA_VERSION`, inside a write transaction (so two processes
    opening an old outbox at once migrate it once)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS events ("
        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " run_id TEXT NOT NULL,"
        " event_type TEXT,"
        " job TEXT NOT NULL,"
        " body TEXT NOT NULL,"
        " created_at REAL NOT NULL,"
        " delivered_at REAL)"
    )
    columns = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    for name, kind in (("parked_at", "REAL"), ("parked_reason", "TEXT")):
        if name not in columns:
            conn.execute(f"ALTER TABLE events ADD COLUMN {name} {kind}")
    conn.execute("CREATE INDEX IF NOT EXISTS events_pending ON events(seq) WHERE delivered_at IS NULL")
    conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")


class _transaction:
    """BEGIN IMMEDIATE ... COMMIT (or ROLLBACK), for a connection in autocommit mode."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, *rest: object) -> None:
        self.conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _set_wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch to WAL; two processes creating the outbox at once may see SQLITE_BUSY here, which
    SQLite reports at once instead of waiting on its busy timeout, so wait and try again."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
