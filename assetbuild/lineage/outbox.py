"""The lineage outbox: every OpenLineage event of a project, kept until a backend has taken it.

Events are appended to an SQLite table in `.assetbuild/lineage/outbox.db` (WAL, one transaction
per event, so a killed process loses nothing it had appended and two processes can write at
once). A sender delivers pending events in append order and marks each one delivered as soon as
the transport has taken it; a file lock lets only one process send at a time, so no event is
sent twice. Nothing here talks to a network or imports openlineage.
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
_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Pending:
    seq: int
    body: str


@dataclass(frozen=True)
class DrainResult:
    delivered: int
    error: BaseException | None = None
    stopped: bool = False  # asked to stop before the outbox was empty


class Outbox:
    """An append-only event log with a delivered mark per event. Thread-safe."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.path = self.directory / OUTBOX_FILE
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

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
                    conn.execute(
                        "CREATE INDEX IF NOT EXISTS events_pending ON events(seq) WHERE delivered_at IS NULL"
                    )
                    conn.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
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
                    "SELECT seq, body FROM events WHERE delivered_at IS NULL ORDER BY seq LIMIT ?", (limit,)
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
                .execute("SELECT count(*) FROM events WHERE delivered_at IS NULL")
                .fetchone()
            )
        return int(row[0])

    def mark_delivered(self, seq: int) -> None:
        with self._lock:
            conn = self._connection()
            with _transaction(conn):
                conn.execute("UPDATE events SET delivered_at = ? WHERE seq = ?", (time.time(), seq))

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
                "SELECT seq, run_id, event_type, job, body, delivered_at FROM events ORDER BY seq"
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
    """Send pending events oldest first; stop at the first failure so that order is kept."""
    delivered = 0
    while True:
        batch = outbox.pending()
        if not batch:
            return DrainResult(delivered)
        for item in batch:
            if should_stop():
                return DrainResult(delivered, stopped=True)
            try:
                emit(item.body)
            except Exception as e:  # whatever the transport raises: the event stays pending
                return DrainResult(delivered, error=e)
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
