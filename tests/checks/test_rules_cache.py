"""Cached rules are the rules: a cached load equals a fresh parse, and any edit is seen."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assetbuild.errors import ProjectError
from assetbuild.gate.rules import load_rules
from assetbuild.gate.rules_cache import load_rules_cached

FRAUD = Path(__file__).resolve().parents[2] / "examples" / "fraud"
NAMES = ["users", "merchants", "raw_transactions", "cleaned_transactions", "user_features",
         "merchant_daily", "fraud_scores"]  # fmt: skip


def test_a_cached_load_equals_a_fresh_parse(tmp_path):
    shutil.copytree(FRAUD / "rules", tmp_path / "rules")
    cache = tmp_path / "cache.json"
    fresh = load_rules(tmp_path, NAMES)
    first = load_rules_cached(tmp_path, NAMES, cache)
    assert cache.exists()
    again = load_rules_cached(tmp_path, NAMES, cache)  # from the cache
    assert first == fresh and again == fresh


def test_an_edit_or_new_asset_names_invalidate_the_cache(tmp_path):
    (tmp_path / "rules").mkdir()
    rule = tmp_path / "rules" / "a.yaml"
    rule.write_text("asset: a\ncolumns:\n  x: {min: 1}\n")
    cache = tmp_path / "cache.json"
    first = load_rules_cached(tmp_path, ["a"], cache)
    rule.write_text("asset: a\ncolumns:\n  x: {min: 2}\n")
    second = load_rules_cached(tmp_path, ["a"], cache)
    assert first["a"].fingerprint != second["a"].fingerprint
    assert second == load_rules(tmp_path, ["a"])
    rule.write_text("asset: a\ncolumns:\n  x: {references: b.x}\n")
    assert load_rules_cached(tmp_path, ["a", "b"], cache)["a"].references == ("b",)
    with pytest.raises(ProjectError, match="'b', which is not an asset"):
        load_rules_cached(tmp_path, ["a"], cache)  # the names are part of the key
