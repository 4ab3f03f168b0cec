"""Loads a project folder into a validated `Project`: config, sources, SQL and Python assets, the DAG.

Parse results are cached by file content (see parse_cache), so loading an unchanged project reads
no asset file and imports neither sqlglot nor user code.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from assetbuild.core.graph import CycleError, downstream_map, toposort
from assetbuild.definitions.config import (
    CONFIG_FILE,
    MAX_NAME_LENGTH,
    NAME_HINT,
    NAME_RE,
    is_valid_name,
    load_config,
)
from assetbuild.definitions.exports import check_export_target
from assetbuild.definitions.parse_cache import FileCache
from assetbuild.definitions.settings import AssetSettings, duration_setting
from assetbuild.definitions.sources import source_asset
from assetbuild.definitions.text import read_utf8
from assetbuild.errors import ProjectError, did_you_mean
from assetbuild.model.assets import AssetDef, Kind, Project, PythonCheck

ASSETS_DIR = "assets"


def find_project(start: Path) -> Path | None:
    """The project `start` is in, as git finds its repository: `start` itself when it holds an
    assetbuild.toml or an assets/ folder, else the nearest folder above with an assetbuild.toml."""
    here = start.resolve()
    if (here / CONFIG_FILE).is_file() or (here / ASSETS_DIR).is_dir():
        return here
    for folder in here.parents:
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


def load_project(root: str | Path, environment: str | None = None) -> Project:
    root = Path(root).resolve()
    if not root.is_dir():
        raise ProjectError(
            f"project folder not found: {root}", hint="pass --project DIR or cd into the project"
        )
    config = load_config(root)
    if not (root / CONFIG_FILE).exists() and not (root / ASSETS_DIR).is_dir():
        raise ProjectError(
            f"no {CONFIG_FILE} and no {ASSETS_DIR}/ folder in {root}",
            hint="run inside a project, pass --project DIR, or create one with `assetbuild init DIR`",
        )
    cache = FileCache(root / ".assetbuild" / "cache" / "definitions.json")
    assets: dict[str, AssetDef] = {}
    checks: dict[str, list[PythonCheck]] = {}
    lowered: dict[str, str] = {}  # lower-case name -> name

    def add(asset: AssetDef) -> None:
        # DuckDB (SQL assets, the warehouse, `query`) does not tell `Total` from `total`
        other = assets.get(lowered.get(asset.name.lower(), ""))
        if other is not None:
            same = other.name == asset.name
            raise ProjectError(
                f"duplicate asset name '{asset.name}' (also defined at {other.path}:{other.line}"
                + ("" if same else f" as '{other.name}': names that differ only in case are the same in SQL")
                + ")",
                asset.path,
                asset.line,
                hint="rename one of them: asset names are unique across sources, SQL and Python",
            )
        assets[asset.name] = asset
        lowered[asset.name.lower()] = asset.name

    for src in config.sources.values():
        add(source_asset(src))  # its files are observed by the build (sources/probe.py)
    seen: set[str] = set()
    prefix = len(str(root)) + 1
    for path in _asset_files(root / ASSETS_DIR):
        rel = str(path)[prefix:].replace(os.sep, "/")  # the walk starts under root: no relpath needed
        seen.add(rel)
        if path.suffix == ".sql":
            add(_sql_asset(root, path, rel, cache, config.dialect))
        else:
            found, found_checks = _python_assets(root, path, rel, cache)
            for a in found:
                add(a)
            for c in found_checks:
                checks.setdefault(c.asset, []).append(c)
    cache.forget_missing(seen | _dep_files(cache))
    for settings in config.assets.values():
        _apply_settings(assets, settings)
    exports = dict(config.exports)
    for a in assets.values():
        if a.export:
            exports.setdefault(a.name, a.export)
    _resolve_sql_case(assets)
    _validate(assets, checks, exports)
    upstream = {n: a.upstream for n, a in assets.items()}
    try:
        order = toposort(upstream)
    except CycleError as e:
        first = assets[e.path[0]]
        raise ProjectError(
            "dependency cycle: " + " -> ".join(e.path),
            first.path,
            first.line,
            hint="an asset cannot depend on itself, directly or through others",
        ) from None
    cache.save()
    return Project(
        root=root,
        name=config.name,
        assets=assets,
        downstream=downstream_map(upstream),
        order=tuple(order),
        exports=exports,
        lineage=config.lineage,
        environment=environment or config.environment,
        dialect=config.dialect,
        jobs=config.jobs,
        timeout_s=config.timeout_s,
        memory_limit=config.memory_limit,
        python_checks={k: tuple(v) for k, v in checks.items()},
    )


def _asset_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith((".", "__")))
        for f in sorted(filenames):
            if f.endswith((".sql", ".py")) and not f.startswith("."):
                out.append(Path(dirpath) / f)
    return out


def _sql_asset(root: Path, path: Path, rel: str, cache: FileCache, dialect: str) -> AssetDef:
    name = path.stem
    if not is_valid_name(name):
        raise ProjectError(
            f"'{path.name}': the file name is the asset name and must be a valid identifier",
            rel,
            1,
            hint=f"rename it to {_identifier(name)}.sql ({NAME_HINT})",
        )
    digest, _ = cache.file_hash(path, rel)
    payload = cache.get_parsed(rel, digest, lambda dep: None)
    # a payload cached before `ordered` existed is parsed again
    if payload is None or payload.get("dialect", "duckdb") != dialect or "ordered" not in payload:
        from assetbuild.definitions.sql_assets import analyze_sql

        text = read_utf8(path, rel)
        info = analyze_sql(text, rel, dialect)
        payload = {
            "upstream": [list(u) for u in info.upstream],
            "fingerprint": info.fingerprint,
            "sql": text,
            "dialect": dialect,
            "ordered": info.ordered,
        }
        cache.put_parsed(rel, digest, {}, payload)
    return AssetDef(
        name=name,
        kind=Kind.SQL,
        path=rel,
        line=1,
        upstream=tuple(u for u, _ in payload["upstream"]),
        fingerprint=payload["fingerprint"],
        sql=payload["sql"],
        upstream_lines={u: line for u, line in payload["upstream"]},
        ordered=bool(payload["ordered"]),
    )


def _python_assets(
    root: Path, path: Path, rel: str, cache: FileCache
) -> tuple[list[AssetDef], list[PythonCheck]]:
    digest, _ = cache.file_hash(path, rel)

    def current(dep: str) -> str | None:
        p = root / dep
        return cache.file_hash(p, dep)[0] if p.is_file() else None

    payload = cache.get_parsed(rel, digest, current)
    if payload is None:
        from assetbuild.definitions.python_assets import scan_python_file

        info = scan_python_file(path, rel, [path.parent, root / ASSETS_DIR, root], root)
        payload = {
            "assets": [
                {
                    "name": a.name,
                    "function": a.function,
                    "line": a.line,
                    "params": list(a.params),
                    "lazy": list(a.lazy_params),
                    "fingerprint": a.fingerprint,
                    "code_parts": a.code_parts,
                    "options": a.options,
                }
                for a in info.assets
            ],
            "checks": [c.__dict__ for c in info.checks],
        }
        cache.put_parsed(rel, digest, {d: current(d) for d in info.local_deps if d != rel}, payload)
    assets = []
    for a in payload["assets"]:
        opts: dict[str, Any] = a["options"]
        ordered = bool(opts.get("ordered", False))
        timeout_s = None
        if "timeout" in opts:
            timeout_s = duration_setting(opts["timeout"], "@asset(timeout=...)", rel, a["line"])
        if not is_valid_name(a["name"]):
            raise ProjectError(
                f"asset name {a['name']!r} is not a valid identifier", rel, a["line"], hint=NAME_HINT
            )
        assets.append(
            AssetDef(
                name=a["name"],
                kind=Kind.PYTHON,
                path=rel,
                line=a["line"],
                upstream=tuple(a["params"]),
                fingerprint=a["fingerprint"],
                code_parts=dict(a.get("code_parts") or {}),
                description=opts.get("description"),
                tags=tuple(opts.get("tags", ())),
                owner=opts.get("owner"),
                metadata=dict(opts.get("metadata", {})),
                retries=int(opts.get("retries", 0)),
                function=a["function"],
                lazy_params=tuple(a["lazy"]),
                schema_model=opts.get("schema"),
                export=opts.get("export"),
                ordered=ordered,
                timeout_s=timeout_s,
                # the decorator is not part of the fingerprint: an ordered table is other content
                config={"ordered": True} if ordered else {},
            )
        )
    checks = [PythonCheck(path=rel, **c) for c in payload["checks"]]
    return assets, checks


def _apply_settings(assets: dict[str, AssetDef], settings: AssetSettings) -> None:
    """Lay `[assets.NAME]` over the asset it names; a setting said in two places is an error."""
    a = assets.get(settings.name)
    if a is None:
        raise ProjectError(
            f"[assets.{settings.name}] names no asset of this project",
            CONFIG_FILE,
            settings.line,
            hint=did_you_mean(settings.name, sorted(assets)) or "the name is the SQL file's or function's",
        )
    if a.kind is Kind.SOURCE:
        raise ProjectError(
            f"'{settings.name}' is a source: describe it in [sources.{settings.name}]",
            CONFIG_FILE,
            settings.line,
        )
    given = {
        "description": settings.description,
        "tags": settings.tags,
        "owner": settings.owner,
        "retries": settings.retries,
        "timeout_s": settings.timeout_s,
    }
    changes: dict[str, Any] = {}
    for field_name, value in given.items():
        if value is None:
            continue
        own = getattr(a, field_name)
        if own not in (None, (), 0) and own != value:
            key = "timeout" if field_name == "timeout_s" else field_name
            raise ProjectError(
                f"{key} of '{a.name}' is set both in [assets.{a.name}] and at {a.path}:{a.line}",
                CONFIG_FILE,
                settings.line,
                hint="keep one of them",
            )
        changes[field_name] = value
    assets[a.name] = replace(a, **changes)


def _resolve_sql_case(assets: dict[str, AssetDef]) -> None:
    """DuckDB resolves table names case-insensitively, so `FROM Clean` reads asset `clean`."""
    lower: dict[str, list[str]] = {}
    for n in assets:
        lower.setdefault(n.lower(), []).append(n)
    for name, a in list(assets.items()):
        if a.kind is not Kind.SQL or all(u in assets for u in a.upstream):
            continue
        fixed = tuple(
            u if u in assets or len(lower.get(u.lower(), [])) != 1 else lower[u.lower()][0]
            for u in a.upstream
        )
        if fixed != a.upstream:
            lines = {f: a.upstream_lines.get(u, 1) for f, u in zip(fixed, a.upstream, strict=True)}
            assets[name] = replace(a, upstream=tuple(dict.fromkeys(fixed)), upstream_lines=lines)


def _dep_files(cache: FileCache) -> set[str]:
    return {d for entry in cache.parsed.values() for d in entry.get("deps", {})}


def _validate(
    assets: dict[str, AssetDef], checks: dict[str, list[PythonCheck]], exports: dict[str, Any]
) -> None:
    names = sorted(assets)
    for a in assets.values():
        for up in a.upstream:
            if up not in assets:
                line = a.upstream_lines.get(up, a.line) if a.kind is Kind.SQL else a.line
                what = "reads table" if a.kind is Kind.SQL else "has parameter"
                raise ProjectError(
                    f"asset '{a.name}' {what} '{up}', which is not an asset of this project",
                    a.path,
                    line,
                    hint=did_you_mean(up, names) or f"known assets: {', '.join(names[:20]) or '(none)'}",
                )
    for asset, cs in checks.items():
        if asset not in assets:
            c = cs[0]
            raise ProjectError(
                f"@check '{c.name}' is for unknown asset '{asset}'",
                c.path,
                c.line,
                hint=did_you_mean(asset, names),
            )
    for asset, target in exports.items():
        if asset not in assets:
            raise ProjectError(
                f"[exports] names unknown asset '{asset}'", CONFIG_FILE, None, hint=did_you_mean(asset, names)
            )
        check_export_target(asset, target, CONFIG_FILE)


def _identifier(name: str) -> str:
    import re

    fixed = re.sub(r"[^A-Za-z0-9_]", "_", name)  # ASCII only, like NAME_RE
    fixed = fixed if NAME_RE.match(fixed) else f"_{fixed}"
    return fixed[:MAX_NAME_LENGTH]
