"""`query` and `show --rows` print every stored value: infinite timestamps never panic, and JSON
output stays valid JSON with NaN and infinities in it."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from assetbuild.run.read import displayable, json_records, json_rows

from ._support import errors, run

SPECIALS = (
    "SELECT * FROM (VALUES ('infinity'::TIMESTAMP, 'nan'::DOUBLE, 'infinity'::DATE, 1),"
    " ('-infinity'::TIMESTAMP, 'inf'::DOUBLE, '-infinity'::DATE, 2),"
    " (TIMESTAMP '2024-01-01 12:00', '-inf'::DOUBLE, DATE '2024-01-01', 3),"
    " (NULL, -0.0::DOUBLE, NULL, 4)) t(ts, f, d, i)\n"
)


def _strict_json(text: str):
    def refuse(name: str):
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("readvalues") / "p"
    (root / "assets").mkdir(parents=True)
    (root / "assetbuild.toml").write_text('[project]\nname = "rv"\n')
    (root / "assets/specials.sql").write_text(SPECIALS)
    result = run(root)
    assert result.ok, errors(result)
    return root


def test_displayable_renders_what_python_cannot_hold():
    df = pl.DataFrame(
        {
            "ts": pl.Series([2**63 - 1, -(2**63 - 1), 1704110400000000, None], dtype=pl.Int64).cast(
                pl.Datetime("us")
            ),
            "d": pl.Series([2**31 - 1, -(2**31 - 1), 19723, None], dtype=pl.Int32).cast(pl.Date),
            "ok": pl.Series([1704110400000000] * 4, dtype=pl.Int64).cast(pl.Datetime("us")),
        }
    )
    shown = displayable(df)
    assert shown["ts"].to_list() == ["infinity", "-infinity", "2024-01-01 12:00:00", None]
    assert shown["d"].to_list() == ["infinity", "-infinity", "2024-01-01", None]
    assert shown.schema["ok"] == pl.Datetime("us")  # in range: left as it is
    str(shown)
    shown.rows()


def test_json_rows_and_records_are_valid_json():
    df = pl.DataFrame(
        {
            "f": [float("nan"), float("inf"), float("-inf"), -0.0],
            "l": [[float("nan")], [1.0], None, []],
            "i": [1, 2, 3, 4],
        }
    )
    rows = _strict_json(json.dumps(json_rows(df), allow_nan=False))
    assert rows[0] == ["NaN", ["NaN"], 1] and rows[1][0] == "Infinity" and rows[2][0] == "-Infinity"
    assert rows[3][0] == 0.0 and str(rows[3][0]) == "-0.0"
    records = _strict_json(json.dumps(json_records(df), allow_nan=False))
    assert records[1] == {"f": "Infinity", "l": [1.0], "i": 2}


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_query_prints_infinite_timestamps(project, run_cli, fmt):
    r = run_cli(project, "query", "SELECT ts, d, i FROM specials ORDER BY i", "--format", fmt)
    assert r.code == 0, r
    assert "panicked" not in r.stderr and "infinity" in r.stdout
    if fmt == "json":
        assert _strict_json(r.stdout)["rows"][0][:2] == ["infinity", "infinity"]


def test_query_json_with_nan_and_infinity_is_valid(project, run_cli):
    r = run_cli(project, "query", "SELECT f FROM specials ORDER BY i", "--format", "json")
    assert r.code == 0, r
    assert [row[0] for row in _strict_json(r.stdout)["rows"]] == ["NaN", "Infinity", "-Infinity", -0.0]


def test_show_rows_with_specials(project, run_cli):
    r = run_cli(project, "show", "specials", "--rows", "4", "--format", "json")
    assert r.code == 0, r
    preview = _strict_json(r.stdout)["preview"]
    assert {row["i"]: row["ts"] for row in preview}[1] == "infinity"
    text = run_cli(project, "show", "specials", "--rows", "4")
    assert text.code == 0 and "panicked" not in text.stderr, text
