"""After a build has published: exports of assets whose content changed, then the warehouse views.

Runs once per build, after the graph settles. Errors (a full disk, a locked target) are returned,
not raised: the data is already published, only its delivery failed, and the build says so.
"""

from __future__ import annotations

from collections.abc import Mapping

from assetbuild.definitions.exports import parse_target
from assetbuild.deliver.exports import Exporter
from assetbuild.deliver.warehouse import refresh_warehouse
from assetbuild.model.assets import Project
from assetbuild.model.stored import Current
from assetbuild.trace.protocols import KeyStore, Objects


def deliver(
    project: Project,
    state: KeyStore,
    env: str,
    objects: Objects,
    current: Mapping[str, Current] | None = None,
) -> list[str]:
    """After publishing: exports of changed assets, then the warehouse views. Returns errors.

    `current` may pass the pointers as the build read them when it moved none of them."""
    errors: list[str] = []
    if current is None:
        current = state.current(env)
    exporter: Exporter | None = None
    for asset, spec in project.exports.items():
        cur = current.get(asset)
        if cur is None or not cur.checks_passed:
            continue  # never deliver data that fails an error rule
        target = parse_target(asset, spec)
        exporter = exporter or Exporter(project.root, project.store_dir)
        if not exporter.needed(asset, target, cur.mat.content_hash):
            continue
        try:
            exporter.export(asset, target, objects.path(cur.mat.object), cur.mat.content_hash)
        except Exception as e:
            errors.append(
                f"export of '{asset}' to {target.describe()} failed: {e}; the previous export is intact"
            )
    if exporter is not None:
        try:
            exporter.save()
        except OSError as e:
            errors.append(f"recording exports failed: {e}")
    # one schema per environment (`main` for the default): a build refreshes its own
    # environment's views and keeps every other environment's
    schemas: dict[str, dict[str, str]] = {}
    for other in state.environments():
        pointers = current if other == env else state.current(other)
        schemas["main" if other == "default" else other] = {
            n: str(objects.path(c.mat.object)) for n, c in pointers.items() if n in project.assets
        }
    try:
        refresh_warehouse(project.store_dir, schemas)
    except Exception as e:
        errors.append(f"updating .assetbuild/warehouse.duckdb failed: {e}")
    return errors
