"""Python assets in worker processes: what an asset does cannot take the build with it.

A build keeps a small pool of workers (`worker_main.py`), at most one per job, started on first
use and reused for the build's next Python assets (starting Python and polars costs ~0.3 s). Each
worker runs in its own session, so a Ctrl-C at the terminal reaches only the build, which then
stops every worker itself. A worker that dies, hangs past its deadline or is cancelled is killed
with its whole process group (what the asset started dies too) and never reused.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from assetbuild.errors import AssetFailure
from assetbuild.executor.protocol import Deadline, InputRef, StagedOutput
from assetbuild.model.assets import AssetDef

# How much of an asset's output a failure message quotes (the whole output stays in its log).
_TAIL_LINES = 20
_TAIL_BYTES = 4000
_POLL_S = 0.05


@dataclass
class _Worker:
    process: subprocess.Popen[bytes]
    conn: Connection

    def kill(self) -> None:
        """Kill the worker and everything it started; safe to call twice."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.conn.close()

    def reap(self) -> tuple[int, int]:
        """(wait status, peak memory in bytes) of the dead worker."""
        try:
            _, status, usage = os.wait4(self.process.pid, 0)
        except ChildProcessError:  # already reaped
            return (self.process.returncode or 0) << 8, 0
        self.process.returncode = os.waitstatus_to_exitcode(status)
        return status, usage.ru_maxrss * 1024


class PythonWorkers:
    """Runs Python assets in worker processes; `cancel` stops every running one at once."""

    def __init__(self, root: Path, log_dir: Path, memory_limit: int | None = None) -> None:
        self.root = root
        self.log_dir = log_dir
        self.memory_limit = memory_limit
        self._idle: list[_Worker] = []
        self._all: dict[int, _Worker] = {}  # by pid: every live worker, idle or running an asset
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    # -- running one asset ---------------------------------------------------------------

    def run(
        self,
        asset: AssetDef,
        inputs: Mapping[str, InputRef],
        staged: Path,
        deadline: Deadline | None = None,
    ) -> StagedOutput:
        log = self.log_dir / f"{asset.name}.log"
        request = {
            "asset": asset,
            "inputs": {n: str(r.path) for n, r in inputs.items()},
            "staged": str(staged),
            "log": str(log),
        }
        worker = self._take(asset)
        try:
            worker.conn.send(request)
            reply = self._wait(worker, asset, deadline, log)
        except BaseException:
            self._discard(worker)
            raise
        self._give_back(worker)
        kind = reply[0]
        if kind == "ok":
            _, content_hash, rows, schema, _peak = reply
            return StagedOutput(staged, content_hash, rows, schema)
        if kind == "memory":
            raise AssetFailure(self._out_of_memory(asset, reply[3]), _output(log))
        _, message, user_traceback, _peak = reply
        raise AssetFailure(message, _join(user_traceback, _output(log, "its output")))

    def _wait(
        self, worker: _Worker, asset: AssetDef, deadline: Deadline | None, log: Path
    ) -> tuple[Any, ...]:
        while True:
            if self._cancelled.is_set():
                raise AssetFailure(f"{_where(asset)} was stopped: the build was interrupted")
            wait = _POLL_S if deadline is None else max(0.0, min(_POLL_S, deadline.left()))
            try:
                if worker.conn.poll(wait):
                    reply: tuple[Any, ...] = worker.conn.recv()
                    return reply
            except (EOFError, OSError):
                return self._died(worker, asset, log)
            if deadline is not None and deadline.left() <= 0:
                worker.kill()
                worker.reap()
                raise AssetFailure(f"{_where(asset)} timed out: {deadline.why}", _output(log, "its output"))

    def _died(self, worker: _Worker, asset: AssetDef, log: Path) -> tuple[Any, ...]:
        worker.kill()
        status, peak = worker.reap()
        if self._cancelled.is_set():
            raise AssetFailure(f"{_where(asset)} was stopped: the build was interrupted")
        output = _output(log, "its output")
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = signal.Signals(sig).name if sig in signal.Signals.__members__.values() else str(sig)
            if sig == signal.SIGKILL:
                raise AssetFailure(
                    f"{_where(asset)} was killed (SIGKILL) after reaching {_mib(peak)} of memory: "
                    "most likely the machine ran out of memory",
                    output,
                )
            if _says_out_of_memory(log):
                raise AssetFailure(self._out_of_memory(asset, peak), _allocation_line(log))
            raise AssetFailure(f"{_where(asset)} crashed: its process ended by signal {name}", output)
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
        raise AssetFailure(
            f"{_where(asset)} ended its process (exit code {code}) before returning a table "
            "(os._exit, or a library that exits the process)",
            output,
        )

    # -- the pool -------------------------------------------------------------------------

    def _take(self, asset: AssetDef) -> _Worker:
        with self._lock:
            if self._cancelled.is_set():
                raise AssetFailure(f"{_where(asset)} was not started: the build was interrupted")
            worker = self._idle.pop() if self._idle else None
        return worker if worker is not None else self._start()

    def _give_back(self, worker: _Worker) -> None:
        with self._lock:
            if self._cancelled.is_set():
                worker.kill()
            else:
                self._idle.append(worker)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        if worker.process.returncode is None:
            worker.reap()
        with self._lock:
            self._all.pop(worker.process.pid, None)

    def _start(self) -> _Worker:
        ours, theirs = socket.socketpair()
        package_parent = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        # the worker imports this very assetbuild, whatever the caller's sys.path was
        env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "assetbuild.executor.worker_main",
                    str(theirs.fileno()),
                    str(self.root),
                    str(self.memory_limit or 0),
                    str(os.getpid()),
                ],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=self.root,
                env=env,
                start_new_session=True,  # Ctrl-C reaches the build, which stops its workers
            )
        except OSError as e:
            ours.close()
            raise AssetFailure(f"could not start a worker process for Python assets: {e}") from None
        finally:
            theirs.close()
        worker = _Worker(process, Connection(ours.detach()))
        with self._lock:
            self._all[process.pid] = worker
        return worker

    def warm(self) -> None:
        """Start a worker now, so that its start-up (~0.5 s) overlaps other work of the build."""
        with self._lock:
            if self._all or self._cancelled.is_set():
                return
        worker = self._start()
        with self._lock:
            self._idle.append(worker)

    def cancel(self) -> None:
        """Stop every running asset now (Ctrl-C): their workers and what they started are killed."""
        self._cancelled.set()
        with self._lock:
            workers = list(self._all.values())
        for w in workers:
            w.kill()

    def close(self) -> None:
        """Ask idle workers to exit, and kill what does not within a moment."""
        with self._lock:
            workers = list(self._all.values())
            self._all.clear()
            self._idle.clear()
        for w in workers:
            with contextlib.suppress(OSError, ValueError):
                w.conn.send(None)
        deadline = time.monotonic() + 2.0
        for w in workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.process.wait(max(0.0, deadline - time.monotonic()))
            w.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.process.wait(1.0)

    def _out_of_memory(self, asset: AssetDef, peak: int) -> str:
        limit = (
            f"it needed more than [build] memory_limit ({_mib(self.memory_limit)}) allows"
            if self.memory_limit
            else "the machine had no more to give"
        )
        return f"{_where(asset)} ran out of memory: {limit} (peak {_mib(peak)} of its process)"


