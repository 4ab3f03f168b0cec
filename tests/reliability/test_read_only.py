"""A built project can be read where it cannot be written: a read-only checkout or mount, or a
shared checkout that another user built. The read commands (`plan`, `show`, `show --rows`,
`history`, `query`, `report -o`, `graph`, `lineage`) answer as on a writable copy; what would
have to write (`report` to its default path, `graph -o`, `build`, `check`, `gc`) ends in exit 2
with a message naming the path and what to do, never in an internal error. A store whose
`objects/` cannot be written fails the asset (exit 1), like a full disk.

Root ignores file permissions, and these tests usually run as root. The CLI then runs as root
without the capabilities that bypass them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER,
dropped from the bounding set before exec): it is held to the permission bits like any user,
the owner's bits on files root owns and the others' bits on files given to `nobody`. (Switching
to `nobody` itself is no option here: the interpreter and pytest's temporary folders sit in
folders only root may enter.) Every test first proves that its reader really cannot write.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import assetbuild.executor.content as content_module
import assetbuild.trace.objects as objects_module
from assetbuild.cli.app import main

from ._support import CLI, build_json, cli_env, current_hashes, integrity, store_problems, write_files

_PR_CAPBSET_DROP = 24
_PERMISSION_CAPS = (1, 2, 3)  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER
NOBODY = 65534
ROOT = os.geteuid() == 0

FILES = {
    "assetbuild.toml": '[project]\nname = "ro"\n\n[sources.orders]\npath = "data/orders.csv"\n',
    "data/orders.csv": "id,day,amount\n"
    + "".join(f"{i},2024-01-{i % 5 + 1:02d},{(i * 7) % 50 - 5}\n" for i in range(200)),
    "assets/clean.py": (
        "import polars as pl\n\nfrom assetbuild import asset\n\n\n@asset()\n"
        "def clean(orders: pl.DataFrame) -> pl.DataFrame:\n"
        '    return orders.filter(pl.col("amount") > 0)\n'
    ),
    "assets/daily.sql": "SELECT day, sum(amount) AS revenue, count(*) AS n FROM clean GROUP BY day\n",
    "assets/report_rows.sql": "SELECT * FROM daily WHERE revenue > 0\n",
    "rules/daily.yaml": "asset: daily\ncolumns:\n  revenue: {min: 0}\n  day: {nullable: false, unique: true}\n",
}
ASSETS = ("orders", "clean", "daily", "report_rows")


def _held_to_permissions() -> None:
    """In the child, before exec: give up what lets root ignore permission bits."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in _PERMISSION_CAPS:
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _as_reader() -> dict[str, Any]:
    return {"preexec_fn": _held_to_permissions} if ROOT else {}


