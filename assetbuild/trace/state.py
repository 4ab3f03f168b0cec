"""The trace store: `.assetbuild/state.db` (SQLite, WAL) of materializations, current pointers,
check results by check key, and the run history.

All writes go through short transactions; publishing (moving `current`) is one transaction, so
a killed build leaves every pointer at a complete, checked materialization.

`State` is the SQLite implementation of the `KeyStore`, `CheckStore` and `RunLog` protocols
(trace/protocols.py); nothing outside this module runs SQL on its connection.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assetbuild.errors import StoreError
from assetbuild.model.stored import AssetRun, CheckRecord, Current, Materialization

if TYPE_CHECKING:
    from assetbuild.trace.protocols import TraceStore

# The layout of state.db; a file from another version gets a clear message (or a migration).
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS materializations (
    id INTEGER PRIMARY KEY,
    asset TEXT NOT NULL,
    build_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    rows INTEGER,
    object TEXT NOT NULL,
    object_size INTEGER NOT NULL,
    file_hash TEXT NOT NULL,
    schema TEXT NOT NULL,
    run_id TEXT,
    created_at REAL NOT NULL,
    quarantined INTEGER NOT NULL DEFAULT 0,
    key_parts TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS materializations_key ON materializations (asset, build_key);
CREATE TABLE IF NOT EXISTS current (
    env TEXT NOT NULL,
    asset TEXT NOT NULL,
    materialization INTEGER NOT NULL REFERENCES materializations (id),
    check_key TEXT,
    checks_passed INTEGER NOT NULL DEFAULT 1,
    updated_at REAL NOT NULL,
    PRIMARY KEY (env, asset)
);
CREATE TABLE IF NOT EXISTS checks (
    check_key TEXT PRIMARY KEY,
    asset TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    rules_fingerprint TEXT NOT NULL,
    passed INTEGER NOT NULL,
    results TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    env TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT,
    summary TEXT
);
CREATE TABLE IF NOT EXISTS asset_runs (
    run_id TEXT NOT NULL,
    asset TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    duration_s REAL,
    error TEXT,
    build_key TEXT,
    content_hash TEXT,
    rows INTEGER,
    checks TEXT,
    finished_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS asset_runs_asset ON asset_runs (asset, finished_at);
"""


_MAT_COLS = (
    "m.id, m.asset, m.build_key, m.content_hash, m.rows, m.object, m.object_size, m.file_hash, "
    "m.schema, m.run_id, m.created_at, m.quarantined, m.key_parts"
)


def _mat(row: tuple[Any, ...]) -> Materialization:
    return Materialization(
        id=row[0],
        asset=row[1],
        build_key=row[2],
        content_hash=row[3],
        rows=row[4],
        object=row[5],
        object_size=row[6],
        file_hash=row[7],
        schema_json=row[8],
        run_id=row[9],
        created_at=row[10],
        quarantined=bool(row[11]),
        key_parts_json=row[12],
    )


