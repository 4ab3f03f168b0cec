"""What a check may need besides the data itself: other assets, the previous row count, the clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from assetbuild.gate import clock
from assetbuild.model.results import Severity

if TYPE_CHECKING:
    import polars as pl


@dataclass
class CheckContext:
    """What a check may need besides the data itself."""

    asset: str
    read_asset: Callable[[str], pl.DataFrame]  # current published data of another asset
    previous_rows: int | None = None  # rows of the previous published materialization
    now: dt.datetime | None = None  # the time of the check; default: now, UTC
    python_checks: Sequence[tuple[str, Severity, Callable[..., Any], str | None]] = ()
    schema_model: Any = None  # a pandera.polars DataFrameModel from @asset(schema=...)
    _now: dt.datetime = field(init=False, repr=False)

    def __post_init__(self) -> None:
        now = self.now or clock.utc_now()  # through the module: one clock to move in tests
        # A naive `now` is read as UTC, like naive timestamps in the data.
        self._now = now if now.tzinfo else now.replace(tzinfo=dt.UTC)

    @property
    def utc_now(self) -> dt.datetime:
        return self._now
