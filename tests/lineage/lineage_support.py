"""Helpers for the lineage tests: a hand-made project, a simulated build, and a loopback stand-in
for Marquez that enforces Marquez's rules."""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from assetbuild.model.assets import AssetDef, Kind, Project, SourceFile
from assetbuild.model.events import RunInfo
from assetbuild.model.results import AssetResult, BuildResult, CheckResult, Severity, Status

SPEC_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "openlineage-spec"

ENRICHED_SQL = "SELECT o.order_id, o.amount, u.country FROM orders o JOIN users u ON o.user_id = u.user_id\n"
BY_COUNTRY_SQL = (
    "WITH e AS (SELECT * FROM enriched WHERE amount > 3)\n"
    "SELECT country, sum(amount) AS revenue, count(*) AS orders FROM e GROUP BY country\n"
)
SCORED_PY = '''from assetbuild import asset
import polars as pl


@asset(description="Scores per country", owner="team:risk", tags=["risk"])
def scored(by_country: pl.DataFrame) -> pl.DataFrame:
    """Docstring."""
    return by_country.with_columns(score=pl.col("revenue") / 100)
'''
SCHEMAS: dict[str, list[tuple[str, str]]] = {
    "orders": [("order_id", "Int64"), ("user_id", "Int64"), ("amount", "Float64")],
    "users": [("user_id", "Int64"), ("country", "String")],
    "enriched": [("order_id", "Int64"), ("amount", "Float64"), ("country", "String")],
    "by_country": [("country", "String"), ("revenue", "Float64"), ("orders", "Int64")],
    "scored": [("country", "String"), ("revenue", "Float64"), ("orders", "Int64"), ("score", "Float64")],
}


