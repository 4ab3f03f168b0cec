"""Sources: CSV, Parquet and NDJSON files, globs over several files, and content (not layout) hashing."""

from __future__ import annotations

import io

import polars as pl
import pytest

from .projects import by_name, run, statuses

ROWS = pl.DataFrame({"id": [1, 2, 3, 4], "user_id": ["u1", "u2", "u1", "u3"], "amount": [5, -3, 7, 0]})
COUNT_SQL = "SELECT user_id, sum(amount) AS total FROM raw GROUP BY user_id\n"


def _bytes(df: pl.DataFrame, fmt: str) -> bytes:
    buf = io.BytesIO()
    {"csv": df.write_csv, "parquet": df.write_parquet, "ndjson": df.write_ndjson}[fmt](buf)
    return buf.getvalue()


def _toml(path: str, fmt: str | None = None) -> str:
    extra = f'format = "{fmt}"\n' if fmt else ""
    return f'[project]\nname = "src"\n\n[sources.raw]\npath = "{path}"\n{extra}'


@pytest.mark.parametrize("fmt", ["csv", "parquet", "ndjson"])
def test_each_format_reads_the_same_table(make_project, fmt):
    root = make_project(
        {
            "assetbuild.toml": _toml(f"data/raw.{fmt}"),
            f"data/raw.{fmt}": _bytes(ROWS, fmt),
            "assets/totals.sql": COUNT_SQL,
        }
    )
    result = run(root)
    assert result.ok, [(a.name, a.reason) for a in result.assets]
    raw = by_name(result)["raw"]
    assert raw.kind == "source" and raw.rows == 4
    assert [c for c, _ in raw.schema] == ["id", "user_id", "amount"]
    assert by_name(result)["totals"].rows == 3
    assert statuses(run(root)) == {"raw": "up_to_date", "totals": "up_to_date"}


def test_explicit_format_overrides_the_suffix(make_project):
    root = make_project(
        {"assetbuild.toml": _toml("data/raw.txt", "ndjson"), "data/raw.txt": _bytes(ROWS, "ndjson")}
    )
    assert by_name(run(root))["raw"].rows == 4


def test_same_rows_in_any_format_hash_equal(make_project):
    """The content hash is of the table, so the same rows from CSV and from Parquet are one content."""
    hashes = set()
    for fmt in ("csv", "parquet"):
        root = make_project(
            {"assetbuild.toml": _toml(f"data/raw.{fmt}"), f"data/raw.{fmt}": _bytes(ROWS, fmt)}, name=fmt
        )
        hashes.add(by_name(run(root))["raw"].content_hash)
    assert len(hashes) == 1


def test_glob_over_several_files(make_project):
    part1, part2 = ROWS.head(2), ROWS.tail(2)
    root = make_project(
        {
            "assetbuild.toml": _toml("data/parts/*.csv"),
            "data/parts/a.csv": _bytes(part1, "csv"),
            "data/parts/b.csv": _bytes(part2, "csv"),
            "assets/totals.sql": COUNT_SQL,
        }
    )
    first = run(root)
    assert by_name(first)["raw"].rows == 4
    single = make_project(
        {"assetbuild.toml": _toml("data/raw.csv"), "data/raw.csv": _bytes(ROWS, "csv")}, "one"
    )
    assert by_name(run(single))["raw"].content_hash == by_name(first)["raw"].content_hash, "rows, not files"

    (root / "data/parts/c.csv").write_bytes(
        _bytes(pl.DataFrame({"id": [9], "user_id": ["u9"], "amount": [1]}), "csv")
    )
    second = run(root)
    assert statuses(second) == {"raw": "built", "totals": "built"}
    assert by_name(second)["raw"].rows == 5
    assert "file data/parts/c.csv" in by_name(second)["raw"].reason

    (root / "data/parts/c.csv").unlink()
    third = run(root)
    assert statuses(third) == {"raw": "restored", "totals": "restored"}


def test_rows_moved_between_glob_files_cut_off(make_project):
    root = make_project(
        {
            "assetbuild.toml": _toml("data/parts/*.csv"),
            "data/parts/a.csv": _bytes(ROWS.head(3), "csv"),
            "data/parts/b.csv": _bytes(ROWS.tail(1), "csv"),
            "assets/totals.sql": COUNT_SQL,
        }
    )
    first = run(root)
    (root / "data/parts/a.csv").write_bytes(_bytes(ROWS.head(1), "csv"))
    (root / "data/parts/b.csv").write_bytes(_bytes(ROWS.tail(3), "csv"))
    second = run(root)
    assert statuses(second) == {"raw": "built", "totals": "up_to_date"}
    assert by_name(second)["raw"].content_hash == by_name(first)["raw"].content_hash


def test_parquet_row_group_layout_does_not_change_the_hash(make_project):
    root = make_project({"assetbuild.toml": _toml("data/raw.parquet"), "assets/totals.sql": COUNT_SQL})
    big = pl.DataFrame(
        {"id": range(1000), "user_id": [f"u{i % 13}" for i in range(1000)], "amount": range(1000)}
    )
    (root / "data").mkdir()
    big.write_parquet(root / "data/raw.parquet", row_group_size=1000)
    first = run(root)
    big.sample(fraction=1.0, shuffle=True, seed=3).write_parquet(root / "data/raw.parquet", row_group_size=64)
    second = run(root)
    assert statuses(second) == {"raw": "built", "totals": "up_to_date"}
    assert by_name(second)["raw"].content_hash == by_name(first)["raw"].content_hash


def test_sources_are_observed_by_the_build_not_by_reading_the_project(make_project, run_cli):
    """A missing source file fails what needs the source (build, plan) with the source's name,
    not commands that only read the project (graph, show of another asset)."""
    from .projects import PIPELINE

    root = make_project(PIPELINE)
    (root / "data/events.csv").unlink()
    graph = run_cli(root, "graph", "--format", "json")
    assert graph.code == 0, graph
    shown = run_cli(root, "show", "events", "--format", "json")
    assert shown.code == 0, shown
    assert shown.json["files"] == [] and "no file matches 'data/events.csv'" in shown.json["files_error"]
    for command in ("build", "plan"):
        r = run_cli(root, command)
        assert r.code == 2, r
        assert "source 'events': no file matches 'data/events.csv'" in r.stderr
        assert "assetbuild.toml:4" in r.stderr


def test_a_symlink_loop_under_a_recursive_glob_reads_each_file_once(make_project):
    import os

    from .projects import by_name, run

    root = make_project(
        {
            "assetbuild.toml": '[project]\nname = "loop"\n\n[sources.parts]\npath = "data/**/*.csv"\n',
            "data/a/one.csv": "id\n1\n",
            "data/b/two.csv": "id\n2\n",
            "assets/total.sql": "SELECT count(*) AS n FROM parts\n",
        }
    )
    os.symlink(root / "data", root / "data" / "a" / "loop")  # data/a/loop -> data: a cycle
    result = by_name(run(root))
    assert result["parts"].rows == 2, "each file once, by its shortest path"
