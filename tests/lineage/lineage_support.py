"""Helpers for the lineage tests: a hand-made project, a simulated build, and a loopback stand-in
for Marquez that enforces Marquez's rules and answers its read API from the events it kept."""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
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


# -- what Marquez shows: its read API, computed from the events it accepted --------------------

_STATES = {
    "START": "RUNNING",
    "RUNNING": "RUNNING",
    "COMPLETE": "COMPLETED",
    "FAIL": "FAILED",
    "ABORT": "ABORTED",
}
_ENDED = ("COMPLETED", "FAILED", "ABORTED")


def _version_id(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


class MarquezModel:
    """Marquez's model rebuilt from accepted events, in processing order, the way its
    OpenLineageDao files them (MarquezProject/marquez, api/.../db/OpenLineageDao.java):

    - a child job (with a `parent` facet) is stored as `{parent}.{name}` unless already so
      prefixed, and its parent job is created when unknown;
    - a run's state follows its latest event (START/RUNNING/other -> RUNNING, COMPLETE ->
      COMPLETED, FAIL -> FAILED, ABORT -> ABORTED); its facets merge by key;
    - every appearance of a dataset as an *output* makes a new dataset version, which becomes
      the dataset's current one; an *input* reads the current version (making one only when the
      dataset has none) and its facets, input facets included, land on that version;
    - a job's inputs and outputs (its lineage edges) are those of its latest ended run, since a
      job version is made only when a run ends;
    - `GET /lineage` walks jobs through the datasets they share, `depth` jobs away at most.

    Not modelled: symlinks (aliases), column lineage, search, tags, deletion.
    """

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.namespaces: dict[str, None] = {}
        self.jobs: dict[tuple[str, str], dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.datasets: dict[tuple[str, str], dict[str, Any]] = {}
        for event in events:
            self._file(event)

    # -- filing events ----------------------------------------------------------------------

    def _job(self, namespace: str, name: str, parent: str | None = None) -> dict[str, Any]:
        self.namespaces.setdefault(namespace)
        key = (namespace, name)
        if key not in self.jobs:
            simple = name[len(parent) + 1 :] if parent else name
            self.jobs[key] = {
                "id": {"namespace": namespace, "name": name},
                "type": "BATCH",
                "name": name,
                "simpleName": simple,
                "parentJobName": parent,
                "namespace": namespace,
                "facets": {},
                "runs": [],  # run ids, oldest first
            }
        return self.jobs[key]

    def _dataset(self, namespace: str, name: str) -> dict[str, Any]:
        self.namespaces.setdefault(namespace)
        key = (namespace, name)
        if key not in self.datasets:
            self.datasets[key] = {"namespace": namespace, "name": name, "versions": [], "current": None}
        return self.datasets[key]

    def _new_version(self, ds: dict[str, Any], run_id: str, facets: dict[str, Any]) -> dict[str, Any]:
        version = {
            "id": {"namespace": ds["namespace"], "name": ds["name"]},
            "version": _version_id(ds["namespace"], ds["name"], run_id, str(len(ds["versions"]))),
            "createdByRun": run_id,
            "facets": dict(facets),
            "fields": _fields(facets),
        }
        ds["versions"].append(version)
        ds["current"] = version
        return version

    def _file(self, event: dict[str, Any]) -> None:
        job_ns, job_name = event["job"]["namespace"], event["job"]["name"]
        run_id = event["run"]["runId"]
        run_facets = event["run"].get("facets") or {}
        parent = run_facets.get("parent")
        parent_name = None
        if parent:
            parent_name = parent["job"]["name"]
            parent_job = self._job(parent["job"]["namespace"], parent_name)
            if parent["run"]["runId"] not in self.runs:
                self.runs[parent["run"]["runId"]] = self._new_run(parent["run"]["runId"], parent_job)
            if not job_name.startswith(parent_name + "."):
                job_name = f"{parent_name}.{job_name}"
        job = self._job(job_ns, job_name, parent_name)
        job["facets"].update(event["job"].get("facets") or {})
        run = self.runs.get(run_id) or self._new_run(run_id, job)
        self.runs[run_id] = run
        run["facets"].update(run_facets)
        kind = event.get("eventType")
        if kind is not None:
            run["state"] = _STATES.get(kind, "RUNNING")
            if kind == "START":
                run["startedAt"] = event["eventTime"]
            if run["state"] in _ENDED:
                run["endedAt"] = event["eventTime"]
        for ds in event.get("inputs") or []:
            dataset = self._dataset(ds["namespace"], ds["name"])
            facets = {**(ds.get("facets") or {}), **(ds.get("inputFacets") or {})}
            version = dataset["current"] or self._new_version(dataset, run_id, {})
            version["facets"].update(facets)
            if facets.get("schema"):
                version["fields"] = _fields(version["facets"])
            run["inputs"][(ds["namespace"], ds["name"])] = version["version"]
        for ds in event.get("outputs") or []:
            dataset = self._dataset(ds["namespace"], ds["name"])
            facets = {**(ds.get("facets") or {}), **(ds.get("outputFacets") or {})}
            version = self._new_version(dataset, run_id, facets)
            run["outputs"][(ds["namespace"], ds["name"])] = version["version"]
        if run["state"] in _ENDED:  # a job version: the job's lineage edges are this run's
            job["inputs"] = list(run["inputs"])
            job["outputs"] = list(run["outputs"])
            job["latestRun"] = run_id

    def _new_run(self, run_id: str, job: dict[str, Any]) -> dict[str, Any]:
        job["runs"].append(run_id)
        return {
            "id": run_id,
            "job": (job["namespace"], job["name"]),
            "state": None,
            "startedAt": None,
            "endedAt": None,
            "facets": {},
            "inputs": {},
            "outputs": {},
        }

    # -- answering --------------------------------------------------------------------------

    def dataset_json(self, namespace: str, name: str) -> dict[str, Any] | None:
        ds = self.datasets.get((namespace, name))
        if ds is None:
            return None
        current = ds["current"] or {}
        return {
            "id": {"namespace": namespace, "name": name},
            "type": "DB_TABLE",
            "name": name,
            "physicalName": name,
            "namespace": namespace,
            "fields": current.get("fields", []),
            "facets": current.get("facets", {}),
            "currentVersion": current.get("version"),
        }

    def versions_json(self, namespace: str, name: str) -> list[dict[str, Any]] | None:
        ds = self.datasets.get((namespace, name))
        if ds is None:
            return None
        return [
            {**v, "createdByRun": {"id": v["createdByRun"]}} for v in reversed(ds["versions"])
        ]  # newest first, as Marquez lists them

    def run_json(self, run_id: str) -> dict[str, Any]:
        run = self.runs[run_id]

        def versions(mapping: dict[tuple[str, str], str]) -> list[dict[str, Any]]:
            return [
                {"datasetVersionId": {"namespace": ns, "name": n, "version": v}}
                for (ns, n), v in mapping.items()
            ]

        return {
            "id": run_id,
            "state": run["state"],
            "startedAt": run["startedAt"],
            "endedAt": run["endedAt"],
            "facets": run["facets"],
            "inputDatasetVersions": versions(run["inputs"]),
            "outputDatasetVersions": versions(run["outputs"]),
        }

    def job_json(self, namespace: str, name: str) -> dict[str, Any] | None:
        job = self.jobs.get((namespace, name))
        if job is None:
            return None
        latest = job.get("latestRun") or (job["runs"][-1] if job["runs"] else None)
        return {
            **{k: v for k, v in job.items() if k not in ("runs", "inputs", "outputs", "latestRun")},
            "inputs": [{"namespace": ns, "name": n} for ns, n in job.get("inputs", [])],
            "outputs": [{"namespace": ns, "name": n} for ns, n in job.get("outputs", [])],
            "latestRun": self.run_json(latest) if latest else None,
        }

    def runs_json(self, namespace: str, name: str) -> list[dict[str, Any]] | None:
        job = self.jobs.get((namespace, name))
        if job is None:
            return None
        return [self.run_json(r) for r in reversed(job["runs"])]  # newest first

    def lineage(self, node_id: str, depth: int) -> dict[str, Any] | None:
        kind, namespace, name = parse_node_id(node_id)
        touching: dict[tuple[str, str], set[tuple[str, str]]] = {}  # dataset -> jobs
        for key, job in self.jobs.items():
            for ds in [*job.get("inputs", []), *job.get("outputs", [])]:
                touching.setdefault(ds, set()).add(key)
        if kind == "job":
            if (namespace, name) not in self.jobs:
                return None
            frontier = {(namespace, name)}
        else:
            if (namespace, name) not in self.datasets:
                return None
            frontier = set(touching.get((namespace, name), set()))
        jobs = set(frontier)
        for _ in range(depth):
            step = {
                other
                for key in frontier
                for ds in [*self.jobs[key].get("inputs", []), *self.jobs[key].get("outputs", [])]
                for other in touching.get(ds, set())
            } - jobs
            if not step:
                break
            jobs |= step
            frontier = step
        datasets = {(namespace, name)} if kind == "dataset" else set()
        edges: list[tuple[str, str]] = []
        for key in sorted(jobs):
            job = self.jobs[key]
            job_node = node_id_of("job", *key)
            for ds in job.get("inputs", []):
                datasets.add(ds)
                edges.append((node_id_of("dataset", *ds), job_node))
            for ds in job.get("outputs", []):
                datasets.add(ds)
                edges.append((job_node, node_id_of("dataset", *ds)))
        graph = []
        for key in sorted(jobs):
            graph.append(self._node("JOB", node_id_of("job", *key), self.job_json(*key), edges))
        for key in sorted(datasets):
            graph.append(self._node("DATASET", node_id_of("dataset", *key), self.dataset_json(*key), edges))
        return {"graph": graph}

    @staticmethod
    def _node(kind: str, node: str, data: Any, edges: list[tuple[str, str]]) -> dict[str, Any]:
        return {
            "id": node,
            "type": kind,
            "data": data,
            "inEdges": [{"origin": a, "destination": b} for a, b in edges if b == node],
            "outEdges": [{"origin": a, "destination": b} for a, b in edges if a == node],
        }


def _fields(facets: dict[str, Any]) -> list[dict[str, Any]]:
    schema = facets.get("schema") or {}
    return [{"name": f["name"], "type": f.get("type"), "tags": []} for f in schema.get("fields") or []]


def node_id_of(kind: str, namespace: str, name: str) -> str:
    return f"{kind}:{namespace}:{name}"


def parse_node_id(node_id: str) -> tuple[str, str, str]:
    """`dataset:{ns}:{name}` / `job:{ns}:{name}`; as in Marquez, the colons of `://` and of a
    `:port` belong to the namespace."""
    kind, _, rest = node_id.partition(":")
    if kind not in ("dataset", "job"):
        raise ValueError(f"unknown node type in {node_id!r}")
    for m in re.finditer(":", rest):
        at = m.start()
        if rest.startswith("//", at + 1) or re.match(r":\d+(/|:|$)", rest[at:]):
            continue
        return kind, rest[:at], rest[at + 1 :]
    raise ValueError(f"no name in {node_id!r}")


def marquez_get(base_url: str, path: str, **query: Any) -> tuple[int, Any]:
    """GET `{base_url}/api/v1/{path}` (segments given already URL-encoded) -> (status, JSON)."""
    url = f"{base_url}/api/v1/{path}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def q(segment: str) -> str:
    """One URL path segment, `/` included, as Marquez's clients must send names."""
    return urllib.parse.quote(segment, safe="")


class Marquez:
    """A loopback stand-in for Marquez's POST /api/v1/lineage; mode: ok | error | hang | redirect | drip.

    In `ok` mode it answers 201 and keeps the event, or 422 (keeping nothing) when an event
    breaks one of Marquez's rules; `violations` lists those. `refuse` maps (job, eventType) to
    the (status, body) that event is refused with, in any mode but hang; `refused` lists those.
    `redirect` answers every POST with `redirect_status` and a `Location: redirect_to` (none when
    None); a GET anywhere answers 200 with an HTML page, as a web UI would. `drip` answers the
    first `drips` requests one byte every `drip_interval_s` for `drip_s` in all, then 201 (the
    event kept only if the whole answer could be written), and the rest as `ok`.

    Reads under /api/v1 are answered from the kept events as Marquez would (MarquezModel):
    `GET /lineage?nodeId=&depth=`, `/namespaces`, `/namespaces/{ns}/jobs[/{job}[/runs]]`,
    `/namespaces/{ns}/datasets[/{name}[/versions]]`; `get(path, **query)` asks them.
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
                if self.path.startswith("/api/v1/"):
                    status, answer = outer.read_api(self.path)
                    data = json.dumps(answer).encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
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

    def model(self) -> MarquezModel:
        return MarquezModel(list(self.events))

    def get(self, path: str, **query: Any) -> tuple[int, Any]:
        """A read over HTTP, as a user's client makes it: `get("namespaces/x/jobs")`."""
        return marquez_get(self.url, path, **query)

    def read_api(self, raw_path: str) -> tuple[int, Any]:
        """Marquez's answer to `GET raw_path` (under /api/v1), from the events kept so far."""
        url = urllib.parse.urlsplit(raw_path)
        segments = [urllib.parse.unquote(s) for s in url.path.split("/")[3:] if s != ""]
        query = dict(urllib.parse.parse_qsl(url.query))
        model = self.model()
        missing = (404, {"code": 404, "message": f"not found: {url.path}"})
        match segments:
            case ["lineage"]:
                try:
                    graph = model.lineage(query["nodeId"], int(query.get("depth", 20)))
                except (KeyError, ValueError) as e:
                    return 400, {"code": 400, "message": str(e)}
                return (200, graph) if graph is not None else missing
            case ["namespaces"]:
                return 200, {"namespaces": [{"name": n} for n in model.namespaces]}
            case ["namespaces", ns, "jobs"]:
                jobs = [model.job_json(*key) for key in model.jobs if key[0] == ns]
                return 200, {"jobs": jobs, "totalCount": len(jobs)}
            case ["namespaces", ns, "jobs", name]:
                job = model.job_json(ns, name)
                return (200, job) if job is not None else missing
            case ["namespaces", ns, "jobs", name, "runs"]:
                runs = model.runs_json(ns, name)
                return (200, {"runs": runs, "totalCount": len(runs)}) if runs is not None else missing
            case ["namespaces", ns, "datasets"]:
                found = [model.dataset_json(*key) for key in model.datasets if key[0] == ns]
                return 200, {"datasets": found, "totalCount": len(found)}
            case ["namespaces", ns, "datasets", name]:
                ds = model.dataset_json(ns, name)
                return (200, ds) if ds is not None else missing
            case ["namespaces", ns, "datasets", name, "versions"]:
                versions = model.versions_json(ns, name)
                if versions is None:
                    return missing
                return 200, {"versions": versions, "totalCount": len(versions)}
        return missing

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
