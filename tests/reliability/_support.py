"""Shared by the reliability tests: throwaway projects, the CLI in a subprocess, and store audits.

The audits read `.assetbuild/` directly (SQLite and the object files), never through assetbuild's
own code, so that a bug in the store cannot vouch for itself.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import xxhash

REPO = Path(__file__).resolve().parents[2]
_SCRIPT = Path(sys.executable).with_name("assetbuild")
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "assetbuild.cli.app"]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a CLI run: lineage off, no inherited OpenLineage settings, no debug mode."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENLINEAGE_", "ASSETBUILD_"))}
    env["OPENLINEAGE_DISABLED"] = "true"
    env.update(extra)
    return env


def run_cli(root: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None):
    """`assetbuild --project ROOT ARGS...` in a subprocess, from inside the project folder."""
    return subprocess.run(
        [*CLI, "--project", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or cli_env(),
        cwd=root,
    )


def popen_cli(root: Path, *args: str, **kw):
    kw.setdefault("stdout", subprocess.DEVNULL)
    kw.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen([*CLI, "--project", str(root), *args], env=cli_env(), cwd=root, **kw)


def parse_json(stdout: str) -> dict:
    start = stdout.find("{")
    assert start >= 0, f"no JSON object on stdout: {stdout[:300]!r}"
    return json.loads(stdout[start:])


def build_json(root: Path, *args: str, expect: tuple[int, ...] = (0,)) -> dict:
    r = run_cli(root, "build", "--format", "json", *args)
    assert r.returncode in expect, (
        f"build {args} exited {r.returncode}:\n{r.stderr[-2000:]}\n{r.stdout[-2000:]}"
    )
    assert "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
    return parse_json(r.stdout)


def hashes_of(result: dict) -> dict[str, str | None]:
    return {a["name"]: a.get("content_hash") for a in result["assets"]}


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            p.write_bytes(text)
        else:
            p.write_text(text, encoding="utf-8")


def copy_project(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


# -- the store, read from the outside --------------------------------------------------------


def db_path(root: Path) -> Path:
    return root / ".assetbuild" / "state.db"


def integrity(root: Path) -> str:
    conn = sqlite3.connect(db_path(root))
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def current_rows(root: Path) -> dict[str, dict]:
    """{asset: its `current` row joined with its materialization}, for the default environment."""
    conn = sqlite3.connect(db_path(root))
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute(
            "SELECT c.asset, c.checks_passed, m.content_hash, m.object, m.object_size, m.file_hash, m.quarantined "
            "FROM current c JOIN materializations m ON m.id = c.materialization WHERE c.env = 'default'"
        ).fetchall()
        dangling = conn.execute(
            "SELECT asset FROM current c WHERE NOT EXISTS (SELECT 1 FROM materializations m WHERE m.id = c.materialization)"
        ).fetchall()
    finally:
        conn.close()
    assert not dangling, f"current rows point at no materialization: {[d[0] for d in dangling]}"
    return {r["asset"]: dict(r) for r in rows}


def current_hashes(root: Path) -> dict[str, str]:
    return {a: r["content_hash"] for a, r in current_rows(root).items()}


def store_problems(root: Path, content: bool = False) -> list[str]:
    """What is wrong with the published state: each `current` must point at a complete, checked,
    unquarantined object with the recorded size and byte hash (and, with `content`, whose table
    has the recorded content hash)."""
    problems = []
    objects = root / ".assetbuild" / "objects"
    for asset, r in sorted(current_rows(root).items()):
        p = objects / r["object"]
        if not p.is_file():
            problems.append(f"{asset}: object {r['object']} is missing")
            continue
        data = p.read_bytes()
        if len(data) != r["object_size"]:
            problems.append(f"{asset}: object has {len(data)} bytes, recorded {r['object_size']}")
        elif xxhash.xxh3_128_hexdigest(data) != r["file_hash"]:
            problems.append(f"{asset}: object bytes do not match the recorded file hash")
        elif content:
            import polars as pl

            from assetbuild.executor.content import content_hash

            got = content_hash(pl.read_parquet(p))
            if got != r["content_hash"]:
                problems.append(f"{asset}: object holds content {got}, recorded {r['content_hash']}")
        if r["quarantined"]:
            problems.append(f"{asset}: current points at a quarantined materialization")
        if not r["checks_passed"]:
            problems.append(f"{asset}: current points at data that failed its checks")
    return problems


def staging_leftovers(root: Path) -> list[str]:
    staging = root / ".assetbuild" / "staging"
    return sorted(p.name for p in staging.iterdir()) if staging.is_dir() else []


def object_path(root: Path, asset: str) -> Path:
    return root / ".assetbuild" / "objects" / current_rows(root)[asset]["object"]


# -- projects --------------------------------------------------------------------------------


def orders_csv(month: int, n: int, variant: int = 0) -> str:
    lines = ["order_id,customer_id,amount,day"]
    for i in range(n):
        oid = month * 100_000 + i
        # quarters are exact in binary, so float sums do not depend on the order DuckDB adds them in
        amount = ((i * 37 + variant * 11) % 997 - 20) / 4  # some negatives, to be filtered
        lines.append(f"{oid},c{i % 211:04d},{amount},2024-{month:02d}-{(i % 28) + 1:02d}")
    return "\n".join(lines) + "\n"


def customers_csv() -> str:
    segs = ("retail", "smb", "enterprise")
    countries = ("DE", "FR", "NL", "US", "JP")
    rows = [f"c{i:04d},{countries[i % 5]},{segs[i % 3]}" for i in range(211)]
    return "customer_id,country,segment\n" + "\n".join(rows) + "\n"


PY_ASSETS = '''\
"""Python assets of the reliability project."""
import polars as pl

from assetbuild import asset

MIN_AMOUNT = 0.0


@asset(description="orders with a positive amount, one row per order id", tags=["core"])
def clean_orders(orders: pl.DataFrame) -> pl.DataFrame:
    return orders.unique("order_id").filter(pl.col("amount") > MIN_AMOUNT)


@asset(tags=["core"])
def customer_dim(customers: pl.DataFrame) -> pl.DataFrame:
    return customers.with_columns(pl.col("country").str.to_lowercase().alias("country_code"))


@asset()
def order_facts(clean_orders: pl.DataFrame, customer_dim: pl.DataFrame) -> pl.DataFrame:
    return clean_orders.join(customer_dim, on="customer_id", how="left")


@asset()
def segment_stats(order_facts: pl.LazyFrame) -> pl.LazyFrame:
    return order_facts.group_by("segment").agg(pl.col("amount").sum().alias("revenue"), pl.len().alias("n"))
'''

PY_FEATURES = '''\
"""More Python assets, over SQL ones."""
import polars as pl

from assetbuild import asset


@asset()
def py_top_customers(s05: pl.DataFrame) -> pl.DataFrame:
    # every column breaks ties: SQL promises no row order, and head() must not depend on it
    return s05.sort(["v", *[c for c in s05.columns if c != "v"]], descending=True).head(50)


@asset()
def py_country_mix(order_facts: pl.DataFrame) -> pl.DataFrame:
    return order_facts.group_by("country").agg(pl.col("amount").mean().alias("avg_amount")).sort("country")


@asset()
def py_wide(s10: pl.DataFrame, s11: pl.DataFrame) -> pl.DataFrame:
    return s10.join(s11, on="customer_id", how="inner", suffix="_b")
'''


def reliability_project(
    n_sql: int = 30, rows_per_month: int = 1500, variant: int = 0, rules: bool | None = None
):
    """A realistic project: 2 CSV sources (one a glob over 2 files), 7 Python assets, `n_sql` SQL
    assets in layers, a SQL asset `zz_all` reading every other derived asset, and (when the rules
    engine is there) rule files on every SQL asset and a few others. Returns (files, derived asset names)."""
    files: dict[str, str | bytes] = {
        "assetbuild.toml": (
            '[project]\nname = "reliability"\n\n'
            '[sources.orders]\npath = "data/orders/*.csv"\n\n'
            '[sources.customers]\npath = "data/customers.csv"\n'
        ),
        "data/orders/2024-01.csv": orders_csv(1, rows_per_month, variant),
        "data/orders/2024-02.csv": orders_csv(2, rows_per_month, variant),
        "data/customers.csv": customers_csv(),
        "assets/core.py": PY_ASSETS,
        "assets/features.py": PY_FEATURES,
    }
    names = [
        "clean_orders",
        "customer_dim",
        "order_facts",
        "segment_stats",
        "py_top_customers",
        "py_country_mix",
        "py_wide",
    ]
    sql_names = []
    for i in range(n_sql):
        name = f"s{i:02d}"
        if i < 10:
            sql = (
                f"SELECT customer_id, count(*) AS n, sum(amount) + {i} AS v\n"
                f"FROM order_facts\nWHERE day >= DATE '2024-01-{(i % 27) + 1:02d}'\nGROUP BY customer_id\n"
            )
        else:
            a, b = sql_names[(i * 7) % len(sql_names)], sql_names[(i * 3 + 1) % len(sql_names)]
            if a == b:
                b = sql_names[(i + 1) % len(sql_names)]
            sql = (
                f"SELECT x.customer_id, x.n + y.n AS n, x.v * 0.5 + y.v AS v\n"
                f"FROM {a} x JOIN {b} y ON x.customer_id = y.customer_id\nWHERE x.v > {i % 5}\n"
            )
        files[f"assets/{name}.sql"] = sql
        sql_names.append(name)
    names += sql_names
    files["assets/zz_all.sql"] = reader_sql(names, 0)
    if rules is None or rules:
        files["rules/clean_orders.yaml"] = (
            "asset: clean_orders\ncolumns:\n  order_id: {nullable: false, unique: true}\n"
            "  amount: {min: 0}\ntable:\n  row_count: {min: 1}\n"
        )
        for name in sql_names:  # checks on every SQL asset: a kill often lands while they run
            files[f"rules/{name}.yaml"] = (
                f"asset: {name}\ncolumns:\n  customer_id: {{nullable: false, unique: true}}\n  n: {{min: 1}}\n"
                "table:\n  row_count: {min: 1}\n"
            )
        files["rules/zz_all.yaml"] = "asset: zz_all\ntable:\n  row_count: {min: 1}\n"
    return files, names + ["zz_all"]


def reader_sql(names: list[str], trial: int) -> str:
    """One asset reading every other one, so a torn object cannot go unnoticed. `trial` changes its
    code (so it really runs) but never its data."""
    parts = [f"SELECT '{n}' AS name, count(*) AS n FROM {n} WHERE {trial} >= 0" for n in names]
    return "\nUNION ALL\n".join(parts) + "\n"
