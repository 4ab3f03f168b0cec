"""OpenLineage names for one project: namespace, job names, and the dataset behind each asset.

The scheme, and why:

- **Namespace**: `[lineage] namespace`, else the project name, for the default environment;
  `{namespace}-{environment}` for any other (or, when the setting holds `{environment}`, that
  placeholder filled in, for every environment). Jobs and datasets of one environment share it,
  so Marquez's namespace picker shows one environment's graph at a time, and a dev build never
  shows up as the default environment's (`-` as deployment namespaces conventionally have it:
  `airflow-prod`). The default environment keeps the namespace it always had. Characters
  Marquez would replace are replaced here, so the name sent is the name stored.
- **Jobs**: `{project}`, `{project}.{asset}`, `{project}.{asset}.check` (Marquez files a child
  under `{parent}.`), the same in every environment: the namespace tells environments apart.
- **An asset's dataset**: `{project}.{schema}.{asset}`, where `schema` is the warehouse schema
  that shows the environment's data (`main` for the default environment, else the environment's
  name). That is the `{database}.{schema}.{table}` shape OpenLineage's dbt integration gives
  DuckDB tables, with the project as the database so projects sharing a namespace never collide,
  and it reads as what a person queries (`SELECT * FROM dev.fraud_scores`).
- **A source's files**: `{project}/{path relative to the project}`, in the environment's
  namespace (shared, they would join dev's graph to the default one's in Marquez, and an
  environment may read other files some day); a glob by the folder it ranges over. Files
  outside the project keep the naming spec's physical names (`file` + an absolute path,
  `s3://bucket` + key), which are the same wherever the build runs.
- **Physical locations** (an export's path, relative to the project) go in the `symlinks`
  facet, never in the name: the same project on a laptop, in CI and in production is one graph.

Names are stable across versions of an asset (a content hash never enters a name; it goes
into the `version` facet). Pure: no I/O, no openlineage import.
"""

from __future__ import annotations

import glob
import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from assetbuild.model.assets import AssetDef, Kind, Project

DEFAULT_ENVIRONMENT = "default"
ENVIRONMENT_PLACEHOLDER = "{environment}"
DEFAULT_SCHEMA = "main"  # DuckDB's default schema, where the default environment's views live
FILE_NAMESPACE = "file"  # the naming spec's namespace for the local file system

# what Marquez keeps of a namespace (it replaces anything else with `_`, OpenLineageDao)
_NAMESPACE_UNSAFE = re.compile(r"[^a-zA-Z0-9:/_\-.@+]")
# Marquez splits a nodeId (`dataset:{ns}:{name}`) on `:`, and `#` separates a version
_NAME_UNSAFE = re.compile(r"[:#]")


@dataclass(frozen=True)
class DatasetRef:
    """One OpenLineage dataset: where it lives (namespace) and what it is called there.

    `store_uri` is the physical store's URI for datasets named physically (files outside the
    project); None for assetbuild's own datasets, whose location depends on the machine."""

    namespace: str
    name: str
    store_uri: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Symlink:
    """Another identifier of a dataset: where its data can also be found (an export)."""

    namespace: str
    name: str
    type: str  # LOCATION (a file or folder) or TABLE (a table in a DuckDB file)


def environment(project: Project) -> str:
    """The environment a build moves the `current` pointers of (`[project] environment`, later
    `build --env`): the loader puts either into `project.environment`."""
    return project.environment or DEFAULT_ENVIRONMENT


def namespace(project: Project) -> str:
    """The namespace of every job and dataset of this project and environment (module docstring)."""
    configured = project.lineage.get("namespace")
    base = configured.strip() if isinstance(configured, str) and configured.strip() else project.name
    env = environment(project)
    if ENVIRONMENT_PLACEHOLDER in base:
        base = base.replace(ENVIRONMENT_PLACEHOLDER, env)
    elif env != DEFAULT_ENVIRONMENT:
        base = f"{base}-{env}"
    return _NAMESPACE_UNSAFE.sub("_", base)


def job_namespace(project: Project) -> str:
    return namespace(project)


def build_job_name(project: Project) -> str:
    return project.name


def asset_job_name(project: Project, asset: str) -> str:
    return f"{project.name}.{asset}"


def check_job_name(project: Project, asset: str) -> str:
    return f"{project.name}.{asset}.check"


def warehouse_schema(project: Project) -> str:
    """The schema of `.assetbuild/warehouse.duckdb` that shows this environment's data (as
    deliver/after_build.py names it: `main` for the default environment, else its name)."""
    env = environment(project)
    return DEFAULT_SCHEMA if env == DEFAULT_ENVIRONMENT else env


def asset_dataset(project: Project, asset: str) -> DatasetRef:
    """The dataset an asset publishes, named as its warehouse view (module docstring)."""
    return DatasetRef(namespace(project), f"{_project_part(project)}.{warehouse_schema(project)}.{asset}")


