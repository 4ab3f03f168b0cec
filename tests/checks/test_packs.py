"""The rule packs shipped in the top-level rules/: each passes good data and fails bad data; their
lists are well-formed; a broken pack is reported in its own file; the wheel ships them."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import polars as pl
import pytest

from assetbuild.gate import packs
from assetbuild.gate.packs import Packs

REPO = Path(__file__).resolve().parents[2]
SHIPPED = {
    "email",
    "iso_country",
    "iso_currency",
    "non_negative_money",
    "not_in_future",
    "percentage",
    "probability",
    "uuid",
}

# pack → (column dtype, values that pass, values that fail)
CASES = {
    "iso_currency": (
        pl.String,
        ["EUR", "USD", "JPY", "CHF", "XAU", "ZWG", "XCG", None],
        ["eur", "EURO", "HRK", "XYZ", ""],
    ),
    "iso_country": (pl.String, ["DE", "US", "NO", "GB", "AQ", "SS", None], ["UK", "XK", "EU", "de", "DEU"]),
    "email": (
        pl.String,
        ["a@example.com", "first.last+tag@sub.example.co.uk", "x_y@a-b.io", None],
        [
            "plain",
            "a@b",
            "@example.com",
            "a@-example.com",
            "a b@example.com",
            "a@example..com",
            "x" * 250 + "@e.com",
        ],
    ),
    "uuid": (
        pl.String,
        [
            "123e4567-e89b-12d3-a456-426614174000",
            "00000000-0000-0000-0000-000000000000",
            "0190A5C8-1D2E-7F00-8000-0123456789AB",
        ],
        [
            "123e4567e89b12d3a456426614174000",
            "{123e4567-e89b-12d3-a456-426614174000}",
            "123e4567-e89b-12d3-a456-42661417400g",
        ],
    ),
    "non_negative_money": (pl.Float64, [0.0, 0.01, 1e9, None], [-0.01, float("nan"), float("inf")]),
    "percentage": (pl.Float64, [0.0, 50.5, 100.0], [-1.0, 100.01, float("nan")]),
    "probability": (pl.Float64, [0.0, 0.25, 1.0], [-0.001, 1.001, float("inf")]),
}


def test_the_shipped_packs_are_all_there():
    assert set(Packs().names()) >= SHIPPED
    for name in SHIPPED:
        pack = Packs().get(name)
        assert pack is not None and pack.description and pack.specs


@pytest.mark.parametrize("pack", sorted(CASES))
def test_pack_passes_good_data(check, pack):
    dtype, good, _ = CASES[pack]
    out = check(
        f"asset: orders\ncolumns:\n  v: {{use: {pack}}}\n", pl.DataFrame({"v": pl.Series(good, dtype=dtype)})
    )
    assert out and all(r.passed for r in out.values()), [r for r in out.values() if not r.passed]


@pytest.mark.parametrize("pack", sorted(CASES))
def test_pack_fails_each_bad_value(check, pack):
    dtype, _, bad = CASES[pack]
    for value in bad:
        out = check(
            f"asset: orders\ncolumns:\n  v: {{use: {pack}}}\n",
            pl.DataFrame({"v": pl.Series([value], dtype=dtype)}),
        )
        assert any(not r.passed for r in out.values()), (pack, value)


def test_non_negative_money_wants_a_number(check):
    out = check("asset: orders\ncolumns:\n  v: {use: non_negative_money}\n", pl.DataFrame({"v": ["1.00"]}))
    assert not out["v.non_negative_money.dtype"].passed


def test_not_in_future(check, now):
    pack = "asset: orders\ncolumns:\n  ts: {use: not_in_future}\n  d: {use: not_in_future}\n"
    past = pl.DataFrame({"ts": [now - dt.timedelta(seconds=1)], "d": [now.date()]})
    assert all(r.passed for r in check(pack, past).values())
    future = pl.DataFrame({"ts": [now + dt.timedelta(seconds=1)], "d": [now.date() + dt.timedelta(days=1)]})
    out = check(pack, future)
    assert not out["ts.not_in_future.max"].passed and not out["d.not_in_future.max"].passed


def _listed(name: str) -> list[str]:
    pack = Packs().get(name)
    assert pack is not None
    return next(s.params["values"] for s in pack.specs if s.kind == "isin")


def test_currency_list_is_iso_4217_shaped():
    codes = _listed("iso_currency")
    assert all(re.fullmatch(r"[A-Z]{3}", c) for c in codes)
    assert len(codes) == len(set(codes)) == 179
    assert {"EUR", "USD", "GBP", "CNY", "XDR", "XXX", "BOV", "VES", "SLE", "ZWG", "XCG"} <= set(codes)
    assert not {"HRK", "VEF", "MRO", "STD", "BYR", "LTL", "ZWL", "SLL", "ANG", "BGN"} & set(codes)


def test_country_list_is_all_249_alpha2_codes():
    codes = _listed("iso_country")
    assert all(re.fullmatch(r"[A-Z]{2}", c) for c in codes)
    assert len(codes) == len(set(codes)) == 249
    assert {"NO", "ON"} & set(codes) == {"NO"}  # quoted in YAML, not the boolean false


def test_every_pack_file_names_itself():
    for path in (REPO / "rules").glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert re.search(rf"^pack: {path.stem}$", text, re.M), path


def _own_packs(monkeypatch, tmp_path, files: dict[str, str]) -> None:
    root = tmp_path / "own_packs"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text)
    monkeypatch.setattr(packs, "packs_root", lambda: root)


def test_a_pack_may_not_reference_assets_or_other_packs(project, monkeypatch, tmp_path):
    _own_packs(monkeypatch, tmp_path, {"bad.yaml": "pack: bad\nrules:\n  references: merchants.id\n"})
    err = project.error("asset: orders\ncolumns:\n  v: {use: bad}\n")
    assert err.path and err.path.endswith("bad.yaml") and (err.line, err.col) == (3, 3)
    assert "unknown key 'references'" in err.message


def test_a_pack_must_carry_its_own_name_and_rules(project, monkeypatch, tmp_path):
    _own_packs(monkeypatch, tmp_path, {"a.yaml": "pack: b\nrules:\n  min: 0\n", "c.yaml": "pack: c\n"})
    err = project.error("asset: orders\ncolumns:\n  v: {use: a}\n")
    assert "must be named 'a'" in err.message and err.line == 1
    err = project.error("asset: orders\ncolumns:\n  v: {use: c}\n")
    assert err.path and err.path.endswith("c.yaml") and "needs `rules:`" in err.message


def test_wheel_ships_the_packs_as_assetbuild_packs():
    """pyproject.toml must map the package `assetbuild.packs` to rules/ and list every package."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    setuptools = config.get("tool", {}).get("setuptools", {})
    if "assetbuild.packs" not in setuptools.get("package-dir", {}):
        pytest.skip(
            "pyproject.toml does not map assetbuild.packs yet: packs ship only from a source checkout"
        )
    assert setuptools["package-dir"]["assetbuild.packs"] == "rules"
    assert "*.yaml" in setuptools.get("package-data", {}).get("assetbuild.packs", [])
    listed = set(setuptools.get("packages", []))
    on_disk = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "assetbuild").rglob("__init__.py")}
    assert on_disk | {"assetbuild.packs"} <= listed, sorted(on_disk - listed)
