"""Parsed rules, cached by the bytes of the rule files (and the packs and asset names they are
checked against), so a no-op build reads YAML only to hash it and never imports sqlglot for a
`sql:` or `expression:` rule it parsed before.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any

from assetbuild.gate.packs import packs_root
from assetbuild.gate.rules import RULES_FORMAT, Rule, RuleSet, load_rules
from assetbuild.hashing import hash_bytes, hash_json
from assetbuild.model.results import Severity

_CACHE_FORMAT = 3  # 2: rules contradicting a column's dtype are refused; 3: column descriptions


def load_rules_cached(
    project_root: Path, asset_names: Collection[str], cache_path: Path
) -> dict[str, RuleSet]:
    key = _key(project_root, asset_names)
    try:
        stored = json.loads(cache_path.read_text())
        if stored.get("key") == key:
            return {asset: _ruleset(d) for asset, d in stored["rulesets"].items()}
    except (OSError, ValueError, KeyError, TypeError):
        pass  # no cache, or one from another version: parse
    rulesets = load_rules(project_root, asset_names)
    try:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_name(f"{cache_path.name}.{os.getpid()}.tmp")
        body = {"key": key, "rulesets": {a: _ruleset_json(rs) for a, rs in rulesets.items()}}
        tmp.write_text(json.dumps(body, default=_encode))
        os.replace(tmp, cache_path)
    except (OSError, TypeError, ValueError):
        pass  # a read-only store, or a value JSON cannot keep: parse again next time
    return rulesets


def _key(project_root: Path, asset_names: Collection[str]) -> str:
    rules_dir = project_root / "rules"
    files = sorted(p for p in rules_dir.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    packs = packs_root()
    pack_files = sorted((p for p in packs.iterdir() if p.name.endswith(".yaml")), key=lambda p: p.name)
    return hash_json(
        {
            "format": [_CACHE_FORMAT, RULES_FORMAT],
            "files": [[p.name, hash_bytes(p.read_bytes())] for p in files],
            "packs": [[p.name, hash_bytes(p.read_bytes())] for p in pack_files],
            "assets": sorted(asset_names),
        }
    )


def _ruleset_json(rs: RuleSet) -> dict[str, Any]:
    return {
        "asset": rs.asset,
        "rules": [
            {
                "name": r.name,
                "kind": r.kind,
                "column": r.column,
                "params": _tag(r.params),
                "severity": r.severity.value,
                "description": r.description,
                "source": r.source,
            }
            for r in rs.rules
        ],
        "fingerprint": rs.fingerprint,
        "references": list(rs.references),
        "column_descriptions": dict(rs.column_descriptions),
    }


def _ruleset(d: dict[str, Any]) -> RuleSet:
    rules = tuple(
        Rule(
            name=r["name"],
            kind=r["kind"],
            column=r["column"],
            params=_decode(r["params"]),
            severity=Severity(r["severity"]),
            description=r["description"],
            source=r["source"],
        )
        for r in d["rules"]
    )
    return RuleSet(
        d["asset"], rules, d["fingerprint"], tuple(d["references"]), dict(d["column_descriptions"])
    )


def _tag(value: Any) -> Any:
    """JSON keeps lists, not tuples: tag tuples so a cached rule equals a freshly parsed one."""
    if isinstance(value, tuple):
        return {"$tuple": [_tag(v) for v in value]}
    if isinstance(value, list):
        return [_tag(v) for v in value]
    if isinstance(value, dict):
        return {k: _tag(v) for k, v in value.items()}
    return value


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    raise TypeError(f"cannot cache {type(value).__name__}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"$datetime"}:
            return dt.datetime.fromisoformat(value["$datetime"])
        if set(value) == {"$date"}:
            return dt.date.fromisoformat(value["$date"])
        if set(value) == {"$tuple"}:
            return tuple(_decode(v) for v in value["$tuple"])
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value
