"""Golden pairs for code fingerprints: edits that must hash equal, edits that must differ.

The pairs live beside this file (sql_pairs.yaml, python_pairs.yaml); each has a label, so a
failure names the edit. SQL goes through `analyze_sql`, Python through `scan_python_file` on
files written to a temporary project, exactly as the loader calls them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from assetbuild.definitions.python_assets import scan_python_file
from assetbuild.definitions.sql_assets import analyze_sql

HERE = Path(__file__).parent


def _pairs(file: str) -> list[Any]:
    data = yaml.safe_load((HERE / file).read_text())
    out = []
    for verdict in ("equal", "differ"):
        for pair in data[verdict]:
            out.append(pytest.param(verdict, pair, id=f"{verdict}: {pair['label']}"))
    return out


SQL_PAIRS = _pairs("sql_pairs.yaml")
PY_PAIRS = _pairs("python_pairs.yaml")


def test_enough_pairs() -> None:
    for pairs in (SQL_PAIRS, PY_PAIRS):
        verdicts = [p.values[0] for p in pairs]
        assert verdicts.count("equal") >= 25 and verdicts.count("differ") >= 25
        labels = [p.values[1]["label"] for p in pairs]
        assert len(labels) == len(set(labels)), "labels must be unique"


@pytest.mark.parametrize(("verdict", "pair"), SQL_PAIRS)
def test_sql_pair(verdict: str, pair: dict[str, str]) -> None:
    a = analyze_sql(pair["a"], "assets/a.sql")
    b = analyze_sql(pair["b"], "assets/b.sql")
    assert (a.fingerprint == b.fingerprint) == (verdict == "equal"), (
        f"{pair['label']}: expected the fingerprints to be {verdict}\n"
        f"  a canonical: {a.canonical}\n  b canonical: {b.canonical}"
    )


def test_sql_fingerprint_is_stable_across_calls() -> None:
    sql = "SELECT t.user_id, sum(t.amount) AS total FROM clean t GROUP BY 1"
    assert analyze_sql(sql, "x.sql").fingerprint == analyze_sql(sql, "y.sql").fingerprint


def _scan(root: Path, module: str, extra: dict[str, str]) -> list[tuple[str, str]]:
    for rel, text in {"assets/asset.py": module, **extra}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    path = root / "assets" / "asset.py"
    info = scan_python_file(path, "assets/asset.py", [path.parent, root / "assets", root], root)
    assert info.assets, "the module must define at least one @asset"
    return [(a.name, a.fingerprint) for a in info.assets]


@pytest.mark.parametrize(("verdict", "pair"), PY_PAIRS)
def test_python_pair(verdict: str, pair: dict[str, Any], tmp_path: Path) -> None:
    a = _scan(tmp_path / "a", pair["a"], pair.get("a_files", {}))
    b = _scan(tmp_path / "b", pair["b"], pair.get("b_files", {}))
    assert [n for n, _ in a] == [n for n, _ in b], "both sides must define the same assets"
    target = pair.get("asset", a[0][0])
    fa, fb = dict(a)[target], dict(b)[target]
    assert (fa == fb) == (verdict == "equal"), f"{pair['label']}: expected '{target}' fingerprints {verdict}"
