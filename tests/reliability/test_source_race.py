"""A source file that changes while a build reads it is detected: the source fails with a message
naming the file, and no materialization is ever recorded whose data does not match the file hash
in its build key (executor/source.py)."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from pathlib import Path

import polars as pl
import pytest

import assetbuild.run.build as build_module
from assetbuild.definitions.loader import load_project
from assetbuild.errors import AssetFailure
from assetbuild.executor.source import read_source
from assetbuild.model.assets import SourceFile
from assetbuild.run.build import build
from assetbuild.sources.probe import observe

from ._support import (
    build_json,
    current_hashes,
    db_path,
    hashes_of,
    run_cli,
    store_problems,
    write_files,
)

V1 = "id,v\n" + "".join(f"{i},{i}\n" for i in range(3000))
V2 = "id,v\n" + "".join(f"{i},{i * 2}\n" for i in range(3000, 5500))


def _project(root: Path, data: str = V1) -> None:
    write_files(
        root,
        {
            "assetbuild.toml": '[project]\nname = "race"\n\n[sources.src]\npath = "data/src.csv"\n',
            "data/src.csv": data,
            "assets/total.sql": "SELECT count(*) AS n, sum(v) AS s FROM src\n",
        },
    )


def _src_materializations(root: Path) -> list[tuple[str, str]]:
    """(file hash in the build key, content hash) of every materialization of `src`."""
    conn = sqlite3.connect(db_path(root))
    try:
        rows = conn.execute(
            "SELECT key_parts, content_hash FROM materializations WHERE asset = 'src'"
        ).fetchall()
    finally:
        conn.close()
    out = []
    for parts, content in rows:
        ((name, file_hash),) = json.loads(parts)["inputs"]
        assert name == "file:data/src.csv"
        out.append((file_hash, content))
    return out


@pytest.fixture
def ref_hashes(tmp_path: Path) -> dict[str, dict[str, str | None]]:
    """{file hash: {asset: content hash}} of a clean build of each version of the data."""
    out = {}
    for i, data in enumerate((V1, V2)):
        root = tmp_path / f"ref{i}"
        _project(root, data)
        out[_observed(root).hash] = hashes_of(build_json(root))
    return out


def test_read_source_refuses_a_file_whose_hash_does_not_match(tmp_path: Path) -> None:
    _project(tmp_path)
    project = load_project(tmp_path)
    f = _observed(tmp_path)
    stale = SourceFile(path=f.path, hash="0" * 32, size=f.size)
    with pytest.raises(AssetFailure, match=r"data/src\.csv changed"):
        read_source(project.root, project.assets["src"], (stale,))
    assert read_source(project.root, project.assets["src"], (f,)).height == 3000


def test_file_changed_after_loading_fails_the_source_and_records_nothing(tmp_path: Path, monkeypatch) -> None:
    """The file changes between the moment the build hashed it (deciding the key) and its read."""
    _project(tmp_path)
    before = hashes_of(build_json(tmp_path))
    write_files(tmp_path, {"data/src.csv": V1 + "9999,1\n"})  # the build will decide on this version

    def observe_then_change(*args, **kw):
        seen = observe(*args, **kw)
        write_files(tmp_path, {"data/src.csv": V2})  # ... and read this one
        return seen

    monkeypatch.setattr(build_module, "observe", observe_then_change)
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    result = build(tmp_path, lineage=False)
    src = next(a for a in result.assets if a.name == "src")
    assert src.status.value == "failed"
    assert "data/src.csv changed while it was being read" in src.reason
    assert current_hashes(tmp_path) == before
    assert len(_src_materializations(tmp_path)) == 1  # only the first build's
    monkeypatch.undo()
    # Once the file is stable, the next build records it under its own hash.
    r = run_cli(tmp_path, "build", "--format", "json")
    assert r.returncode == 0, r.stderr
    h = _observed(tmp_path).hash
    assert (h, current_hashes(tmp_path)["src"]) in _src_materializations(tmp_path)


def test_file_changed_and_changed_back_during_the_read_is_not_recorded_under_the_wrong_hash(
    tmp_path: Path, monkeypatch, ref_hashes
) -> None:
    """A-B-A: the reader sees version 2 while the file holds version 1 before and after the read.
    Re-hashing the path after the read cannot see it; hashing the bytes that were parsed can."""
    _project(tmp_path)
    write_files(tmp_path, {"data/src.csv": V1 + "9999,1\n"})  # a version never built, so `src` runs
    write_files(tmp_path, {"data/src.csv": V1})
    real_read_csv = pl.read_csv

    def read_while_another_writer_flips(source, *args, **kw):
        if isinstance(source, (str, os.PathLike)):
            write_files(tmp_path, {"data/src.csv": V2})
            try:
                return real_read_csv(source, *args, **kw)
            finally:
                write_files(tmp_path, {"data/src.csv": V1})
        return real_read_csv(source, *args, **kw)

    monkeypatch.setattr(pl, "read_csv", read_while_another_writer_flips)
    monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
    result = build(tmp_path, ["src"], force=True, lineage=False)
    src = next(a for a in result.assets if a.name == "src")
    assert src.status.value in ("built", "failed"), src
    for file_hash, content in _src_materializations(tmp_path):
        assert content == ref_hashes[file_hash]["src"], "data recorded under another file's hash"
    assert store_problems(tmp_path) == []


@pytest.mark.slow
def test_a_writer_replacing_the_file_during_builds_never_gets_a_wrong_hash_recorded(
    tmp_path: Path, ref_hashes
) -> None:
    """Random timing: a writer atomically swaps two versions of the file while builds run."""
    _project(tmp_path)
    build_json(tmp_path)
    stop = threading.Event()

    def writer() -> None:
        flip = 0
        while not stop.is_set():
            flip ^= 1
            tmp = tmp_path / "data" / ".src.csv.tmp"
            tmp.write_text(V2 if flip else V1)
            os.replace(tmp, tmp_path / "data" / "src.csv")
            time.sleep(0.003 * (1 + flip))

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    codes: dict[int, int] = {}
    try:
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline:
            r = run_cli(tmp_path, "build", "--force", "--format", "json")
            codes[r.returncode] = codes.get(r.returncode, 0) + 1
            out = r.stdout + r.stderr
            assert r.returncode in (0, 1) and "Traceback" not in out, out
            if r.returncode == 1:
                failed = [a for a in json.loads(r.stdout)["assets"] if a["status"] == "failed"]
                assert [a["name"] for a in failed] == ["src"], failed
                assert "data/src.csv changed while it was being read" in failed[0]["reason"]
    finally:
        stop.set()
        t.join()
    print(f"\nbuild exit codes while the file was being replaced: {codes}")
    for file_hash, content in _src_materializations(tmp_path):
        assert file_hash in ref_hashes, "a file hash of neither version"
        assert content == ref_hashes[file_hash]["src"], "data recorded under another file's hash"
    assert store_problems(tmp_path, content=True) == []


def _observed(root: Path) -> SourceFile:
    """The one file of source `src` as a build would see it now."""
    return observe(load_project(root), ["src"])["src"].files[0]