class State:
    """One open state.db: a `KeyStore`, `CheckStore` and `RunLog`. Thread-safe: every call takes
    the same lock."""

    def __init__(self, conn: sqlite3.Connection, path: Path, aside: Path | None = None) -> None:
        self.conn = conn
        self.path = path
        self._lock = threading.RLock()
        self._aside = aside  # a private copy of a store that could not be read in place

    @classmethod
    def open(cls, store_dir: Path, readonly: bool = False) -> State | None:
        """Open (creating unless `readonly`) the store; None when readonly and there is none yet.

        Read-only opening works where nothing can be written (a read-only checkout or mount, a
        store another user built); opening to write fails at once, with a clear message, where
        the store cannot be written, before anything is recorded.
        """
        path = store_dir / "state.db"
        if readonly and not path.exists():
            return None
        if not readonly:
            try:
                store_dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise store_not_writable(store_dir, e) from None
        aside: Path | None = None
        conn: sqlite3.Connection | None = None
        try:
            if readonly:
                conn, aside = _connect_readonly(path)
            else:
                conn = sqlite3.connect(path, check_same_thread=False, timeout=30, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            state = cls(conn, path, aside)
            state._check_version(readonly)
            if not readonly:
                # Take the write lock once and let go: a store that cannot be written says so now,
                # not half-way through a build.
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
            return state
        except sqlite3.DatabaseError as e:
            _discard(conn, aside)
            if _is_read_only(e):
                raise store_not_writable(store_dir, e, path) from None
            raise StoreError(
                f"{path}: cannot open the state database ({e}). If it is damaged, move .assetbuild/ "
                "aside and build again.",
            ) from None
        except OSError as e:  # creating the schema in a store that cannot take it (_Tx says why)
            _discard(conn, aside)
            raise store_not_writable(store_dir, e, path) from None
        except BaseException:
            _discard(conn, aside)
            raise

    def _check_version(self, readonly: bool) -> None:
        has_meta = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'"
        ).fetchone()
        version = None
        if has_meta:
            row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            try:
                version = int(row[0]) if row else None
            except (TypeError, ValueError):
                raise StoreError(
                    f"{self.path}: unknown store format {row[0]!r}. Move .assetbuild/ aside and build again."
                ) from None
        if version is None:
            if readonly:
                return
            with self.transaction():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self.conn.execute(stmt)
                self.conn.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )
            return
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer assetbuild (store format {version}; this one reads "
                f"{SCHEMA_VERSION}). Upgrade assetbuild, or move .assetbuild/ aside to start afresh."
            )
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} has store format {version}, older than {SCHEMA_VERSION}, and no migration exists. "
                "Move .assetbuild/ aside and build again."
            )

    def transaction(self) -> _Tx:
        return _Tx(self)

    def close(self) -> None:
        self.conn.close()
        if self._aside is not None:
            _remove_tree(self._aside)
            self._aside = None

    # -- reading -------------------------------------------------------------------------

    def current(self, env: str) -> dict[str, Current]:
        with self._lock:
            rows = self.conn.execute(
                f"SELECT {_MAT_COLS}, c.check_key, c.checks_passed FROM current c "
                "JOIN materializations m ON m.id = c.materialization WHERE c.env = ?",
                (env,),
            ).fetchall()
        return {r[1]: Current(_mat(r[:13]), r[13], bool(r[14])) for r in rows}

    def environments(self) -> list[str]:
        with self._lock:
            return [r[0] for r in self.conn.execute("SELECT DISTINCT env FROM current ORDER BY env")]

    def current_of(self, env: str, asset: str) -> Current | None:
        with self._lock:
            r = self.conn.execute(
                f"SELECT {_MAT_COLS}, c.check_key, c.checks_passed FROM current c "
                "JOIN materializations m ON m.id = c.materialization WHERE c.env = ? AND c.asset = ?",
                (env, asset),
            ).fetchone()
        return Current(_mat(r[:13]), r[13], bool(r[14])) if r else None

    def find(self, asset: str, build_key: str) -> list[Materialization]:
        """Stored materializations with this build key: unquarantined first, then newest first."""
        with self._lock:
            rows = self.conn.execute(
                f"SELECT {_MAT_COLS} FROM materializations m WHERE asset = ? AND build_key = ? "
                "ORDER BY quarantined, created_at DESC, id DESC",
                (asset, build_key),
            ).fetchall()
        return [_mat(r) for r in rows]

    def materializations(self, asset: str | None = None) -> list[Materialization]:
        with self._lock:
            if asset is None:
                rows = self.conn.execute(f"SELECT {_MAT_COLS} FROM materializations m ORDER BY id").fetchall()
            else:
                rows = self.conn.execute(
                    f"SELECT {_MAT_COLS} FROM materializations m WHERE asset = ? ORDER BY created_at DESC, id DESC",
                    (asset,),
                ).fetchall()
        return [_mat(r) for r in rows]

    def checks(self, check_key: str) -> tuple[bool, list[dict[str, Any]]] | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT passed, results FROM checks WHERE check_key = ?", (check_key,)
            ).fetchone()
        return (bool(row[0]), json.loads(row[1])) if row else None

    def check_record(self, check_key: str) -> CheckRecord | None:
        """A stored verdict with what it was reached on (its data and rules fingerprint)."""
        with self._lock:
            row = self.conn.execute(
                "SELECT passed, results, content_hash, rules_fingerprint FROM checks WHERE check_key = ?",
                (check_key,),
            ).fetchone()
        return CheckRecord(bool(row[0]), json.loads(row[1]), row[2], row[3]) if row else None

    def asset_runs(self, asset: str, limit: int = 50) -> list[dict[str, Any]]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT run_id, status, reason, duration_s, error, build_key, content_hash, rows, checks, "
                "finished_at FROM asset_runs WHERE asset = ? ORDER BY finished_at DESC, rowid DESC LIMIT ?",
                (asset, limit),
            ).fetchall()
        keys = (
            "run_id",
            "status",
            "reason",
            "duration_s",
            "error",
            "build_key",
            "content_hash",
            "rows",
            "checks",
            "finished_at",
        )
        out = []
        for r in rows:
            d = dict(zip(keys, r, strict=True))
            d["checks"] = json.loads(d["checks"]) if d["checks"] else []
            out.append(d)
        return out

    def last_asset_run(self, env: str, asset: str) -> AssetRun | None:
        """The latest result for this asset of a finished run in `env` (`skipped` ones aside:
        an asset not started says nothing about its data)."""
        with self._lock:
            r = self.conn.execute(
                "SELECT a.run_id, a.status, a.reason, a.build_key, a.content_hash, a.checks, a.finished_at "
                "FROM asset_runs a JOIN runs r ON r.run_id = a.run_id "
                "WHERE a.asset = ? AND r.env = ? AND a.status != 'skipped' "
                "ORDER BY a.finished_at DESC, a.rowid DESC LIMIT 1",
                (asset, env),
            ).fetchone()
        if r is None:
            return None
        return AssetRun(r[0], r[1], r[2] or "", r[3], r[4], json.loads(r[5]) if r[5] else [], r[6])

    def newest_materialization(self, env: str, asset: str) -> Materialization | None:
        """The materialization a run in `env` wrote last for this asset (published or not)."""
        with self._lock:
            r = self.conn.execute(
                f"SELECT {_MAT_COLS} FROM materializations m JOIN runs r ON r.run_id = m.run_id "
                "WHERE m.asset = ? AND r.env = ? ORDER BY m.created_at DESC, m.id DESC LIMIT 1",
                (asset, env),
            ).fetchone()
        return _mat(r) if r else None

    def pinned_materializations(self) -> set[int]:
        """Ids of the materializations some environment's `current` points to."""
        with self._lock:
            return {r[0] for r in self.conn.execute("SELECT DISTINCT materialization FROM current")}

    def last_runs(self, limit: int = 20) -> list[dict[str, Any]]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT run_id, command, env, started_at, finished_at, status, summary FROM runs "
                "ORDER BY started_at DESC, rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
        keys = ("run_id", "command", "env", "started_at", "finished_at", "status", "summary")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    # -- writing -------------------------------------------------------------------------

    def add_materialization(
        self,
        asset: str,
        build_key: str,
        content_hash: str,
        rows: int | None,
        obj: str,
        object_size: int,
        file_hash: str,
        schema: list[tuple[str, str]],
        run_id: str,
        quarantined: bool,
        key_parts: dict[str, Any],
    ) -> Materialization:
        # the row as stored, in the order of both the INSERT and Materialization's fields
        values = (asset, build_key, content_hash, rows, obj, object_size, file_hash, json.dumps(schema), run_id,
                  time.time(), quarantined, json.dumps(key_parts))  # fmt: skip
        with self._lock, self.transaction():
            cur = self.conn.execute(
                "INSERT INTO materializations (asset, build_key, content_hash, rows, object, object_size, "
                "file_hash, schema, run_id, created_at, quarantined, key_parts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                values,
            )
            mid = cur.lastrowid
        assert mid is not None
        return Materialization(mid, *values)

    def publish(self, env: str, asset: str, mat_id: int, check_key: str | None, passed: bool = True) -> None:
        """Point `current` at a materialization (one transaction) and clear its quarantine mark."""
        with self._lock, self.transaction():
            self.conn.execute(
                "INSERT INTO current (env, asset, materialization, check_key, checks_passed, updated_at) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (env, asset) DO UPDATE SET materialization=excluded.materialization, "
                "check_key=excluded.check_key, checks_passed=excluded.checks_passed, updated_at=excluded.updated_at",
                (env, asset, mat_id, check_key, int(passed), time.time()),
            )
            self.conn.execute("UPDATE materializations SET quarantined = 0 WHERE id = ?", (mat_id,))

    def set_current_checks(self, env: str, asset: str, mat_id: int, check_key: str, passed: bool) -> bool:
        """Record a verdict on `current`, only while it still points at `mat_id`, the data judged.

        False when `current` moved meanwhile: a verdict never lands on data it was not reached on.
        """
        with self._lock, self.transaction():
            cur = self.conn.execute(
                "UPDATE current SET check_key = ?, checks_passed = ? "
                "WHERE env = ? AND asset = ? AND materialization = ?",
                (check_key, int(passed), env, asset, mat_id),
            )
            return cur.rowcount > 0

    def drop_current(self, env: str, assets: Iterable[str]) -> None:
        with self._lock, self.transaction():
            self.conn.executemany(
                "DELETE FROM current WHERE env = ? AND asset = ?", [(env, a) for a in assets]
            )

    def delete_materializations(self, ids: Iterable[int]) -> int:
        """Delete these rows in one transaction, except any a `current` pointer names; how many went."""
        with self._lock, self.transaction():
            cur = self.conn.executemany(
                "DELETE FROM materializations WHERE id = ? "
                "AND NOT EXISTS (SELECT 1 FROM current WHERE materialization = materializations.id)",
                [(i,) for i in ids],
            )
            return max(cur.rowcount, 0)

    def put_checks(
        self,
        check_key: str,
        asset: str,
        content_hash: str,
        rules_fp: str,
        passed: bool,
        results: list[dict[str, Any]],
    ) -> None:
        with self._lock, self.transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO checks VALUES (?,?,?,?,?,?,?)",
                (
                    check_key,
                    asset,
                    content_hash,
                    rules_fp,
                    int(passed),
                    json.dumps(results, default=str),
                    time.time(),
                ),
            )

    def start_run(self, run_id: str, command: str, env: str) -> None:
        with self._lock, self.transaction():
            self.conn.execute(
                "INSERT INTO runs (run_id, command, env, started_at) VALUES (?,?,?,?)",
                (run_id, command, env, time.time()),
            )

    def finish_run(
        self, run_id: str, status: str, summary: dict[str, int], asset_rows: list[tuple[Any, ...]]
    ) -> None:
        """Close a run and record one row per asset (status, reason, duration, error) in one transaction."""
        now = time.time()
        with self._lock, self.transaction():
            self.conn.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE run_id = ?",
                (now, status, json.dumps(summary), run_id),
            )
            self.conn.executemany(
                "INSERT INTO asset_runs (run_id, asset, status, reason, duration_s, error, build_key, content_hash, "
                "rows, checks, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(run_id, *r, now) for r in asset_rows],
            )


