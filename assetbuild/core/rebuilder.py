"""DECIDE: given an asset's build key and the trace, run it, restore it, or leave it — with a reason.

1. `--force` → run.
2. the key equals current's key and current's object is on disk → `up_to_date`.
3. a stored, intact materialization has the key → `restored` (the pointer moves; nothing runs).
4. otherwise → run (`built`), saying what differs from current: code, config, which inputs.

The reason is data (reasons.py), not a string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assetbuild.core.keys import changed_code
from assetbuild.model.reasons import Because, Cause, Reason
from assetbuild.model.results import Status
from assetbuild.model.stored import Current, Materialization


@dataclass(frozen=True)
class Decision:
    status: Status  # UP_TO_DATE, RESTORED or BUILT (= must run)
    reason: Reason
    restore: Materialization | None = None


def decide(
    key: str,
    parts: dict[str, Any],
    current: Current | None,
    stored: Callable[[], list[Materialization]],
    object_present: Callable[[Materialization], bool],
    object_intact: Callable[[Materialization], bool],
    force: bool,
) -> Decision:
    if force:
        return Decision(Status.BUILT, Reason.of(Cause.FORCED))
    damaged = False
    if current is not None and current.mat.build_key == key:
        if object_present(current.mat):
            return Decision(Status.UP_TO_DATE, Reason.of(Cause.UNCHANGED))
        damaged = True
    for mat in stored():
        if current is not None and mat.id == current.mat.id:
            continue
        if object_intact(mat):
            why = explain(parts, current.mat.key_parts if current else None)
            return Decision(Status.RESTORED, why.plus(Cause.STORED_VERSION), mat)
    if damaged:
        return Decision(Status.BUILT, Reason.of(Cause.DAMAGED))
    return Decision(Status.BUILT, explain(parts, current.mat.key_parts if current else None))


def explain(parts: dict[str, Any], before: dict[str, Any] | None) -> Reason:
    """What differs between two sets of key parts."""
    if not before:
        return Reason.of(Cause.NEW)
    causes: list[Because] = []
    for part, cause in (
        ("format", Cause.FORMAT_CHANGED),
        ("kind", Cause.KIND_CHANGED),
        ("code", Cause.CODE_CHANGED),
        ("config", Cause.CONFIG_CHANGED),
    ):
        if before.get(part) != parts.get(part):
            which = changed_code(before, parts.get("code_parts") or {}) if part == "code" else ()
            causes.append(Because(cause, which))
    old = {name: h for name, h in before.get("inputs", [])}
    new = {name: h for name, h in parts.get("inputs", [])}
    for cause, names in (
        (Cause.INPUTS_CHANGED, [n for n in new if n in old and old[n] != new[n]]),
        (Cause.INPUTS_ADDED, [n for n in new if n not in old]),
        (Cause.INPUTS_REMOVED, [n for n in old if n not in new]),
    ):
        if names:
            causes.append(Because(cause, tuple(names)))
    return Reason(tuple(causes)) if causes else Reason.of(Cause.KEY_CHANGED)
