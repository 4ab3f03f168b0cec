"""A worker process that runs Python assets for a build (`python -m assetbuild.executor.worker_main`).

User code runs here, never in the build's own process, so that whatever it does — `os._exit`,
raising KeyboardInterrupt, printing 50 MB, leaving a thread running, never returning, exhausting
memory — ends at most this process, and the build reports it as that asset's failure.

The build talks to it over one socket (`multiprocessing.connection`, pickled messages): a request
names the asset, its input objects and the staged path to write; the reply describes the staged
object (content hash, rows, schema) or the failure. While an asset runs, the worker's stdout and
stderr (file descriptors 1 and 2, so prints from C code and threads too) go to the asset's log file.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import sys
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> None:
    fd, root, memory_limit, build_pid = int(argv[0]), Path(argv[1]), int(argv[2]), int(argv[3])
    _die_with_the_build(build_pid)
    conn = Connection(fd)
    # Heavy imports before the first request: the build waits for them once per worker, not per asset.
    from assetbuild.executor.python import ModuleLoader

    # line by line, as at a terminal: what an asset printed before it hung or died is in its log
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True)
    if memory_limit > 0:
        _limit_memory(memory_limit)
    loader = ModuleLoader(root)
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            break
        if request is None:
            break
        conn.send(_run(request, loader))
    conn.close()
    # _exit: a thread an asset left running must not keep this process alive
    os._exit(0)


def _die_with_the_build(parent: int) -> None:
    """End this worker when the build's process (`parent`) ends, even by SIGKILL: an orphan
    would go on writing into staging after the next build has cleared it."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG (Linux)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before prctl took effect (we were re-parented already)
        os._exit(1)

    def watch() -> None:  # elsewhere than Linux: notice the parent is gone within a moment
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="assetbuild-watch").start()


def _limit_memory(limit: int) -> None:
    """Cap the heap at `limit` bytes beyond what the interpreter and libraries use at start.

    RLIMIT_DATA (not RLIMIT_AS): polars and DuckDB reserve large address ranges they never touch;
    the data segment counts what is really allocated. Python then raises MemoryError; Rust code
    aborts with "memory allocation of N bytes failed", which the build reports as out of memory.
    """
    base = 0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmData:"):
                base = int(line.split()[1]) * 1024
    except OSError:
        pass
    cap = base + limit
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))


def _run(request: dict[str, Any], loader: Any) -> tuple[Any, ...]:
    from assetbuild.errors import AssetFailure
    from assetbuild.executor.local import stage
    from assetbuild.executor.python import run_python

    asset = request["asset"]
    log = Path(request["log"])
    with _captured(log):
        try:
            frame = run_python(asset, loader, {n: Path(p) for n, p in request["inputs"].items()})
            out = stage(frame, Path(request["staged"]), asset.ordered)
            del frame
        except AssetFailure as e:
            return ("failed", e.message, e.user_traceback, _peak_bytes())
        except MemoryError:
            return ("memory", "", None, _peak_bytes())
        except BaseException as e:  # staging it failed (a full disk, a type Parquet cannot hold)
            return (
                "failed",
                f"{asset.path}:{asset.line}: {asset.name}: {type(e).__name__}: {e}",
                None,
                _peak_bytes(),
            )
    return ("ok", out.content_hash, out.rows, out.schema, _peak_bytes())


class _captured:
    """Send fds 1 and 2 to `log` for the duration (flushing Python's buffers either side)."""

    def __init__(self, log: Path) -> None:
        self.log = log

    def __enter__(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        _flush()
        self.saved = (os.dup(1), os.dup(2))
        fd = os.open(self.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)

    def __exit__(self, *exc: object) -> None:
        _flush()
        os.dup2(self.saved[0], 1)
        os.dup2(self.saved[1], 2)
        os.close(self.saved[0])
        os.close(self.saved[1])


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()


def _peak_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kilobytes


if __name__ == "__main__":
    main(sys.argv[1:])
