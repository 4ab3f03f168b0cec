"""Reads `assetbuild.toml`: project name, sources, exports, lineage, build settings.

Every key is checked against what is allowed, so a typo answers with the file, the line and a
"did you mean" instead of being silently ignored.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assetbuild.errors import ProjectError, did_you_mean

CONFIG_FILE = "assetbuild.toml"
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")  # \Z, not $: "x\n" is no name
# Asset names become parts of file names (staged objects), which most file systems cap at 255 bytes.
MAX_NAME_LENGTH = 128
NAME_HINT = (
    f"use letters, digits and underscores, starting with a letter; at most {MAX_NAME_LENGTH} characters"
)


def is_valid_name(name: str) -> bool:
    return bool(NAME_RE.match(name)) and len(name) <= MAX_NAME_LENGTH


SOURCE_FORMATS = ("csv", "parquet", "ndjson", "json")

_SECTIONS = ("project", "sources", "exports", "lineage", "build")
# The SQL dialects assets may be written in (sqlglot names); the embedded engine runs DuckDB's.
SUPPORTED_DIALECTS = ("duckdb",)
_PROJECT_KEYS = ("name", "environment", "description", "dialect")
_SOURCE_KEYS = ("path", "format", "description", "tags", "owner", "options", "metadata")
# assetbuild's own reader options (the others go to polars' reader): what each accepts
SOURCE_OWN_OPTIONS = {  # name: (the values it takes, the first its default; them in words; an example)
    "widen": ((False, True), "true or false", "true"),
    "missing_fields": (("error", "null"), '"error" or "null"', '"null"'),
}
_LINEAGE_KEYS = ("namespace", "url", "endpoint", "timeout", "api_key", "disabled")
_BUILD_KEYS = ("jobs",)


@dataclass(frozen=True)
class SourceConfig:
    name: str
    patterns: tuple[str, ...]
    format: str | None
    options: dict[str, Any]
    description: str | None
    tags: tuple[str, ...]
    owner: str | None
    metadata: dict[str, Any]
    line: int


@dataclass(frozen=True)
class Config:
    name: str
    sources: dict[str, SourceConfig]
    exports: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] = field(default_factory=dict)
    jobs: int | None = None
    environment: str = "default"
    dialect: str = "duckdb"


def load_config(root: Path) -> Config:
    path = root / CONFIG_FILE
    if not path.exists():
        return Config(name=_default_name(root), sources={})
    raw_bytes = path.read_bytes()
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProjectError(
            f"not valid UTF-8 (byte {e.start})", CONFIG_FILE, _line_of_offset(raw_bytes, e.start)
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line, col = _toml_position(str(e))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        raise ProjectError(f"TOML syntax error: {message}", CONFIG_FILE, line, col) from None
    lines = text.splitlines()
    _check_keys(data, _SECTIONS, lines, None)
    project = _table(data, "project", lines)
    _check_keys(project, _PROJECT_KEYS, lines, "project")
    name = project.get("name", _default_name(root))
    if not isinstance(name, str) or not name.strip():
        raise ProjectError(
            "[project] name must be a non-empty string", CONFIG_FILE, _find_line(lines, "name")
        )
    sources = {}
    for src_name, spec in _table(data, "sources", lines).items():
        sources[src_name] = _source(src_name, spec, lines)
    exports = _table(data, "exports", lines)
    for asset, target in exports.items():
        if not isinstance(target, str) and not (
            isinstance(target, dict) and isinstance(target.get("path"), str)
        ):
            raise ProjectError(
                f"export of '{asset}' must be a path string or a table with a path",
                CONFIG_FILE,
                _find_line(lines, asset, "exports"),
                hint='e.g. fraud_scores = "out/fraud_scores.parquet", or {path = "out/x", partition_by = "day"}',
            )
    lineage = _table(data, "lineage", lines)
    _check_keys(lineage, _LINEAGE_KEYS, lines, "lineage")
    build = _table(data, "build", lines)
    _check_keys(build, _BUILD_KEYS, lines, "build")
    jobs = build.get("jobs")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ProjectError("[build] jobs must be a positive integer", CONFIG_FILE, _find_line(lines, "jobs"))
    environment = project.get("environment", "default")
    if not isinstance(environment, str) or not NAME_RE.match(environment):
        raise ProjectError(
            "[project] environment must be a simple name", CONFIG_FILE, _find_line(lines, "environment")
        )
    dialect = project.get("dialect", "duckdb")
    if dialect not in SUPPORTED_DIALECTS:
        raise ProjectError(
            f"[project] dialect {dialect!r} is not supported",
            CONFIG_FILE,
            _find_line(lines, "dialect"),
            hint='assets are written in DuckDB\'s SQL (dialect = "duckdb"); other dialects arrive with other engines',
        )
    return Config(
        name=name.strip(),
        sources=sources,
        exports=dict(exports),
        lineage=dict(lineage),
        jobs=jobs,
        environment=environment,
        dialect=dialect,
    )


def _source(name: str, spec: Any, lines: list[str]) -> SourceConfig:
    header = _find_header(lines, f"sources.{name}") or _find_quoted_header(lines, "sources", name)
    if not is_valid_name(name):
        raise ProjectError(
            f"source name {name!r} is not a valid asset name",
            CONFIG_FILE,
            header,
            hint=NAME_HINT,
        )
    if not isinstance(spec, dict):
        raise ProjectError(
            f"[sources.{name}] must be a table with a 'path'",
            CONFIG_FILE,
            header or _find_line(lines, name),
            hint=f'[sources.{name}]\npath = "data/{name}.csv"',
        )
    for key, (_, _, example) in SOURCE_OWN_OPTIONS.items():
        if key in spec:
            raise ProjectError(
                f"'{key}' in [sources.{name}] is a reader option",
                CONFIG_FILE,
                _find_line(lines, key, f"sources.{name}"),
                hint=f"options = {{{key} = {example}}}",
            )
    _check_keys(spec, _SOURCE_KEYS, lines, f"sources.{name}")
    path = spec.get("path")
    if isinstance(path, str):
        patterns: tuple[str, ...] = (path,)
    elif isinstance(path, list) and path and all(isinstance(p, str) for p in path):
        patterns = tuple(path)
    else:
        raise ProjectError(
            f"source '{name}' needs a 'path' (a string or a list of strings; globs allowed)",
            CONFIG_FILE,
            header,
            hint=f'path = "data/{name}.csv"',
        )
    for pattern in patterns:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise ProjectError(
                f"source '{name}': path '{pattern}' leaves the project",
                CONFIG_FILE,
                _find_line(lines, "path", f"sources.{name}"),
                hint="source paths are relative to the project folder; copy or link the data inside it",
            )
    fmt = spec.get("format")
    if fmt is not None and fmt not in SOURCE_FORMATS:
        raise ProjectError(
            f"source '{name}': unknown format '{fmt}'",
            CONFIG_FILE,
            _find_line(lines, "format", f"sources.{name}"),
            hint=did_you_mean(str(fmt), SOURCE_FORMATS) or f"one of {', '.join(SOURCE_FORMATS)}",
        )
    options = spec.get("options", {})
    if not isinstance(options, dict):
        raise ProjectError(f"source '{name}': options must be a table", CONFIG_FILE, header)
    for key, (allowed, wanted, _) in SOURCE_OWN_OPTIONS.items():
        value = options.get(key, allowed[0])
        if not any(value is a if isinstance(a, bool) else value == a for a in allowed):
            raise ProjectError(
                f"source '{name}': options.{key} must be {wanted}, not {value!r}",
                CONFIG_FILE,
                _find_line(lines, "options", f"sources.{name}"),
            )
    tags = spec.get("tags", [])
    if not isinstance(tags, list):
        raise ProjectError(f"source '{name}': tags must be a list of strings", CONFIG_FILE, header)
    return SourceConfig(
        name=name,
        patterns=patterns,
        format=fmt,
        options=dict(options),
        description=spec.get("description"),
        tags=tuple(str(t) for t in tags),
        owner=spec.get("owner"),
        metadata=dict(spec.get("metadata", {})),
        line=header or 1,
    )


def _table(data: dict[str, Any], key: str, lines: list[str]) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ProjectError(f"'{key}' must be a table ([{key}])", CONFIG_FILE, _find_line(lines, key))
    return value


def _check_keys(
    table: dict[str, Any], allowed: tuple[str, ...], lines: list[str], section: str | None
) -> None:
    for key in table:
        if key not in allowed:
            where = f"[{section}]" if section else "the top level"
            hint = did_you_mean(key, allowed) or f"allowed in {where}: {', '.join(allowed)}"
            raise ProjectError(
                f"unknown key '{key}' in {where}",
                CONFIG_FILE,
                _find_header(lines, key) or _find_line(lines, key, section),
                hint=hint,
            )


def _find_header(lines: list[str], dotted: str) -> int | None:
    pattern = re.compile(r"^\s*\[\s*" + re.escape(dotted).replace(r"\.", r"\s*\.\s*") + r"\s*\]")
    for i, line in enumerate(lines, 1):
        if pattern.match(line):
            return i
    return None


def _find_quoted_header(lines: list[str], parent: str, name: str) -> int | None:
    """Line of `[parent."name"]` (or single quotes): a table whose name is not a bare key."""
    quoted = "|".join(re.escape(q + name + q) for q in ('"', "'"))
    pattern = re.compile(r"^\s*\[\s*" + re.escape(parent) + r"\s*\.\s*(?:" + quoted + r")\s*\]")
    for i, line in enumerate(lines, 1):
        if pattern.match(line):
            return i
    return None


def _find_line(lines: list[str], key: str, section: str | None = None) -> int | None:
    """Best-effort line of `key = ...`, preferring the given section (tomllib keeps no positions)."""
    start = (_find_header(lines, section) or 0) if section else 0
    pattern = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for i in range(start, len(lines)):
        if pattern.match(lines[i]):
            return i + 1
    return start or None


def _toml_position(message: str) -> tuple[int | None, int | None]:
    m = re.search(r"at line (\d+), column (\d+)", message)
    return (int(m.group(1)), int(m.group(2))) if m else (None, None)


def _line_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _default_name(root: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", root.resolve().name) or "project"
    return name
