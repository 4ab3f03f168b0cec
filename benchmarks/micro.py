"""Micro-benchmarks, in process: file hashing, table content hash, fingerprints, scheduler, SQL query alone.

Each returns a dict of figures (seconds, rates) plus the raw samples; run.py turns them into the
report. Alternatives that are *not* what assetbuild does today are measured beside the real call
and labelled `alt:`, so a finding can say how much a proposed change would gain.
"""

from __future__ import annotations

import mmap
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def timed(fn: Callable[[], Any], runs: int, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def summary(samples: list[float]) -> dict[str, float]:
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


# -- file hashing ------------------------------------------------------------------------


def file_hashing(size_mib: int, runs: int, workdir: Path) -> dict[str, Any]:
    """GB/s of assetbuild.hashing.hash_file on a file already in the page cache, and what bounds it."""
    import xxhash

    from assetbuild.hashing import hash_file

    path = workdir / "hashme.bin"
    block = os.urandom(64 * 1024 * 1024)
    with open(path, "wb") as f:
        for _ in range(max(1, size_mib // 64)):
            f.write(block)
    size = path.stat().st_size
    hash_file(path)  # into the page cache

    def read_only(chunk: int) -> Callable[[], None]:
        def go() -> None:
            buf = bytearray(chunk)
            with open(path, "rb", buffering=0) as f:
                while f.readinto(buf):
                    pass

        return go

    def chunked(chunk: int) -> Callable[[], None]:
        def go() -> None:
            h = xxhash.xxh3_128()
            buf = bytearray(chunk)
            view = memoryview(buf)
            with open(path, "rb", buffering=0) as f:
                while n := f.readinto(buf):
                    h.update(view[:n])
            h.hexdigest()

        return go

    def mapped() -> None:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
            xxhash.xxh3_128(m).hexdigest()

    def mapped_populate() -> None:
        with open(path, "rb") as f:
            flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
            with mmap.mmap(f.fileno(), 0, flags=flags, prot=mmap.PROT_READ) as m:
                xxhash.xxh3_128(m).hexdigest()

    def mapped_chunks(chunk: int) -> Callable[[], None]:
        def go() -> None:
            h = xxhash.xxh3_128()
            with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
                mv = memoryview(m)
                for off in range(0, len(m), chunk):
                    h.update(mv[off : off + chunk])
                mv.release()
            h.hexdigest()

        return go

    mem = block[: 64 * 1024 * 1024]

    def in_memory() -> None:
        xxhash.xxh3_128(mem).hexdigest()

    variants: dict[str, tuple[Callable[[], None], int]] = {
        "assetbuild.hashing.hash_file": (lambda: hash_file(path), size),
        "alt: read only (4 MiB readinto, no hash)": (read_only(4 << 20), size),
        "alt: readinto 256 KiB chunks + xxh3": (chunked(256 << 10), size),
        "alt: readinto 1 MiB chunks + xxh3": (chunked(1 << 20), size),
        "alt: mmap whole file, one xxh3 call": (mapped, size),
        "alt: mmap MAP_POPULATE, one xxh3 call": (mapped_populate, size),
        "alt: mmap, xxh3.update per 1 MiB": (mapped_chunks(1 << 20), size),
        "alt: xxh3 of 64 MiB already in memory (hash speed bound)": (in_memory, len(mem)),
    }
    out: dict[str, Any] = {"file_bytes": size, "variants": {}}
    for label, (fn, nbytes) in variants.items():
        s = timed(fn, runs)
        out["variants"][label] = {
            **summary(s),
            "gbps": nbytes / statistics.median(s) / 1e9,
            "gbps_best": nbytes / min(s) / 1e9,
        }
    path.unlink()
    return out


# -- content hash ----------------------------------------------------------------------------


def content_hashing(rows: int, runs: int) -> dict[str, Any]:
    """assetbuild.executor.content.content_hash on a table shaped like the bench source, and its parts."""
    import polars as pl

    from assetbuild.executor.content import content_hash

    t = time.perf_counter()
    df = pl.DataFrame({"id": pl.int_range(0, rows, eager=True)}).with_columns(
        (pl.datetime(2024, 1, 1) + pl.duration(seconds=pl.col("id") * 37)).alias("ts"),
        ((pl.col("id") * 7919 % 55_000) / 100 - 50).alias("amount"),
        pl.format("u{}", (pl.col("id") * 31 % 1000).cast(pl.String).str.zfill(4)).alias("user_id"),
    )
    make_s = time.perf_counter() - t
    hashes = df.hash_rows(seed=0)
    parts: dict[str, Callable[[], Any]] = {
        "assetbuild content_hash": lambda: content_hash(df),
        "part: df.hash_rows(seed=0)": lambda: df.hash_rows(seed=0),
        "part: sort the row hashes": lambda: hashes.sort(),
        "alt: hash_rows + wrapping sum (order-free, no sort)": lambda: df.hash_rows(seed=0).sum(),
        "alt: 2 seeds, hash_rows + sum each (128-bit multiset)": lambda: (
            df.hash_rows(seed=0).sum(),
            df.hash_rows(seed=1).sum(),
        ),
        "alt: per-column hash, then combine + sum": lambda: df.select(pl.struct(pl.all()).hash(seed=0).sum()),
    }
    out: dict[str, Any] = {
        "rows": rows,
        "make_s": make_s,
        "estimated_mib": df.estimated_size() / 2**20,
        "parts": {},
    }
    for label, fn in parts.items():
        out["parts"][label] = summary(timed(fn, runs))
    return out


# -- fingerprints -------------------------------------------------------------------------------


def fingerprints(project: Path, max_sql: int, runs: int) -> dict[str, Any]:
    """Per-asset cost of parsing/fingerprinting the project's SQL (sqlglot) and Python (ast) files."""
    import sqlglot

    from assetbuild.definitions.python_assets import scan_python_file
    from assetbuild.definitions.sql_assets import analyze_sql

    sql_files = sorted((project / "assets").glob("*.sql"))[:max_sql]
    texts = [(p.read_text(), f"assets/{p.name}") for p in sql_files]
    py_files = sorted((project / "assets").glob("*.py"))

    def sql_all() -> None:
        for text, rel in texts:
            analyze_sql(text, rel)

    def sql_parse_only() -> None:
        for text, _ in texts:
            sqlglot.parse_one(text, read="duckdb")

    n_py = 0

    def py_all() -> None:
        nonlocal n_py
        n_py = 0
        for p in py_files:
            info = scan_python_file(p, f"assets/{p.name}", [p.parent, project], project)
            n_py += len(info.assets)

    out: dict[str, Any] = {"sql_files": len(texts), "py_files": len(py_files)}
    s = timed(sql_all, runs)
    out["sql_per_asset_ms"] = {k: v * 1000 / len(texts) if k != "n" else v for k, v in summary(s).items()}
    s = timed(sql_parse_only, runs)
    out["sql_parse_only_per_asset_ms"] = {
        k: v * 1000 / len(texts) if k != "n" else v for k, v in summary(s).items()
    }
    if py_files:
        s = timed(py_all, runs)
        out["py_assets"] = n_py
        out["py_per_asset_ms"] = {
            k: v * 1000 / max(n_py, 1) if k != "n" else v for k, v in summary(s).items()
        }
    return out


def import_costs(python: str, runs: int) -> dict[str, Any]:
    """Whole-process wall of importing what a no-op or a parse needs (interpreter start included)."""
    snippets = {
        "python -c pass": "pass",
        "import click": "import click",
        "import assetbuild.cli": "import assetbuild.cli",
        "import assetbuild.run.build": "import assetbuild.run.build",
        "import sqlglot": "import sqlglot",
        "import sqlglot + optimizer.qualify": "import sqlglot; from sqlglot.optimizer.qualify import qualify",
        "import polars": "import polars",
        "import duckdb": "import duckdb",
    }
    out = {}
    for label, code in snippets.items():

        def go(code: str = code) -> None:
            subprocess.run([python, "-c", code], check=True, capture_output=True)

        out[label] = summary(timed(go, runs))
    return out


# -- scheduler ------------------------------------------------------------------------------------


def scheduler_overhead(n: int, runs: int) -> dict[str, Any]:
    """Per-asset cost of assetbuild.core.scheduler.Scheduler alone on the bench DAG, with no real work."""
    import synth

    from assetbuild.core.scheduler import Scheduler

    _, nodes = synth.dag(n)
    order = ["raw"] + [nm for nm, *_ in nodes]
    deps = {"raw": []} | {nm: ups for nm, _, ups, *_ in nodes}

    def run(mode: str) -> None:
        def prepare(name: str, settled: dict[str, int]) -> Any:
            return 0 if mode == "settle" else (lambda: 0)

        Scheduler(
            order=order,
            deps=deps,
            jobs=2,
            prepare=prepare,
            is_failure=lambda r: False,
            blocked=lambda n, by: 1,
            skipped=lambda n: 2,
        ).run()

    out: dict[str, Any] = {"assets": len(order)}
    for mode, label in (
        ("settle", "settled at once (no-op path)"),
        ("work", "empty work on the thread pool (-j 2)"),
    ):
        s = timed(lambda mode=mode: run(mode), runs)
        out[label] = {k: v * 1e6 / len(order) if k != "n" else v for k, v in summary(s).items()}
    return out


# -- the SQL alone, for "overhead beyond the query" ------------------------------------------------


def query_alone(project: Path, sample: int, runs: int) -> dict[str, Any]:
    """Median wall of just the DuckDB query of built SQL assets (same engine settings as assetbuild's
    SqlEngine: one in-memory connection, temp views over the upstream Parquet objects, `.pl()`)."""
    import sqlite3

    import duckdb

    db = sqlite3.connect(project / ".assetbuild" / "state.db")
    rows = db.execute(
        "SELECT c.asset, m.object FROM current c JOIN materializations m ON m.id = c.materialization "
        "WHERE c.env = 'default'"
    ).fetchall()
    db.close()
    objects = {a: project / ".assetbuild" / "objects" / o for a, o in rows}
    sql_files = sorted((project / "assets").glob("*.sql"))
    step = max(1, len(sql_files) // sample)
    chosen = sql_files[::step][:sample]
    conn = duckdb.connect(":memory:")
    import re

    per_asset = []
    for p in chosen:
        sql = p.read_text()
        ups = sorted({u for u in re.findall(r"\bfrom (\w+)", sql) if u in objects})
        samples = []
        for _ in range(runs):
            t = time.perf_counter()
            cur = conn.cursor()
            for u in ups:
                cur.execute(f"CREATE TEMP VIEW \"{u}\" AS SELECT * FROM read_parquet('{objects[u]}')")
            cur.sql(sql).pl()
            cur.close()
            samples.append(time.perf_counter() - t)
        per_asset.append(statistics.median(samples))
    conn.close()
    return {"assets": len(chosen), **summary(per_asset)}


def main() -> None:  # handy by hand: python benchmarks/micro.py
    with tempfile.TemporaryDirectory() as d:
        print(file_hashing(256, 3, Path(d)))
    print(content_hashing(1_000_000, 3))
    print(scheduler_overhead(1000, 3))
    print(import_costs(sys.executable, 3))


if __name__ == "__main__":
    main()
