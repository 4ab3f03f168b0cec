"""Source assets as the project declares them (`[sources.NAME]`); their files are observed by a
probe when a build runs (sources/probe.py)."""

from __future__ import annotations

from pathlib import Path

from assetbuild.definitions.config import CONFIG_FILE, SourceConfig
from assetbuild.errors import ProjectError
from assetbuild.hashing import hash_json
from assetbuild.model.assets import AssetDef, Kind

_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".json": "json",
}


def source_asset(cfg: SourceConfig) -> AssetDef:
    fmt = cfg.format or _format_from_suffix(cfg)
    config = {"format": fmt, "options": cfg.options}
    return AssetDef(
        name=cfg.name,
        kind=Kind.SOURCE,
        path=CONFIG_FILE,
        line=cfg.line,
        upstream=(),
        fingerprint=hash_json({"source": config, "patterns": list(cfg.patterns)}),
        config=config,
        description=cfg.description,
        tags=cfg.tags,
        owner=cfg.owner,
        metadata=cfg.metadata,
        patterns=cfg.patterns,
        format=fmt,
    )


def _format_from_suffix(cfg: SourceConfig) -> str:
    suffixes = {Path(p.rstrip("*")).suffix.lower() for p in cfg.patterns}
    formats = {_SUFFIX_FORMATS.get(s) for s in suffixes}
    if len(formats) == 1 and None not in formats:
        return formats.pop()  # type: ignore[return-value]
    raise ProjectError(
        f"source '{cfg.name}': cannot tell the format from '{', '.join(cfg.patterns)}'",
        CONFIG_FILE,
        cfg.line,
        hint='add format = "csv" (or parquet, ndjson, json)',
    )
