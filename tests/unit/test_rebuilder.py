"""The rebuilder alone: up_to_date / restored / built and the reason, over stored values only."""

from __future__ import annotations

import json

from assetbuild.core.keys import build_key, check_key, key_parts
from assetbuild.core.rebuilder import decide, explain
from assetbuild.model.reasons import Cause
from assetbuild.model.results import Status
from assetbuild.model.stored import Current, Materialization


def mat(id: int, key: str, parts: dict) -> Materialization:
    return Materialization(
        id, "a", key, f"c{id}", 1, f"o{id}", 10, f"f{id}", "[]", None, 0.0, False, json.dumps(parts)
    )


PARTS = key_parts("sql", "code-1", {}, [("up", "h1")])
KEY = build_key(PARTS)


def test_same_key_and_object_present_is_up_to_date():
    cur = Current(mat(1, KEY, PARTS), None, True)
    d = decide(KEY, PARTS, cur, lambda: [], lambda m: True, lambda m: True, force=False)
    assert (d.status, d.reason.causes[0].cause) == (Status.UP_TO_DATE, Cause.UNCHANGED)


def test_a_missing_current_object_rebuilds_unless_an_intact_copy_is_stored():
    cur = Current(mat(1, KEY, PARTS), None, True)
    d = decide(KEY, PARTS, cur, lambda: [cur.mat], lambda m: False, lambda m: False, force=False)
    assert (d.status, str(d.reason)) == (Status.BUILT, "its stored data is missing or damaged")
    other = mat(2, KEY, PARTS)
    d = decide(KEY, PARTS, cur, lambda: [cur.mat, other], lambda m: False, lambda m: m.id == 2, False)
    assert d.status is Status.RESTORED and d.restore == other


def test_a_stored_intact_version_is_restored_and_a_damaged_one_is_not():
    old_parts = key_parts("sql", "code-0", {}, [("up", "h1")])
    cur = Current(mat(1, build_key(old_parts), old_parts), None, True)
    stored = mat(2, KEY, PARTS)
    d = decide(KEY, PARTS, cur, lambda: [stored], lambda m: True, lambda m: True, force=False)
    assert d.status is Status.RESTORED and d.restore == stored
    assert [b.cause for b in d.reason.causes] == [Cause.CODE_CHANGED, Cause.STORED_VERSION]
    d = decide(KEY, PARTS, cur, lambda: [stored], lambda m: True, lambda m: False, force=False)
    assert d.status is Status.BUILT


def test_force_runs_without_looking_at_the_store():
    def never():
        raise AssertionError("forced: the store is not consulted")

    d = decide(KEY, PARTS, None, never, never, never, force=True)
    assert (d.status, str(d.reason)) == (Status.BUILT, "forced (--force)")


def test_explain_names_each_changed_part_and_input():
    before = key_parts("sql", "c", {"x": 1}, [("up", "h1"), ("file:data/a.csv", "f1"), ("gone", "g")])
    after = key_parts("sql", "c2", {"x": 2}, [("up", "h2"), ("file:data/a.csv", "f1"), ("new", "n")])
    why = explain(after, before)
    assert [b.cause for b in why.causes] == [
        Cause.CODE_CHANGED,
        Cause.CONFIG_CHANGED,
        Cause.INPUTS_CHANGED,
        Cause.INPUTS_ADDED,
        Cause.INPUTS_REMOVED,
    ]
    assert str(why) == (
        "code changed; config changed; upstream 'up' changed; new input: upstream 'new'; "
        "input removed: upstream 'gone'"
    )
    assert why.to_json()[2] == {"cause": "inputs_changed", "inputs": [{"asset": "up"}]}
    assert str(explain(after, None)) == "new asset (never built)"


def test_a_check_key_changes_with_every_input_of_a_verdict():
    base = check_key("content", "rules")
    assert check_key("content", "rules") == base
    assert len({base, check_key("other", "rules"), check_key("content", "other")}) == 3
    with_rows = check_key("content", "rules", {"previous_rows": 20})
    assert with_rows != base != check_key("content", "rules", {"previous_rows": 6})
