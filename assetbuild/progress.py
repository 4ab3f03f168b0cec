"""Progress while a build runs: one plain line per finished asset (CI logs, pipes)."""

from __future__ import annotations

import sys
import threading
import time

from .events import BaseListener, Listener
from .report import asset_line
from .results import AssetResult, Status


class PlainProgress(BaseListener):
    """One line per asset that did something; silent about up-to-date assets unless verbose."""

    def __init__(self, quiet: bool = False, verbose: bool = False, stream: object = None) -> None:
        self.quiet = quiet
        self.verbose = verbose
        self.stream = stream or sys.stderr
        self.t0 = time.perf_counter()
        self.lock = threading.Lock()

    def asset_done(self, result: AssetResult) -> None:
        if self.quiet and result.status not in (Status.FAILED, Status.CHECK_FAILED):
            return
        if result.status is Status.UP_TO_DATE and not self.verbose:
            return
        with self.lock:
            print(f"[{time.perf_counter() - self.t0:7.2f}s]" + asset_line(result), file=self.stream, flush=True)  # type: ignore[call-overload]


def progress_listener(quiet: bool = False, verbose: bool = False) -> Listener:
    return PlainProgress(quiet=quiet, verbose=verbose)
