"""The live view of a build on a terminal (rich): an overall bar, counts by outcome, what is running.

Finished assets are printed above the live area as the plain view prints them, so the scrollback
keeps the whole story; the live area itself vanishes when the build ends (the CLI then prints the
summary). Imported only when stderr is a terminal.
"""

from __future__ import annotations

import atexit
import threading
import time
from typing import IO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from assetbuild.model.assets import Project
from assetbuild.model.events import BaseListener, RunInfo
from assetbuild.model.results import AssetResult, BuildResult, Status
from assetbuild.present.text import finished_text, shown

STYLE = {
    Status.BUILT: "green",
    Status.RESTORED: "cyan",
    Status.UP_TO_DATE: "dim",
    Status.FAILED: "bold red",
    Status.CHECK_FAILED: "bold dark_orange",
    Status.BLOCKED: "yellow",
    Status.SKIPPED: "dim",
}
ORDER = (
    Status.BUILT,
    Status.RESTORED,
    Status.UP_TO_DATE,
    Status.FAILED,
    Status.CHECK_FAILED,
    Status.BLOCKED,
    Status.SKIPPED,
)
SHOW_RUNNING = 6  # names of running assets listed; the rest are counted


class LiveProgress(BaseListener):
    def __init__(
        self, verbose: bool = False, stream: IO[str] | None = None, console: Console | None = None
    ) -> None:
        self.verbose = verbose
        self.console = console or Console(file=stream, highlight=False)
        self.lock = threading.Lock()
        self.t0 = time.perf_counter()
        self.total = 0
        self.counts: dict[Status, int] = {}
        self.running: dict[str, float] = {}  # asset -> when it started
        self.spinner = Spinner("dots", style="cyan")
        self.live: Live | None = None

    # -- listener hooks ------------------------------------------------------------------

    def build_started(self, project: Project, run_id: str, selected: list[str]) -> None:
        with self.lock:
            self.t0 = time.perf_counter()
            self.total = len(selected)
        self.live = Live(
            get_renderable=self.render,
            console=self.console,
            refresh_per_second=8,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.live.start()
        atexit.register(self.stop)  # a build that raises never says build_finished: restore the terminal

    def asset_started(self, info: RunInfo) -> None:
        with self.lock:
            self.running[info.asset.name] = time.perf_counter()

    def asset_done(self, result: AssetResult) -> None:
        with self.lock:
            self.running.pop(result.name, None)
            self.counts[result.status] = self.counts.get(result.status, 0) + 1
        if shown(result, quiet=False, verbose=self.verbose):
            # soft_wrap: long lines wrap in the terminal like plain output, never cut or re-broken
            self.console.print(self.line(result), soft_wrap=True)
        live = self.live
        if live is not None:
            live.refresh()  # at once, not with the frame drawn before this asset settled

    def build_finished(self, project: Project, result: BuildResult) -> None:
        self.stop()

    def stop(self) -> None:
        if self.live is not None:
            live, self.live = self.live, None
            live.stop()

    # -- rendering -----------------------------------------------------------------------

    def line(self, result: AssetResult) -> Text:
        text = Text()
        text.append(f"[{time.perf_counter() - self.t0:7.2f}s]", style="dim")
        body = Text(finished_text(result, self.verbose))
        body.stylize(STYLE.get(result.status, ""), 0, 15)  # the status word
        if result.status in (Status.FAILED, Status.CHECK_FAILED):
            body.stylize("red", body.plain.find("\n") if "\n" in body.plain else len(body.plain))
        text.append_text(body)
        return text

    def render(self) -> RenderableType:
        now = time.perf_counter()
        with self.lock:
            done = sum(self.counts.values())
            counts = dict(self.counts)
            running = sorted(self.running.items(), key=lambda kv: kv[1])
            total = self.total
        elapsed = now - self.t0
        head = Table.grid(padding=(0, 1))
        head.add_row(
            self.spinner,
            Text("building", style="bold"),
            ProgressBar(total=max(total, 1), completed=done, width=40),
            Text(f"{done}/{total}"),
            Text(_clock(elapsed), style="dim"),
        )
        parts: list[RenderableType] = [head]
        tally = Text("  ")
        for status in ORDER:
            if counts.get(status):
                if len(tally) > 2:
                    tally.append(" · ", style="dim")
                tally.append(f"{counts[status]} {status.value.replace('_', ' ')}", style=STYLE[status])
        waiting = total - done - len(running)
        if waiting > 0:
            if len(tally) > 2:
                tally.append(" · ", style="dim")
            tally.append(f"{waiting} waiting", style="dim")
        parts.append(tally)
        if running:
            shown_now = running[:SHOW_RUNNING]
            run = Text(f"  running ({len(running)}): ", style="bold")
            run.append(", ".join(f"{name} {now - t0:.1f}s" for name, t0 in shown_now))
            if len(running) > SHOW_RUNNING:
                run.append(f", +{len(running) - SHOW_RUNNING} more", style="dim")
            parts.append(run)
        return Group(*parts)


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
