"""Run ids: UUIDv7 (time-ordered), as OpenLineage recommends; Python 3.11 has no uuid.uuid7."""

from __future__ import annotations

import os
import time
import uuid


def new_run_id() -> str:
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76  # version 7
    value |= (rand >> 68 & 0xFFF) << 64  # 12 random bits
    value |= 0b10 << 62  # RFC 4122 variant
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def display_run_id(run_id: str) -> str:
    """The part of a run id to show a person: its last 8 hex digits, which are random.

    A UUIDv7 begins with its creation time, so a prefix is the same for every run of the same
    minute (8 digits) or millisecond (13); the tail differs and is still found by searching the
    full id. Ids that are not UUIDs (hand-made, in tests) are shown whole when short.
    """
    if len(run_id) <= 12:
        return run_id
    return run_id[-8:]