if TYPE_CHECKING:

    def _implements(state: State) -> TraceStore:  # mypy checks State against the protocols
        return state


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception; re-entrant within one State."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.outer = False

    def __enter__(self) -> None:
        self.state._lock.acquire()
        if not self.state.conn.in_transaction:
            self.state.conn.execute("BEGIN IMMEDIATE")
            self.outer = True

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if self.outer:
                if exc_type is None:
                    try:
                        self.state.conn.execute("COMMIT")
                    except sqlite3.OperationalError as e:
                        self._rollback()
                        _raise_if_full(e, self.state.path)
                        raise
                else:
                    self._rollback()
                    if isinstance(exc, sqlite3.OperationalError):
                        _raise_if_full(exc, self.state.path)
        finally:
            self.state._lock.release()

    def _rollback(self) -> None:
        # SQLite may already have rolled back by itself (e.g. on SQLITE_FULL)
        if self.state.conn.in_transaction:
            self.state.conn.execute("ROLLBACK")


def _raise_if_full(e: sqlite3.OperationalError, path: Path) -> None:
    """A full disk, or a database that became read-only, is an I/O error like any other write's
    (OSError ENOSPC, EACCES), not a bug of ours."""
    if getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(e):
        raise OSError(errno.ENOSPC, f"{path}: cannot record the build ({e})") from e
    if _is_read_only(e):
        raise OSError(errno.EACCES, f"{path}: cannot record the build: it is read-only ({e})") from e


