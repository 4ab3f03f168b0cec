"""Content hashes of tables and writing them as Parquet.

The content hash describes the data, not its layout: the schema (names and dtypes) plus the
multiset of rows. Each row is hashed by polars, the row hashes are sorted (so row order and
chunking do not matter) and the sorted vector is hashed with xxh3-128. polars documents that
`hash_rows` is stable within one polars version only, so that version is part of the hash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import xxhash


def content_hash(df: pl.DataFrame) -> str:
    h = xxhash.xxh3_128()
    h.update(f"polars {pl.__version__}\n".encode())
    h.update(repr([(name, str(dtype)) for name, dtype in df.schema.items()]).encode())
    h.update(f"\n{df.height}\n".encode())
    if df.height and df.width:
        row_hashes = df.hash_rows(seed=0).sort().rechunk()
        h.update(row_hashes.to_arrow().buffers()[1])  # type: ignore[arg-type]
    return h.hexdigest()


def schema_of(df: pl.DataFrame) -> list[tuple[str, str]]:
    return [(name, str(dtype)) for name, dtype in df.schema.items()]


def write_parquet(df: pl.DataFrame, path: Path) -> None:
    df.write_parquet(path, compression="zstd", statistics=True)


def to_polars(value: Any, what: str) -> pl.DataFrame:
    """Accept what an asset may return (polars DataFrame/LazyFrame, pyarrow Table, pandas DataFrame)."""
    if isinstance(value, pl.LazyFrame):
        value = value.collect()
    if isinstance(value, pl.DataFrame):
        if value.width == 0:
            raise TypeError(f"{what} returned a table without columns; an asset needs at least one column")
        return value
    module = type(value).__module__.split(".")[0]
    if module == "pyarrow":
        import pyarrow as pa

        if isinstance(value, pa.RecordBatch):
            value = pa.Table.from_batches([value])
        if isinstance(value, pa.Table):
            out = pl.from_arrow(value)
            assert isinstance(out, pl.DataFrame)
            return out
    if module == "pandas" and type(value).__name__ == "DataFrame":
        return pl.from_pandas(value)
    got = "None" if value is None else type(value).__name__
    raise TypeError(
        f"{what} returned {got}; an asset must return a polars DataFrame or LazyFrame, "
        "a pyarrow Table or a pandas DataFrame"
    )


def parquet_holds(path: Path, digest: str) -> bool:
    """True when the Parquet file at `path` reads back as a table with content hash `digest`."""
    try:
        import polars as pl

        return content_hash(pl.read_parquet(path)) == digest
    except Exception:  # unreadable: damaged
        return False
