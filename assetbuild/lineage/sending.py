"""Delivery of the outbox: a background sender during a build, and `lineage push` afterwards.

During a build a daemon thread sends events as they are appended, so a healthy backend costs
the build nothing; at the end the build waits for it at most `BUILD_BUDGET_S`. Every request is
short (`BUILD_REQUEST_TIMEOUT_S`, for the whole request, however slowly answered) and never
retried, and the first failure ends sending for the rest of the build: a backend that is down,
answering 5xx, redirecting, hanging or dribbling costs about a second at most and only produces
a warning. What was not delivered stays pending for the next build or `push`.

An event the backend refuses for good (400, 413, 422) is parked in the outbox with the reason and
the events behind it go on; the build that parked it warns once, and `push` lists every parked
event. `push(retry_parked=True)` (`assetbuild lineage push --retry-parked`) sends them again.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from assetbuild.lineage.outbox import DrainResult, Outbox, Parked, SendLock, drain
from assetbuild.lineage.transport import (
    Emitter,
    LineageConfigError,
    NotDelivered,
    RequestTimedOut,
    TransportChoice,
    lineage_disabled,
    redact,
    resolve,
)
from assetbuild.model.assets import Project

BUILD_BUDGET_S = 1.0  # the most a build waits for lineage delivery once its work is done
BUILD_REQUEST_TIMEOUT_S = 1.0  # the most one request may take during a build, all included
PUSH_LOCK_WAIT_S = 5.0  # how long `push` waits for another process that is sending
RETRY_PARKED = "assetbuild lineage push --retry-parked"


@dataclass(frozen=True)
class PushResult:
    delivered: int
    pending: int
    error: str | None = None
    parked: tuple[Parked, ...] = ()  # every event kept aside, refused for good by the backend
    parked_now: int = 0  # of them, how many this push parked

    def to_json(self) -> dict[str, object]:
        return {
            "delivered": self.delivered,
            "pending": self.pending,
            "error": self.error,
            "parked": len(self.parked),
            "parked_now": self.parked_now,
            "parked_events": [p.to_json() for p in self.parked],
        }

    def parked_lines(self) -> list[str]:
        """What a person reads about the parked events: one line per reason, and how to retry."""
        if not self.parked:
            return []
        lines = [f"parked: {n} event(s) refused with {why}" for why, n in _reasons(self.parked)]
        return [
            *lines,
            f"parked events are kept and never retried on their own; `{RETRY_PARKED}` sends them again",
        ]


def push(
    project: Project, url: str | None = None, timeout: float = 5.0, *, retry_parked: bool = False
) -> PushResult:
    """Deliver every pending event of `project`, oldest first, each once; stop at the first failure.

    `timeout` bounds each request, all of it (the configured one is replaced); nothing is retried
    within a push: a failed event stays pending, and `pending > 0` means try again later. An
    event refused for good is parked and the rest go on; `retry_parked` makes the parked events
    pending again first. A lineage URL that cannot work raises `LineageConfigError` (exit 2).
    """
    disabled = lineage_disabled(project)
    choice = None if disabled else resolve(project, url=url, strict=True)
    outbox = Outbox.of_project(project.root)
    try:
        pending = outbox.count_pending()
        parked = tuple(outbox.parked())
        if pending == 0 and not (retry_parked and parked):
            return PushResult(0, 0, parked=parked)
        if choice is None:
            return PushResult(
                0,
                pending,
                "lineage is disabled (OPENLINEAGE_DISABLED=true or [lineage] disabled)",
                parked=parked,
            )
        if not choice.configured:
            return PushResult(
                0,
                pending,
                "no OpenLineage transport configured: set OPENLINEAGE_URL, write an openlineage.yml, "
                "set [lineage] url in assetbuild.toml, or pass --url",
                parked=parked,
            )
        lock = SendLock(outbox.directory)
        if not lock.acquire(timeout=PUSH_LOCK_WAIT_S):
            return PushResult(
                0,
                pending,
                "another assetbuild process is delivering lineage events; try again",
                parked=parked,
            )
        try:
            if retry_parked:
                outbox.unpark()
            result = _send_all(outbox, choice, timeout=timeout, cap=False)
        finally:
            lock.release()
        error = _describe_failure(choice, result.error) if result.error is not None else None
        return PushResult(
            result.delivered,
            outbox.count_pending(),
            error,
            parked=tuple(outbox.parked()),
            parked_now=result.parked,
        )
    finally:
        outbox.close()


def deliver_pending(project: Project, budget_s: float = BUILD_BUDGET_S) -> list[str]:
    """Hand events left by earlier builds to the backend, within `budget_s`; returns warnings.

    For a build in which nothing ran (so no listener recorded anything): it sends no events of
    its own, only what earlier builds could not deliver.
    """
    if lineage_disabled(project):
        return []
    outbox = Outbox.of_project(project.root)
    try:
        if outbox.count_pending() == 0:
            return []
        choice = resolve(project)
        if not choice.configured:
            return []
        lock = SendLock(outbox.directory)
        if not lock.acquire(timeout=0.0):
            return []  # another process is sending them
        deadline = time.monotonic() + budget_s
        try:
            emitter = Emitter(choice, timeout=min(BUILD_REQUEST_TIMEOUT_S, budget_s), cap=True)
            try:
                result = drain(
                    outbox,
                    lambda body: emitter(body, within=deadline - time.monotonic()),
                    should_stop=lambda: time.monotonic() >= deadline,
                )
            finally:
                emitter.close()
        except Exception as e:
            result = DrainResult(0, error=e)
        finally:
            lock.release()
        failure = _describe_failure(choice, result.error) if result.error is not None else None
        warning = delivery_warning(
            project, outbox, choice, failure, done=not result.stopped, budget_s=budget_s
        )
        return [warning] if warning else []
    finally:
        outbox.close()


def delivery_warning(
    project: Project,
    outbox: Outbox,
    choice: TransportChoice,
    failure: str | None,
    *,
    done: bool,
    budget_s: float,
) -> str | None:
    """The one warning a build shows about lineage delivery, or None when all went out.

    It names the events parked since `outbox` was opened (by this build), once.
    """
    pending = outbox.count_pending()
    parked = outbox.parked(since=outbox.opened_at)
    where = os.path.relpath(outbox.path, project.root)
    parts: list[str] = []
    if parked:
        reasons = "; ".join(f"{why}" + (f" (x{n})" if n > 1 else "") for why, n in _reasons(parked))
        parts.append(
            redact(
                f"{len(parked)} event(s) refused by {choice.target()} and parked in {where} ({reasons}); "
                f"`{RETRY_PARKED}` sends them again",
                choice.secrets,
            )
        )
    if pending and (failure is not None or not done):
        kept = f"{pending} event(s) kept in {where} for the next build or `assetbuild lineage push`"
        if failure is not None:
            parts.append(f"{failure}; {kept}")
        else:
            parts.append(f"{choice.target()} did not take every event within {budget_s:g} s; {kept}")
    return "lineage: " + "; ".join(parts) if parts else None


def _reasons(parked: Sequence[Parked], most: int = 5) -> list[tuple[str, int]]:
    """The distinct reasons events were parked for, most frequent first, with their counts."""
    counts = Counter(p.reason for p in parked)
    top = counts.most_common(most)
    rest = sum(counts.values()) - sum(n for _, n in top)
    return [*top, ("other reasons", rest)] if rest else top


def _send_all(outbox: Outbox, choice: TransportChoice, *, timeout: float, cap: bool) -> DrainResult:
    try:
        emitter = Emitter(choice, timeout=timeout, cap=cap)
    except Exception as e:  # a broken transport configuration, a missing transport package
        return DrainResult(0, error=e)
    try:
        result = drain(outbox, emitter)
    finally:
        emitter.close()
    if result.error is None:
        outbox.prune()
    return result


class BuildSender(threading.Thread):
    """Sends a build's events while it runs; `finish()` gives it a bounded last chance."""

    def __init__(self, outbox_dir: Path, choice: TransportChoice) -> None:
        super().__init__(name="assetbuild-lineage-sender", daemon=True)
        self.outbox_dir = outbox_dir
        self.choice = choice
        self.delivered = 0
        self.error: BaseException | None = None
        self._wake = threading.Event()
        self._closing = False
        self._abandoned = False

    def notify(self) -> None:
        """New events are in the outbox."""
        self._wake.set()

    def finish(self, budget_s: float = BUILD_BUDGET_S) -> bool:
        """Let the sender deliver what is left for at most `budget_s`; True when it is done.

        A sender still busy then (a slow backend) is abandoned: it stops after the request in
        flight, whose event stays pending if no answer came.
        """
        self._closing = True
        self._wake.set()
        self.join(max(budget_s, 0.0))
        if self.is_alive():
            self._abandoned = True
            return False
        return True

    def failure(self) -> str | None:
        return _describe_failure(self.choice, self.error) if self.error is not None else None

    def run(self) -> None:
        outbox = Outbox(self.outbox_dir)
        lock = SendLock(self.outbox_dir)
        emitter: Emitter | None = None
        try:
            emitter = Emitter(self.choice, timeout=BUILD_REQUEST_TIMEOUT_S, cap=True)
            while not self._abandoned:
                self._wake.wait()
                self._wake.clear()
                closing = self._closing
                if not lock.acquire(timeout=0.0):
                    # Another process is sending; it takes our events too, or the next build does.
                    if closing:
                        return
                    continue
                try:
                    result = drain(outbox, emitter, should_stop=lambda: self._abandoned)
                finally:
                    lock.release()
                self.delivered += result.delivered
                if result.error is not None:
                    self.error = result.error  # no more attempts in this build
                    return
                if closing:
                    outbox.prune()
                    return
        except Exception as e:  # a broken configuration: report it like an unreachable backend
            self.error = e
        finally:
            if emitter is not None:
                emitter.close()
            lock.release()
            outbox.close()


def _describe_failure(choice: TransportChoice, error: BaseException) -> str:
    """A one-line reason, without secrets: `HTTP 500`, `connection refused`, `timed out`, ..."""
    if isinstance(error, LineageConfigError):
        where = f"{error.path}: " if error.path else ""
        return redact(f"{where}{error.message}", choice.secrets)
    text = str(error)
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(error, NotDelivered | RequestTimedOut):
        reason = text
    elif isinstance(status, int):
        reason = f"HTTP {status}"
    elif "timed out" in text.lower() or "timeout" in type(error).__name__.lower():
        reason = "no answer in time (timed out)"
    elif "refused" in text.lower():
        reason = "connection refused"
    else:
        first = text.strip().splitlines()[0] if text.strip() else ""
        reason = f"{type(error).__name__}: {first[:200]}" if first else type(error).__name__
    return redact(f"could not deliver to {choice.target()} ({reason})", choice.secrets)
