"""Synthetic layered projects for the benchmarks: the DAG of ../shared/peers/gen.py, as assetbuild assets.

Source `raw` is a 100k-row CSV (`id, ts, amount, user_id`, byte-identical to the peers'
gen_source.py). N derived assets in 10 layers of N/10: layer 0 asset j = rows of raw with
`id % W == j`; layer l>0 asset j, kind (l+j)%3: 0 = filter of (l-1,j); 1 = union of half of
(l-1,j) and half of (l-1,(j+1)%W); 2 = projection carrying the knob `+ 0 as amount`; the last
layer is a group-by aggregate. One asset in ten of layers 1-9 (j % 10 == 9) is a Python asset
(polars, one module per layer, with a module-level constant), the rest are SQL files. Mid-DAG
asset `a_05_000` is SQL, as in the peers' runs, so "code", "comment" and "data" edits are the
same changes the peers were timed on.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from pathlib import Path

LAYERS = 10
MID = "a_05_000"
PY_EVERY = 10  # one asset in ten (layers 1-9) is Python


def name(layer: int, j: int) -> str:
    return f"a_{layer:02d}_{j:03d}"


def dag(n: int) -> tuple[int, list[tuple[str, str, list[str], int, int]]]:
    """(width, [(name, kind, upstream, layer, j)]) exactly as the peers' gen.py."""
    w = n // LAYERS
    nodes = []
    for layer in range(LAYERS):
        for j in range(w):
            if layer == 0:
                nodes.append((name(layer, j), "slice", ["raw"], layer, j))
                continue
            a, b = name(layer - 1, j), name(layer - 1, (j + 1) % w)
            if layer == LAYERS - 1:
                nodes.append((name(layer, j), "agg", [a], layer, j))
                continue
            k = (layer + j) % 3
            nodes.append(
                (name(layer, j), ["filter", "union", "proj"][k], [a] if k != 1 else [a, b], layer, j)
            )
    return w, nodes


def is_python(layer: int, j: int) -> bool:
    return layer > 0 and j % PY_EVERY == PY_EVERY - 1


def sql_body(kind: str, ups: list[str], j: int, w: int) -> str:
    u = ups
    if kind == "slice":
        return f"select id, ts, amount, user_id from {u[0]} where id % {w} = {j}"
    if kind == "filter":
        return f"select id, ts, amount, user_id from {u[0]} where amount > -1000000 and id % 1000 <> 999"
    if kind == "union":
        return (
            f"select id, ts, amount, user_id from {u[0]} where id % 2 = 0\n"
            f"union all\nselect id, ts, amount, user_id from {u[1]} where id % 2 = 1"
        )
    if kind == "proj":
        return (
            "select id, ts + interval 1 minute as ts, round(amount * 1.01, 2) + 0 as amount,"
            f" upper(user_id) as user_id\nfrom {u[0]}"
        )
    if kind == "agg":
        return f"select min(id) as id, max(ts) as ts, sum(amount) as amount, user_id\nfrom {u[0]} group by user_id"
    raise ValueError(kind)


def py_body(kind: str, ups: list[str]) -> str:
    a = ups[0]
    if kind == "filter":
        return f"return {a}.filter((pl.col('amount') > -1000000) & (pl.col('id') % 1000 != 999))"
    if kind == "union":
        b = ups[1]
        return f"return pl.concat([{a}.filter(pl.col('id') % 2 == 0), {b}.filter(pl.col('id') % 2 == 1)])"
    if kind == "proj":
        return (
            f"return {a}.with_columns(\n"
            "        pl.col('ts') + pl.duration(minutes=1),\n"
            "        ((pl.col('amount') * FACTOR).round(2) + 0).alias('amount'),\n"
            "        pl.col('user_id').str.to_uppercase(),\n"
            "    )"
        )
    if kind == "agg":
        return (
            f"return {a}.group_by('user_id').agg(\n"
            "        pl.col('id').min(), pl.col('ts').max(), pl.col('amount').sum()\n"
            "    ).select('id', 'ts', 'amount', 'user_id')"
        )
    raise ValueError(kind)


def write_source(path: Path, rows: int = 100_000) -> None:
    """The peers' gen_source.py, byte for byte (seed 42)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(42)
    t0 = dt.datetime(2024, 1, 1)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "ts", "amount", "user_id"])
        for i in range(rows):
            ts = t0 + dt.timedelta(seconds=37 * i)
            w.writerow(
                [
                    i,
                    ts.strftime("%Y-%m-%d %H:%M:%S"),
                    f"{rnd.uniform(-50, 500):.2f}",
                    f"u{rnd.randrange(1000):04d}",
                ]
            )


def generate(out: Path, n: int, source_csv: Path) -> dict[str, int]:
    """Write the project; returns counts by kind."""
    w, nodes = dag(n)
    (out / "assets").mkdir(parents=True, exist_ok=True)
    (out / "data").mkdir(exist_ok=True)
    (out / "assetbuild.toml").write_text(
        f'[project]\nname = "bench{n}"\n\n[sources.raw]\npath = "data/source.csv"\n'
    )
    _copy(source_csv, out / "data" / "source.csv")
    modules: dict[int, list[str]] = {}
    counts = {"source": 1, "sql": 0, "python": 0}
    for nm, kind, ups, layer, j in nodes:
        if is_python(layer, j):
            sig = ", ".join(f"{u}: pl.DataFrame" for u in ups)
            modules.setdefault(layer, []).append(
                f"@asset(tags=['layer{layer}'])\ndef {nm}({sig}) -> pl.DataFrame:\n"
                f'    """{kind} of {", ".join(ups)}."""\n    {py_body(kind, ups)}\n'
            )
            counts["python"] += 1
        else:
            (out / "assets" / f"{nm}.sql").write_text(sql_body(kind, ups, j, w) + "\n")
            counts["sql"] += 1
    for layer, funcs in modules.items():
        head = "import polars as pl\n\nfrom assetbuild import asset\n\nFACTOR = 1.01\n\n"
        (out / "assets" / f"py_layer_{layer:02d}.py").write_text(head + "\n\n".join(funcs))
    return counts


def _copy(src: Path, dst: Path) -> None:
    dst.write_bytes(src.read_bytes())


def _counter(project: Path) -> int:
    cf = project / ".bench_counter"
    k = (int(cf.read_text()) if cf.exists() else 0) + 1
    cf.write_text(str(k))
    return k


def mutate(project: Path, what: str) -> None:
    """One fresh change per call (the peers' mutate.py): code | comment | data."""
    k = _counter(project)
    if what == "data":
        p = project / "data" / "source.csv"
        lines = p.read_text().split("\n")
        f = lines[6].split(",")
        assert f[0] == "5"
        f[2] = f"{k}.5"
        lines[6] = ",".join(f)
        p.write_text("\n".join(lines))
        return
    p = project / "assets" / f"{MID}.sql"
    body = p.read_text()
    if what == "code":
        body, nsub = re.subn(r"\+ \d+( as amount)", lambda m: f"+ {k}{m.group(1)}", body, count=1)
        assert nsub == 1, "knob not found"
    elif what == "comment":
        body = re.sub(r"\n *-- touched \d+", "", body)
        body = body.rstrip("\n") + f"\n-- touched {k}\n"
    else:
        raise ValueError(what)
    p.write_text(body)
