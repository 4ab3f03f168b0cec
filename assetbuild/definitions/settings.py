"""Settings any asset may take, from `[assets.NAME]` in assetbuild.toml, and the value types they use.

`[assets.NAME]` is the one place to describe and bound an asset whatever its kind (a SQL file has no
decorator): description, tags, owner, how often to retry, and how long it may run. Durations and
sizes are written the way people write them ("90s", "10m", "1h30m"; "512MB", "4GB").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from assetbuild.errors import ProjectError

ASSET_SETTING_KEYS = ("description", "tags", "owner", "retries", "timeout")
# Named in the design for capabilities that are not built yet: refused with a clear word, never ignored.
NOT_YET = {
    "partitioned": "partitioned assets are not supported yet",
    "engine": "SQL assets run on the embedded DuckDB; other engines are not supported yet",
    "command": "command assets are not supported yet",
}

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*\Z", re.IGNORECASE)
_SIZE_UNIT = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


@dataclass(frozen=True)
class AssetSettings:
    """What `[assets.NAME]` says about one asset; None where it says nothing."""

    name: str
    line: int
    description: str | None = None
    tags: tuple[str, ...] | None = None
    owner: str | None = None
    retries: int | None = None
    timeout_s: float | None = None


def parse_duration(value: Any) -> float | None:
    """Seconds in a duration ("90s", "10m", "1h30m", "250ms", or a number of seconds); None if invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):  # a bare number is seconds, as on the command line
        return float(text) if float(text) > 0 else None
    pos, total = 0, 0.0
    for m in _DURATION_PART.finditer(text):
        if text[pos : m.start()].strip():
            return None
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if pos == 0 or text[pos:].strip() or total <= 0:
        return None
    return total


def parse_size(value: Any) -> int | None:
    """Bytes in a size ("512MB", "4GB", "2GiB", or a number of bytes); None if invalid."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if not isinstance(value, str):
        return None
    m = _SIZE.match(value)
    if not m:
        return None
    size = int(float(m.group(1)) * _SIZE_UNIT[m.group(2).lower()])
    return size if size > 0 else None


def format_duration(seconds: float) -> str:
    """A duration as a person writes it: 0.5s, 90s → 1m30s, 3600 → 1h."""
    if seconds < 60:
        return f"{seconds:g}s"
    whole = round(seconds)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (s, "s")) if v)


DURATION_HINT = 'write a duration such as "90s", "10m" or "1h30m"'
SIZE_HINT = 'write a size such as "512MB" or "4GB"'


def duration_setting(value: Any, what: str, file: str, line: int | None) -> float:
    """`value` as seconds, or a project error naming `what` ("[build] timeout") at file:line."""
    seconds = parse_duration(value)
    if seconds is None:
        raise ProjectError(f"{what} {value!r} is not a duration", file, line, hint=DURATION_HINT)
    return seconds


def size_setting(value: Any, what: str, file: str, line: int | None) -> int:
    """`value` as bytes, or a project error naming `what` at file:line."""
    size = parse_size(value)
    if size is None:
        raise ProjectError(f"{what} {value!r} is not a size", file, line, hint=SIZE_HINT)
    return size
