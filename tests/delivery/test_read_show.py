"""`assetbuild.read(...)` and `assetbuild show ASSET --rows N` give the store's current data."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import assetbuild
from assetbuild.errors import AssetFailure, ProjectError
from assetbuild.executor.content import content_hash

from ._support import build, cli, rows, show_json, write_files

FILES = {
    "assetbuild.toml": '[project]\nname = "rs"\n\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": "id,name,amount\n" + "".join(f"{i},n{i},{i * 3}\n" for i in range(1, 11)),
    "assets/big.sql": "SELECT id, name, amount FROM src WHERE amount > 6\n",
    "assets/doubled.py": (
        "import polars as pl\n\nfrom assetbuild import asset\n\n\n@asset\n"
        "def doubled(big: pl.DataFrame) -> pl.DataFrame:\n"
        '    return big.select("id", (pl.col("amount") * 2.5).alias("x"))\n'
    ),
}
ASSETS = ("src", "big", "doubled")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_files(tmp_path_factory.mktemp("read") / "proj", FILES)
    build(root)
    return root


@pytest.mark.parametrize("asset", ASSETS)
def test_read_returns_the_stored_content(project, asset):
    df = assetbuild.read(asset, project=project)
    cur = show_json(project, asset)["current"]
    assert isinstance(df, pl.DataFrame)
    assert content_hash(df) == cur["content_hash"]
    assert df.height == cur["rows"]
    assert [{"name": c, "type": str(t)} for c, t in df.schema.items()] == cur["schema"]
    assert rows(df) == rows(pl.read_parquet(cur["object"]))


def test_read_values_and_lazy(project):
    big = assetbuild.read("big", project=str(project))
    assert sorted(big["id"].to_list()) == list(range(3, 11))
    lazy = assetbuild.read("doubled", project=project, lazy=True)
    assert isinstance(lazy, pl.LazyFrame)
    eager = lazy.collect()
    assert content_hash(eager) == show_json(project, "doubled")["current"]["content_hash"]
    assert eager.filter(pl.col("id") == 4)["x"].to_list() == [30.0]


def test_read_an_unknown_asset_is_a_project_error_with_a_hint(project):
    with pytest.raises(ProjectError) as e:
        assetbuild.read("bgi", project=project)
    assert "no asset named 'bgi'" in str(e.value)
    assert e.value.hint == "did you mean 'big'?"


def test_read_a_never_built_asset_says_so(make_project):
    root = make_project(FILES)
    with pytest.raises(AssetFailure, match="'big' has not been built yet; run `assetbuild build \\+big`"):
        assetbuild.read("big", project=root)
    build(root)
    (root / "assets/later.sql").write_text("SELECT id FROM big\n")
    with pytest.raises(AssetFailure, match="'later' has not been built yet"):
        assetbuild.read("later", project=root)


def test_read_after_a_failed_check_gives_the_last_good_data(make_project):
    root = make_project({**FILES, "rules/big.yaml": "asset: big\ncolumns:\n  amount: {max: 100}\n"})
    build(root)
    good = assetbuild.read("big", project=root)
    (root / "data/src.csv").write_text("id,name,amount\n1,a,900\n")
    r = build(root, code=1)
    assert {a["name"]: a["status"] for a in r["assets"]}["big"] == "check_failed"
    again = assetbuild.read("big", project=root)
    assert content_hash(again) == content_hash(good)
    assert 900 not in again["amount"].to_list()


def test_show_rows_prints_a_preview(project):
    r = cli(project, "show", "big", "--rows", "3")
    assert r.code == 0, str(r)
    for column in ("id", "name", "amount"):
        assert column in r.stdout
    assert "shape: (3, 3)" in r.stdout, r.stdout
    # the preview shows three of big's rows
    big = assetbuild.read("big", project=project)
    shown = [n for n in big["name"].to_list() if f" {n} " in r.stdout]
    assert len(shown) == 3, r.stdout

    plain = cli(project, "show", "big")
    assert plain.code == 0 and "shape:" not in plain.stdout


def test_show_json_preview_rows(project):
    info = show_json(project, "big", "--rows", "3")
    preview = info["preview"]
    assert len(preview) == 3
    assert all(list(row) == ["id", "name", "amount"] for row in preview)
    big = assetbuild.read("big", project=project)
    assert all(tuple(row.values()) in set(big.rows()) for row in preview)

    everything = show_json(project, "doubled", "--rows", "100")["preview"]
    assert rows(pl.DataFrame(everything)) == rows(assetbuild.read("doubled", project=project))
    assert "preview" not in show_json(project, "big")


def test_show_gives_the_metadata_an_asset_declares(make_project, run_cli):
    root = make_project(
        {
            "assetbuild.toml": '[project]\nname = "m"\n\n[sources.raw]\npath = "data/raw.csv"\n'
            'metadata = {sla = "daily"}\n',
            "data/raw.csv": "a\n1\n",
            "assets/tiered.py": "import polars as pl\n\nfrom assetbuild import asset\n\n\n"
            '@asset(metadata={"tier": 1, "team": "risk"})\n'
            "def tiered(raw: pl.DataFrame) -> pl.DataFrame:\n    return raw\n",
        }
    )
    shown = run_cli(root, "show", "tiered", "--format", "json")
    assert shown.code == 0, shown
    assert shown.json["metadata"] == {"tier": 1, "team": "risk"}
    assert run_cli(root, "show", "raw", "--format", "json").json["metadata"] == {"sla": "daily"}
    assert "tier: 1" in run_cli(root, "show", "tiered").stdout