def environment_path(path: str, env: str) -> str:
    """Where an export declared at `path` lands for environment `env` (project-relative).

    A `{environment}` placeholder is filled in; otherwise the default environment's export lands
    at its declared path and another environment's in a folder named after it beside the file
    (`out/x.parquet` -> `out/dev/x.parquet`), so that a dev build never overwrites what the
    default environment delivered. Mirrors deliver/exports.py (a sibling layer, which lineage
    must not import); tests/lineage keeps the two equal."""
    if ENVIRONMENT_PLACEHOLDER in path:
        return path.replace(ENVIRONMENT_PLACEHOLDER, env)
    if env == DEFAULT_ENVIRONMENT:
        return path
    parent, _, name = path.rstrip("/").rpartition("/")
    return f"{parent}/{env}/{name}" if parent else f"{env}/{name}"


def export_location(project: Project, asset: str) -> tuple[str, str | None] | None:
    """Where this environment's export of `asset` lands: (project-relative path, DuckDB table or
    None), from `[exports]` or `@asset(export=...)`; None when the asset is not exported."""
    target = project.exports.get(asset)
    if isinstance(target, dict):  # {path = "...", partition_by = [...]}: the folder is the dataset
        target = target.get("path")
    if target is None:
        definition = project.assets.get(asset)
        target = definition.export if definition is not None else None
    if not isinstance(target, str) or not target:
        return None
    table: str | None = None
    if "#" in target:  # "out/db.duckdb#table"
        target, table = target.split("#", 1)
        table = table or asset
    elif target.lower().endswith((".duckdb", ".db")):
        table = asset
    relpath = posixpath.normpath(environment_path(target, environment(project)).rstrip("/"))
    return relpath, table


def export_symlinks(project: Project, asset: str) -> list[Symlink]:
    """The export of `asset` as another identifier of its dataset, relative to the project."""
    location = export_location(project, asset)
    if location is None:
        return []
    relpath, table = location
    name = f"{_project_part(project)}/{relpath}"
    if table is not None:
        return [Symlink(namespace(project), f"{name}/{_NAME_UNSAFE.sub('_', table)}", "TABLE")]
    return [Symlink(namespace(project), name, "LOCATION")]


def source_file_datasets(project: Project, asset: AssetDef) -> list[tuple[str, DatasetRef]]:
    """The files a source reads: one `(pattern, dataset)` per path pattern.

    A literal path is its file; a glob is named by the folder it ranges over (the naming spec's
    advice for partitioned data), so that a new file arriving does not make a new dataset.
    """
    if asset.kind is not Kind.SOURCE:
        return []
    return [(pattern, _source_dataset(project, pattern)) for pattern in asset.patterns]


def source_file_locations(project: Project, asset: AssetDef) -> list[tuple[str, str]]:
    """`(pattern, location)` for a source's patterns, as a person reads them: the fixed part of
    the path, relative to the project when inside it."""
    if asset.kind is not Kind.SOURCE:
        return []
    return [(pattern, _fixed_part(pattern)) for pattern in asset.patterns]


def _source_dataset(project: Project, pattern: str) -> DatasetRef:
    url = urlsplit(pattern)
    if url.scheme and url.netloc and "://" in pattern:  # s3://bucket/key: the naming spec's names
        store = f"{url.scheme}://{url.netloc}"
        key = _fixed_part(url.path.lstrip("/"))
        return DatasetRef(store, key if key != "." else "/", store_uri=store)
    location = _fixed_part(pattern)
    if os.path.isabs(location):  # outside the project: the same absolute path everywhere
        return DatasetRef(FILE_NAMESPACE, location, store_uri=Path(location).as_uri())
    return DatasetRef(namespace(project), f"{_project_part(project)}/{location}")


def _fixed_part(pattern: str) -> str:
    """The part of a path pattern before its first wildcard, normalised (`.` when none)."""
    path = PurePosixPath(pattern.replace(os.sep, "/"))
    absolute = path.is_absolute()
    fixed = _until_magic(path.parts[1:] if absolute else path.parts)
    joined = posixpath.normpath("/".join(fixed)) if fixed else "."
    if absolute:
        return "/" if joined == "." else "/" + joined
    return joined


def _project_part(project: Project) -> str:
    return _NAME_UNSAFE.sub("_", project.name)


def _until_magic(parts: tuple[str, ...]) -> list[str]:
    fixed: list[str] = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return fixed


def pattern_of_file(asset: AssetDef, relpath: str) -> str | None:
    """Which of a source's patterns a project-relative file came from (first match wins)."""
    from fnmatch import fnmatch

    path = os.path.normpath(relpath)
    for pattern in asset.patterns:
        if path == os.path.normpath(pattern) or fnmatch(path, os.path.normpath(pattern)):
            return pattern
    return None
