"""Progress of a build: a live view on a terminal, plain lines elsewhere; -q and -v as users expect."""

from __future__ import annotations

import io
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console

from assetbuild.model.assets import AssetDef, Kind, Project
from assetbuild.model.events import RunInfo
from assetbuild.model.results import AssetResult, Status
from assetbuild.present.progress_live import LiveProgress

from .conftest import EXPECTED_STATES, MIXED

ASSETBUILD = str(Path(sys.executable).with_name("assetbuild"))
LINE = re.compile(r"^\[\s*\d+\.\d\ds\]\s+(\S+(?: FAILED)?)\s+(\w+)", re.M)
SLOW = {
    "assets/slow.py": """
        import time

        import polars as pl

        from assetbuild import asset


        @asset
        def slow() -> pl.DataFrame:
            time.sleep(1.2)
            return pl.DataFrame({"x": [1, 2, 3]})
        """,
}


def _lines(stderr: str) -> dict[str, str]:
    return {name: status for status, name in LINE.findall(stderr)}


def test_plain_lines_when_not_a_terminal(mixed, run_cli):
    # the fixture's build ran with stderr piped; run another that does everything again
    r = run_cli(mixed, "build", "--force")
    assert r.code == 1, r
    assert "\x1b[" not in r.stderr and "━" not in r.stderr  # no terminal codes in CI logs
    assert _lines(r.stderr) == {
        "orders": "built",
        "clean": "built",
        "by_day": "built",
        "enriched": "built",
        "totals": "CHECK FAILED",
        "after_totals": "blocked",
        "broken": "FAILED",
        "after_broken": "blocked",
    }
    # the error is printed once, below its asset; the summary and what to rerun go to stdout
    assert r.stderr.count("the broken asset exploded") == 1
    assert "total.min failed on 1 rows" in r.stderr
    rerun = re.search(r"rerun just that part: assetbuild (?:--project \S+ )?build (.*)", r.stdout)
    assert rerun and sorted(rerun.group(1).split()) == ["+broken+", "+totals+"], r.stdout
    assert (
        r.stdout.strip().splitlines()[-1].startswith("FAILED: 4 built, 1 failed, 1 check_failed, 2 blocked")
    )


def test_quiet_prints_only_failures(mixed, run_cli):
    r = run_cli(mixed, "build", "--force", "-q")
    assert r.code == 1, r
    assert _lines(r.stderr) == {"totals": "CHECK FAILED", "broken": "FAILED"}
    assert "the broken asset exploded" in r.stderr
    assert "FAILED: 4 built" in r.stdout


def test_default_is_silent_about_up_to_date_and_verbose_is_not(make_project, run_cli):
    root = make_project(MIXED)
    for rel in ("assets/broken.sql", "rules/totals.yaml"):
        (root / rel).unlink()
    (root / "assets/after_broken.sql").unlink()
    assert run_cli(root, "build").code == 0
    quiet_noop = run_cli(root, "build")
    assert quiet_noop.code == 0 and _lines(quiet_noop.stderr) == {}, quiet_noop
    verbose = run_cli(root, "build", "-v")
    assert set(_lines(verbose.stderr).values()) == {"up_to_date"} and len(_lines(verbose.stderr)) == 6
    assert "pass: id.unique" in verbose.stderr and "pass: id.nullable" in verbose.stderr


def test_rich_is_not_imported_off_a_terminal(mixed):
    code = (
        "import sys\n"
        "from assetbuild.run.build import build\n"
        "from assetbuild.present.progress import progress_listener\n"
        "listener = progress_listener()\n"
        f"build({str(mixed)!r}, force=True, listeners=[listener], lineage=False)\n"
        "print(type(listener).__name__, sorted(m for m in sys.modules if m.split('.')[0] == 'rich'))\n"
    )
    p = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OPENLINEAGE_DISABLED": "true"},
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.split(None, 1) == ["PlainProgress", "[]\n"]


def _on_a_terminal(root: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run `assetbuild --project ROOT ARGS` with stdout and stderr on a pseudo-terminal."""
    master, slave = pty.openpty()
    full_env = {
        **os.environ,
        "OPENLINEAGE_DISABLED": "true",
        "TERM": "xterm-256color",
        "COLUMNS": "120",
        "LINES": "40",
        **(env or {}),
    }
    full_env.pop("NO_COLOR", None)
    p = subprocess.Popen(
        [ASSETBUILD, "--project", str(root), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=full_env,
        close_fds=True,
    )
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed: the process is gone
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    os.close(master)
    return p.wait(timeout=10), out.decode(errors="replace")


def test_live_view_on_a_terminal(make_project):
    root = make_project({**MIXED, **SLOW})
    code, out = _on_a_terminal(root, "build")
    assert code == 1, out
    assert "\x1b[?25l" in out and "\x1b[?25h" in out  # the cursor is hidden while live, and given back
    assert "building" in out and "━" in out  # the overall bar
    assert re.search(r"running \(\d+\): [^\n]*slow \d+\.\ds", out), "what runs, with its elapsed time"
    assert re.search(r"\d+ failed", out) and re.search(r"\d+ blocked", out)
    assert re.search(r"\d+/9", out)  # done of total
    # finished assets stay in the scrollback as lines; the summary comes last
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out)
    assert re.search(r"FAILED\s+broken", plain) and "the broken asset exploded" in plain
    assert plain.rstrip().splitlines()[-1].startswith("FAILED: 5 built, 1 failed, 1 check_failed, 2 blocked")


def test_quiet_or_plain_on_a_terminal_has_no_live_view(make_project):
    root = make_project({**MIXED, **SLOW})
    for args, env in ((("build", "-q"), None), (("build", "--force"), {"ASSETBUILD_PROGRESS": "plain"})):
        code, out = _on_a_terminal(root, *args, env=env)
        assert code == 1, out
        assert "━" not in out and "running (" not in out, (args, out)
        assert "the broken asset exploded" in out


def _result(name: str, status: Status) -> AssetResult:
    return AssetResult(name, "sql", status, "why", 0.5, rows=3)


def test_live_view_counts_and_running():
    console = Console(file=io.StringIO(), width=120, force_terminal=True, color_system=None)
    view = LiveProgress(console=console)
    project = Project(root=Path("."), name="p", assets={}, downstream={}, order=())
    view.build_started(project, "run", ["a", "b", "c", "d", "e"])
    try:
        asset = AssetDef("c", Kind.SQL, "assets/c.sql", 1, (), "fp")
        view.asset_started(RunInfo(asset, "r1", "run", {}))
        view.asset_done(_result("a", Status.BUILT))
        view.asset_done(_result("b", Status.FAILED))
        frame = Console(file=io.StringIO(), width=120, color_system=None)
        frame.print(view.render())
        text = frame.file.getvalue()  # type: ignore[attr-defined]
    finally:
        view.stop()
    assert "2/5" in text
    assert "1 built · 1 failed · 2 waiting" in text
    assert re.search(r"running \(1\): c \d+\.\ds", text)
    printed = console.file.getvalue()  # type: ignore[attr-defined]
    assert re.search(r"built\s+a\s+3 rows", printed) and re.search(r"FAILED\s+b", printed)


def test_expected_states_cover_the_fixture():
    assert set(EXPECTED_STATES.values()) == {"built", "check_failed", "blocked", "failed"}