def make_project(root: Path, name: str = "linproj", lineage: dict[str, Any] | None = None) -> Project:
    """orders, users (sources) -> enriched (sql) -> by_country (sql) -> scored (python, exported)."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    (root / "data" / "orders.csv").write_text("order_id,user_id,amount\n1,1,1.5\n2,2,4.5\n")
    (root / "data" / "users.csv").write_text("user_id,country\n1,DE\n2,FR\n")
    (root / "assets").mkdir(exist_ok=True)
    (root / "assets" / "scored.py").write_text(SCORED_PY)

    def a(name: str, kind: Kind, upstream: tuple[str, ...] = (), **kw: Any) -> AssetDef:
        path = {"source": "assetbuild.toml", "sql": f"assets/{name}.sql", "python": f"assets/{name}.py"}
        return AssetDef(name, kind, path[kind.value], 1, upstream, f"fp-{name}", **kw)

    assets = {
        "orders": a("orders", Kind.SOURCE, patterns=("data/orders.csv",), format="csv"),
        "users": a("users", Kind.SOURCE, patterns=("data/users.csv",), format="csv"),
        "enriched": a("enriched", Kind.SQL, ("orders", "users"), sql=ENRICHED_SQL),
        "by_country": a(
            "by_country", Kind.SQL, ("enriched",), sql=BY_COUNTRY_SQL, description="Revenue per country"
        ),
        "scored": a(
            "scored",
            Kind.PYTHON,
            ("by_country",),
            function="scored",
            description="Scores per country",
            owner="team:risk",
            tags=("risk",),
        ),
    }
    downstream: dict[str, tuple[str, ...]] = {n: () for n in assets}
    for n, d in assets.items():
        for u in d.upstream:
            downstream[u] += (n,)
    return Project(
        root=root,
        name=name,
        assets=assets,
        downstream=downstream,
        order=("orders", "users", "enriched", "by_country", "scored"),
        exports={"scored": "out/scored.parquet"},
        lineage=dict(lineage or {}),
    )


# the files a build would have observed for the two sources of `make_project`
SOURCE_FILES = {
    "orders": (SourceFile("data/orders.csv", "h-orders", 40),),
    "users": (SourceFile("data/users.csv", "h-users", 30),),
}


def new_id() -> str:
    return str(uuid.uuid4())


def result_of(
    name: str, kind: str, status: Status = Status.BUILT, version: str = "v1", **kw: Any
) -> AssetResult:
    return AssetResult(
        name=name,
        kind=kind,
        status=status,
        reason="test",
        rows=kw.pop("rows", 2),
        content_hash=f"hash-{name}-{version}",
        bytes=kw.pop("bytes", 1234),
        schema=SCHEMAS.get(name),
        **kw,
    )


CHECKS = [
    CheckResult("revenue.min", Severity.ERROR, True, 0, column="revenue", expected=">= 0", actual="min 1.5"),
    CheckResult("table.row_count", Severity.WARN, False, 0, expected=">= 5", actual="2"),
]


@dataclass
class SimulatedBuild:
    run_id: str
    asset_runs: dict[str, str] = field(default_factory=dict)
    result: BuildResult | None = None


def simulate_build(
    listener: Any,
    project: Project,
    *,
    fail: str | None = None,
    checks: list[CheckResult] | None = None,
    version: str = "v1",
    metrics: dict[str, Any] | None = None,
) -> SimulatedBuild:
    """Call the listener's hooks as the engine does for a full build of `project`."""
    build = SimulatedBuild(run_id=getattr(listener, "run_id", None) or new_id())
    listener.build_started(project, build.run_id, list(project.order))
    results: list[AssetResult] = []
    blocked = False
    for name in project.order:
        asset = project.assets[name]
        if blocked and name != fail:
            results.append(AssetResult(name, asset.kind.value, Status.BLOCKED, "upstream failed"))
            continue
        info = RunInfo(
            asset=asset,
            run_id=new_id(),
            parent_run_id=build.run_id,
            inputs={u: f"hash-{u}-{version}" for u in asset.upstream},
            input_schemas={u: SCHEMAS[u] for u in asset.upstream},
            metrics=dict(metrics or {}),
        )
        build.asset_runs[name] = info.run_id
        listener.asset_started(info)
        if name == fail:
            tb = 'Traceback (most recent call last):\n  File "assets/scored.py", line 8\nZeroDivisionError: boom'
            res = AssetResult(name, asset.kind.value, Status.FAILED, "boom", error="ZeroDivisionError: boom")
            listener.asset_finished(info, res, tb)
            results.append(res)
            blocked = True
            continue
        res = result_of(name, asset.kind.value, version=version)
        listener.asset_finished(info, res, None)
        if name == "by_country":
            listener.checks_finished(info, res, checks if checks is not None else CHECKS)
        results.append(res)
    build.result = BuildResult(run_id=build.run_id, assets=results)
    listener.build_finished(project, build.result)
    return build


# -- a Marquez stand-in ------------------------------------------------------------------------


def marquez_violation(events: list[dict[str, Any]]) -> str | None:
    """Marquez's rules beyond the spec, over events in arrival order; the first broken one."""
    seen: dict[str, list[dict[str, Any]]] = {}
    for ev in events:
        if problem := _marquez_check(ev, seen.get(ev["run"]["runId"], [])):
            return problem
        seen.setdefault(ev["run"]["runId"], []).append(ev)
    return None


def _marquez_check(ev: dict[str, Any], earlier: list[dict[str, Any]]) -> str | None:
    name = ev["job"]["name"]
    job_type = (ev["job"].get("facets") or {}).get("jobType")
    if not job_type or not all(job_type.get(k) for k in ("processingType", "integration", "jobType")):
        return f"{name}: jobType lacks processingType/integration/jobType"
    kinds = [e.get("eventType") for e in earlier]
    kind = ev.get("eventType")
    if kind == "START" and kinds:
        return f"{name}: START after {kinds}"
    if kind in ("COMPLETE", "FAIL", "ABORT") and "START" not in kinds:
        return f"{name}: {kind} before START"
    if any(k in ("COMPLETE", "FAIL", "ABORT") for k in kinds):
        return f"{name}: {kind} after the run ended"
    parent = (ev["run"].get("facets") or {}).get("parent")
    had_parent = [bool((e["run"].get("facets") or {}).get("parent")) for e in earlier]
    if had_parent and any(had_parent) != bool(parent):
        return f"{name}: `parent` on some events of the run only"
    if parent and not name.startswith(parent["job"]["name"] + "."):
        return f"{name}: child job not prefixed by its parent {parent['job']['name']}."
    return None


