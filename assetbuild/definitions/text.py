"""Reading a project file as UTF-8 text; a file in another encoding is a ProjectError at its line."""

from __future__ import annotations

from pathlib import Path

from assetbuild.errors import ProjectError


def read_utf8(path: Path, relpath: str) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProjectError(
            f"not valid UTF-8 (byte {e.start})",
            relpath,
            raw.count(b"\n", 0, e.start) + 1,
            hint="save the file as UTF-8",
        ) from None
