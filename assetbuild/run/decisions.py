"""The one decision path: what runs, in which order, and what each asset's fate is.

An asset waits for its upstream and for the assets its rules read (`rule_reads`: `sql:`,
`expression:`, `references:`); a failure of what it waits for blocks it, except where only warn
rules read it (`never_blocking`): a warn rule never blocks.

`build` acts on these decisions and `plan` (and `build --dry-run`) reports them, so the two can
never disagree about what is selected, what an asset waits for, or whether stored data may be
used: a restore candidate is verified by its bytes in both, not by its size in one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assetbuild.core.graph import closure, toposort
from assetbuild.core.keys import build_key, key_parts, with_code_parts
from assetbuild.core.rebuilder import decide
from assetbuild.definitions.selection import select
from assetbuild.gate.audit import Audit, Auditor
from assetbuild.model.assets import AssetDef, Kind, Project
from assetbuild.model.reasons import Cause, Reason
from assetbuild.model.results import Severity, Status
from assetbuild.sources.probe import Observation
from assetbuild.trace.protocols import Objects
from assetbuild.trace.state import Current, Materialization

if TYPE_CHECKING:
    from assetbuild.gate.rules import Rule, RuleSet  # yaml: not for a no-op build without rules


def what_runs(
    project: Project, terms: Sequence[str], exclude: Sequence[str], current: Mapping[str, Current]
) -> list[str]:
    """The selection, plus make's rule: an unselected upstream that was never built is built too."""
    names = select(project, terms, exclude)
    chosen = set(names)
    upstream = {n: a.upstream for n, a in project.assets.items()}
    missing = {u for u in closure(chosen, upstream) - chosen if u not in current}
    needed = closure(missing, upstream) - chosen if missing else set()
    chosen |= {u for u in needed if u not in current} | missing
    return [n for n in project.order if n in chosen]


@dataclass(frozen=True)
class RuleRead:
    """`reader`'s rules read `read`'s data: a dependency no upstream list shows.

    `severity` is the strongest of the rules that read it (error if any is): an error rule's read
    blocks the reader when `read` fails, a warn rule's never does. `waits` is False when waiting
    would make a cycle (`read` is downstream of `reader`): the rules then read `read` as it was
    published before the build."""

    reader: str
    read: str
    severity: Severity
    rules: tuple[str, ...]
    waits: bool = True
    upstream: bool = False  # `read` is upstream of `reader` too: the solid edge already says it

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.read,
            "to": self.reader,
            "severity": self.severity.value,
            "rules": list(self.rules),
            "waits": self.waits,
        }


def rule_reads(
    project: Project, rulesets: Mapping[str, RuleSet], names: Iterable[str] | None = None
) -> list[RuleRead]:
    """What the rules of each asset in `names` (default: all) read of other assets, in project order."""
    upstream: dict[str, list[str]] = {n: list(a.upstream) for n, a in project.assets.items()}
    wanted = set(project.order if names is None else names)
    out: list[RuleRead] = []
    for name in project.order:
        rs = rulesets.get(name)
        if name not in wanted or rs is None or not rs.references:
            continue
        by_read: dict[str, list[Rule]] = {}
        for rule in rs.rules:
            for read in _reads_of(rule):
                if read != name and read in project.assets:
                    by_read.setdefault(read, []).append(rule)
        for read in rs.references:  # its order: sorted, as the rule files are merged
            rules = by_read.get(read)
            if not rules:
                continue
            severity = Severity.ERROR if any(r.severity is Severity.ERROR for r in rules) else Severity.WARN
            already = read in upstream[name]
            waits = already or name not in closure([read], upstream)
            if waits and not already:
                upstream[name].append(read)  # as `dependencies` does: later reads see this wait
            is_upstream = read in project.assets[name].upstream
            out.append(RuleRead(name, read, severity, tuple(r.name for r in rules), waits, is_upstream))
    return out


def _reads_of(rule: Rule) -> tuple[str, ...]:
    """The assets one rule reads (parsed into its params by gate/rules.py)."""
    if rule.kind == "references":
        return (str(rule.params["asset"]),)
    if rule.kind in ("sql", "expression"):
        return tuple(str(t) for t in rule.params.get("tables", ()))
    return ()


