"""Build keys and check keys: pure functions of what an asset does and what it read."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from assetbuild.hashing import hash_json

# Part of every build key: bumping it invalidates every stored materialization.
STORE_FORMAT = 2  # 2: content hashes of our own definition (executor/content.py), not polars'


def key_parts(
    kind: str, fingerprint: str, config: dict[str, Any], inputs: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    """What a build key is made of, kept beside each materialization so `plan` can say what changed.

    Inputs are upstream assets by *content* hash (so an upstream rebuilt to identical data changes
    nothing here: early cutoff) and, for sources, the files they read by file hash.
    """
    return {
        "kind": kind,
        "code": fingerprint,
        "config": config,
        "inputs": sorted([list(i) for i in inputs]),
        "format": STORE_FORMAT,
    }


def build_key(parts: dict[str, Any]) -> str:
    return hash_json({k: v for k, v in parts.items() if k != "code_parts"})


def with_code_parts(parts: dict[str, Any], code_parts: dict[str, str]) -> dict[str, Any]:
    """The key parts as stored: with the named parts of the code beside them (not in the key)."""
    return {**parts, "code_parts": dict(code_parts)} if code_parts else parts


def changed_code(before: dict[str, Any], code_parts: dict[str, str]) -> tuple[str, ...]:
    """Which named parts of the code differ from `before`'s (nothing known: none)."""
    old = before.get("code_parts") or {}
    if not old or not code_parts:
        return ()
    return tuple(
        sorted(label for label in old.keys() | code_parts.keys() if old.get(label) != code_parts.get(label))
    )


def check_key(content_hash: str, rules_fingerprint: str, basis: dict[str, Any] | None = None) -> str:
    """What a verdict was reached on: the data, the rules, and any further input (`basis`) a rule
    reads, such as the row count published before."""
    if basis is None:
        return hash_json({"content": content_hash, "rules": rules_fingerprint})
    return hash_json({"content": content_hash, "rules": rules_fingerprint, "basis": basis})
