"""Peer figures from ../shared/peers/RESULTS.md (measured earlier on this machine type), and an
optional same-session re-run of peers whose virtualenvs exist (see ../shared/peers/README.md).

The figures are copied from that file by hand: median wall seconds (re-run counts in the notes).
Timed change scenarios there include `python3 mutate.py` (~30 ms) inside the timed command;
ours apply the edit untimed, just before the timed build.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

PEERS_DIR = Path(__file__).resolve().parents[2] / "shared" / "peers"
if not PEERS_DIR.is_dir():
    PEERS_DIR = Path("/work/shared/peers")

# (N, scenario) -> [(tool and command, median s, note)]; scenario names as in run.py.
FILE_FIGURES: dict[tuple[int, str], list[tuple[str, float, str]]] = {
    (100, "cold"): [
        ("dbt build (threads 1)", 6.86, "101 run"),
        ("SQLMesh plan", 6.10, "101 run"),
        ("DVC repro", 35.36, "101 run"),
        ("Dagster materialize", 10.29, "101 run"),
    ],
    (100, "noop"): [
        ("dbt build", 6.82, "re-runs all 101"),
        ("dbt --select state:modified+", 2.42, "0 run"),
        ("SQLMesh plan", 2.82, "0 run"),
        ("DVC repro", 1.39, "0 run"),
        ("Dagster materialize", 10.54, "re-runs all 101"),
    ],
    (100, "code"): [
        ("dbt state:modified+", 3.56, "10 run"),
        ("SQLMesh plan", 3.66, "10 run"),
        ("DVC repro", 3.78, "6 run"),
        ("Dagster selection a_05_000*", 2.80, "10 run, chosen by hand"),
    ],
    (100, "comment"): [
        ("dbt state:modified+", 3.78, "10 run"),
        ("SQLMesh plan", 3.14, "0 run"),
        ("DVC repro", 1.68, "1 run"),
    ],
    (100, "data"): [
        ("dbt build", 6.88, "101 run"),
        ("SQLMesh plan --restate-model raw", 5.76, "101 run (plain plan misses the change)"),
        ("DVC repro", 7.30, "13 run"),
        ("Dagster materialize", 9.12, "101 run"),
    ],
    (100, "plan"): [
        ("dbt parse (partial parse)", 2.18, ""),
        ("sqlmesh info", 2.50, ""),
        ("dvc status", 0.88, ""),
        ("Dagster import defs", 1.07, ""),
    ],
    (1000, "cold"): [
        ("dbt build (threads 1)", 42.45, "1001 run"),
        ("SQLMesh plan", 46.85, "1001 run"),
        ("Dagster materialize", 99.64, "1 run"),
    ],
    (1000, "noop"): [
        ("dbt build", 57.98, "re-runs all 1001"),
        ("dbt --select state:modified+", 3.55, "0 run"),
        ("SQLMesh plan", 11.99, "0 run"),
        ("SQLMesh run", 5.40, "0 run"),
        ("Dagster materialize", 90.85, "re-runs all 1001"),
    ],
    (1000, "code"): [
        ("dbt state:modified+", 4.91, "10 run; 1 timed run"),
        ("SQLMesh plan", 12.34, "10 run; 1 timed run"),
        ("Dagster selection a_05_000*", 4.54, "10 run, chosen by hand; 1 timed run"),
    ],
    (1000, "comment"): [
        ("dbt state:modified+", 4.80, "10 run; 1 timed run"),
        ("SQLMesh plan", 10.37, "0 run; 1 timed run"),
    ],
    (1000, "data"): [
        ("dbt build", 50.60, "1001 run; 1 timed run"),
        ("SQLMesh plan --restate-model raw", 40.11, "1001 run; 1 timed run"),
    ],
    (1000, "plan"): [
        ("dbt parse (partial parse)", 2.70, ""),
        ("sqlmesh info", 5.62, ""),
        ("Dagster import defs", 1.83, ""),
    ],
    (1000, "plan_nocache"): [
        ("dbt parse --no-partial-parse", 5.27, ""),
        ("sqlmesh info, .cache wiped", 11.50, ""),
    ],
}

FILE_PEAK_MIB = {
    100: {"dbt": 225, "SQLMesh": 304, "DVC": 82, "Dagster": 245},
    1000: {"dbt": 437, "SQLMesh": 661, "Dagster": 285},
}

# Same-session runs: tool -> [(our scenario, step.sh scenario)] kept short (each run costs seconds).
LIVE_SCENARIOS = {
    "dvc": [("noop", "noop"), ("plan", "parse")],
    "dbt": [("noop", "noop_state"), ("plan", "parse")],
    "sqlmesh": [("noop", "noop"), ("plan", "parse")],
}
LIVE_COLD = {"dvc": "DVC repro", "dbt": "dbt build (threads 1)", "sqlmesh": "SQLMesh plan"}
LIVE_LABELS = {
    ("dvc", "noop"): "DVC repro",
    ("dvc", "plan"): "dvc status",
    ("dbt", "noop"): "dbt --select state:modified+",
    ("dbt", "plan"): "dbt parse (partial parse)",
    ("sqlmesh", "noop"): "SQLMesh plan",
    ("sqlmesh", "plan"): "sqlmesh info",
}


def find_venvs() -> Path | None:
    for cand in (os.environ.get("VENVS"), Path.home() / "peers-venvs", "/tmp/peers-venvs"):
        if cand and any((Path(cand) / f"{t}-venv" / "bin").is_dir() for t in LIVE_SCENARIOS):
            return Path(cand)
    return None


def _tool_ok(venvs: Path, tool: str) -> bool:
    exe = {"dbt": "dbt", "sqlmesh": "sqlmesh", "dvc": "dvc"}[tool]
    return (venvs / f"{tool}-venv" / "bin" / exe).exists()


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int]:
    t = time.perf_counter()
    r = subprocess.run(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    return time.perf_counter() - t, r.returncode


def run_live(
    venvs: Path, n: int, source_csv: Path, work: Path, runs: int, log: Any
) -> dict[tuple[int, str], list]:
    """Generate the peers' project, cold-build it once (untimed), then time a few cheap scenarios
    with the peers' own step.sh. Returns {(n, scenario): [(label, median, min, max, runs, note)]}."""
    out: dict[tuple[int, str], list] = {}
    for tool, scenarios in LIVE_SCENARIOS.items():
        if not _tool_ok(venvs, tool):
            continue
        proj = work / f"{tool}-{n}"
        shutil.rmtree(proj, ignore_errors=True)
        venv = venvs / f"{tool}-venv"
        env = dict(os.environ, VENV=str(venv), PEERS=str(PEERS_DIR))
        subprocess.run(
            ["python3", str(PEERS_DIR / "gen.py"), tool, str(n), str(proj)], check=True, capture_output=True
        )
        shutil.copy(source_csv, proj / "src" / "source.csv")
        if tool == "dvc":
            dvc = str(venv / "bin" / "dvc")
            for args in (
                ["init", "--no-scm", "-q"],
                ["config", "core.site_cache_dir", ".dvc/site"],
                ["config", "core.analytics", "false"],
                ["config", "core.check_update", "false"],
            ):
                subprocess.run([dvc, *args], cwd=proj, check=True, capture_output=True, env=env)
        log(f"  peer {tool} N={n}: cold build (untimed) ...")
        wall, rc = _timed(["sh", str(PEERS_DIR / "step.sh"), tool, "cold"], proj, env)
        if rc != 0:
            log(f"  peer {tool}: cold build failed (exit {rc}); skipped")
            continue
        out.setdefault((n, "cold"), []).append(
            (LIVE_COLD[tool], wall, wall, wall, 1, "same session, 1 run (also the set-up of the rows below)")
        )
        for ours, theirs in scenarios:
            _timed(["sh", str(PEERS_DIR / "step.sh"), tool, theirs], proj, env)  # warm-up
            samples = []
            for _ in range(runs):
                w, rc = _timed(["sh", str(PEERS_DIR / "step.sh"), tool, theirs], proj, env)
                if rc == 0:
                    samples.append(w)
            if samples:
                out.setdefault((n, ours), []).append(
                    (
                        LIVE_LABELS[(tool, ours)],
                        statistics.median(samples),
                        min(samples),
                        max(samples),
                        len(samples),
                        "same session",
                    )
                )
                log(f"  peer {tool} {theirs}: {statistics.median(samples):.2f} s")
        shutil.rmtree(proj, ignore_errors=True)
    return out
