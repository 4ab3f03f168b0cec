"""Remembers file hashes by stat and parse results by content, so an unchanged project is not re-read.

One JSON file under `.assetbuild/cache/`. Stat data (size, mtime_ns, inode, ctime_ns) only avoids
re-reading a file; correctness always rests on the content hash. A file modified within the last
two seconds is not cached by stat, since a second write in the same clock tick could go unseen.
Writes are atomic (write aside, rename), so two processes can at worst redo each other's work.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from assetbuild.hashing import hash_file

# Bump when fingerprinting or parse payloads change shape: every cached parse is then redone.
CACHE_VERSION = 7  # 5: Jinja refused; 6: SQL_SEMANTICS in fingerprints; 7: Python code parts
_RACY_NS = 2_000_000_000


class FileCache:
    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.dirty = False
        self.files: dict[str, list[Any]] = {}
        self.parsed: dict[str, dict[str, Any]] = {}
        if path is not None and path.exists():
            try:
                data = json.loads(path.read_text())
                if data.get("version") == CACHE_VERSION:
                    self.files = data.get("files", {})
                    self.parsed = data.get("parsed", {})
            except (OSError, ValueError):
                pass  # a damaged cache is only a slower start

    def file_hash(self, abs_path: Path, relpath: str) -> tuple[str, int]:
        """Content hash and size of a file, read only when its stat differs from the cached one."""
        st = os.stat(abs_path)
        key = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
        entry = self.files.get(relpath)
        if entry is not None and entry[:4] == key:
            return entry[4], st.st_size
        digest, size = hash_file(abs_path)
        if time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) > _RACY_NS:
            self.files[relpath] = [*key, digest]
            self.dirty = True
        elif relpath in self.files:
            del self.files[relpath]
            self.dirty = True
        return digest, size

    def get_parsed(self, relpath: str, digest: str, current_hash: Any) -> Any | None:
        """The cached parse of `relpath` if its content and every local file it read are unchanged."""
        entry = self.parsed.get(relpath)
        if entry is None or entry["hash"] != digest:
            return None
        for dep, dep_hash in entry.get("deps", {}).items():
            if current_hash(dep) != dep_hash:
                return None
        return entry["payload"]

    def put_parsed(self, relpath: str, digest: str, deps: dict[str, str | None], payload: Any) -> None:
        self.parsed[relpath] = {"hash": digest, "deps": deps, "payload": payload}
        self.dirty = True

    def forget_missing(self, present: set[str]) -> None:
        for table in (self.files, self.parsed):
            for rel in [r for r in table if r not in present]:
                del table[rel]
                self.dirty = True

    def save(self) -> None:
        if not self.dirty or self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": CACHE_VERSION, "files": self.files, "parsed": self.parsed}))
            os.replace(tmp, self.path)
            self.dirty = False
        except OSError:
            pass  # read-only project or full disk: the cache is an optimisation only
