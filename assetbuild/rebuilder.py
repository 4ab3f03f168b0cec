"""DECIDE: given an asset's build key and the trace, run it, restore it, or leave it — with a reason.

1. `--force` → run.
2. the key equals current's key and current's object is on disk → `up_to_date`.
3. a stored, intact materialization has the key → `restored` (the pointer moves; nothing runs).
4. otherwise → run (`built`), saying what differs from current: code, config, which inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .results import Status
from .trace.state import Current, Materialization


@dataclass(frozen=True)
class Decision:
    status: Status  # UP_TO_DATE, RESTORED or BUILT (= must run)
    reason: str
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
        return Decision(Status.BUILT, "forced (--force)")
    if current is not None and current.mat.build_key == key:
        if object_present(current.mat):
            return Decision(Status.UP_TO_DATE, "code and inputs unchanged")
        damaged = "its stored data is missing or damaged"
    else:
        damaged = None
    for mat in stored():
        if current is not None and mat.id == current.mat.id:
            continue
        if object_intact(mat):
            why = explain(parts, current.mat.key_parts if current else None)
            return Decision(Status.RESTORED, f"{why}; same code and inputs as a stored version", mat)
    if damaged:
        return Decision(Status.BUILT, damaged)
    return Decision(Status.BUILT, explain(parts, current.mat.key_parts if current else None))


def explain(parts: dict[str, Any], before: dict[str, Any] | None) -> str:
    """Say in words what differs between two sets of key parts."""
    if not before:
        return "new asset (never built)"
    reasons = []
    if before.get("format") != parts.get("format"):
        reasons.append("store format changed")
    if before.get("kind") != parts.get("kind"):
        reasons.append("kind changed")
    if before.get("code") != parts.get("code"):
        reasons.append("code changed")
    if before.get("config") != parts.get("config"):
        reasons.append("config changed")
    old = {name: h for name, h in before.get("inputs", [])}
    new = {name: h for name, h in parts.get("inputs", [])}
    changed = [n for n in new if n in old and old[n] != new[n]]
    added = [n for n in new if n not in old]
    removed = [n for n in old if n not in new]
    for label, names in (("changed", changed), ("new input", added), ("input removed", removed)):
        if names:
            shown = ", ".join(_input_label(n) for n in names[:3])
            more = f" and {len(names) - 3} more" if len(names) > 3 else ""
            reasons.append(f"{label}: {shown}{more}" if label != "changed" else f"{shown}{more} changed")
    return "; ".join(reasons) or "build key changed"


def _input_label(name: str) -> str:
    return f"file {name[5:]}" if name.startswith("file:") else f"upstream '{name}'"