def dependencies(project: Project, auditor: Auditor, names: Sequence[str]) -> dict[str, list[str]]:
    """What each asset waits for: its upstream, plus the assets its checks read, unless that would
    make a cycle (the rules then read the other asset's data as published before this build)."""
    edges: dict[str, list[str]] = {n: list(a.upstream) for n, a in project.assets.items()}
    for name in names:
        for r in auditor.references(name):
            if r in edges and r not in edges[name] and name not in closure([r], edges):
                edges[name].append(r)
    return {n: edges[n] for n in names}


def never_blocking(
    project: Project, auditor: Auditor, names: Sequence[str], deps: Mapping[str, Sequence[str]]
) -> dict[str, frozenset[str]]:
    """The waits in `deps` whose failure must not block the asset: assets only its warn rules read
    (none upstream, none an error rule reads). The asset still waits for them, so its rules see
    what they publish in this build; when they fail, the rules judge the data they published
    last (what every reader of them sees; none published: the rule says it could not read it)."""
    reads = rule_reads(project, auditor.rulesets, names)
    soft: dict[str, set[str]] = {n: set() for n in names}
    for r in reads:
        if r.severity is Severity.WARN and not r.upstream:
            soft[r.reader].add(r.read)
    return {n: frozenset(d for d in soft[n] if d in deps.get(n, ())) for n in names}


def decision_order(names: Sequence[str], deps: Mapping[str, Sequence[str]]) -> list[str]:
    """`names` in an order where each comes after what it waits for (references included)."""
    chosen = set(names)
    return toposort({n: [d for d in deps[n] if d in chosen] for n in names})


@dataclass(frozen=True)
class AssetDecision:
    """What happens to one asset, decided before anything of it runs."""

    name: str
    status: Status  # UP_TO_DATE, RESTORED, BUILT (must run) or BLOCKED
    reason: Reason
    key: str = ""
    parts: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[tuple[str, str], ...] = ()
    current: Current | None = None
    restore: Materialization | None = None
    # UP_TO_DATE only: the verdict current was published with, still valid; None = re-check it
    verdict: Audit | None = None
    blocked_by: str | None = None

    @property
    def recheck(self) -> bool:
        return self.status is Status.UP_TO_DATE and self.verdict is None

    @property
    def previous_rows(self) -> int | None:
        return self.current.mat.rows if self.current else None


class Decider:
    def __init__(
        self,
        project: Project,
        auditor: Auditor,
        current: Mapping[str, Current],
        objects: Objects,
        find: Callable[[str, str], list[Materialization]],
        force: bool,
        observed: Mapping[str, Observation],
    ) -> None:
        self.project = project
        self.auditor = auditor
        self.current = current
        self.objects = objects
        self.find = find
        self.force = force
        self.observed = observed  # sources as they are now (sources/probe.py)

    def decide(self, name: str, content_of: Mapping[str, str | None]) -> AssetDecision:
        """Decide one asset, given the content hashes its upstream settled on."""
        a = self.project.assets[name]
        if a.kind is Kind.SOURCE:
            inputs = self.observed[name].inputs
        else:
            inputs = []
            for u in a.upstream:
                h = content_of.get(u)
                if h is None:
                    return AssetDecision(
                        name, Status.BLOCKED, Reason.of(Cause.UPSTREAM_HAS_NO_DATA, u), blocked_by=u
                    )
                inputs.append((u, h))
        parts = key_parts(a.kind.value, a.fingerprint, a.config, inputs)
        key = build_key(parts)
        parts = with_code_parts(parts, code_parts_of(a))  # stored beside the key, to name changes
        current = self.current.get(name)
        decision = decide(
            key,
            parts,
            current,
            stored=lambda: self.find(name, key),
            object_present=self._present,
            object_intact=lambda m: self.objects.intact(m.object, m.object_size, m.file_hash),
            force=self.force,
        )
        verdict = None
        if decision.status is Status.UP_TO_DATE:
            assert current is not None
            verdict = self.auditor.standing(name, current, content_of)
        return AssetDecision(
            name,
            decision.status,
            decision.reason,
            key,
            parts,
            tuple(inputs),
            current,
            decision.restore,
            verdict,
        )

    def _present(self, mat: Materialization) -> bool:
        return self.objects.present(mat.object, mat.object_size)  # one stat: every no-op asset


def code_parts_of(a: AssetDef) -> dict[str, str]:
    """The named parts of an asset's code: a Python function's (its helpers, constants, local
    modules), a SQL asset's one file."""
    if a.kind is Kind.PYTHON:
        return a.code_parts
    if a.kind is Kind.SQL:
        return {a.path: a.fingerprint}
    return {}
