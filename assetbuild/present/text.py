"""BuildResult → text for people (the JSON form lives on the result itself)."""

from __future__ import annotations

import dataclasses
import shlex
from collections.abc import Mapping

from assetbuild.model.results import AssetResult, BuildResult, Status

_SYMBOL = {
    Status.BUILT: "built",
    Status.RESTORED: "restored",
    Status.UP_TO_DATE: "up_to_date",
    Status.FAILED: "FAILED",
    Status.CHECK_FAILED: "CHECK FAILED",
    Status.BLOCKED: "blocked",
    Status.SKIPPED: "skipped",
    Status.WILL_BUILD: "will build",
    Status.WILL_RESTORE: "will restore",
    Status.PENDING: "pending",
}


def asset_line(a: AssetResult, verbose: bool = False) -> str:
    rows = f"{a.rows:>9,} rows" if a.rows is not None else " " * 14
    dur = f"{a.duration_s:6.2f}s" if a.duration_s else " " * 7
    line = f"  {_SYMBOL[a.status]:<13} {a.name:<30} {rows} {dur}  {a.reason}"
    failing = [c for c in a.checks if not c.passed]
    for c in failing if (verbose or a.status is Status.CHECK_FAILED or failing) else []:
        sev = "error" if c.severity.value == "error" else "warn"
        line += f"\n      {sev}: {c.name} failed on {c.failing_rows} rows" + (
            f" (expected {c.expected}, got {c.actual})" if c.expected or c.actual else ""
        )
    if a.status is Status.FAILED and a.error:
        line += "\n" + "\n".join("      " + ln for ln in a.error.splitlines())
    return line


def summary_line(result: BuildResult) -> str:
    order = [
        "built",
        "restored",
        "up_to_date",
        "failed",
        "check_failed",
        "blocked",
        "skipped",
        "will_build",
        "will_restore",
        "pending",
    ]
    counts = result.summary()
    parts = [f"{counts[k]} {k}" for k in order if counts.get(k)]
    return (
        f"{'OK' if result.ok else 'FAILED'}: "
        + (", ".join(parts) or "nothing selected")
        + (f" in {result.duration_s:.2f}s" if result.duration_s else "")
    )


def render_text(
    result: BuildResult,
    verbose: bool = False,
    quiet: bool = False,
    list_assets: bool = True,
    project_dir: str = ".",
) -> str:
    lines = []
    if list_assets and not quiet:
        for a in result.assets:
            if verbose or a.status is not Status.UP_TO_DATE or len(result.assets) <= 30:
                lines.append(asset_line(a, verbose))
    failed = [a for a in result.assets if a.status in (Status.FAILED, Status.CHECK_FAILED)]
    blocked_by = {b.name: b.blocked_by for b in result.assets if b.blocked_by}
    for a in failed:
        blocked = [b for b in blocked_by if _root_cause(b, blocked_by) == a.name]
        if blocked:
            lines.append(
                f"  '{a.name}' blocked: {', '.join(blocked[:10])}" + (" ..." if len(blocked) > 10 else "")
            )
    if failed:
        where = "" if project_dir in (".", "") else f"--project {shlex.quote(project_dir)} "
        lines.append(
            f"  rerun just that part: assetbuild {where}build {' '.join('+' + a.name + '+' for a in failed)}"
        )
    for w in result.warnings:
        lines.append(f"  warning: {w}")
    for e in result.errors:
        lines.append(f"  error: {e}")
    lines.append(summary_line(result))
    return "\n".join(lines)


def _root_cause(name: str, blocked_by: Mapping[str, str | None]) -> str | None:
    """The failed asset at the end of a chain of `blocked_by` links."""
    seen = set()
    while name in blocked_by and name not in seen:
        seen.add(name)
        name = blocked_by[name] or name
    return name


_FAILED_STATUSES = (Status.FAILED, Status.CHECK_FAILED)  # quiet mode prints these (blocked: in the summary)


def shown(result: AssetResult, quiet: bool, verbose: bool) -> bool:
    """Whether a finished asset gets a line: failures always, up-to-date ones only when verbose."""
    if quiet:
        return result.status in _FAILED_STATUSES
    return verbose or result.status is not Status.UP_TO_DATE


def finished_text(result: AssetResult, verbose: bool) -> str:
    """The lines for one finished asset: status, rows, time, why; failing checks; the error once."""
    if result.error:
        # the reason is the error's first line; print the rest (the user's frames) below it once
        lines = result.error.splitlines()
        rest = lines[1:] if lines and result.reason.startswith(lines[0][:100]) else lines
        result = dataclasses.replace(result, error="\n".join(rest) or None)
    text = asset_line(result, verbose)
    if verbose:
        for c in result.checks:
            if c.passed:
                text += f"\n      pass: {c.name}"
    return text
