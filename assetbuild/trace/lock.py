"""One build at a time per project: an exclusive `flock` on `.assetbuild/build.lock`.

Readers (`plan`, `show`, `lineage`, `query`) never take it; SQLite's WAL lets them read while a
build writes. The kernel drops the lock when a build dies, even by SIGKILL.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from assetbuild.errors import AssetbuildError
from assetbuild.trace.state import store_not_writable


class LockBusy(AssetbuildError):
    """Another build holds the project; exit 75 (EX_TEMPFAIL: try again later)."""

    exit_code = 75


class BuildLock:
    def __init__(self, store_dir: Path) -> None:
        self.store_dir = store_dir
        self.path = store_dir / "build.lock"
        self.fd: int | None = None
        try:
            store_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:  # a read-only project folder: say so, before anything else is tried
            raise store_not_writable(store_dir, e) from None

    def acquire(self, wait: bool, on_wait: Callable[[str], None] = lambda msg: None) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise store_not_writable(self.store_dir, e) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            if not wait:
                os.close(fd)
                raise LockBusy(
                    f"another build is running on this project{holder}; wait for it, or run again without --no-wait"
                ) from None
            on_wait(f"waiting for another build on this project{holder} to finish ...")
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
        return f" (pid {pid})" if pid.isdigit() else ""
    except OSError:
        return ""
