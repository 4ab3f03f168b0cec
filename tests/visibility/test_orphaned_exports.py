"""An export whose asset was deleted (or no longer exports there) stays where it is, and the build
says so after it runs; `assetbuild gc --exports` removes it, and only it."""

from __future__ import annotations

PROJECT = {
    "assetbuild.toml": """
        [project]
        name = "exp"

        [sources.src]
        path = "data/src.csv"

        [exports]
        totals = "out/totals.csv"
        """,
    "data/src.csv": "id,v\n" + "".join(f"{i},{i * 3}\n" for i in range(20)),
    "assets/totals.sql": "SELECT count(*) AS n, sum(v) AS s FROM src\n",
    "assets/scores.py": """
        import polars as pl

        from assetbuild import asset


        @asset(export="out/scores.parquet")
        def scores(src: pl.DataFrame) -> pl.DataFrame:
            return src.with_columns(score=pl.col("v") * 2)
        """,
}


def _delete_scores(root) -> None:
    (root / "assets" / "scores.py").unlink()


def test_deleting_an_exported_asset_leaves_its_file(make_project, run_cli):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    assert (root / "out" / "scores.parquet").is_file()
    _delete_scores(root)
    r = run_cli(root, "build", "--format", "json")
    assert r.code == 0, r  # a leftover file is news, not a failure
    assert (root / "out" / "scores.parquet").is_file()  # removed only when asked


def test_the_build_says_which_export_is_left_and_how_to_remove_it(make_project, run_cli):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    _delete_scores(root)
    r = run_cli(root, "build")
    assert r.code == 0, r
    assert (
        "out/scores.parquet was exported by asset scores, which no longer exists; "
        "remove it with `assetbuild gc --exports`" in r.stdout + r.stderr
    ), r
    js = run_cli(root, "build", "--format", "json")
    assert any("out/scores.parquet" in w for w in js.json["warnings"]), js


def test_gc_exports_removes_the_leftover_and_nothing_else(make_project, run_cli):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    _delete_scores(root)
    assert run_cli(root, "build").code == 0
    plain = run_cli(root, "gc")
    assert plain.code == 0, plain
    assert "out/scores.parquet" in plain.stdout and "--exports" in plain.stdout, plain
    assert (root / "out" / "scores.parquet").is_file()  # plain gc leaves exports alone
    dry = run_cli(root, "gc", "--exports", "--dry-run", "--format", "json")
    assert dry.code == 0, dry
    assert [e["path"] for e in dry.json["removed_exports"]] == ["out/scores.parquet"]
    assert (root / "out" / "scores.parquet").is_file()
    r = run_cli(root, "gc", "--exports", "--format", "json")
    assert r.code == 0, r
    assert [(e["path"], e["asset"]) for e in r.json["removed_exports"]] == [("out/scores.parquet", "scores")]
    assert not (root / "out" / "scores.parquet").exists()
    assert (root / "out" / "totals.csv").is_file()
    again = run_cli(root, "gc", "--exports", "--format", "json")
    assert again.json["removed_exports"] == [], again
    # the asset comes back: it is exported again, as a new export
    (root / "assets" / "scores.py").write_text(
        PROJECT["assets/scores.py"].replace("\n        ", "\n").lstrip("\n")
    )
    assert run_cli(root, "build").code == 0
    assert (root / "out" / "scores.parquet").is_file()


def test_an_export_moved_elsewhere_leaves_the_old_file(make_project, run_cli):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    toml = root / "assetbuild.toml"
    toml.write_text(toml.read_text().replace('"out/totals.csv"', '"out/totals2.csv"'))
    assert run_cli(root, "build").code == 0
    assert (root / "out" / "totals2.csv").is_file() and (root / "out" / "totals.csv").is_file()
    r = run_cli(root, "gc", "--exports", "--format", "json")
    assert r.code == 0, r
    assert [e["path"] for e in r.json["removed_exports"]] == ["out/totals.csv"]
    assert not (root / "out" / "totals.csv").exists() and (root / "out" / "totals2.csv").is_file()


def test_an_export_no_longer_configured_is_a_leftover_too(make_project, run_cli):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    toml = root / "assetbuild.toml"
    toml.write_text(toml.read_text().replace('totals = "out/totals.csv"', ""))
    assert run_cli(root, "build").code == 0
    r = run_cli(root, "gc", "--exports", "--format", "json")
    assert [(e["path"], e["asset"]) for e in r.json["removed_exports"]] == [("out/totals.csv", "totals")], r


def test_a_leftover_path_another_asset_now_exports_to_is_kept(make_project, run_cli):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    _delete_scores(root)
    (root / "assets" / "scores2.py").write_text(
        "import polars as pl\n\nfrom assetbuild import asset\n\n\n"
        '@asset(export="out/scores.parquet")\n'
        "def scores2(src: pl.DataFrame) -> pl.DataFrame:\n    return src\n"
    )
    assert run_cli(root, "build").code == 0
    r = run_cli(root, "gc", "--exports", "--format", "json")
    assert r.code == 0 and r.json["removed_exports"] == [], r
    assert (root / "out" / "scores.parquet").is_file()


def test_a_file_removed_by_hand_is_no_longer_mentioned(make_project, run_cli):
    root = make_project(PROJECT)
    assert run_cli(root, "build").code == 0
    _delete_scores(root)
    (root / "out" / "scores.parquet").unlink()
    assert run_cli(root, "build").code == 0
    plain = run_cli(root, "gc")
    assert plain.code == 0 and "scores" not in plain.stdout, plain
