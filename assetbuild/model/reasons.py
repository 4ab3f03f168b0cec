"""Why an asset got its status, as data: causes with the inputs they are about.

`plan --format json` and `build --format json` carry them (`"why"`), so a machine can tell which
file, which upstream or which part of the build key changed; the human text is derived from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Cause(StrEnum):
    FORCED = "forced"
    NEW = "new_asset"
    UNCHANGED = "unchanged"
    DAMAGED = "stored_data_damaged"
    FORMAT_CHANGED = "store_format_changed"
    KIND_CHANGED = "kind_changed"
    CODE_CHANGED = "code_changed"
    CONFIG_CHANGED = "config_changed"
    INPUTS_CHANGED = "inputs_changed"
    INPUTS_ADDED = "inputs_added"
    INPUTS_REMOVED = "inputs_removed"
    KEY_CHANGED = "build_key_changed"
    STORED_VERSION = "stored_version"
    WAITS_FOR_UPSTREAM = "waits_for_upstream"
    RUNS_AFTER_UPSTREAM = "runs_after_upstream"  # plan: it will run (its own key changed), later
    UPSTREAM_HAS_NO_DATA = "upstream_has_no_data"
    UPSTREAM_FAILS = "upstream_fails"  # plan: an upstream is certain to fail
    CHECKS_WILL_RUN = "checks_will_run"  # plan: rules changed, the current data will be re-checked
    CHECKS_RERUN = "checks_rerun"  # build: rules changed and the current data passes them
    FAILS_RULES = "fails_rules"  # its current data fails an error rule
    FAILS_CHECKS = "fails_checks"  # new data failed its checks: not published


@dataclass(frozen=True)
class Because:
    """One cause, with what it is about: inputs (`file:PATH` or an asset name), or for a code change
    the named parts of the code that changed ("helper _positive", "assets/x.sql")."""

    cause: Cause
    inputs: tuple[str, ...] = ()

    def text(self) -> str:
        if self.cause in (Cause.INPUTS_CHANGED, Cause.INPUTS_ADDED, Cause.INPUTS_REMOVED):
            shown = ", ".join(_input_label(n) for n in self.inputs[:3])
            more = f" and {len(self.inputs) - 3} more" if len(self.inputs) > 3 else ""
            if self.cause is Cause.INPUTS_CHANGED:
                return f"{shown}{more} changed"
            return f"{_TEXT[self.cause]}: {shown}{more}"
        if self.cause in (
            Cause.WAITS_FOR_UPSTREAM,
            Cause.RUNS_AFTER_UPSTREAM,
            Cause.UPSTREAM_HAS_NO_DATA,
            Cause.UPSTREAM_FAILS,
        ):
            return _TEXT[self.cause].format(self.inputs[0])
        if self.cause is Cause.CODE_CHANGED and self.inputs:
            more = f" and {len(self.inputs) - 4} more" if len(self.inputs) > 4 else ""
            return f"{_TEXT[self.cause]}: {', '.join(self.inputs[:4])}{more}"
        return _TEXT[self.cause]

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"cause": self.cause.value}
        if self.inputs and self.cause is Cause.CODE_CHANGED:
            d["parts"] = list(self.inputs)  # "helper _positive", "constant LIMIT", "assets/x.sql"
        elif self.inputs:
            d["inputs"] = [_input_json(n) for n in self.inputs]
        return d


_TEXT = {
    Cause.FORCED: "forced (--force)",
    Cause.NEW: "new asset (never built)",
    Cause.UNCHANGED: "code and inputs unchanged",
    Cause.DAMAGED: "its stored data is missing or damaged",
    Cause.FORMAT_CHANGED: "store format changed",
    Cause.KIND_CHANGED: "kind changed",
    Cause.CODE_CHANGED: "code changed",
    Cause.CONFIG_CHANGED: "config changed",
    Cause.INPUTS_ADDED: "new input",
    Cause.INPUTS_REMOVED: "input removed",
    Cause.KEY_CHANGED: "build key changed",
    Cause.STORED_VERSION: "a stored version was built from exactly these (restored, nothing runs)",
    Cause.WAITS_FOR_UPSTREAM: "runs if upstream '{}' changes its data",
    Cause.RUNS_AFTER_UPSTREAM: "runs once upstream '{}' has settled",
    Cause.UPSTREAM_HAS_NO_DATA: "upstream '{}' has no data yet",
    Cause.UPSTREAM_FAILS: "upstream '{}' will not succeed",
    Cause.CHECKS_WILL_RUN: "rules changed: checks will run on the current data",
    Cause.CHECKS_RERUN: "rules changed, checks re-run",
    Cause.FAILS_RULES: "its data fails its error rules",
    Cause.FAILS_CHECKS: "fails its checks (not published)",
}


@dataclass(frozen=True)
class Reason:
    """Why an asset got its status: one or more causes, most important first."""

    causes: tuple[Because, ...]

    @classmethod
    def of(cls, cause: Cause, *inputs: str) -> Reason:
        return cls((Because(cause, tuple(inputs)),))

    def plus(self, cause: Cause, *inputs: str) -> Reason:
        return Reason((*self.causes, Because(cause, tuple(inputs))))

    def has(self, cause: Cause) -> bool:
        return any(b.cause is cause for b in self.causes)

    def __str__(self) -> str:
        return "; ".join(b.text() for b in self.causes)

    def to_json(self) -> list[dict[str, Any]]:
        return [b.to_json() for b in self.causes]


def _input_label(name: str) -> str:
    return f"file {name[5:]}" if name.startswith("file:") else f"upstream '{name}'"


def _input_json(name: str) -> dict[str, str]:
    return {"file": name[5:]} if name.startswith("file:") else {"asset": name}