def reader(root: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`assetbuild --project ROOT ARGS...` as a user who cannot write what the test made read-only."""
    return subprocess.run(
        [*CLI, "--project", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=cli_env(),
        cwd=cwd or root,
        **_as_reader(),
    )


def _can_write(path: Path) -> bool:
    """Whether the reader could write `path` (a file: append; a folder: create a file in it)."""
    probe = (
        "import os, sys\np = sys.argv[1]\n"
        "try:\n"
        "    if os.path.isdir(p):\n"
        "        f = os.path.join(p, '.probe'); open(f, 'w').close(); os.unlink(f)\n"
        "    else:\n"
        "        open(p, 'a').close()\n"
        "except OSError:\n    sys.exit(1)\n"
    )
    r = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, **_as_reader())
    return r.returncode == 0


def _walk(root: Path) -> Iterator[Path]:
    yield root
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            yield Path(folder) / name


def _read_only(root: Path) -> None:
    """As a read-only checkout or mount: nothing is writable, for anyone."""
    for p in _walk(root):
        if not p.is_symlink():
            p.chmod(stat.S_IMODE(p.stat().st_mode) & ~0o222)


def _given_away(root: Path) -> None:
    """As a checkout another user built and shares: the owner's files, with the modes the build
    left (readable, writable by the owner only). Without root no file can be given away: the
    folder is made read-only instead, which is what the reader meets."""
    if not ROOT:
        _read_only(root)
        return
    for p in _walk(root):
        os.chown(p, NOBODY, NOBODY, follow_symlinks=False)


SETUPS: dict[str, Callable[[Path], None]] = {"read_only_checkout": _read_only, "shared_checkout": _given_away}


def _writable_again(root: Path) -> None:
    for p in _walk(root):
        if not p.is_symlink():
            if ROOT:
                os.chown(p, 0, 0, follow_symlinks=False)
            p.chmod(stat.S_IMODE(p.stat().st_mode) | 0o200)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ro") / "built"
    write_files(root, FILES)
    result = build_json(root)
    assert {a["status"] for a in result["assets"]} == {"built"}, result
    return root


@pytest.fixture(scope="module", params=sorted(SETUPS))
def locked(
    request: pytest.FixtureRequest, built: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """A copy of the built project the reader can read and cannot write (one setup per param)."""
    root = shutil.copytree(built, tmp_path_factory.mktemp(request.param) / "p", symlinks=True)
    SETUPS[request.param](root)
    store = root / ".assetbuild"
    writable = [
        p for p in (root, store, store / "state.db", store / "objects", store / "cache") if _can_write(p)
    ]
    assert not writable, f"the reader can still write {writable}: this test would prove nothing"
    yield root
    _writable_again(root)


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.lstat().st_size, p.lstat().st_mtime_ns) for p in _walk(root)}


def _clean(r: subprocess.CompletedProcess[str]) -> str:
    out = r.stdout + r.stderr
    assert "Traceback" not in out and "internal error" not in out, out
    return out


def _json_of(r: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(r.stdout[r.stdout.index("{") :])


# -- reading ------------------------------------------------------------------------------


def _plan(root: Path, out: Path) -> None:
    r = reader(root, "plan", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert {a["name"]: a["status"] for a in _json_of(r)["assets"]} == dict.fromkeys(ASSETS, "up_to_date")
    r = reader(root, "plan")
    assert r.returncode == 0, r.stderr


def _show(root: Path, out: Path) -> None:
    r = reader(root, "show", "daily", "--format", "json")
    assert r.returncode == 0, r.stderr
    info = _json_of(r)
    assert info["current"]["rows"] == 5 and info["checks"] and all(c["passed"] for c in info["checks"]), info
    r = reader(root, "show", "daily")
    assert r.returncode == 0 and "5 rows" in r.stdout, r.stdout + r.stderr
    r = reader(root, "show", "orders", "--format", "json")  # a source: its files are hashed
    assert r.returncode == 0 and [f["path"] for f in _json_of(r)["files"]] == ["data/orders.csv"], r.stderr


def _show_rows(root: Path, out: Path) -> None:
    r = reader(root, "show", "daily", "--rows", "3", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert len(_json_of(r)["preview"]) == 3
    r = reader(root, "show", "clean", "--rows", "2")
    assert r.returncode == 0 and "amount" in r.stdout, r.stdout + r.stderr


def _history(root: Path, out: Path) -> None:
    r = reader(root, "history", "daily", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert [m["current"] for m in _json_of(r)["materializations"]] == [True]
    assert reader(root, "history", "daily").returncode == 0


def _query(root: Path, out: Path) -> None:
    r = reader(
        root,
        "query",
        "SELECT CAST(sum(d.n) AS BIGINT) AS n FROM daily d JOIN report_rows USING (day)",
        "--format",
        "json",
    )
    assert r.returncode == 0, r.stderr
    expected = sum(1 for i in range(200) if (i * 7) % 50 - 5 > 0)
    assert _json_of(r)["rows"] == [[expected]], r.stdout
    r = reader(root, "query", "SELECT * FROM clean ORDER BY id LIMIT 3", "--format", "csv")
    assert r.returncode == 0 and r.stdout.startswith("id,day,amount"), r.stdout + r.stderr


def _report(root: Path, out: Path) -> None:
    page = out / "report.html"
    r = reader(root, "report", "-o", str(page), "--format", "json")
    assert r.returncode == 0, r.stderr
    assert _json_of(r)["assets"] == len(ASSETS), r.stdout
    assert "daily" in page.read_text()


def _graph(root: Path, out: Path) -> None:
    r = reader(root, "graph")
    assert r.returncode == 0 and "daily" in r.stdout, r.stderr
    page = out / "graph.html"
    r = reader(root, "graph", "--format", "html", "-o", str(page))
    assert r.returncode == 0 and "daily" in page.read_text(), r.stderr


def _lineage(root: Path, out: Path) -> None:
    r = reader(root, "lineage", "--format", "json")
    assert r.returncode == 0, r.stderr
    r = reader(root, "lineage", "report_rows", "--columns")
    # `SELECT *` is expanded from the stored schema of daily: the store was read
    assert r.returncode == 0 and "revenue" in r.stdout, r.stdout + r.stderr


READS: dict[str, Callable[[Path, Path], None]] = {
    "plan": _plan,
    "show": _show,
    "show_rows": _show_rows,
    "history": _history,
    "query": _query,
    "report": _report,
    "graph": _graph,
    "lineage": _lineage,
}


@pytest.mark.parametrize("command", list(READS))
def test_read_commands_work_where_nothing_can_be_written(locked: Path, command: str, tmp_path: Path) -> None:
    out = tmp_path / "out"  # where the reader may write what it was asked to (report -o, graph -o)
    out.mkdir()
    before = _tree(locked)
    READS[command](locked, out)
    assert _tree(locked) == before


def test_a_never_built_read_only_project_can_be_planned_and_shown(tmp_path: Path) -> None:
    root = tmp_path / "p"
    write_files(root, FILES)
    _read_only(root)
    try:
        assert not _can_write(root)
        r = reader(root, "plan", "--format", "json")
        _clean(r)
        assert r.returncode == 0, r.stderr
        status = {a["name"]: a["status"] for a in _json_of(r)["assets"]}
        assert status == {
            "orders": "will_build",
            "clean": "pending",
            "daily": "pending",
            "report_rows": "pending",
        }
        r = reader(root, "show", "daily")
        assert r.returncode == 0 and "never built" in r.stdout, r.stdout + r.stderr
        r = reader(root, "build")
        _clean(r)
        assert r.returncode == 2, r.stdout + r.stderr
        assert str(root) in r.stderr and "read-only" in r.stderr, r.stderr
        assert not (root / ".assetbuild").exists()
    finally:
        _writable_again(root)


SPILLING_QUERY = """\
import sys

import duckdb

real = duckdb.connect


def small(*args, config=None, **kw):  # little memory, so that the sort below spills to disk
    return real(*args, config={**(config or {}), "memory_limit": "30MB", "threads": 1}, **kw)


duckdb.connect = small
from assetbuild.run.read import query

sql = "SELECT count(DISTINCT h) AS n FROM (SELECT md5(i::VARCHAR) AS h FROM range(600000) t(i) ORDER BY h)"
print(query(sys.argv[1], sql).item())
"""


def test_a_query_that_spills_to_disk_writes_nothing_in_the_project(built: Path, tmp_path: Path) -> None:
    """DuckDB spills a query bigger than memory into `.tmp/` of the current folder by default:
    run from inside a read-only project, that fails (and in a writable one, litters it)."""
    locked = shutil.copytree(built, tmp_path / "p", symlinks=True)
    _read_only(locked)
    assert not _can_write(locked)
    before = _tree(locked)
    r = subprocess.run(
        [sys.executable, "-c", SPILLING_QUERY, str(locked)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=locked,
        env=cli_env(),
        **_as_reader(),
    )
    assert r.returncode == 0 and r.stdout.strip() == "600000", r.stdout + r.stderr[-2000:]
    assert _tree(locked) == before
    _writable_again(locked)


# -- what would write ----------------------------------------------------------------------


def test_report_to_its_default_path_names_the_path_and_the_output_option(locked: Path) -> None:
    page = locked / ".assetbuild" / "report.html"
    for fmt in ("text", "json"):
        r = reader(locked, "report", "--format", fmt)
        _clean(r)
        assert r.returncode == 2, r.stdout + r.stderr
        assert str(page) in r.stderr and "--output" in r.stderr, r.stderr
        if fmt == "json":
            assert str(page) in _json_of(r)["error"]
    assert not page.exists()


def test_report_and_graph_to_a_folder_they_cannot_write_exit_2(locked: Path) -> None:
    target = locked / "docs" / "page.html"  # under the read-only project: cannot be created
    for args in (("report", "-o", str(target)), ("graph", "--format", "html", "-o", str(target))):
        r = reader(locked, *args)
        _clean(r)
        assert r.returncode == 2, (args, r.stdout + r.stderr)
        assert str(target) in r.stderr, (args, r.stderr)
    assert not target.parent.exists()


def test_init_where_it_cannot_write_names_the_folder(locked: Path) -> None:
    """A file operation the machine refuses, where no message of ours explains it, is the user's
    environment (exit 2, naming the path), not an internal error."""
    target = locked / "new_project"
    r = subprocess.run(
        [*CLI, "init", str(target)], capture_output=True, text=True, env=cli_env(), cwd=locked, **_as_reader()
    )
    _clean(r)
    assert r.returncode == 2 and str(target) in r.stderr and "Permission denied" in r.stderr, r.stderr
    assert not target.exists()


@pytest.mark.parametrize("command", [("build",), ("build", "--force"), ("check",), ("gc",)])
def test_writing_commands_say_the_store_is_read_only(locked: Path, command: tuple[str, ...]) -> None:
    before = _tree(locked)
    for fmt in ("text", "json"):
        r = reader(locked, *command, "--format", fmt)
        _clean(r)
        assert r.returncode == 2, (command, r.stdout + r.stderr)
        assert str(locked / ".assetbuild") in r.stderr and "read-only" in r.stderr, r.stderr
        if fmt == "json":
            assert "read-only" in _json_of(r)["error"]
    assert _tree(locked) == before


def test_a_read_only_state_db_in_a_writable_store_is_exit_2(built: Path, tmp_path: Path) -> None:
    """Only state.db read-only: the build cannot record anything, and must say so at once."""
    root = shutil.copytree(built, tmp_path / "p", symlinks=True)
    db = root / ".assetbuild" / "state.db"
    db.chmod(0o444)
    assert not _can_write(db)
    before = current_hashes(root)
    write_files(root, {"assets/daily.sql": FILES["assets/daily.sql"].replace("count(*)", "count(id)")})
    r = reader(root, "build")
    _clean(r)
    assert r.returncode == 2, r.stdout + r.stderr
    assert str(db) in r.stderr and "read-only" in r.stderr, r.stderr
    db.chmod(0o644)
    assert current_hashes(root) == before and integrity(root) == "ok"


# -- the store's WAL, where the reader cannot write ---------------------------------------


def test_a_reader_sees_what_is_only_in_the_wal_of_a_store_it_cannot_write(
    built: Path, tmp_path: Path
) -> None:
    """The owner's process keeps state.db open while a build commits: the newest data is in
    state.db-wal, not yet in state.db. A reader who cannot write must still see it (reading
    state.db alone, as `immutable=1` would, shows the build before)."""
    root = shutil.copytree(built, tmp_path / "p", symlinks=True)
    holder = sqlite3.connect(root / ".assetbuild" / "state.db", isolation_level=None)
    try:
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM current").fetchone()  # a snapshot: no checkpoint past it
        write_files(root, {"data/orders.csv": FILES["data/orders.csv"] + "999,2024-01-01,1000\n"})
        result = build_json(root)
        new = {a["name"]: a["content_hash"] for a in result["assets"]}
        holder.execute("COMMIT")
        assert (root / ".assetbuild" / "state.db-wal").stat().st_size > 0
        _given_away(root)
        assert not _can_write(root / ".assetbuild")
        r = reader(root, "show", "daily", "--format", "json")
        _clean(r)
        assert r.returncode == 0, r.stderr
        assert _json_of(r)["current"]["content_hash"] == new["daily"]
    finally:
        holder.close()
        _writable_again(root)


def test_a_copy_taken_while_the_store_was_open_reads_its_newest_data(built: Path, tmp_path: Path) -> None:
    """A copy made while a process held state.db open (a backup, `cp -r` during a build) has a
    state.db-wal with committed data and may lack state.db-shm; read-only, it still reads."""
    live = shutil.copytree(built, tmp_path / "live", symlinks=True)
    holder = sqlite3.connect(live / ".assetbuild" / "state.db", isolation_level=None)
    try:
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM current").fetchone()
        write_files(live, {"data/orders.csv": FILES["data/orders.csv"] + "999,2024-01-01,1000\n"})
        new = {a["name"]: a["content_hash"] for a in build_json(live)["assets"]}
        holder.execute("COMMIT")
        copy = shutil.copytree(live, tmp_path / "copy", symlinks=True, ignore=shutil.ignore_patterns("*-shm"))
    finally:
        holder.close()
    assert (copy / ".assetbuild" / "state.db-wal").stat().st_size > 0
    _read_only(copy)
    try:
        for asset in ("daily", "clean"):
            r = reader(copy, "show", asset, "--format", "json")
            _clean(r)
            assert r.returncode == 0, r.stderr
            assert _json_of(r)["current"]["content_hash"] == new[asset]
        r = reader(copy, "plan", "--format", "json")
        assert r.returncode == 0 and {a["status"] for a in _json_of(r)["assets"]} == {"up_to_date"}, r.stderr
    finally:
        _writable_again(copy)


# -- a store whose objects cannot be written, during a build ------------------------------

CHANGE = {"assets/daily.sql": FILES["assets/daily.sql"].replace("sum(amount)", "sum(amount) * 2")}


def test_a_read_only_objects_folder_fails_the_asset_with_exit_1(built: Path, tmp_path: Path) -> None:
    """Real permissions: everything writable but `.assetbuild/objects/` (and its shards)."""
    root = shutil.copytree(built, tmp_path / "p", symlinks=True)
    before = current_hashes(root)
    write_files(root, CHANGE)
    objects = root / ".assetbuild" / "objects"
    _read_only(objects)
    try:
        assert not _can_write(objects) and _can_write(root / ".assetbuild" / "state.db")
        r = reader(root, "build", "--format", "json")
        _clean(r)
        assert r.returncode == 1, r.stdout + r.stderr
        status = {a["name"]: a for a in _json_of(r)["assets"]}
        assert status["daily"]["status"] == "failed", status["daily"]
        assert "Permission denied" in status["daily"]["reason"] and "objects" in status["daily"]["reason"]
        assert status["report_rows"]["status"] == "blocked"
    finally:
        _writable_again(objects)
    assert current_hashes(root) == before and integrity(root) == "ok" and store_problems(root) == []
    assert build_json(root)["summary"].get("built") == 2


def _in_process_build(root: Path) -> tuple[int, str, dict[str, Any] | None]:
    r = CliRunner().invoke(main, ["--project", str(root), "build", "--format", "json"])
    out = r.output
    if r.exception is not None and not isinstance(r.exception, SystemExit):
        out += f"\n(exception escaped: {r.exception!r})"
    try:
        return r.exit_code, out, json.loads(r.stdout[r.stdout.index("{") :])
    except ValueError:
        return r.exit_code, out, None


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
@pytest.mark.parametrize("seam", ["write_parquet", "rename_into_objects"])
def test_a_store_turning_read_only_mid_build_fails_the_asset(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seam: str, code: int
) -> None:
    """EROFS (a remount read-only) or EACCES while writing the staged Parquet or renaming it into
    `objects/`: the asset fails naming the OS error, exit 1, and the store is as before."""
    root = shutil.copytree(built, tmp_path / "p", symlinks=True)
    before = current_hashes(root)
    write_files(root, CHANGE)
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    monkeypatch.delenv("ASSETBUILD_DEBUG", raising=False)
    fired: list[object] = []
    error = OSError(code, os.strerror(code))
    if seam == "write_parquet":
        real_write = content_module.write_parquet

        def refuse_write(df: Any, path: Path) -> None:
            fired.append(path)
            raise error

        monkeypatch.setattr(content_module, "write_parquet", refuse_write)
        assert real_write is not None
    else:
        real_replace = os.replace
        target = str(root / ".assetbuild" / "objects")

        def refuse_rename(src: Any, dst: Any, *a: Any, **k: Any) -> None:
            if str(dst).startswith(target):
                fired.append(dst)
                raise error
            real_replace(src, dst, *a, **k)

        monkeypatch.setattr(objects_module.os, "replace", refuse_rename)
    exit_code, out, data = _in_process_build(root)
    assert fired, "the seam was never reached"
    assert "Traceback" not in out and "internal error" not in out and "exception escaped" not in out, out
    assert exit_code == 1, out
    assert data is not None, out
    status = {a["name"]: a for a in data["assets"]}
    assert status["daily"]["status"] == "failed" and os.strerror(code) in status["daily"]["reason"], status
    monkeypatch.undo()
    assert current_hashes(root) == before and integrity(root) == "ok" and store_problems(root) == []
