"""A full disk (ENOSPC) while writing an object or the state fails the build cleanly — the asset is
`failed` with a clear message, exit 1, no traceback — and leaves the previous state intact.

The error is injected in-process at the seams where the bytes are written: the Parquet writer,
the rename into the object store, and SQLite (which reports a full disk as SQLITE_FULL).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import assetbuild.executor.content as content_module
import assetbuild.trace.objects as objects_module
import assetbuild.trace.state as state_module
from assetbuild.cli.app import main

from ._support import (
    build_json,
    current_hashes,
    integrity,
    staging_leftovers,
    store_problems,
    write_files,
)

FILES = {
    "assetbuild.toml": '[project]\nname = "full"\n\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": "id,v\n" + "".join(f"{i},{i * 0.5}\n" for i in range(300)),
    "assets/mid.sql": "SELECT id, v * 2 AS w FROM src\n",
    "assets/down.sql": "SELECT count(*) AS n, sum(w) AS s FROM mid\n",
}
CHANGE = {"assets/mid.sql": "SELECT id, v * 3 AS w FROM src\n"}  # mid and down must run again


def _enospc(what: str = "") -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), what or None)


def _sqlite_full() -> sqlite3.OperationalError:
    e = sqlite3.OperationalError("database or disk is full")
    e.sqlite_errorcode = sqlite3.SQLITE_FULL  # what SQLite sets on a full disk
    return e


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("full") / "p"
    files = dict(FILES)
    files["rules/mid.yaml"] = "asset: mid\ncolumns:\n  id: {nullable: false}\n"
    write_files(root, files)
    build_json(root)
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = shutil.copytree(built, tmp_path / "p")
    write_files(root, CHANGE)
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    monkeypatch.delenv("ASSETBUILD_DEBUG", raising=False)
    yield root


def _build(root: Path) -> tuple[int, str, dict[str, Any] | None]:
    r = CliRunner().invoke(main, ["--project", str(root), "build", "--format", "json"])
    out = r.output + (r.stderr if hasattr(r, "stderr") else "")
    try:
        data = json.loads(r.stdout[r.stdout.index("{") :])
    except ValueError:
        data = None
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        out += f"\n(exception escaped: {r.exception!r})"
    return r.exit_code, out, data


def _assert_failed_cleanly(root: Path, before: dict[str, str], code: int, out: str, data, asset: str) -> None:
    assert "Traceback" not in out and "internal error" not in out, out
    assert code == 1, (code, out)
    assert data is not None, out
    status = {a["name"]: a for a in data["assets"]}
    assert status[asset]["status"] == "failed", status[asset]
    assert (
        "No space left on device" in status[asset]["reason"] or "disk is full" in status[asset]["reason"]
    ), status[asset]
    assert current_hashes(root) == before, "the previous state must be intact"
    assert integrity(root) == "ok" and store_problems(root) == []


def _then_recovers(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    code, out, data = _build(root)
    assert code == 0, out
    assert staging_leftovers(root) == []
    assert store_problems(root, content=True) == []


def _fail_once(real: Callable[..., Any], when: Callable[..., bool], error: Callable[[], BaseException]):
    fired = []

    def fake(*args: Any, **kw: Any) -> Any:
        if not fired and when(*args, **kw):
            fired.append(args)
            raise error()
        return real(*args, **kw)

    fake.fired = fired  # type: ignore[attr-defined]
    return fake


def test_disk_full_while_writing_the_staged_object(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = current_hashes(project)
    real = content_module.write_parquet

    def half_written(df, path: Path) -> None:
        real(df, path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 3])  # the disk filled up part-way
        raise _enospc(str(path))

    monkeypatch.setattr(content_module, "write_parquet", half_written)
    code, out, data = _build(project)
    _assert_failed_cleanly(project, before, code, out, data, "mid")
    assert {a["name"]: a["status"] for a in data["assets"]}["down"] == "blocked"
    _then_recovers(project, monkeypatch)


def test_disk_full_while_moving_the_object_into_the_store(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = current_hashes(project)
    objects = str(project / ".assetbuild" / "objects")
    fake = _fail_once(os.replace, lambda src, dst, *a, **k: str(dst).startswith(objects), _enospc)
    monkeypatch.setattr(objects_module.os, "replace", fake)
    code, out, data = _build(project)
    assert fake.fired, "the object store never renamed a file into place"
    _assert_failed_cleanly(project, before, code, out, data, "mid")
    _then_recovers(project, monkeypatch)


class _FullConnection:
    """Wraps the build's SQLite connection; the first statement matching `pattern` hits a full disk."""

    def __init__(self, conn: sqlite3.Connection, pattern: str) -> None:
        self._conn = conn
        self._pattern = pattern
        self.fired = False

    def execute(self, sql: str, *args: Any) -> Any:
        if not self.fired and self._pattern in sql:
            self.fired = True
            raise _sqlite_full()
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _full_state(monkeypatch: pytest.MonkeyPatch, pattern: str) -> list[_FullConnection]:
    opened: list[_FullConnection] = []
    real_open = state_module.State.open.__func__  # type: ignore[attr-defined]

    def open_full(cls, store_dir: Path, readonly: bool = False):
        state = real_open(cls, store_dir, readonly)
        if state is not None and not readonly:
            state.conn = _FullConnection(state.conn, pattern)  # type: ignore[assignment]
            opened.append(state.conn)
        return state

    monkeypatch.setattr(state_module.State, "open", classmethod(open_full))
    return opened


def test_disk_full_while_recording_the_materialization(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = current_hashes(project)
    opened = _full_state(monkeypatch, "INSERT INTO materializations")
    code, out, data = _build(project)
    assert opened and opened[0].fired
    _assert_failed_cleanly(project, before, code, out, data, "mid")
    _then_recovers(project, monkeypatch)


def test_disk_full_while_storing_check_results(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = current_hashes(project)
    opened = _full_state(monkeypatch, "INTO checks")
    code, out, data = _build(project)
    assert opened and opened[0].fired
    _assert_failed_cleanly(project, before, code, out, data, "mid")
    _then_recovers(project, monkeypatch)


def test_disk_full_while_publishing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = current_hashes(project)
    opened = _full_state(monkeypatch, "INSERT INTO current")
    code, out, data = _build(project)
    assert opened and opened[0].fired
    _assert_failed_cleanly(project, before, code, out, data, "mid")
    _then_recovers(project, monkeypatch)


def test_disk_full_while_saving_the_definitions_cache_is_harmless(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parse cache is an optimisation: failing to save it must not fail the build."""
    cache = str(project / ".assetbuild" / "cache")
    fake = _fail_once(os.replace, lambda src, dst, *a, **k: str(dst).startswith(cache), _enospc)
    monkeypatch.setattr(os, "replace", fake)
    code, out, data = _build(project)
    assert fake.fired
    assert code == 0 and "Traceback" not in out, out
    assert store_problems(project, content=True) == []