# -- where the store cannot be written --------------------------------------------------------

# SQLite's primary result codes for "this file or its folder cannot be written"
_READ_ONLY_CODES = frozenset((sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM))
_READ_ONLY_ERRNOS = frozenset((errno.EACCES, errno.EPERM, errno.EROFS))


def _is_read_only(e: sqlite3.Error) -> bool:
    code = getattr(e, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF in _READ_ONLY_CODES) or "readonly database" in str(e)


def store_not_writable(store_dir: Path, e: BaseException, what: Path | None = None) -> StoreError:
    """The error of a command that must write the store (build, check, gc) where it cannot: exit 2,
    naming the folder (or `what`, the one file at fault) and what to do instead."""
    if isinstance(e, OSError) and e.errno not in _READ_ONLY_ERRNOS:
        why = e.strerror or str(e)
        return StoreError(f"{what or store_dir}: cannot write the store ({why}); fix that and run again")
    why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
    if what is not None or store_dir.exists():
        where = (
            f"{what or store_dir} is read-only for this user ({why}): this command records its work there."
        )
    else:  # no store yet: it is the project folder that cannot be written
        where = (
            f"{store_dir.parent} is read-only for this user ({why}): this command would create "
            f"{store_dir.name}/ there to record its work."
        )
    return StoreError(
        f"{where} Run it in a writable copy of the project (or ask its owner to); plan, show, history, "
        "query, lineage, graph and `report -o FILE` only read, and work here."
    )


