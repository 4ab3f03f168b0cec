"""A whole build over in-memory stores and a fake executor: no polars, no DuckDB, no files but
a scratch folder. What it proves is the wiring (decisions, scheduler, gate, publish), not data."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from assetbuild.errors import AssetFailure
from assetbuild.executor.protocol import Deadline, Executors, InputRef, StagedOutput
from assetbuild.hashing import hash_bytes
from assetbuild.model.assets import AssetDef, Kind, Project
from assetbuild.model.results import BuildResult
from assetbuild.run.build import Builder, BuildOptions
from assetbuild.trace.memory import MemoryObjects, MemoryState

# a → b → c
UPSTREAM = {"a": (), "b": ("a",), "c": ("b",)}


class FakeExecutor:
    """Each asset's output is a string made from its own `value` and its inputs' content hashes."""

    def __init__(self, values: dict[str, str], fail: set[str]) -> None:
        self.values = values
        self.fail = fail
        self.ran: list[str] = []

    def run(
        self, asset: AssetDef, inputs: Mapping[str, InputRef], staged: Path, deadline: Deadline | None = None
    ) -> StagedOutput:
        self.ran.append(asset.name)
        if asset.name in self.fail:
            raise AssetFailure(f"{asset.name} failed on purpose")
        data = (self.values[asset.name] + "|" + ",".join(r.content_hash for r in inputs.values())).encode()
        staged.write_bytes(data)
        return StagedOutput(staged, hash_bytes(data), 1, [("v", "str")])

    def cancel(self) -> None:
        pass

    def close(self) -> None:
        pass


class World:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="assetbuild-fake-"))
        self.code = {n: "v1" for n in UPSTREAM}  # what each asset's fingerprint says
        self.values = {n: "x" for n in UPSTREAM}  # what the fake computes
        self.fail: set[str] = set()
        self.state = MemoryState()
        self.objects = MemoryObjects()

    def project(self) -> Project:
        assets = {
            n: AssetDef(n, Kind.PYTHON, f"assets/{n}.py", 1, ups, self.code[n], function=n)
            for n, ups in UPSTREAM.items()
        }
        downstream = {n: tuple(d for d, ups in UPSTREAM.items() if n in ups) for n in UPSTREAM}
        return Project(self.root, "fake", assets, downstream, tuple(UPSTREAM))

    def build(self, **options: object) -> tuple[BuildResult, list[str]]:
        executor = FakeExecutor(self.values, self.fail)
        executors = Executors({("python", "python"): lambda: executor}, lambda a: "python")
        builder = Builder(
            self.project(),
            self.state,
            replace(BuildOptions(), jobs=2, **options),  # type: ignore[arg-type]
            [],
            objects=self.objects,
            executors=executors,
            deliver_results=False,
        )
        return builder.run(), executor.ran


def statuses(result: BuildResult) -> dict[str, str]:
    return {a.name: a.status.value for a in result.assets}


def scenario() -> None:
    w = World()
    first, ran = w.build()
    assert statuses(first) == {"a": "built", "b": "built", "c": "built"} and sorted(ran) == ["a", "b", "c"]
    again, ran = w.build()
    assert set(statuses(again).values()) == {"up_to_date"} and ran == []

    w.code["a"] = "v2"  # new code, same output: early cutoff stops the wave at a
    cut, ran = w.build()
    assert statuses(cut) == {"a": "built", "b": "up_to_date", "c": "up_to_date"} and ran == ["a"]

    w.code["a"], w.values["a"] = "v3", "y"  # new code, new output: everything downstream runs
    wave, ran = w.build()
    assert statuses(wave) == {"a": "built", "b": "built", "c": "built"}

    w.code["a"], w.values["a"] = "v1", "x"  # back to the first version: all restored, nothing runs
    back, ran = w.build()
    assert statuses(back) == {"a": "restored", "b": "restored", "c": "restored"} and ran == []
    assert {a.name: a.content_hash for a in back.assets} == {a.name: a.content_hash for a in first.assets}

    w.code["b"], w.fail = "v9", {"b"}  # a failing asset blocks what is downstream, publishes nothing
    before = {n: c.mat.id for n, c in w.state.current("default").items()}
    failed, ran = w.build()
    assert statuses(failed) == {"a": "up_to_date", "b": "failed", "c": "blocked"} and ran == ["b"]
    assert {n: c.mat.id for n, c in w.state.current("default").items()} == before
    assert not failed.ok

    forced, ran = w.build(force=True, select=("a",))
    assert statuses(forced) == {"a": "built"} and ran == ["a"]