class Marquez:
    """A loopback stand-in for Marquez's POST /api/v1/lineage; mode: ok | error | hang | redirect | drip.

    In `ok` mode it answers 201 and keeps the event, or 422 (keeping nothing) when an event
    breaks one of Marquez's rules; `violations` lists those. `refuse` maps (job, eventType) to
    the (status, body) that event is refused with, in any mode but hang; `refused` lists those.
    `redirect` answers every POST with `redirect_status` and a `Location: redirect_to` (none when
    None); a GET anywhere answers 200 with an HTML page, as a web UI would. `drip` answers the
    first `drips` requests one byte every `drip_interval_s` for `drip_s` in all, then 201 (the
    event kept only if the whole answer could be written), and the rest as `ok`.
    """

    def __init__(self, port: int = 0) -> None:
        self.events: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.violations: list[str] = []
        self.mode = "ok"
        self.release = threading.Event()  # ends every hanging request
        self.refuse: dict[tuple[str, str], tuple[int, str]] = {}
        self.refused: list[tuple[str, str]] = []
        self.redirect_status = 301
        self.redirect_to: str | None = None
        self.gets: list[str] = []
        self.drips = 1
        self.drip_s = 6.0
        self.drip_interval_s = 0.25
        self.posts = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.gets.append(self.path)
                page = b"<html><body>Marquez</body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def _answer(self, status: int, text: str = "") -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _drip(self) -> bool:
                """A 201 dribbled out over `drip_s`; False when the client went away first."""
                try:
                    self.wfile.write(b"HTTP/1.1 201 Created\r\n")
                    self.wfile.flush()
                    end = time.monotonic() + outer.drip_s
                    while time.monotonic() < end and not outer.release.is_set():
                        self.wfile.write(b"X-Drip: .\r\n")
                        self.wfile.flush()
                        time.sleep(outer.drip_interval_s)
                    self.wfile.write(b"Content-Length: 0\r\n\r\n")
                    self.wfile.flush()
                    return True
                except OSError:
                    return False

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.posts += 1
                if outer.mode == "hang":
                    outer.release.wait(10)
                    return
                if outer.mode == "redirect":
                    self.send_response(outer.redirect_status)
                    if outer.redirect_to is not None:
                        self.send_header("Location", outer.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if outer.mode == "error":
                    self.send_response(500)
                    self.end_headers()
                    return
                if body:
                    try:
                        parsed = json.loads(body)
                        key = (parsed["job"]["name"], parsed.get("eventType"))
                    except (ValueError, KeyError, TypeError):
                        key = ("", None)
                    if key in outer.refuse:
                        outer.refused.append(key)
                        self._answer(*outer.refuse[key])
                        return
                if outer.mode == "drip" and outer.drips > 0:
                    outer.drips -= 1
                    self.close_connection = True
                    if self._drip():
                        outer.events.append(json.loads(body))
                        outer.headers.append(dict(self.headers))
                    return
                if self.path.rstrip("/") != "/api/v1/lineage":
                    self.send_response(404)
                    self.end_headers()
                    return
                event = json.loads(body)
                runs: dict[str, list[dict[str, Any]]] = {}
                for e in outer.events:
                    runs.setdefault(e["run"]["runId"], []).append(e)
                problem = _marquez_check(event, runs.get(event["run"]["runId"], []))
                if problem:
                    outer.violations.append(problem)
                    self.send_response(422)
                    self.end_headers()
                    return
                outer.events.append(event)
                outer.headers.append(dict(self.headers))
                self.send_response(201)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
