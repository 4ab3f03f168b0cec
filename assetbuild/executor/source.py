"""Reading source files (CSV, Parquet, NDJSON, JSON) into one table, guarding against files that change mid-read."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import polars as pl

from assetbuild.errors import AssetFailure
from assetbuild.hashing import hash_bytes
from assetbuild.model.assets import AssetDef, SourceFile


def read_source(root: Path, asset: AssetDef, files: tuple[SourceFile, ...]) -> pl.DataFrame:
    frames = []
    for f in files:
        path = root / f.path
        # The file hash decided the build key, so the table must come from exactly those bytes:
        # read them once, hash what was read, and parse that. (Re-hashing the path after parsing
        # it would miss a file that changed during the read and changed back.)
        try:
            data = path.read_bytes()
        except OSError as e:
            raise AssetFailure(f"cannot read source file {f.path}: {e.strerror or e}") from None
        if hash_bytes(data) != f.hash:
            raise AssetFailure(
                f"source file {f.path} changed while it was being read; run the build again once it is complete"
            )
        frames.append(_read_one(data, f.path, asset.format or "csv", dict(asset.config.get("options", {}))))
    if len(frames) == 1:
        return frames[0]
    try:
        return pl.concat(frames, how="vertical_relaxed")
    except Exception as e:
        raise AssetFailure(
            f"source '{asset.name}': its files do not share one schema ({e}); "
            f"files: {', '.join(f.path for f in files)}"
        ) from None


def _read_one(data: bytes, rel: str, fmt: str, options: dict[str, Any]) -> pl.DataFrame:
    source = io.BytesIO(data)
    try:
        if not data:
            raise AssetFailure(f"source file {rel} is empty (0 bytes); a CSV needs at least a header line")
        if fmt == "csv":
            options.setdefault("try_parse_dates", True)
            if rel.lower().endswith(".tsv"):
                options.setdefault("separator", "\t")
            return pl.read_csv(source, **options)
        if fmt == "parquet":
            return pl.read_parquet(source, **options)
        if fmt == "ndjson":
            return pl.read_ndjson(source, **options)
        if fmt == "json":
            return pl.read_json(source, **options)
    except AssetFailure:
        raise
    except TypeError as e:
        raise AssetFailure(f"source file {rel}: bad reader option ({e})") from None
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise AssetFailure(f"cannot read {rel} as {fmt}: {first}") from None
    raise AssetFailure(f"source file {rel}: unsupported format '{fmt}'")
