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
    return hash_json(parts)


def check_key(content_hash: str, rules_fingerprint: str, basis: dict[str, Any] | None = None) -> str:
    """What a verdict was reached on: the data, the rules, and any further input (`basis`) a rule
    reads, such as the row count published before."""
    if basis is None:
        return hash_json({"content": content_hash, "rules": rules_fingerprint})
    return hash_json({"content": content_hash, "rules": rules_fingerprint, "basis": basis})