def _connect_readonly(path: Path) -> tuple[sqlite3.Connection, Path | None]:
    """A read-only connection to state.db, and the private folder of a copy when one was needed.

    In WAL mode SQLite reads through an index (state.db-shm) that a reader creates or updates;
    where the folder cannot be written and that index is missing, `mode=ro` fails. Then, when
    no WAL holds committed data, state.db itself holds every transaction and is read as
    `immutable` (no index, no locks). A writer that starts meanwhile (the owner of a shared
    checkout) commits to a new WAL, not to state.db, until its last checkpoint: a reader's few
    short reads see the build before. When the WAL does hold data (a copy taken while a process
    had the store open), ignoring it would show an older build: state.db and its WAL are copied
    to a private folder, where SQLite can build the index, and read there.
    """
    if not os.access(path, os.R_OK):
        raise StoreError(
            f"{path}: cannot read the state database (permission denied); ask its owner for read access"
        )
    quoted = urllib.parse.quote(str(path))  # '#', '?' and '%' in the folder name are not URI syntax
    try:
        return _probe(
            sqlite3.connect(f"file:{quoted}?mode=ro", uri=True, check_same_thread=False, timeout=30)
        ), None
    except sqlite3.OperationalError as e:
        if not _is_read_only(e):
            raise
    wal = path.with_name(path.name + "-wal")
    if not _holds_frames(wal):
        conn = sqlite3.connect(f"file:{quoted}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        return _probe(conn), None
    import shutil  # here only: a no-op build must not import tempfile
    import tempfile

    aside = Path(tempfile.mkdtemp(prefix="assetbuild-state-"))
    try:
        shutil.copyfile(path, aside / path.name)
        shutil.copyfile(wal, aside / wal.name)
        copy = urllib.parse.quote(str(aside / path.name))
        conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True, check_same_thread=False, timeout=30)
        return _probe(conn), aside
    except OSError as e:
        _remove_tree(aside)
        raise StoreError(
            f"{path}: cannot read the state database: its folder is read-only and copying it with "
            f"{wal.name} to a temporary folder failed ({e.strerror or e}); set TMPDIR to a writable folder"
        ) from None
    except BaseException:
        _remove_tree(aside)
        raise


def _probe(conn: sqlite3.Connection) -> sqlite3.Connection:
    """SQLite opens lazily: read once, so that a file it cannot read fails here."""
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn


def _holds_frames(wal: Path) -> bool:
    """Whether a WAL file may hold transactions: more than its 32-byte header."""
    try:
        return wal.stat().st_size > 32
    except FileNotFoundError:
        return False


def _discard(conn: sqlite3.Connection | None, aside: Path | None) -> None:
    if conn is not None:
        conn.close()
    if aside is not None:
        _remove_tree(aside)


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)
