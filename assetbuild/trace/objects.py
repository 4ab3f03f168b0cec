"""Content-addressed Parquet objects under `.assetbuild/objects/`, and the staging area before them.

An object's name is the content hash of its table; a file is only ever renamed into place once
complete and flushed, so a path under `objects/` either does not exist or holds a whole file.
Before use, an object's size and byte hash are checked against what the trace store recorded.

`LocalObjects` implements the `Objects` protocol (trace/protocols.py) on the local disk; it is
also importable as `ObjectStore`, its former name.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

from assetbuild.hashing import hash_file

if TYPE_CHECKING:
    from assetbuild.trace.protocols import Objects


def object_relpath(content_hash: str) -> str:
    """An object's name in any store: a two-letter shard folder, then the content hash."""
    return f"{content_hash[:2]}/{content_hash}.parquet"


class LocalObjects:
    """Objects as files under `<store_dir>/objects/<2 hex>/<content hash>.parquet`."""

    def __init__(self, store_dir: Path) -> None:
        self.root = store_dir / "objects"
        self.staging = store_dir / "staging"
        self._root = str(self.root)  # for `present`: a string join is cheaper than a Path

    def staging_path(self, run_id: str, asset: str) -> Path:
        self.staging.mkdir(parents=True, exist_ok=True)
        return self.staging / f"{run_id}-{asset}.parquet"

    def relpath(self, content_hash: str) -> str:
        return object_relpath(content_hash)

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

    def present(self, relpath: str, size: int) -> bool:
        """The object exists with this size. One os.stat on a string, no Path: a no-op build
        asks this once per asset."""
        try:
            return os.stat(f"{self._root}/{relpath}").st_size == size
        except OSError:
            return False

    def intact(self, relpath: str, size: int | None, file_hash: str | None) -> bool:
        """True when the object exists with the recorded size and byte hash."""
        p = self.path(relpath)
        try:
            st = p.stat()  # even when no size is given: a missing object is never intact
        except OSError:
            return False
        if size is not None and st.st_size != size:
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

    def listing(self) -> dict[str, int]:
        """Every file under objects/ (strays included) as {path relative to objects/: bytes}."""
        out: dict[str, int] = {}
        if not self.root.is_dir():
            return out
        for p in self.root.rglob("*"):
            with suppress(OSError):  # removed meanwhile
                if p.is_file():
                    out[p.relative_to(self.root).as_posix()] = p.stat().st_size
        return out

    def remove(self, relpath: str) -> None:
        """Delete an object, and its two-letter shard folder once empty."""
        path = self.path(relpath)
        path.unlink(missing_ok=True)
        if path.parent != self.root:
            with suppress(OSError):
                path.parent.rmdir()


ObjectStore = LocalObjects  # the former name; other modules import it


if TYPE_CHECKING:

    def _implements(objects: LocalObjects) -> Objects:  # mypy checks the class against the protocol
        return objects


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
