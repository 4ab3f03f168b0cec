"""Incremental == clean when a source changes only in what the old hash could not see."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

import assetbuild

from ._support import clean_hashes, errors, parquet_source_toml, run, statuses, write_source

INVERSE = (
    "import polars as pl\n\nfrom assetbuild import asset\n\n\n@asset\n"
    "def inverse(src: pl.DataFrame) -> pl.DataFrame:\n"
    '    return src.select((1 / pl.col("x")).alias("y"))\n'
)
SIGN = "SELECT signbit(x) AS negative FROM src\n"


def _bits(values: list[int]) -> pl.DataFrame:
    raw = pa.array(values, pa.uint64())
    return pl.DataFrame({"x": pl.Series("x", pa.Array.from_buffers(pa.float64(), len(raw), raw.buffers()))})


def test_zero_becoming_negative_zero_rebuilds_downstream(make_project, tmp_path):
    root = make_project(
        {"assetbuild.toml": parquet_source_toml("src"), "assets/inverse.py": INVERSE, "assets/sign.sql": SIGN}
    )
    write_source(root, "src", pl.DataFrame({"x": [0.0, 2.0]}))
    first = run(root)
    assert first.ok, errors(first)
    assert assetbuild.read("inverse", project=root)["y"].to_list() == [float("inf"), 0.5]
    write_source(root, "src", pl.DataFrame({"x": [-0.0, 2.0]}))
    second = run(root)
    assert second.ok, errors(second)
    assert statuses(second) == {"src": "built", "inverse": "built", "sign": "built"}
    assert assetbuild.read("inverse", project=root)["y"].to_list() == [float("-inf"), 0.5]
    assert assetbuild.read("sign", project=root)["negative"].to_list() == [True, False]
    assert {a.name: a.content_hash for a in second.assets} == clean_hashes(root, tmp_path / "clean")


def test_a_nan_payload_change_reaches_downstream(make_project, tmp_path):
    bits_of = (
        "import polars as pl\n\nfrom assetbuild import asset\n\n\n@asset\n"
        "def payload(src: pl.DataFrame) -> pl.DataFrame:\n"
        "    import pyarrow as pa\n"
        '    a = src.get_column("x").to_arrow()\n'
        "    u = pa.Array.from_buffers(pa.uint64(), len(a), a.buffers(), offset=a.offset)\n"
        '    return pl.DataFrame({"bits": pl.Series("bits", u)})\n'
    )
    root = make_project({"assetbuild.toml": parquet_source_toml("src"), "assets/payload.py": bits_of})
    write_source(root, "src", _bits([0x7FF8000000000000]))
    assert run(root).ok
    write_source(root, "src", _bits([0x7FF8000000000001]))
    second = run(root)
    assert second.ok, errors(second)
    assert statuses(second)["payload"] == "built"
    assert assetbuild.read("payload", project=root)["bits"].to_list() == [0x7FF8000000000001]
    assert {a.name: a.content_hash for a in second.assets} == clean_hashes(root, tmp_path / "clean")
