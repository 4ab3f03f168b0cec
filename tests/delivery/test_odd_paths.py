"""Project folders with characters that mean something to a URI or to DuckDB ('#', '?'), and what a
killed warehouse refresh leaves behind."""

from __future__ import annotations

import os
import subprocess
import sys

from ._support import write_files

PIPELINE = {
    "assetbuild.toml": '[project]\nname = "odd"\n\n[sources.events]\npath = "data/events.csv"\n',
    "data/events.csv": "id,user_id,amount\n1,u1,5\n2,u2,7\n3,u1,9\n",
    "assets/by_user.sql": "SELECT user_id, sum(amount) AS total FROM events GROUP BY user_id\n",
    "assets/top_users.sql": "SELECT user_id FROM by_user WHERE total > 6\n",
}


def test_a_project_folder_named_with_hash_and_question_mark_works(tmp_path, run_cli):
    root = tmp_path / "we#ird?dir"
    write_files(root, PIPELINE)
    built = run_cli(root, "build", "--format", "json")
    assert built.code == 0 and not built.json["errors"], built
    q = run_cli(root, "query", "SELECT count(*) AS n FROM by_user", "--format", "json")
    assert q.code == 0, q
    assert run_cli(root, "plan").code == 0
    assert run_cli(root, "show", "by_user").code == 0
    alias = tmp_path / "alias"
    alias.symlink_to(root / ".assetbuild", target_is_directory=True)
    code = (
        "import duckdb, sys\n"
        f"c = duckdb.connect({str(alias / 'warehouse.duckdb')!r}, read_only=True)\n"
        "print(c.sql('select count(*) from main.by_user').fetchall()[0][0])\n"
    )
    seen = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert seen.returncode == 0 and int(seen.stdout) > 0, seen.stderr


def test_a_warehouse_left_half_written_by_a_killed_build_is_removed(make_project, run_cli):
    root = make_project(PIPELINE)
    assert run_cli(root, "build").code == 0
    dead = next(pid for pid in range(4_000_000, 3_000_000, -1) if not _alive(pid))
    left = root / ".assetbuild" / f"warehouse.duckdb.{dead}.tmp"
    left.write_bytes(b"half")
    (root / "assets/top_users.sql").write_text("SELECT user_id FROM by_user\n")
    assert run_cli(root, "build").code == 0
    assert not left.exists()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
