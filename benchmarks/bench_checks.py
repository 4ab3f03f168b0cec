"""Benchmark of the quality gate: 10 million rows against 8 column rules, time and peak memory.

Compares the two ways to evaluate column rules that checks/evaluate.py could take:
  polars   assetbuild's run_checks: every rule a polars expression, one `select` over the frame
  pandera  the same rules as a pandera.polars DataFrameSchema, validate(lazy=True) on the frame

Each measurement runs in a fresh subprocess that first loads the data, then resets the kernel's
peak-RSS mark (/proc/self/clear_refs), so "peak" is the high-water mark *during the checks*
(with the data already resident), compared with the data's `estimated_size()`.

    .venv/bin/python benchmarks/bench_checks.py [--rows 10000000] [--repeats 3] [--dirty]

--dirty breaks ~0.01% of the values (and duplicates some ids) so the failing-rule path is timed too.
Data is cached in benchmarks/work/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"

RULES = """
asset: bench
columns:
  id:       {nullable: false, unique: true}
  user_id:  {matches: "^u[0-9]+$"}
  amount:   {min: 0, max: 1000000}
  currency: {use: iso_currency}
  country:  {use: iso_country}
  score:    {between: [0, 1]}
"""


def make_data(rows: int, dirty: bool) -> Path:
    import numpy as np
    import polars as pl

    from assetbuild.gate.packs import Packs

    path = WORK / f"checks_{rows}{'_dirty' if dirty else ''}.parquet"
    if path.exists():
        return path
    WORK.mkdir(parents=True, exist_ok=True)
    packs = Packs()
    currencies = next(s.params["values"] for s in packs.get("iso_currency").specs if s.kind == "isin")  # type: ignore[union-attr]
    countries = next(s.params["values"] for s in packs.get("iso_country").specs if s.kind == "isin")  # type: ignore[union-attr]
    rng = np.random.default_rng(42)
    df = pl.DataFrame(
        {
            "id": rng.permutation(rows).astype("int64"),
            "user_id": rng.integers(0, 1_000_000, rows),
            "amount": rng.uniform(0, 5000, rows).round(2),
            "currency": rng.integers(0, len(currencies), rows),
            "country": rng.integers(0, len(countries), rows),
            "score": rng.random(rows),
        }
    ).with_columns(
        pl.format("u{}", "user_id").alias("user_id"),
        pl.col("currency").replace_strict(list(range(len(currencies))), currencies, return_dtype=pl.String),
        pl.col("country").replace_strict(list(range(len(countries))), countries, return_dtype=pl.String),
    )
    if dirty:
        bad = pl.Series(rng.choice(rows, size=rows // 10_000, replace=False))
        i = pl.int_range(pl.len())
        df = df.with_columns(
            pl.when(i.is_in(bad.implode())).then(-1.0).otherwise("amount").alias("amount"),
            pl.when(i.is_in(bad.head(len(bad) // 2).implode()))
            .then(pl.lit("XXX1"))
            .otherwise("currency")
            .alias("currency"),
            pl.when(i.is_in(bad.tail(len(bad) // 2).implode()))
            .then(pl.lit("x9"))
            .otherwise("user_id")
            .alias("user_id"),
            pl.when(i.is_in(bad.head(100).implode())).then(0).otherwise("id").alias("id"),
        )
    df.write_parquet(path)
    return path


# -- the child: load, reset the peak mark, check, report ----------------------------------------


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(engine: str, data: str, repeats: int) -> None:
    import gc
    import time

    import polars as pl

    df = pl.read_parquet(data)
    size = df.estimated_size()
    run = _polars_runner(df) if engine == "polars" else _pandera_runner(df)
    # Imports and set-up are done (the runners build their rule sets); the first timed run is
    # cold, so its allocations count towards the peak.
    gc.collect()
    baseline = _status_kib("VmRSS")
    try:  # reset VmHWM to the current RSS, so the peak is that of the checks alone
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    times, failing = [], {}
    for _ in range(repeats):
        t = time.perf_counter()
        failing = run()
        times.append(time.perf_counter() - t)
    print(
        json.dumps(
            {
                "engine": engine,
                "rows": df.height,
                "data_bytes": size,
                "seconds": min(times),
                "cold_seconds": times[0],
                "all_seconds": times,
                "baseline_rss": baseline * 1024,
                "peak_rss": _status_kib("VmHWM") * 1024,
                "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                "peak_reset": reset,
                "failing": failing,
            }
        )
    )


def _polars_runner(df):  # type: ignore[no-untyped-def]
    import tempfile

    from assetbuild.gate.evaluate import CheckContext, run_checks
    from assetbuild.gate.rules import load_rules

    root = Path(tempfile.mkdtemp())
    (root / "rules").mkdir()
    (root / "rules" / "bench.yaml").write_text(textwrap.dedent(RULES))
    ruleset = load_rules(root, ["bench"])["bench"]
    assert len(ruleset.rules) == 8, [r.name for r in ruleset.rules]
    ctx = CheckContext("bench", read_asset=lambda name: df)  # no rule here reads another asset

    def run() -> dict[str, int]:
        return {r.name: r.failing_rows for r in run_checks(ruleset, df, ctx)}

    return run


def _pandera_runner(df):  # type: ignore[no-untyped-def]
    import pandera.polars as pa
    import polars as pl
    from pandera.config import ValidationDepth, config_context

    from assetbuild.gate.packs import Packs

    packs = Packs()
    currencies = next(s.params["values"] for s in packs.get("iso_currency").specs if s.kind == "isin")  # type: ignore[union-attr]
    countries = next(s.params["values"] for s in packs.get("iso_country").specs if s.kind == "isin")  # type: ignore[union-attr]
    schema = pa.DataFrameSchema(
        {
            "id": pa.Column(nullable=False, unique=True),
            "user_id": pa.Column(checks=[pa.Check.str_matches(r"^u[0-9]+$")], nullable=True),
            "amount": pa.Column(checks=[pa.Check.ge(0), pa.Check.le(1_000_000)], nullable=True),
            "currency": pa.Column(checks=[pa.Check.isin(currencies)], nullable=True),
            "country": pa.Column(checks=[pa.Check.isin(countries)], nullable=True),
            "score": pa.Column(checks=[pa.Check.in_range(0, 1)], nullable=True),
        }
    )

    def run() -> dict[str, int]:
        try:
            with config_context(validation_depth=ValidationDepth.SCHEMA_AND_DATA):
                schema.validate(df, lazy=True)
            return {}
        except pa.errors.SchemaErrors as e:
            counts = e.failure_cases.group_by("column", "check").agg(n=pl.col("index").n_unique())
            return {f"{c}.{k}": n for c, k, n in counts.iter_rows()}

    return run


# -- the parent -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dirty", action="store_true", help="break ~0.01%% of the values")
    parser.add_argument("--engines", default="polars,pandera")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "DATA"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.repeats)
        return

    data = make_data(args.rows, args.dirty)
    mib = 1024 * 1024
    print(
        f"{args.rows:,} rows x 8 column rules ({'dirty' if args.dirty else 'clean'} data), best of {args.repeats}"
    )
    for engine in args.engines.split(","):
        cmd = [sys.executable, __file__, "--repeats", str(args.repeats), "--child", engine, str(data)]
        out = json.loads(
            subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1]
        )
        data_mib, peak, base = out["data_bytes"] / mib, out["peak_rss"] / mib, out["baseline_rss"] / mib
        print(
            f"  {engine:8s} {out['seconds']:5.2f} s (cold {out['cold_seconds']:5.2f} s)   data {data_mib:6.0f} MiB   "
            f"RSS before {base:6.0f} MiB, peak {peak:6.0f} MiB = {peak / data_mib:4.2f}x data "
            f"(+{peak - base:4.0f} MiB = {(peak - base) / data_mib:4.2f}x)   "
            f"ru_maxrss {out['ru_maxrss'] / mib:6.0f} MiB"
        )
        if out["failing"] and any(out["failing"].values()):
            shown = {k: v for k, v in out["failing"].items() if v}
            print(f"           failing rows: {shown}")


if __name__ == "__main__":
    main()
