"""The build's wiring with a fake executor and in-memory stores (see fake_build.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .fake_build import scenario


def test_incremental_build_over_memory_stores_and_a_fake_executor():
    scenario()


def test_the_wiring_needs_no_data_library():
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys\n"
        "from tests.unit.fake_build import scenario\n"
        "scenario()\n"
        "heavy = {'polars', 'duckdb', 'pyarrow', 'pandera', 'sqlglot'} & {m.split('.')[0] for m in sys.modules}\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
