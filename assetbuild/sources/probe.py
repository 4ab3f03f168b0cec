"""Source probes: what a source is now, as the inputs of its build key, without reading its data.

Observing is part of a build (and of `plan`), not of reading the project: `show` or `graph` of
one asset never hashes the files of every source, and a source that is not in the build is not
looked at. The file probe globs the source's patterns and identifies each file by its content
hash (kept in a stat cache, so an unchanged file is not read again); a probe for an object store
(ETag) or a database (an in-database fingerprint) answers the same question.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from assetbuild.definitions.config import CONFIG_FILE
from assetbuild.definitions.parse_cache import FileCache
from assetbuild.errors import ProjectError
from assetbuild.model.assets import AssetDef, Kind, Project, SourceFile


@dataclass(frozen=True)
class Observation:
    """A source as it is now: its files, each identified by content hash."""

    source: str
    files: tuple[SourceFile, ...]

    @property
    def inputs(self) -> list[tuple[str, str]]:
        """The build key's inputs: one (`file:PATH`, hash) per file."""
        return [(f"file:{f.path}", f.hash) for f in self.files]


class SourceProbe(Protocol):
    def observe(self, asset: AssetDef) -> Observation: ...

    def close(self) -> None: ...


class FileProbe:
    """Local files matched by the source's glob patterns."""

    def __init__(self, root: Path, store_dir: Path) -> None:
        self.root = root
        self.cache = FileCache(store_dir / "cache" / "sources.json")

    def observe(self, asset: AssetDef) -> Observation:
        found: dict[str, Path] = {}
        seen: set[str] = set()
        for pattern in asset.patterns:
            matches = [Path(m) for m in glob.glob(str(self.root / pattern), recursive=True)]
            matches = [m for m in matches if m.is_file() and not m.name.startswith(".")]
            if not matches:
                raise ProjectError(
                    f"source '{asset.name}': no file matches '{pattern}'",
                    CONFIG_FILE,
                    asset.line,
                    hint="check the path (relative to the project folder), or generate the data first",
                )
            for m in sorted(matches, key=lambda p: (len(p.parts), str(p))):
                real = os.path.realpath(m)
                if real in seen:
                    continue  # the same file again, through a symlink (a loop under `**`)
                seen.add(real)
                rel = os.path.relpath(m, self.root).replace(os.sep, "/")
                found[rel] = m
        files = []
        for rel in sorted(found):
            digest, size = self.cache.file_hash(found[rel], rel)
            files.append(SourceFile(path=rel, hash=digest, size=size))
        return Observation(asset.name, tuple(files))

    def close(self) -> None:
        self.cache.save()  # best effort: a read-only checkout only makes the next look slower


def observe(project: Project, names: Iterable[str] | None = None) -> dict[str, Observation]:
    """Observe the sources among `names` (every source when None), each once."""
    wanted = project.order if names is None else names
    sources = [project.assets[n] for n in wanted if project.assets[n].kind is Kind.SOURCE]
    if not sources:
        return {}
    probe = FileProbe(project.root, project.store_dir)
    try:
        return {a.name: probe.observe(a) for a in sources}
    finally:
        probe.close()
