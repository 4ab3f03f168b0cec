"""Content-addressed Parquet objects under `.assetbuild/objects/`, and the staging area before them.

An object's name is the content hash of its table; a file is only ever renamed into place once
complete and flushed, so a path under `objects/` either does not exist or holds a whole file.
Before use, an object's size and byte hash are checked against what the trace store recorded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from assetbuild.hashing import hash_file


class ObjectStore:
    def __init__(self, store_dir: Path) -> None:
        self.root = store_dir / "objects"
        self.staging = store_dir / "staging"

    def staging_path(self, run_id: str, asset: str) -> Path:
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging / f"{run_id}-{asset}.parquet"

    def relpath(self, content_hash: str) -> str:
        return f"{content_hash[:2]}/{content_hash}.parquet"

    def path(self, relpath: str) -> Path:
        return self.root / relpath

    def commit(
        self, staged: Path, content_hash: str, holds: Callable[[Path, str], bool] = lambda p, h: False
    ) -> tuple[str, int, str]:
        """Move a complete staged file to its content address; returns (relpath, size, file hash).

        When an intact object with that content already exists, it is kept and the staged file
        dropped, so re-running an asset to identical data writes nothing new. An existing file
        that does not hold that content (truncated or edited by hand) is replaced, never adopted.
        `holds(path, content_hash)` reads an existing file whose bytes differ (another row order
        or chunking, or damage); the store itself never parses the data it keeps.
        """
        rel = self.relpath(content_hash)
        final = self.path(rel)
        digest, size = hash_file(staged)
        if final.exists():
            existing, existing_size = hash_file(final)
            if existing == digest or holds(final, content_hash):
                staged.unlink(missing_ok=True)
                return rel, existing_size, existing
        final.parent.mkdir(parents=True, exist_ok=True)
        with open(staged, "rb") as f:
            os.fsync(f.fileno())
        os.replace(staged, final)
        _fsync_dir(final.parent)
        return rel, size, digest

    def intact(self, relpath: str, size: int | None, file_hash: str | None) -> bool:
        """True when the object exists with the recorded size and byte hash."""
        p = self.path(relpath)
        try:
            if size is not None and p.stat().st_size != size:
                return False
        except OSError:
            return False
        if file_hash is None:
            return True
        try:
            return hash_file(p)[0] == file_hash
        except OSError:
            return False

    def clear_staging(self) -> int:
        """Remove staged leftovers of killed builds (call only while holding the build lock)."""
        removed = 0
        if self.staging.is_dir():
            for f in self.staging.iterdir():
                try:
                    f.unlink()
                    removed += 1
                except OSError:
                    pass
        return removed


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
