"""Progress while a build runs: a live view on a terminal, one plain line per finished asset otherwise.

`progress_listener` chooses. The live view (progress_live.py) needs `rich`, imported only when
stderr is a terminal, so CI logs, pipes and `--format json` never pay for it.

What is printed per finished asset, in both modes:
  -q       failures only (failed, check failed), with their errors;
  default  every asset that did something or could not (built, restored, failed, blocked, ...);
  -v       every asset, up-to-date ones too, and every check with its outcome.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import IO

from assetbuild.model.events import BaseListener, Listener
from assetbuild.model.results import AssetResult
from assetbuild.present.text import finished_text, shown


def progress_listener(quiet: bool = False, verbose: bool = False, stream: IO[str] | None = None) -> Listener:
    """The live view when `stream` (default stderr) is a terminal, else plain lines.

    ASSETBUILD_PROGRESS=plain forces plain lines on a terminal too.
    """
    out = stream if stream is not None else sys.stderr
    if not quiet and _is_terminal(out) and os.environ.get("ASSETBUILD_PROGRESS", "").lower() != "plain":
        try:
            from assetbuild.present.progress_live import LiveProgress
        except ImportError:  # rich is not installed: plain lines are still progress
            pass
        else:
            return LiveProgress(verbose=verbose, stream=out)
    return PlainProgress(quiet=quiet, verbose=verbose, stream=out)


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # closed or not a real stream
        return False


class PlainProgress(BaseListener):
    """One line per finished asset, with the time since the build started (CI logs, pipes)."""

    def __init__(self, quiet: bool = False, verbose: bool = False, stream: IO[str] | None = None) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.stream = stream if stream is not None else sys.stderr
        self.t0 = time.perf_counter()
        self.lock = threading.Lock()

    def asset_done(self, result: AssetResult) -> None:
        if not shown(result, self.quiet, self.verbose):
            return
        with self.lock:
            line = f"[{time.perf_counter() - self.t0:7.2f}s]" + finished_text(result, self.verbose)
            print(line, file=self.stream, flush=True)
