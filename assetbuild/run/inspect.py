"""`show` and `history`: what the store knows about one asset, read-only (works during a build)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from assetbuild.definitions.loader import load_project
from assetbuild.errors import AssetFailure, ProjectError, did_you_mean
from assetbuild.model.assets import Project
from assetbuild.model.runids import display_run_id
from assetbuild.sources.probe import observe
from assetbuild.trace.objects import ObjectStore
from assetbuild.trace.state import State


def _asset(project: Project, name: str) -> None:
    if name not in project.assets:
        raise ProjectError(f"no asset named '{name}'", hint=did_you_mean(name, project.assets))


def _when(ts: float | None) -> str | None:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds") if ts else None


def show_asset(project_dir: str | Path, name: str, rows: int = 0) -> dict[str, Any]:
    project = load_project(project_dir)
    _asset(project, name)
    a = project.assets[name]
    info: dict[str, Any] = {
        "name": a.name,
        "kind": a.kind.value,
        "defined_in": f"{a.path}:{a.line}",
        "description": a.description,
        "owner": a.owner,
        "tags": list(a.tags),
        "metadata": dict(a.metadata),
        "upstream": list(a.upstream),
        "downstream": list(project.downstream.get(name, ())),
        "code_fingerprint": a.fingerprint,
        "export": project.exports.get(name),
        "current": None,
        "checks": [],
        "last_run": None,
    }
    info.update(rule_facts(project, name))
    if a.kind.value == "source":
        try:
            files = observe(project, [name])[name].files
            info["files"] = [{"path": f.path, "bytes": f.size, "hash": f.hash} for f in files]
        except ProjectError as e:  # show what is declared even when its files are missing
            info["files"] = []
            info["files_error"] = e.message
    state = State.open(project.store_dir, readonly=True)
    if state is None:
        return info
    try:
        cur = state.current_of(project.environment, name)
        if cur is not None:
            m = cur.mat
            info["current"] = {
                "content_hash": m.content_hash,
                "build_key": m.build_key,
                "rows": m.rows,
                "bytes": m.object_size,
                "schema": [
                    {"name": c, "type": t} | ({"description": d} if (d := info["columns"].get(c)) else {})
                    for c, t in m.schema
                ],
                "built_at": _when(m.created_at),
                "run_id": m.run_id,
                "object": str(ObjectStore(project.store_dir).path(m.object)),
                "checks_passed": cur.checks_passed,
            }
            stored = state.checks(cur.check_key) if cur.check_key else None
            info["checks"] = stored[1] if stored else []
        runs = state.asset_runs(name, limit=1)
        info["last_run"] = runs[0] if runs else None
        if runs:
            runs[0]["finished_at"] = _when(runs[0]["finished_at"])
        if rows and cur is not None:  # a preview needs the data itself
            import polars as pl

            store = ObjectStore(project.store_dir)
            if not store.intact(cur.mat.object, cur.mat.object_size, cur.mat.file_hash):
                raise AssetFailure(
                    f"the stored data of '{name}' is missing or damaged ({cur.mat.object}); "
                    f"`assetbuild build {name}` rebuilds it"
                )
            df = pl.read_parquet(store.path(cur.mat.object), n_rows=rows)
            from assetbuild.run.read import displayable, json_records

            info["preview"] = json_records(df)
            info["preview_text"] = str(displayable(df))
    finally:
        state.close()
    return info


def rule_facts(project: Project, name: str) -> dict[str, Any]:
    """What the rule files say about `name` besides checks: the assets its rules read (a build
    waits for them), which assets' rules read it, and its columns' `description:`."""
    from assetbuild.gate.audit import load_rulesets
    from assetbuild.run.decisions import rule_reads

    rulesets = load_rulesets(project)
    reads = rule_reads(project, rulesets)
    rs = rulesets.get(name)
    return {
        "checks_read": sorted({r.read for r in reads if r.reader == name}),
        "read_by_checks_of": sorted({r.reader for r in reads if r.read == name}),
        "columns": dict(rs.column_descriptions) if rs else {},
    }


def show_text(info: dict[str, Any]) -> str:
    lines = [f"{info['name']}  ({info['kind']}, {info['defined_in']})"]
    for key in ("description", "owner"):
        if info.get(key):
            lines.append(f"  {key}: {info[key]}")
    if info["tags"]:
        lines.append(f"  tags: {', '.join(info['tags'])}")
    for key, value in (info.get("metadata") or {}).items():
        lines.append(f"  {key}: {value}")
    lines.append(f"  upstream: {', '.join(info['upstream']) or '-'}")
    lines.append(f"  downstream: {', '.join(info['downstream']) or '-'}")
    if info.get("checks_read"):
        lines.append(f"  checks read: {', '.join(info['checks_read'])}")
    if info.get("read_by_checks_of"):
        lines.append(f"  read by the checks of: {', '.join(info['read_by_checks_of'])}")
    if info.get("export"):
        lines.append(f"  export: {info['export']}")
    cur = info["current"]
    if cur is None:
        lines.append("  current: never built")
        if info.get("columns"):
            lines.append("  columns (described in the rules):")
            lines.extend(f"    {c}: {words}" for c, words in info["columns"].items())
    else:
        lines.append(f"  current: {cur['rows']:,} rows, {cur['bytes']:,} bytes, built {cur['built_at']}")
        lines.append(f"  content hash: {cur['content_hash']}")
        lines.append(f"  build key:    {cur['build_key']}")
        lines.append("  schema:")
        width = max((len(f"{c['name']}: {c['type']}") for c in cur["schema"]), default=0)
        for c in cur["schema"]:
            typed = f"{c['name']}: {c['type']}"
            about = f"  {c['description']}" if c.get("description") else ""
            lines.append(f"    {typed:<{width}}{about}" if about else f"    {typed}")
    if info["checks"]:
        lines.append("  checks:")
        for c in info["checks"]:
            mark = "pass" if c["passed"] else ("FAIL" if c["severity"] == "error" else "warn")
            lines.append(
                f"    {mark:4} {c['name']}" + ("" if c["passed"] else f" ({c['failing_rows']} rows)")
            )
    run = info.get("last_run")
    if run:
        lines.append(f"  last run: {run['status']} at {run['finished_at']} ({run['reason']})")
    if info.get("preview_text"):
        lines.append(info["preview_text"])
    return "\n".join(lines)


def history_of(project_dir: str | Path, name: str) -> dict[str, Any]:
    project = load_project(project_dir)
    _asset(project, name)
    state = State.open(project.store_dir, readonly=True)
    out: dict[str, Any] = {"asset": name, "materializations": [], "runs": []}
    if state is None:
        return out
    try:
        cur = state.current_of(project.environment, name)
        runs = state.asset_runs(name, 200)
        for m in state.materializations(name):
            # the checks of the newest run that produced or re-checked this content
            checks: list[dict[str, Any]] = next(
                (r["checks"] for r in runs if r["content_hash"] == m.content_hash and r["checks"]), []
            )
            if cur and cur.mat.id == m.id and cur.check_key:
                stored = state.checks(cur.check_key)  # the current data's checks under today's rules
                checks = stored[1] if stored else checks
            out["materializations"].append(
                {
                    "created_at": _when(m.created_at),
                    "run_id": m.run_id,
                    "build_key": m.build_key,
                    "content_hash": m.content_hash,
                    "rows": m.rows,
                    "bytes": m.object_size,
                    "current": bool(cur and cur.mat.id == m.id),
                    "quarantined": m.quarantined,
                    "checks_passed": _checks_passed(checks),
                    "checks": checks,
                }
            )
        for r in runs[:50]:
            r["finished_at"] = _when(r["finished_at"])
            out["runs"].append(r)
    finally:
        state.close()
    return out


def _checks_passed(checks: list[dict[str, Any]]) -> bool | None:
    """No error-severity check failed; None when no check ran on it."""
    if not checks:
        return None
    return all(c.get("passed") or c.get("severity") == "warn" for c in checks)


def history_text(info: dict[str, Any]) -> str:
    lines = [f"{info['asset']}: {len(info['materializations'])} materializations"]
    for m in info["materializations"]:
        flag = "*" if m["current"] else ("q" if m["quarantined"] else " ")
        failed = sum(1 for c in m["checks"] if not c.get("passed"))
        outcome = {None: "", True: "checks ok", False: "checks FAILED"}[m["checks_passed"]]
        if failed and m["checks_passed"]:
            outcome += f" ({failed} warnings)"
        lines.append(
            f" {flag} {m['created_at']}  {m['content_hash'][:12]}  key {m['build_key'][:12]}  "
            f"{m['rows'] or 0:>9,} rows  run {display_run_id(str(m['run_id']))}  {outcome}"
        )
    lines.append("  (* current, q quarantined: failed an error rule)")
    return "\n".join(lines)
