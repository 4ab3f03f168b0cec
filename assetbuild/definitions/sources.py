"""Source assets: the files a `[sources.NAME]` entry matches, each identified by its content hash."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from assetbuild.definitions.config import CONFIG_FILE, SourceConfig
from assetbuild.definitions.parse_cache import FileCache
from assetbuild.errors import ProjectError
from assetbuild.hashing import hash_json
from assetbuild.model.assets import AssetDef, Kind, SourceFile

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


def source_files(root: Path, cfg: SourceConfig, cache: FileCache) -> tuple[SourceFile, ...]:
    """The files a source reads now, sorted by path; a pattern that matches nothing is an error."""
    found: dict[str, Path] = {}
    for pattern in cfg.patterns:
        matches = [Path(m) for m in glob.glob(str(root / pattern), recursive=True)]
        matches = [m for m in matches if m.is_file() and not m.name.startswith(".")]
        if not matches:
            raise ProjectError(
                f"source '{cfg.name}': no file matches '{pattern}'",
                CONFIG_FILE,
                cfg.line,
                hint="check the path (relative to the project folder), or generate the data first",
            )
        for m in matches:
            rel = os.path.relpath(m, root).replace(os.sep, "/")
            found[rel] = m
    out = []
    for rel in sorted(found):
        digest, size = cache.file_hash(found[rel], rel)
        out.append(SourceFile(path=rel, hash=digest, size=size))
    return tuple(out)


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
