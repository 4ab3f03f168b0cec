"""Reading source files (CSV, Parquet, NDJSON, JSON) into one table, guarding against files that change mid-read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from ..definitions.model import AssetDef, SourceFile
from ..errors import AssetFailure
from ..hashing import hash_file


def read_source(root: Path, asset: AssetDef, files: tuple[SourceFile, ...]) -> pl.DataFrame:
    frames = []
    for f in files:
        path = root / f.path
        frame = _read_one(path, f.path, asset.format or "csv", dict(asset.config.get("options", {})))
        # The file hash decided the build key; if the bytes changed while we read them, the
        # table we hold might not match that key, so refuse rather than record a wrong hash.
        if hash_file(path)[0] != f.hash:
            raise AssetFailure(
                f"source file {f.path} changed while it was being read; run the build again once it is complete"
            )
        frames.append(frame)
    if len(frames) == 1:
        return frames[0]
    try:
        return pl.concat(frames, how="vertical_relaxed")
    except Exception as e:
        raise AssetFailure(
            f"source '{asset.name}': its files do not share one schema ({e}); "
            f"files: {', '.join(f.path for f in files)}"
        ) from None


def _read_one(path: Path, rel: str, fmt: str, options: dict[str, Any]) -> pl.DataFrame:
    try:
        if path.stat().st_size == 0:
            raise AssetFailure(f"source file {rel} is empty (0 bytes); a CSV needs at least a header line")
        if fmt == "csv":
            options.setdefault("try_parse_dates", True)
            if path.suffix.lower() == ".tsv":
                options.setdefault("separator", "\t")
            return pl.read_csv(path, **options)
        if fmt == "parquet":
            return pl.read_parquet(path, **options)
        if fmt == "ndjson":
            return pl.read_ndjson(path, **options)
        if fmt == "json":
            return pl.read_json(path, **options)
    except AssetFailure:
        raise
    except TypeError as e:
        raise AssetFailure(f"source file {rel}: bad reader option ({e})") from None
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise AssetFailure(f"cannot read {rel} as {fmt}: {first}") from None
    raise AssetFailure(f"source file {rel}: unsupported format '{fmt}'")
