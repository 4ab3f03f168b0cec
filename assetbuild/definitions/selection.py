"""Asset selection in dbt's node-selection syntax.

Terms (separate arguments, or separated by spaces inside one) are a union; a comma inside a term
is an intersection: `tag:daily,kind:sql` is the assets that are both. Each comma-separated part
is a name, `tag:T` or `kind:K`, with optional graph operators:

    +name    name and all its ancestors       2+name   ... ancestors up to 2 levels up
    name+    name and all its descendants     name+1   ... descendants 1 level down
    +name+   both (`1+name+2` with depths)    @name    name, its descendants and all their ancestors

Operators work on `tag:` and `kind:` parts too (`+tag:daily`). `exclude` terms use the same
syntax; what they match is removed. A term or exclude term that matches nothing, and a malformed
one (`x+name`, `@name+`), is a ProjectError (exit 2) with a hint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from assetbuild.core.graph import closure
from assetbuild.errors import ProjectError, did_you_mean
from assetbuild.model.assets import Kind, Project

_METHODS = ("tag", "kind")
_PART = re.compile(
    r"(?P<at>@)?(?:(?P<up_depth>\d*)(?P<up>\+))?(?:(?P<method>[A-Za-z_]\w*):)?"
    r"(?P<value>[^+@,\s]+)(?:(?P<down>\+)(?P<down_depth>\d*))?"
)
_FORMS = (
    "accepted forms: name, +name, 2+name, name+, name+1, +name+, 1+name+2, @name, "
    "tag:T, kind:K (operators apply to tag:/kind: too); a,b means both a and b"
)


def select(project: Project, terms: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    """The selected asset names in topological order; no terms means every asset.

    Assets matched by any `exclude` term are removed from the result.
    """
    if any(not t.strip() for t in terms):
        # `build "$ASSETS"` with the variable unset must not quietly build everything (or nothing)
        raise ProjectError(
            "an empty selection term was given",
            hint="name assets (see `assetbuild plan`), or give no selection to mean every asset",
        )
    chosen = _union(project, terms, "selection") if terms else set(project.order)
    if _words(exclude):
        chosen -= _union(project, exclude, "exclude")
    return [n for n in project.order if n in chosen]


def _words(terms: Iterable[str]) -> list[str]:
    return [w for raw in terms for w in raw.split()]


def _union(project: Project, terms: Sequence[str], what: str) -> set[str]:
    upstream = {n: a.upstream for n, a in project.assets.items()}
    out: set[str] = set()
    for term in _words(terms):
        found: set[str] | None = None
        parts = [p for p in term.split(",") if p]
        for part in parts:
            matched = _part(project, part, upstream, term, what)
            found = matched if found is None else found & matched
        if found is None:  # the term was only commas
            raise ProjectError(f"{what} '{term}' is malformed", hint=_FORMS)
        if not found:
            raise ProjectError(
                f"{what} '{term}' matches no asset",
                hint="each part matches assets, but no asset matches all of them "
                "(a comma means 'and'; separate terms with a space for 'or')",
            )
        out |= found
    return out


def _part(
    project: Project, part: str, upstream: Mapping[str, Iterable[str]], term: str, what: str
) -> set[str]:
    where = f"{what} '{part}'" + (f" (in '{term}')" if part != term else "")
    m = _PART.fullmatch(part)
    if m is None or (m["method"] is None and (":" in m["value"] or m["value"].isdigit())):
        raise ProjectError(f"{where} is malformed", hint=_FORMS)
    if m["at"] and m["down"]:
        raise ProjectError(
            f"{where} is malformed: '@' and a trailing '+' cannot be combined",
            hint="@name already includes every descendant of name; " + _FORMS,
        )
    base = _base(project, m["method"], m["value"], where)
    out = set(base)
    if m["at"]:
        out |= closure(closure(base, project.downstream), upstream)
    if m["up"]:
        out |= _reach(base, upstream, _depth(m["up_depth"]))
    if m["down"]:
        out |= _reach(base, project.downstream, _depth(m["down_depth"]))
    return out


def _base(project: Project, method: str | None, value: str, where: str) -> set[str]:
    if method is None:
        if value not in project.assets:
            raise _no_match(
                where, did_you_mean(value, project.assets) or "run `assetbuild plan` to list the assets"
            )
        return {value}
    if method == "tag":
        found = {n for n, a in project.assets.items() if value in a.tags}
        if not found:
            tags = sorted({t for a in project.assets.values() for t in a.tags})
            raise _no_match(
                where, did_you_mean(value, tags) or f"tags in this project: {', '.join(tags) or '(none)'}"
            )
        return found
    if method == "kind":
        found = {n for n, a in project.assets.items() if a.kind.value == value}
        if not found:
            kinds = [k.value for k in Kind]
            hint = f"this project has no {value} asset" if value in kinds else None
            raise _no_match(where, hint or did_you_mean(value, kinds) or "kinds are source, python and sql")
        return found
    raise ProjectError(
        f"{where} uses an unknown method '{method}:'",
        hint=did_you_mean(method, _METHODS) or "methods are tag: and kind:; a bare name selects one asset",
    )


def _depth(digits: str) -> int | None:
    return int(digits) if digits else None


def _reach(start: set[str], edges: Mapping[str, Iterable[str]], depth: int | None) -> set[str]:
    """`start` and what lies at most `depth` steps from it along `edges` (no limit when None)."""
    if depth is None:
        return closure(start, edges)
    seen = set(start)
    frontier = set(start)
    for _ in range(depth):
        frontier = {n for f in frontier for n in edges.get(f, ()) if n not in seen}
        if not frontier:
            break
        seen |= frontier
    return seen


def _no_match(where: str, hint: str | None) -> ProjectError:
    return ProjectError(f"{where} matches no asset", hint=hint)
