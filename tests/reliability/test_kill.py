"""DESIGN §7 Atomic: a build SIGKILLed at any moment leaves every `current` pointing at a complete,
checked materialization, and the next build resumes to exactly a clean build's data.

No hooks in the engine: kills land at random moments over many trials (during start-up, source
reads, SQL and Python runs, staging writes, object commits, checks, publishing, the run record).
Trials rotate between `build --force` (every asset runs; objects already exist, so staging and
state writes dominate), switching the source data to another version (new objects are written and
checked, or earlier versions are restored by moving pointers), and changing every rule file (all
checks run again over the stored data, which is not recomputed).
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from ._support import (
    build_json,
    current_hashes,
    hashes_of,
    integrity,
    orders_csv,
    popen_cli,
    reader_sql,
    reliability_project,
    staging_leftovers,
    store_problems,
    write_files,
)

TRIALS = int(os.environ.get("RELIABILITY_KILL_TRIALS", "50"))
VARIANTS = 5  # versions of the source data the trials switch between
SEED = int(os.environ.get("RELIABILITY_SEED", "20240611"))


def _set_variant(root: Path, v: int) -> None:
    write_files(root, {f"data/orders/2024-0{m}.csv": orders_csv(m, 1500, v) for m in (1, 2)})


def _loosen_rules(root: Path, rule_files: dict[str, str | bytes], t: int) -> None:
    """New rules that the data still passes: every check runs again, no data is recomputed."""
    write_files(
        root, {rel: str(text).replace("n: {min: 1}", f"n: {{min: {-t}}}") for rel, text in rule_files.items()}
    )


def _timed(root: Path, *args: str) -> float:
    t0 = time.perf_counter()
    build_json(root, *args)
    return time.perf_counter() - t0


def _evidence(root: Path) -> dict[str, int]:
    """What a kill left behind: which phase it interrupted (for the coverage summary)."""
    conn = sqlite3.connect(root / ".assetbuild" / "state.db")
    try:
        unfinished = conn.execute("SELECT count(*) FROM runs WHERE finished_at IS NULL").fetchone()[0]
        quarantined = conn.execute(
            "SELECT count(*) FROM materializations m WHERE quarantined = 1 "
            "AND NOT EXISTS (SELECT 1 FROM current c WHERE c.materialization = m.id)"
        ).fetchone()[0]
        recorded = {r[0] for r in conn.execute("SELECT object FROM materializations")}
    finally:
        conn.close()
    objects = root / ".assetbuild" / "objects"
    on_disk = {p.relative_to(objects).as_posix() for p in objects.rglob("*.parquet")}
    return {
        "unfinished_runs": unfinished,
        "quarantined_unpublished": quarantined,
        "staging_leftovers": len(staging_leftovers(root)),
        "unrecorded_objects": len(on_disk - recorded),
    }


@pytest.mark.slow
def test_sigkill_at_random_moments_never_tears_the_store(tmp_path: Path) -> None:
    files, names = reliability_project(n_sql=24)
    root = tmp_path / "kill"
    write_files(root, files)

    # The clean build's data for every version of the sources, from a separate project.
    ref = tmp_path / "ref"
    write_files(ref, files)
    want: dict[int, dict[str, str | None]] = {}
    for v in range(VARIANTS):
        _set_variant(ref, v)
        want[v] = hashes_of(build_json(ref))
        assert all(want[v].values()), want[v]
    assert len({tuple(sorted(h.items())) for h in want.values()}) == VARIANTS, "variants must differ in data"

    # How long each kind of build takes here and now, so that kills land inside them.
    build_json(root)
    span = {"force": _timed(root, "--force")}
    _set_variant(root, 1)
    span["new data"] = _timed(root)
    _set_variant(root, 0)
    span["restore"] = _timed(root)
    built = {0, 1}
    rule_files = {rel: text for rel, text in files.items() if rel.startswith("rules/s")}
    if rule_files:
        _loosen_rules(root, rule_files, 0)
        span["rules"] = _timed(root)

    rnd = random.Random(SEED)
    variant, landed, unfinished = 0, 0, 0
    seen: dict[str, int] = {}
    for t in range(1, TRIALS + 1):
        if t % 3 == 1:
            args: tuple[str, ...] = ("--force",)
            kind = "force"
        elif t % 3 == 0 and rule_files:
            _loosen_rules(root, rule_files, t)
            args = ()
            kind = "rules"
        else:
            variant = rnd.choice([v for v in range(VARIANTS) if v != variant])
            _set_variant(root, variant)
            args = ()
            kind = "restore" if variant in built else "new data"
        proc = popen_cli(root, "build", *args)
        time.sleep(rnd.uniform(0.05, 1.0) * span[kind])
        if proc.poll() is None:
            landed += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()

        where = f"trial {t} (seed {SEED}, args {args})"
        assert integrity(root) == "ok", where
        # Right after the kill, before any repair: every pointer is at complete, checked data.
        assert store_problems(root) == [], where
        evidence = _evidence(root)
        evidence["unfinished_runs"], unfinished = (
            evidence["unfinished_runs"] - unfinished,
            evidence["unfinished_runs"],
        )
        for k, n in evidence.items():
            seen[k] = seen.get(k, 0) + (n > 0)

        # The next build resumes; `zz_all` reads every asset (its code changes, never its data).
        write_files(root, {"assets/zz_all.sql": reader_sql(names[:-1], t)})
        got = hashes_of(build_json(root))
        built.add(variant)
        assert staging_leftovers(root) == [], where
        assert integrity(root) == "ok", where
        assert store_problems(root, content=t % 5 == 0) == [], where
        wrong = sorted(n for n in want[variant] if got.get(n) != want[variant][n])
        assert not wrong, f"{where}: {len(wrong)} assets differ from a clean build, e.g. {wrong[:5]}"
        assert current_hashes(root) == {n: h for n, h in want[variant].items()}, where

    print(f"\nkill coverage over {TRIALS} trials ({landed} landed mid-build, spans {span}): {seen}")
    assert landed >= TRIALS // 2, f"only {landed}/{TRIALS} kills landed while a build ran"
    # Many kills interrupted a build after it had started writing state (a run left unfinished).
    assert seen["unfinished_runs"] >= TRIALS // 4, seen
