"""Fixtures for the lineage tests: the spec validator, a Marquez stand-in, an isolated environment."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lineage_support import SPEC_DIR, Marquez, make_project

from assetbuild.model.assets import Project

# -- the spec validator ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def validate() -> Callable[[dict[str, Any]], list[str]]:
    """The vendored spec's offline validator (its README's helper): event -> [errors]. A facet
    whose schema is neither the spec's nor assetbuild's own is an error."""
    if not (SPEC_DIR / "OpenLineage.json").exists():
        pytest.skip(f"the OpenLineage spec is not beside the repo ({SPEC_DIR.resolve()})")
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema>=4.18 and rfc3339-validator are needed to validate against the spec"
    )
    pytest.importorskip("rfc3339_validator", reason="without rfc3339-validator date-times go unchecked")
    from referencing import Registry, Resource

    from assetbuild.lineage.events import RESTORE_FACET_SCHEMA

    files = [SPEC_DIR / "OpenLineage.json", *sorted((SPEC_DIR / "facets").glob("*.json"))]
    # our own custom facet is checked against the schema we publish for it, like any other
    schemas = [*(json.loads(p.read_text()) for p in files), RESTORE_FACET_SCHEMA]
    registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in schemas)  # type: ignore[var-annotated]
    by_file = {s["$id"].rsplit("/", 1)[-1]: s["$id"] for s in schemas}
    core_id, known = schemas[0]["$id"], set(by_file.values())
    checker = jsonschema.FormatChecker()

    def facets(event: dict[str, Any]) -> Iterator[Any]:
        for holder in (event.get("run", {}), event.get("job", {})):
            yield from (holder.get("facets") or {}).values()
        for ds in event.get("inputs", []) + event.get("outputs", []):
            for key in ("facets", "inputFacets", "outputFacets"):
                yield from (ds.get(key) or {}).values()

    def check(event: dict[str, Any]) -> list[str]:
        core = jsonschema.Draft202012Validator(
            {"$ref": f"{core_id}#/$defs/RunEvent"}, registry=registry, format_checker=checker
        )
        errors = [f"{e.json_path}: {e.message}" for e in core.iter_errors(event)]
        for facet in facets(event):
            if not isinstance(facet, dict) or "_schemaURL" not in facet:
                continue
            doc, _, pointer = facet["_schemaURL"].partition("#")
            doc = doc if doc in known else by_file.get(doc.rsplit("/", 1)[-1], doc)
            if doc not in known:
                errors.append(f"facet with unknown schema {facet['_schemaURL']}")
                continue
            v = jsonschema.Draft202012Validator(
                {"$ref": f"{doc}#{pointer}"}, registry=registry, format_checker=checker
            )
            errors += [f"{facet['_schemaURL']} {e.json_path}: {e.message}" for e in v.iter_errors(facet)]
        return errors

    return check


@pytest.fixture
def marquez() -> Iterator[Marquez]:
    server = Marquez()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def isolated_openlineage_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No OPENLINEAGE_* setting, openlineage.yml or ~/.openlineage of the machine leaks in."""
    import os

    for key in list(os.environ):
        if key.startswith("OPENLINEAGE"):
            monkeypatch.delenv(key)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path / "proj")
