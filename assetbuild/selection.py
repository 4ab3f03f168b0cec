"""Selection syntax (dbt conventions): `name`, `+name`, `name+`, `+name+`, `tag:T`, `kind:K`; union of terms."""

from __future__ import annotations

from collections.abc import Sequence

from .definitions.model import Project
from .errors import ProjectError, did_you_mean
from .graph import closure


def select(project: Project, terms: Sequence[str]) -> list[str]:
    """The selected asset names in topological order; no terms means every asset."""
    if not terms:
        return list(project.order)
    upstream = {n: a.upstream for n, a in project.assets.items()}
    chosen: set[str] = set()
    for raw in terms:
        for term in raw.split(","):
            term = term.strip()
            if term:
                chosen |= _one(project, term, upstream)
    return [n for n in project.order if n in chosen]


def _one(project: Project, term: str, upstream: dict[str, tuple[str, ...]]) -> set[str]:
    if term.startswith("tag:"):
        tag = term[4:]
        found = {n for n, a in project.assets.items() if tag in a.tags}
        if not found:
            tags = sorted({t for a in project.assets.values() for t in a.tags})
            raise _no_match(
                term, did_you_mean(tag, tags) or f"tags in this project: {', '.join(tags) or '(none)'}"
            )
        return found
    if term.startswith("kind:"):
        kind = term[5:]
        found = {n for n, a in project.assets.items() if a.kind.value == kind}
        if not found:
            raise _no_match(term, "kinds are source, python and sql")
        return found
    with_up = term.startswith("+")
    with_down = term.endswith("+")
    name = term.strip("+")
    if name not in project.assets:
        raise _no_match(
            term, did_you_mean(name, project.assets) or "run `assetbuild plan` to list the assets"
        )
    out = {name}
    if with_up:
        out |= closure([name], upstream)
    if with_down:
        out |= closure([name], project.downstream)
    return out


def _no_match(term: str, hint: str | None) -> ProjectError:
    return ProjectError(f"selection '{term}' matches no asset", hint=hint)
