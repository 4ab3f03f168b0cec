"""Reads `assetbuild.toml`: project name, sources, exports, lineage, build settings, and
`[store] keep = N` (default 5): the past materializations each asset keeps besides every
environment's current one; see DEFAULT_STORE_KEEP.

Every key is checked against what is allowed, so a typo answers with the file, the line and a
"did you mean" instead of being silently ignored.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assetbuild.definitions.settings import (
    ASSET_SETTING_KEYS,
    NOT_YET,
    AssetSettings,
    duration_setting,
    size_setting,
)
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
RESERVED_ENVIRONMENTS = ("main", "temp", "system", "information_schema", "pg_catalog")

_SECTIONS = ("project", "sources", "assets", "exports", "lineage", "build", "store")
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
_BUILD_KEYS = ("jobs", "timeout", "memory_limit")
_STORE_KEYS = ("keep",)
# [store] keep: how many past materializations of each asset the store keeps besides every
# environment's current one. Applied after every build that moved data (deliver/after_build.py)
# and by `assetbuild gc`. 5 keeps a working week of daily changes instantly restorable (a revert
# moves a pointer, nothing runs) while a project's store stops growing with every build; 0 keeps
# only current (and, until the next build, the data that build replaced, which a reader that
# started before it may still be reading).
DEFAULT_STORE_KEEP = 5


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
    assets: dict[str, AssetSettings] = field(default_factory=dict)  # [assets.NAME]
    timeout_s: float | None = None  # [build] timeout: the whole build's
    memory_limit: int | None = None  # [build] memory_limit, bytes: each Python asset's and DuckDB's
    store_keep: int = DEFAULT_STORE_KEEP  # [store] keep: past materializations kept per asset


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
    timeout_s = None
    if "timeout" in build:
        line = _find_line(lines, "timeout", "build")
        timeout_s = duration_setting(build["timeout"], "[build] timeout", CONFIG_FILE, line)
    memory_limit = None
    if "memory_limit" in build:
        line = _find_line(lines, "memory_limit", "build")
        memory_limit = size_setting(build["memory_limit"], "[build] memory_limit", CONFIG_FILE, line)
    settings = {n: _asset_settings(n, spec, lines) for n, spec in _table(data, "assets", lines).items()}
    environment = project.get("environment", "default")
    if not isinstance(environment, str) or not NAME_RE.match(environment):
        raise ProjectError(
            "[project] environment must be a simple name", CONFIG_FILE, _find_line(lines, "environment")
        )
    if environment.lower() in RESERVED_ENVIRONMENTS:
        # each environment is a schema of the warehouse: `main` is the default environment's,
        # the others are DuckDB's own
        raise ProjectError(
            f"[project] environment {environment!r} is a name DuckDB keeps for itself",
            CONFIG_FILE,
            _find_line(lines, "environment"),
            hint='choose another name, e.g. "dev" or "prod"',
        )
    environment = environment if environment == "default" else environment.lower()
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
        assets=settings,
        timeout_s=timeout_s,
        memory_limit=memory_limit,
        store_keep=_store_keep(data, lines),
    )


def _store_keep(data: dict[str, Any], lines: list[str]) -> int:
    """[store] keep, checked: a whole number >= 0 (a bool is not one, whatever Python says)."""
    store = _table(data, "store", lines)
    _check_keys(store, _STORE_KEYS, lines, "store")
    keep = store.get("keep", DEFAULT_STORE_KEEP)
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 0:
        raise ProjectError(
            f"[store] keep must be a whole number >= 0, not {keep!r}",
            CONFIG_FILE,
            _find_line(lines, "keep", "store"),
            hint=f"keep = {DEFAULT_STORE_KEEP}  # past materializations kept per asset besides current; 0 = only current",
        )
    return keep


def store_keep(root: Path) -> int:
    """[store] keep alone, for `gc`: it works on the store even when the assets do not load, so it
    reads only this table (a broken TOML file still fails, at its line: keep is unknowable)."""
    path = root / CONFIG_FILE
    if not path.exists():
        return DEFAULT_STORE_KEEP
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as e:
        raise ProjectError(
            f"not valid UTF-8 (byte {e.start})", CONFIG_FILE, _line_of_offset(raw, e.start)
        ) from None
    except tomllib.TOMLDecodeError as e:
        line, col = _toml_position(str(e))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        raise ProjectError(f"TOML syntax error: {message}", CONFIG_FILE, line, col) from None
    return _store_keep(data, text.splitlines())


def _asset_settings(name: str, spec: Any, lines: list[str]) -> AssetSettings:
    section = f"assets.{name}"
    header = _find_header(lines, section) or _find_quoted_header(lines, "assets", name)
    if not isinstance(spec, dict):
        raise ProjectError(
            f"[assets.{name}] must be a table of settings",
            CONFIG_FILE,
            header or _find_line(lines, name),
            hint=f'[assets.{name}]\ndescription = "..."\ntimeout = "10m"',
        )
    for key in spec:
        if key in NOT_YET:
            raise ProjectError(
                f"'{key}' in [{section}]: {NOT_YET[key]}", CONFIG_FILE, _find_line(lines, key, section)
            )
    _check_keys(spec, ASSET_SETTING_KEYS, lines, section)

    def line(key: str) -> int | None:
        return _find_line(lines, key, section)

    for key in ("description", "owner"):
        if key in spec and not isinstance(spec[key], str):
            raise ProjectError(f"[{section}] {key} must be a string", CONFIG_FILE, line(key))
    tags = spec.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise ProjectError(
            f"[{section}] tags must be a list of strings",
            CONFIG_FILE,
            line("tags"),
            hint='tags = ["finance"]',
        )
    retries = spec.get("retries")
    if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
        raise ProjectError(f"[{section}] retries must be a whole number >= 0", CONFIG_FILE, line("retries"))
    timeout_s = None
    if "timeout" in spec:
        timeout_s = duration_setting(spec["timeout"], f"[{section}] timeout", CONFIG_FILE, line("timeout"))
    return AssetSettings(
        name=name,
        line=header or 1,
        description=spec.get("description"),
        tags=tuple(tags) if tags is not None else None,
        owner=spec.get("owner"),
        retries=retries,
        timeout_s=timeout_s,
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
