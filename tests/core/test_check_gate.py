"""`assetbuild check` as a CI gate: it takes the build lock, records a verdict only on the data it
checked, reports damaged data as a failure of that asset, and fails while the newest build of a
selected asset did not publish (failed, or was rejected by its checks)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from assetbuild.run.check import check_assets
from assetbuild.trace.lock import BuildLock, LockBusy
from assetbuild.trace.state import State

from .projects import by_name, run

ASSETBUILD = str(Path(sys.executable).with_name("assetbuild"))

RULE = "asset: copied\ntable:\n  row_count: {min: 3}\n"


def _rows(n: int) -> str:
    return "id\n" + "".join(f"{i}\n" for i in range(1, n + 1))


COPIED = "SELECT id, id * 2 AS twice FROM src\n"  # not the same table as src: its own object

FILES: dict[str, str | bytes] = {
    "assetbuild.toml": '[project]\nname = "gate"\n\n[sources.src]\npath = "data/src.csv"\n',
    "data/src.csv": _rows(5),
    "assets/copied.sql": COPIED,
    "assets/summary.sql": "SELECT count(*) AS n FROM copied\n",
    "rules/copied.yaml": RULE,
}


def _project(make_project, **extra: str) -> Path:
    root = make_project({**FILES, **extra})
    first = run(root)
    assert first.ok, [(a.name, a.status.value, a.reason) for a in first.assets]
    return root


def _state(root: Path) -> State:
    state = State.open(root / ".assetbuild")
    assert state is not None
    return state


def _assets(doc: dict) -> dict[str, dict]:
    return {a["name"]: a for a in doc["assets"]}


# -- 1. the verdict lands only on the materialization that was checked -----------------------------


def test_a_verdict_is_not_written_onto_data_published_while_checking(make_project, monkeypatch):
    root = _project(make_project)
    # a rule edit: the check must judge the data afresh, and then record its verdict
    (root / "rules/copied.yaml").write_text(RULE.replace("min: 3", "min: 4"))
    published: list[int] = []
    real_current = State.current

    def current_then_a_build_publishes(self: State, env: str):  # type: ignore[no-untyped-def]
        snapshot = real_current(self, env)
        # between check's read of `current` and its write, newer data is published with its own verdict
        other = _state(root)
        try:
            old = snapshot["copied"].mat
            new = other.add_materialization(
                "copied", "f" * 32, old.content_hash, old.rows, old.object, old.object_size,
                old.file_hash, old.schema, "run-newer", True, {},
            )  # fmt: skip
            other.publish(env, "copied", new.id, "verdict-of-the-newer-data", passed=False)
            published.append(new.id)
        finally:
            other.close()
        return snapshot

    monkeypatch.setattr(State, "current", current_then_a_build_publishes)
    result = check_assets(root, ["copied"])
    monkeypatch.undo()

    assert published
    state = _state(root)
    try:
        cur = state.current_of("default", "copied")
    finally:
        state.close()
    assert cur is not None and cur.mat.id == published[0]
    assert (cur.check_key, cur.checks_passed) == ("verdict-of-the-newer-data", False), (
        "the old data's verdict overwrote the newer data's"
    )
    # and the gate does not vouch for data it did not check
    copied = by_name(result)["copied"]
    assert copied.status.value == "failed" and "changed while" in copied.reason, copied.reason
    assert not result.ok


def test_the_other_verdict_writer_is_conditional_too(make_project):
    root = _project(make_project)
    state = _state(root)
    try:
        cur = state.current_of("default", "copied")
        assert cur is not None
        assert not state.set_current_checks("default", "copied", cur.mat.id + 1000, "other", False)
        assert state.set_current_checks("default", "copied", cur.mat.id, "mine", True)
        after = state.current_of("default", "copied")
        assert after is not None and (after.check_key, after.checks_passed) == ("mine", True)
    finally:
        state.close()


def test_check_takes_the_build_lock_and_waits_for_it(make_project):
    root = _project(make_project)
    lock = BuildLock(root / ".assetbuild")
    lock.acquire(wait=False)
    try:
        with pytest.raises(LockBusy):
            check_assets(root, wait=False)
        waiting: list[str] = []
        results = []
        t = threading.Thread(target=lambda: results.append(check_assets(root, on_wait=waiting.append)))
        t.start()
        deadline = time.monotonic() + 20
        while not waiting and time.monotonic() < deadline:
            time.sleep(0.02)
        assert waiting and "waiting for another build" in waiting[0]
        time.sleep(0.2)
        assert t.is_alive() and not results, "check ran while a build held the project"
    finally:
        lock.release()
    t.join(60)
    assert not t.is_alive() and results and results[0].ok


def test_cli_check_says_it_waits_for_a_running_build(make_project):
    root = _project(make_project)
    lock = BuildLock(root / ".assetbuild")
    lock.acquire(wait=False)
    p = subprocess.Popen(
        [ASSETBUILD, "--project", str(root), "check"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OPENLINEAGE_DISABLED": "true"},
    )
    try:
        assert p.stderr is not None
        line = p.stderr.readline()
        assert "waiting for another build on this project" in line, line
        assert p.poll() is None
    finally:
        lock.release()
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, out + err
    assert "OK:" in out


# -- 2. damaged data: a failure of that asset, with the way out --------------------------------------


def _damage(root: Path, asset: str, how: str) -> str:
    state = _state(root)
    try:
        cur = state.current_of("default", asset)
    finally:
        state.close()
    assert cur is not None
    path = root / ".assetbuild/objects" / cur.mat.object
    data = path.read_bytes()
    if how == "deleted":
        path.unlink()
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:  # same size, other bytes
        middle = len(data) // 2
        path.write_bytes(data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :])
    return cur.mat.object


@pytest.mark.parametrize("how", ["deleted", "truncated", "flipped"])
@pytest.mark.parametrize("rules_changed", [False, True], ids=["verdict-stands", "rules-changed"])
def test_damaged_data_fails_that_asset_and_says_how_to_rebuild(make_project, run_cli, how, rules_changed):
    root = _project(make_project)
    if rules_changed:
        (root / "rules/copied.yaml").write_text(RULE.replace("min: 3", "min: 2"))
    obj = _damage(root, "copied", how)
    r = run_cli(root, "check", "--format", "json")
    assert r.code == 1, r
    assert "internal error" not in r.stderr
    assets = _assets(r.json)
    copied = assets["copied"]
    assert copied["status"] == "failed"
    assert "the stored data of 'copied' is missing or damaged" in copied["reason"] and obj in copied["reason"]
    assert (
        "assetbuild build" in copied["reason"] and "copied" in copied["reason"].split("assetbuild build")[1]
    )
    assert assets["src"]["status"] == "up_to_date" and assets["summary"]["status"] == "up_to_date"
    text = run_cli(root, "check")
    assert text.code == 1 and "missing or damaged" in text.stdout and "internal error" not in text.stderr
    # the command it names does rebuild it, and the gate passes again
    assert run_cli(root, "build", "--force", "copied").code == 0
    assert run_cli(root, "check").code == 0


def test_damaged_data_a_rule_reads_fails_the_asset_naming_it(make_project, run_cli):
    rule = RULE + "columns:\n  id: {references: ids.id}\n"
    root = _project(
        make_project, **{"assets/ids.sql": "SELECT id, 'x' AS tag FROM src\n", "rules/copied.yaml": rule}
    )
    _damage(root, "ids", "flipped")
    r = run_cli(root, "check", "copied", "--format", "json")
    assert r.code == 1, r
    copied = _assets(r.json)["copied"]
    assert copied["status"] == "failed"
    assert "the stored data of 'ids' is missing or damaged" in copied["reason"], copied["reason"]


# -- 3. a gate fails while the newest build of a selected asset did not publish ----------------------


def _last_run(root: Path, asset: str) -> dict:
    state = _state(root)
    try:
        return state.asset_runs(asset, limit=1)[0]
    finally:
        state.close()


def test_gate_fails_while_the_newest_build_failed_its_checks(make_project, run_cli, tmp_path):
    root = _project(make_project)
    (root / "data/src.csv").write_text(_rows(2))  # 2 rows: row_count min 3 fails
    built = run_cli(root, "build", "--format", "json")
    assert built.code == 1 and _assets(built.json)["copied"]["status"] == "check_failed", built
    run_id = _last_run(root, "copied")["run_id"]

    junit = tmp_path / "junit.xml"
    r = run_cli(root, "check", "--format", "json", "--junit-xml", str(junit))
    assert r.code == 1, r
    assets = _assets(r.json)
    copied = assets["copied"]
    assert copied["status"] == "check_failed"
    for words in ("newest build", run_id, "failed its checks", "not published", "older data"):
        assert words in copied["reason"], (words, copied["reason"])
    assert copied["rows"] == 5, "it still reports the published data it checked"
    summary = assets["summary"]  # blocked by it in that build: its data is as old
    assert summary["status"] == "blocked" and "newest build" in summary["reason"], summary
    assert assets["src"]["status"] == "up_to_date"
    # a CI dashboard reading the JUnit file sees it too
    suites = {s.get("name"): s for s in ET.parse(junit).getroot()}
    assert int(suites["copied"].get("failures") or 0) >= 1
    assert int(suites["src"].get("failures") or 0) == 0

    assert run_cli(root, "check", "src").code == 0, "an asset whose newest build published passes"
    text = run_cli(root, "check", "copied")
    assert text.code == 1 and "failed its checks and was not published" in text.stdout

    # back to good data: the build settles, and so does the gate
    (root / "data/src.csv").write_text(_rows(5))
    assert run_cli(root, "build").code == 0
    assert run_cli(root, "check").code == 0


def test_gate_fails_while_the_newest_build_failed(make_project, run_cli):
    root = _project(make_project)
    (root / "assets/copied.sql").write_text("SELECT no_such_column FROM src\n")
    assert run_cli(root, "build").code == 1
    run_id = _last_run(root, "copied")["run_id"]
    r = run_cli(root, "check", "copied", "--format", "json")
    assert r.code == 1, r
    copied = _assets(r.json)["copied"]
    assert copied["status"] == "failed"
    assert "newest build" in copied["reason"] and run_id in copied["reason"], copied["reason"]
    (root / "assets/copied.sql").write_text(COPIED)
    assert run_cli(root, "build").code == 0
    assert run_cli(root, "check").code == 0


def test_gate_fails_when_no_build_of_an_asset_ever_published(make_project, run_cli):
    root = make_project({**FILES, "data/src.csv": _rows(2)})
    assert run_cli(root, "build").code == 1
    r = run_cli(root, "check", "copied", "--format", "json")
    assert r.code == 1, r
    copied = _assets(r.json)["copied"]
    assert copied["status"] == "check_failed" and "failed its checks" in copied["reason"], copied


def test_gate_fails_while_the_newest_materialization_is_left_quarantined(make_project, run_cli):
    root = _project(make_project)
    state = _state(root)
    try:  # a build killed after writing its data and before checking and publishing it
        state.start_run("run-killed", "build", "default")
        old = state.current_of("default", "copied")
        assert old is not None
        m = old.mat
        state.add_materialization(
            "copied",
            "e" * 32,
            "d" * 32,
            4,
            m.object,
            m.object_size,
            m.file_hash,
            m.schema,
            "run-killed",
            True,
            {},
        )
    finally:
        state.close()
    r = run_cli(root, "check", "--format", "json")
    assert r.code == 1, r
    copied = _assets(r.json)["copied"]
    assert copied["status"] == "failed"
    assert "run-killed" in copied["reason"] and "not published" in copied["reason"], copied["reason"]
    assert run_cli(root, "build").code == 0  # the next build settles it
    assert run_cli(root, "check").code == 0


def test_a_verdict_on_the_current_data_is_judged_afresh(make_project, run_cli):
    """A build that re-checked the current data under stricter rules failed; once the rules are
    back, `check` judges that same data itself: nothing newer is waiting to be published."""
    root = _project(make_project)
    (root / "rules/copied.yaml").write_text(RULE.replace("min: 3", "min: 10"))
    built = run_cli(root, "build", "--format", "json")
    assert built.code == 1 and _assets(built.json)["copied"]["status"] == "check_failed"
    assert run_cli(root, "check", "copied").code == 1
    (root / "rules/copied.yaml").write_text(RULE)
    r = run_cli(root, "check", "--format", "json")
    assert r.code == 0, r
    assert _assets(r.json)["copied"]["reason"] == "checks pass"


def test_an_unbuilt_asset_is_still_skipped(make_project, run_cli):
    root = _project(make_project)
    (root / "assets/later.sql").write_text("SELECT n FROM summary\n")
    r = run_cli(root, "check", "--format", "json")
    assert r.code == 0, r
    assert _assets(r.json)["later"]["status"] == "skipped"


def test_an_asset_whose_published_pointer_was_dropped_fails(make_project, run_cli):
    """A build forgets the pointer of data it finds damaged; the gate must not call it unbuilt."""
    root = _project(make_project)
    state = _state(root)
    try:
        state.drop_current("default", ["copied"])
    finally:
        state.close()
    r = run_cli(root, "check", "copied", "--format", "json")
    assert r.code == 1, r
    copied = _assets(r.json)["copied"]
    assert copied["status"] == "failed" and "assetbuild build copied" in copied["reason"], copied
    assert run_cli(root, "build", "copied").code == 0
    assert run_cli(root, "check").code == 0
