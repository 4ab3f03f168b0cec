"""A store damaged by hand is detected, then rebuilt or reported — never silently used: no asset
computes from damaged data, and the build after restores a clean build's data. A state.db from
another store format, or one that is not a database, gives a clear message and exit 2."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from ._support import (
    build_json,
    current_hashes,
    db_path,
    hashes_of,
    integrity,
    object_path,
    run_cli,
    store_problems,
    write_files,
)

FILES = {
    "assetbuild.toml": '[project]\nname = "damage"\n\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": "id,k,v\n" + "".join(f"{i},{i % 7},{i * 0.25}\n" for i in range(500)),
    "assets/mid.sql": "SELECT k, count(*) AS n, sum(v) AS s FROM src GROUP BY k\n",
    "assets/down.sql": "SELECT k, n * 2 AS n2, s FROM mid WHERE 0 = 0\n",
    "assets/py_down.py": (
        "import polars as pl\n\nfrom assetbuild import asset\n\n\n@asset()\n"
        "def py_down(mid: pl.DataFrame) -> pl.DataFrame:\n    return mid.sort('k').with_columns(pl.col('s').cum_sum())\n"
    ),
}
# A code change to both readers of `mid`, so that they must read its object.
READERS_CHANGED = {
    "assets/down.sql": "SELECT k, n * 2 AS n2, s FROM mid WHERE 1 = 1\n",
    "assets/py_down.py": FILES["assets/py_down.py"].replace("cum_sum()", "cum_sum().alias('s')"),
}


def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _flip_byte(p: Path) -> None:
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, different bytes
    p.write_bytes(bytes(data))


def _other_parquet(p: Path) -> None:
    """A valid Parquet file with the same schema and other data: only hashes can tell."""
    import polars as pl

    df = pl.read_parquet(p)
    df.with_columns(pl.col("n") + 1000).write_parquet(p)


def _empty(p: Path) -> None:
    p.write_bytes(b"")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "deleted": lambda p: p.unlink(),
    "truncated": _truncate,
    "emptied": _empty,
    "byte_flipped": _flip_byte,
    "other_valid_parquet": _other_parquet,
}


@pytest.fixture(scope="module")
def clean(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, str | None], dict[str, str | None]]:
    """A built project, and a clean build's hashes before and after READERS_CHANGED."""
    root = tmp_path_factory.mktemp("damage") / "p"
    write_files(root, FILES)
    first = hashes_of(build_json(root))
    ref = tmp_path_factory.mktemp("damage-ref") / "p"
    write_files(ref, {**FILES, **READERS_CHANGED})
    return root, first, hashes_of(build_json(ref))


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_object_is_never_used_and_the_next_builds_restore_it(clean, damage, tmp_path: Path) -> None:
    base, first, changed = clean
    root = shutil.copytree(base, tmp_path / "p")
    DAMAGE[damage](object_path(root, "mid"))

    # 1. A build that needs nothing from `mid`: detects the damage (when the size tells), or leaves it.
    r = run_cli(root, "build", "--format", "json")
    assert r.returncode in (0, 1) and "Traceback" not in r.stdout + r.stderr, r.stderr

    # 2. Readers of `mid` run: they compute from intact data, or fail saying why; never from damage.
    write_files(root, READERS_CHANGED)
    r = run_cli(root, "build", "--format", "json")
    assert "Traceback" not in r.stdout + r.stderr, r.stderr
    assert r.returncode in (0, 1), (r.returncode, r.stderr)
    out = {a["name"]: a for a in __import__("json").loads(r.stdout)["assets"]}
    for name in ("down", "py_down"):
        if out[name]["status"] == "built":
            assert out[name]["content_hash"] == changed[name], f"{name} was computed from damaged data"
        else:
            assert out[name]["status"] in ("failed", "blocked"), out[name]
            if out[name]["status"] == "failed":
                assert "damaged" in out[name]["reason"] and "mid" in out[name]["reason"], out[name]
    assert integrity(root) == "ok"

    # 3. The build after that restores a clean build's data, and every object is intact.
    r = run_cli(root, "build", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert current_hashes(root) == changed
    assert store_problems(root, content=True) == []


@pytest.mark.parametrize("damage", ["truncated", "other_valid_parquet"])
def test_rebuilding_over_a_damaged_object_replaces_it(clean, damage, tmp_path: Path) -> None:
    """Re-running an asset whose content address holds a damaged file must not adopt that file."""
    base, first, _ = clean
    root = shutil.copytree(base, tmp_path / "p")
    p = object_path(root, "mid")
    DAMAGE[damage](p)
    build_json(root, "--force", "mid")
    assert store_problems(root, content=True) == []
    assert current_hashes(root)["mid"] == first["mid"]


def test_show_rows_reports_a_damaged_object(clean, tmp_path: Path) -> None:
    base, _, _ = clean
    root = shutil.copytree(base, tmp_path / "p")
    _truncate(object_path(root, "mid"))
    r = run_cli(root, "show", "mid", "--rows", "3")
    out = r.stdout + r.stderr
    assert "internal error" not in out and "Traceback" not in out, out
    assert "damaged" in out, out


def test_query_reports_a_damaged_object(clean, tmp_path: Path) -> None:
    base, _, _ = clean
    root = shutil.copytree(base, tmp_path / "p")
    _truncate(object_path(root, "mid"))
    r = run_cli(root, "query", "SELECT count(*) AS n FROM mid")
    out = r.stdout + r.stderr
    assert r.returncode in (1, 2), (r.returncode, out)
    assert "internal error" not in out and "Traceback" not in out, out
    assert "damaged" in out and "mid" in out, out


def _set_version(value: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        conn = sqlite3.connect(db_path(root))
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (value,))
        conn.commit()
        conn.close()

    return damage


def _not_a_database(root: Path) -> None:
    db_path(root).write_bytes(b"this is not a database\n" * 100)


def _truncated_db(root: Path) -> None:
    p = db_path(root)
    conn = sqlite3.connect(p)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    p.write_bytes(p.read_bytes()[:3000])


STATE_DAMAGE = {
    "newer_schema_version": (_set_version("999"), "newer assetbuild"),
    "older_schema_version": (_set_version("0"), "older"),
    "unreadable_schema_version": (_set_version("two"), "store format"),
    "not_a_database": (_not_a_database, "state database"),
    "truncated_database": (_truncated_db, "state database"),
}


@pytest.mark.parametrize("case", list(STATE_DAMAGE))
@pytest.mark.parametrize("command", [("build",), ("plan",), ("show", "mid"), ("history", "mid")])
def test_unusable_state_db_gives_a_clear_message_and_exit_2(clean, case, command, tmp_path: Path) -> None:
    base, _, _ = clean
    root = shutil.copytree(base, tmp_path / "p")
    damage, words = STATE_DAMAGE[case]
    damage(root)
    r = run_cli(root, *command)
    out = r.stdout + r.stderr
    assert r.returncode == 2, (r.returncode, out)
    assert "Traceback" not in out and "internal error" not in out, out
    assert "state.db" in out and words in out, out
    assert "aside" in out, "the message should say what to do (move .assetbuild/ aside)"
