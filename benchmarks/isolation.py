"""What running Python assets in worker processes costs: `build --force` wall time, interleaved.

    python benchmarks/isolation.py [OLD_CHECKOUT]

Builds one project per size (a 200,000-row source and K Python assets, each a polars step over
the previous one) with `build --force`, runs interleaved with the tree at OLD_CHECKOUT (in-process
Python assets, e.g. a `git worktree` of the commit before) when given, and prints the medians.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ASSETBUILD = str(Path(sys.executable).with_name("assetbuild"))
SIZES = (1, 10, 40)
RUNS = 5


def make_project(root: Path, k: int) -> None:
    (root / "assets").mkdir(parents=True)
    (root / "data").mkdir()
    rows = "\n".join(f"{i},{i % 97},{i * 0.5}" for i in range(200_000))
    (root / "data/events.csv").write_text("id,user_id,amount\n" + rows + "\n")
    (root / "assetbuild.toml").write_text(
        '[project]\nname = "iso"\n\n[sources.events]\npath = "data/events.csv"\n'
    )
    lines = ["import polars as pl", "from assetbuild import asset", ""]
    previous = "events"
    for i in range(k):
        lines += [
            "",
            "@asset",
            f"def step_{i}({previous}: pl.DataFrame) -> pl.DataFrame:",
            f"    return {previous}.with_columns((pl.col('amount') + {i}).alias('amount'))",
            "",
        ]
        previous = f"step_{i}"
    (root / "assets/steps.py").write_text("\n".join(lines))


def timed(root: Path, checkout: Path | None) -> float:
    env = {**os.environ, "OPENLINEAGE_DISABLED": "true"}
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
    t0 = time.perf_counter()
    p = subprocess.run(
        [ASSETBUILD, "--project", str(root), "build", "--force", "-q"],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"build failed:\n{p.stdout}\n{p.stderr}")
    return elapsed


def main() -> None:
    old = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else None
    print(f"machine: {os.cpu_count()} cores; {RUNS} interleaved runs each; median wall seconds")
    print("| Python assets | workers (this tree) | in-process (old) | extra per build | extra per asset |")
    print("|---|---|---|---|---|")
    for k in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "p"
            make_project(root, k)
            timed(root, None)  # warm the file cache and the store
            new, before = [], []
            for _ in range(RUNS):
                new.append(timed(root, None))
                if old is not None:
                    before.append(timed(root, old))
            n = statistics.median(new)
            if before:
                b = statistics.median(before)
                print(f"| {k} | {n:.2f} | {b:.2f} | {n - b:+.2f} | {(n - b) / k:+.3f} |")
            else:
                print(f"| {k} | {n:.2f} | – | – | – |")


if __name__ == "__main__":
    main()