def _where(asset: AssetDef) -> str:
    return f"{asset.path}:{asset.line}: {asset.name}"


def _mib(n: int | None) -> str:
    return f"{(n or 0) / 2**20:.0f} MiB"


def _output(log: Path, label: str = "its output") -> str:
    """The last lines the asset printed, for the failure message ("" when it printed nothing)."""
    try:
        size = log.stat().st_size
        with log.open("rb") as f:
            f.seek(max(0, size - _TAIL_BYTES))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    if not text.strip():
        return ""
    lines = text.rstrip().splitlines()[-_TAIL_LINES:]
    shown = _relative(log)
    more = (
        f" (the last lines; all of it in {shown})" if size > _TAIL_BYTES or len(lines) == _TAIL_LINES else ""
    )
    return f"{label}{more}:\n" + "\n".join("  " + line for line in lines)


def _allocation_line(log: Path) -> str:
    try:
        with log.open("rb") as f:
            head = f.read(_TAIL_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""
    line = next((x for x in head.splitlines() if "memory allocation of" in x), "")
    return f"its output: {line.strip()} (all of it in {_relative(log)})" if line else ""


def _says_out_of_memory(log: Path) -> bool:
    """Rust code (polars) aborts with "memory allocation of N bytes failed" at the top of its output."""
    try:
        with log.open("rb") as f:
            return b"memory allocation of" in f.read(_TAIL_BYTES)
    except OSError:
        return False


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _join(*parts: str | None) -> str:
    return "\n".join(p.rstrip() for p in parts if p)
