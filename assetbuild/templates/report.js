/* assetbuild report: search, pan/zoom and the detail panel over the inline SVG. No network, no libraries.
   Text from the project (names, descriptions, code, errors) is only ever set as textContent. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("data").textContent);
  var ASSETS = DATA.assets;
  var LABELS = {
    failed: "failed", check_failed: "check failed", blocked: "blocked", skipped: "skipped", built: "built",
    restored: "restored", up_to_date: "up to date", never_built: "never built", defined: "defined"
  };
  var GLYPHS = {
    failed: "✗", check_failed: "!", blocked: "⊘", skipped: "–", built: "✓", restored: "↺",
    up_to_date: "✓", never_built: "○", defined: "•"
  };
  var svg = document.getElementById("dag");
  var viewport = document.getElementById("viewport");
  var graph = document.getElementById("graph");
  var detail = document.getElementById("detail");
  var list = document.getElementById("list");
  var search = document.getElementById("search");
  var nodes = {};
  Array.prototype.forEach.call(svg.querySelectorAll(".node"), function (g) { nodes[g.getAttribute("data-name")] = g; });
  var edges = Array.prototype.slice.call(svg.querySelectorAll(".edge"));
  var selected = null;
  var view = { x: 0, y: 0, k: 1 };
  var W = +svg.getAttribute("data-w"), H = +svg.getAttribute("data-h");
  var NW = +svg.getAttribute("data-node-w"), NH = +svg.getAttribute("data-node-h");
  var GX = +svg.getAttribute("data-gap-x") || 70, GY = +svg.getAttribute("data-gap-y") || 14;
  var PAD = +svg.getAttribute("data-pad") || 20;
  // Names are never drawn smaller than MIN_PX on screen: below READABLE zoom they are hidden
  // (the "overview": shape and state colours only), and a large graph opens at READABLE.
  var MIN_PX = +svg.getAttribute("data-min-label-px") || 11;
  var someLabel = svg.querySelector(".node .label");
  var LABEL_PX = (someLabel && parseFloat(getComputedStyle(someLabel).fontSize)) || 12;
  var READABLE = (MIN_PX + 0.01) / LABEL_PX;  // a hair above: rounding never draws 10.99 px
  var zoomHint = document.getElementById("zoom-hint");
  var focusBar = document.getElementById("focus-bar");
  var focusText = document.getElementById("focus-text");
  var focusButton = document.getElementById("focus");
  var depthSelect = document.getElementById("depth");
  var focus = null;  // {name, depth, w, h} while only a neighbourhood is drawn
  // where the server placed each node and routed each edge, to come back to after a focus
  var home = {}, homeD = [];
  Object.keys(nodes).forEach(function (n) { home[n] = nodes[n].getAttribute("transform"); });
  edges.forEach(function (e, i) { homeD[i] = e.getAttribute("d"); });
  var UP = {}, DOWN = {};  // the drawn edges (upstream and what rules read), both ways
  edges.forEach(function (e) {
    var f = e.getAttribute("data-from"), t = e.getAttribute("data-to");
    (DOWN[f] = DOWN[f] || []).push(t);
    (UP[t] = UP[t] || []).push(f);
  });

  // -- small DOM helpers -----------------------------------------------------------------------------
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") e.textContent = attrs[k];
        else if (k === "cls") e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      });
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return e;
  }
  function fmtInt(n) { return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US"); }
  function fmtBytes(n) {
    if (n === null || n === undefined) return "–";
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n) + " " + u[i];
  }
  function fmtSecs(s) { return s === null || s === undefined ? "–" : (s < 10 ? s.toFixed(2) : s.toFixed(1)) + " s"; }
  function kv(pairs) {
    var dl = el("dl", { cls: "kv" });
    pairs.forEach(function (p) {
      if (p[1] === null || p[1] === undefined || p[1] === "") return;
      dl.appendChild(el("dt", { text: p[0] }));
      dl.appendChild(el("dd", null, p[1]));
    });
    return dl;
  }
  function assetLink(name) {
    var a = el("a", { cls: "asset", href: "#asset=" + encodeURIComponent(name), text: name });
    a.addEventListener("click", function (ev) { ev.preventDefault(); select(name, true); });
    return a;
  }

  // -- pan and zoom ----------------------------------------------------------------------------------
  function apply() {
    viewport.setAttribute("transform", "translate(" + view.x + "," + view.y + ") scale(" + view.k + ")");
    var overview = view.k < READABLE;
    svg.classList.toggle("overview", overview);
    if (zoomHint) zoomHint.hidden = !overview;
  }
  function zoomAt(factor, cx, cy) {
    var k = Math.min(3, Math.max(0.05, view.k * factor));
    view.x = cx - (cx - view.x) * (k / view.k);
    view.y = cy - (cy - view.y) * (k / view.k);
    view.k = k;
    apply();
  }
  // `readable`: never below READABLE; a graph too large for that starts at its left (the
  // sources) or, focused, at the focused asset. Without it ("fit" button) the whole drawing fits.
  function fit(readable) {
    var r = graph.getBoundingClientRect();
    var w = focus ? focus.w : W, h = focus ? focus.h : H;
    if (!w || !h || !r.width || !r.height) return;
    var k = Math.min(r.width / w, r.height / h, 1.2);
    if (readable && k < READABLE) {
      k = READABLE;
      view.k = k; view.x = 10; view.y = h * k < r.height ? (r.height - h * k) / 2 : 10;
      apply();
      if (focus) centerOn(focus.name, true);
      return;
    }
    view.k = k; view.x = (r.width - w * k) / 2; view.y = (r.height - h * k) / 2;
    apply();
  }
  function at(name) {
    var m = /translate\(([-\d.]+),([-\d.]+)\)/.exec(nodes[name].getAttribute("transform"));
    return { x: +m[1], y: +m[2] };
  }
  function centerOn(name, always) {
    var g = nodes[name];
    if (!g) return;
    var r = graph.getBoundingClientRect();
    if (view.k < READABLE) { view.k = READABLE; apply(); }  // going to one asset: to read it
    var p = at(name);
    var x = p.x + NW / 2, y = p.y + NH / 2;
    var sx = view.x + x * view.k, sy = view.y + y * view.k;
    if (always || sx < 40 || sy < 40 || sx > r.width - 40 || sy > r.height - 40) {
      view.x = r.width / 2 - x * view.k;
      view.y = r.height / 2 - y * view.k;
      apply();
    }
  }
  var drag = null;
  graph.addEventListener("mousedown", function (ev) {
    if (ev.button !== 0 || ev.target.closest("#controls")) return;
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y, moved: false };
    graph.classList.add("dragging");
  });
  window.addEventListener("mousemove", function (ev) {
    if (!drag) return;
    var dx = ev.clientX - drag.x, dy = ev.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
    view.x = drag.vx + dx; view.y = drag.vy + dy;
    apply();
  });
  window.addEventListener("mouseup", function () { graph.classList.remove("dragging"); setTimeout(function () { drag = null; }, 0); });
  graph.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = graph.getBoundingClientRect();
    zoomAt(Math.exp(-ev.deltaY * 0.0015), ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });
  function zoomCenter(f) { var r = graph.getBoundingClientRect(); zoomAt(f, r.width / 2, r.height / 2); }
  document.getElementById("zoom-in").addEventListener("click", function () { zoomCenter(1.25); });
  document.getElementById("zoom-out").addEventListener("click", function () { zoomCenter(0.8); });
  document.getElementById("fit").addEventListener("click", function () { fit(false); });

  // -- focus: one asset and its neighbours, laid out afresh, readable -------------------------------
  function reach(start, links, depth) {
    var seen = {}, frontier = [start], step = 0;
    while (frontier.length && (depth < 0 || step < depth)) {
      var next = [];
      frontier.forEach(function (n) {
        (links[n] || []).forEach(function (m) { if (!seen[m] && m !== start) { seen[m] = true; next.push(m); } });
      });
      frontier = next;
      step++;
    }
    return Object.keys(seen);
  }
  function curve(a, b) {
    var x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x, y2 = b.y + NH / 2, bend = Math.max((x2 - x1) / 2, 30);
    return "M" + x1 + "," + y1 + " C" + (x1 + bend) + "," + y1 + " " + (x2 - bend) + "," + y2 + " " + x2 + "," + y2;
  }
  function homeAt(name) {
    var m = /translate\(([-\d.]+),([-\d.]+)\)/.exec(home[name]);
    return { x: +m[1], y: +m[2] };
  }
  function focusOn(name, depth) {
    if (!nodes[name]) return;
    var shown = {};
    shown[name] = true;
    reach(name, UP, depth).concat(reach(name, DOWN, depth)).forEach(function (n) { shown[n] = true; });
    // columns keep the layers of the whole drawing (edges still run left to right), closed up;
    // each column keeps its drawn order (the server's crossing-reducing sweeps)
    var byLayer = {};
    Object.keys(shown).forEach(function (n) {
      var layer = Math.round((homeAt(n).x - PAD) / (NW + GX));
      (byLayer[layer] = byLayer[layer] || []).push(n);
    });
    var layers = Object.keys(byLayer).map(Number).sort(function (a, b) { return a - b; });
    var tallest = 0;
    layers.forEach(function (l) { tallest = Math.max(tallest, byLayer[l].length); });
    var place = {};
    layers.forEach(function (l, i) {
      var col = byLayer[l].sort(function (a, b) { return homeAt(a).y - homeAt(b).y; });
      var offset = (tallest - col.length) * (NH + GY) / 2;
      col.forEach(function (n, j) { place[n] = { x: PAD + i * (NW + GX), y: PAD + offset + j * (NH + GY) }; });
    });
    Object.keys(nodes).forEach(function (n) {
      nodes[n].classList.toggle("out", !place[n]);
      nodes[n].setAttribute("transform", place[n] ? "translate(" + place[n].x + "," + place[n].y + ")" : home[n]);
    });
    edges.forEach(function (e, i) {
      var f = place[e.getAttribute("data-from")], t = place[e.getAttribute("data-to")];
      e.classList.toggle("out", !(f && t));
      e.setAttribute("d", f && t ? curve(f, t) : homeD[i]);
    });
    var count = Object.keys(place).length;
    focus = { name: name, depth: depth, w: PAD * 2 + layers.length * (NW + GX) - GX, h: PAD * 2 + tallest * (NH + GY) - GY };
    focusText.textContent = "Showing " + count + " of " + DATA.order.length + " assets: " + name + " and " +
      (depth < 0 ? "all its lineage" : depth + (depth === 1 ? " step" : " steps") + " up- and downstream");
    focusBar.hidden = false;
    focusButton.setAttribute("aria-pressed", "true");
    fit(true);
  }
  function showAll() {
    if (!focus) return;
    focus = null;
    Object.keys(nodes).forEach(function (n) { nodes[n].classList.remove("out"); nodes[n].setAttribute("transform", home[n]); });
    edges.forEach(function (e, i) { e.classList.remove("out"); e.setAttribute("d", homeD[i]); });
    focusBar.hidden = true;
    focusButton.setAttribute("aria-pressed", "false");
    fit(true);
    if (selected) centerOn(selected);
  }
  function depth() { return +depthSelect.value; }
  focusButton.addEventListener("click", function () {
    if (focus) showAll();
    else if (selected) focusOn(selected, depth());
    else { focusText.textContent = "Click an asset first, then focus."; focusBar.hidden = false; }
  });
  depthSelect.addEventListener("change", function () { if (focus) focusOn(focus.name, depth()); });
  document.getElementById("show-all").addEventListener("click", showAll);

  // -- selection and the detail panel ----------------------------------------------------------------
  Object.keys(nodes).forEach(function (name) {
    nodes[name].addEventListener("click", function () { if (!drag || !drag.moved) select(name, false); });
    nodes[name].addEventListener("keydown", function (ev) { if (ev.key === "Enter") select(name, false); });
  });

  function select(name, center, quiet) {
    if (!ASSETS[name]) return;
    if (selected && nodes[selected]) nodes[selected].classList.remove("selected");
    selected = name;
    nodes[name].classList.add("selected");
    edges.forEach(function (e) {
      e.classList.toggle("hl-up", e.getAttribute("data-to") === name);
      e.classList.toggle("hl-down", e.getAttribute("data-from") === name);
    });
    Array.prototype.forEach.call(list.children, function (li) {
      var on = li.dataset.name === name;
      li.classList.toggle("selected", on);
      if (on && li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
    });
    renderDetail(ASSETS[name]);
    if (focus && focus.name !== name) focusOn(name, focus.depth);  // walking the graph, focused
    else if (center) centerOn(name);
    if (!quiet && history.replaceState) history.replaceState(null, "", "#asset=" + encodeURIComponent(name));
  }

  function renderDetail(a) {
    detail.textContent = "";
    detail.appendChild(el("h2", { text: a.name }));
    detail.appendChild(el("div", null,
      el("span", { cls: "badge s-" + a.state, text: (GLYPHS[a.state] || "") + " " + (LABELS[a.state] || a.state) }),
      el("span", { cls: "badge kind", text: a.kind }),
      a.tags.length ? a.tags.map(function (t) { return el("span", { cls: "badge tag", text: t }); }).reduce(function (f, x) { f.appendChild(x); return f; }, document.createDocumentFragment()) : null));
    if (a.description) detail.appendChild(el("p", { text: a.description }));
    detail.appendChild(kv([["owner", a.owner], ["defined in", a.defined_in]]));
    if (a.stale) detail.appendChild(el("div", { cls: "notice", text: "changed since this data was built: " + a.stale + " — the next build runs it" }));

    var run = a.last_run;
    if (run || DATA.mode === "report") {
      detail.appendChild(el("h3", { text: "Last run" }));
      if (!run) detail.appendChild(el("p", { cls: "muted", text: "never run" }));
      else {
        detail.appendChild(kv([
          ["status", LABELS[run.status] || run.status], ["why", run.reason], ["finished", run.finished_at],
          ["duration", fmtSecs(run.duration_s)],
          ["rows", run.rows !== null && run.status === "check_failed" ? fmtInt(run.rows) + " (quarantined: not published)" : null],
          ["run id", run.run_id]
        ]));
        if (run.error) detail.appendChild(el("pre", { cls: "error", text: run.error }));
        if (run.status === "failed" || run.status === "check_failed") {
          detail.appendChild(el("p", { cls: "muted" }, "rerun just this part: ", el("code", { text: "assetbuild build +" + a.name + "+" })));
        }
      }
    }
    if (a.data || a.last_build) {
      detail.appendChild(el("h3", { text: "Data" }));
      var d = a.data || {};
      var b = a.last_build || {};
      detail.appendChild(kv([
        ["rows", a.data ? fmtInt(d.rows) : "no published data"], ["size", a.data ? fmtBytes(d.bytes) : null],
        ["built at", d.built_at], ["last build", b.finished_at ? b.finished_at + " (" + (LABELS[b.status] || b.status) + ", " + fmtSecs(b.duration_s) + ")" : null],
        ["content hash", d.content_hash], ["build key", d.build_key]
      ]));
    }
    renderChecks(a);
    renderSchema(a);
    detail.appendChild(el("h3", { text: "Upstream (" + a.upstream.length + ")" }));
    detail.appendChild(a.upstream.length ? wrap(a.upstream.map(assetLink)) : el("p", { cls: "muted", text: "none" }));
    detail.appendChild(el("h3", { text: "Downstream (" + a.downstream.length + ")" }));
    detail.appendChild(a.downstream.length ? wrap(a.downstream.map(assetLink)) : el("p", { cls: "muted", text: "none" }));
    var reads = a.checks_read || [], readBy = a.read_by_checks_of || [];
    if (reads.length) {
      // a dependency no upstream list shows: a build waits for these (dashed in the graph)
      detail.appendChild(el("h3", { text: "Checks read (" + reads.length + ")" }));
      detail.appendChild(wrap(reads.map(assetLink)));
    }
    if (readBy.length) {
      detail.appendChild(el("h3", { text: "Read by the checks of (" + readBy.length + ")" }));
      detail.appendChild(wrap(readBy.map(assetLink)));
    }
    if (a.code && a.code.text) {
      detail.appendChild(el("h3", null, "Code ", el("span", { cls: "muted", text: a.code.path })));
      detail.appendChild(el("pre", { cls: "code" }, el("code", { cls: "lang-" + a.code.lang, text: a.code.text })));
    }
  }
  function frag(items) { var f = document.createDocumentFragment(); items.forEach(function (i) { f.appendChild(i); }); return f; }
  function wrap(items) { var d = el("div"); d.appendChild(frag(items)); return d; }

  function renderChecks(a) {
    if (!a.checks.length) return;
    var failing = a.checks.filter(function (c) { return !c.passed; });
    var passing = a.checks.filter(function (c) { return c.passed; });
    detail.appendChild(el("h3", { text: "Checks (" + a.checks.length + ", " + failing.length + " failing)" }));
    if (failing.length) detail.appendChild(checkTable(failing));
    if (passing.length) {
      // passing checks fold away: what needs attention comes first
      var more = el("details", { cls: "passing" }, el("summary", { text: passing.length + " passing" }), checkTable(passing));
      if (!failing.length && passing.length <= 8) more.setAttribute("open", "");
      detail.appendChild(more);
    }
  }
  function checkTable(checks) {
    var t = el("table", { cls: "checks" }, el("tr", null, el("th", { text: "" }), el("th", { text: "check" }), el("th", { text: "failing rows" }), el("th", { text: "expected / got" })));
    checks.forEach(function (c) {
      var mark = c.passed ? "pass" : (c.severity === "error" ? "fail" : "warn");
      var row = el("tr", { cls: "check-" + mark },
        el("td", { cls: mark, text: c.passed ? "pass" : (c.severity === "error" ? "FAIL" : "warn") }),
        el("td", null, c.name, c.source ? el("div", { cls: "muted", text: c.source }) : null),
        el("td", { text: c.passed ? "" : fmtInt(c.failing_rows) }),
        el("td", { text: c.passed ? "" : [c.expected, c.actual].filter(Boolean).join(" / ") }));
      t.appendChild(row);
      if (!c.passed && c.sample && c.sample.length) {
        var cols = Object.keys(c.sample[0]);
        var s = el("table", { cls: "sample" }, el("tr", null, frag(cols.map(function (k) { return el("th", { text: k }); }))));
        c.sample.forEach(function (r) {
          s.appendChild(el("tr", null, frag(cols.map(function (k) { return el("td", { text: r[k] === null ? "null" : String(r[k]) }); }))));
        });
        t.appendChild(el("tr", null, el("td"), el("td", { colspan: "3" }, el("div", { cls: "muted", text: "failing rows (sample)" }), el("div", { cls: "scroll" }, s))));
      }
    });
    return t;
  }

  function renderSchema(a) {
    var described = a.columns || {};  // `description:` of a column in the rule files
    var hasDescriptions = Object.keys(described).length > 0;
    if (!a.data || !a.data.schema.length) {
      if (!hasDescriptions) return;
      detail.appendChild(el("h3", { text: "Columns (described in the rules; no data yet)" }));
      var d = el("table", null, el("tr", null, el("th", { text: "column" }), el("th", { text: "description" })));
      Object.keys(described).forEach(function (c) {
        d.appendChild(el("tr", null, el("td", null, el("code", { text: c })), el("td", { cls: "description", text: described[c] })));
      });
      detail.appendChild(d);
      return;
    }
    var hasLineage = Object.keys(a.lineage || {}).length > 0;
    detail.appendChild(el("h3", { text: "Schema (" + a.data.schema.length + " columns)" + (hasLineage ? " and column lineage" : "") }));
    var head = el("tr", null, el("th", { text: "column" }), el("th", { text: "type" }),
      hasDescriptions ? el("th", { text: "description" }) : null, hasLineage ? el("th", { text: "from" }) : null);
    var t = el("table", null, head);
    a.data.schema.forEach(function (c) {
      var from = null;
      if (hasLineage) {
        var srcs = a.lineage[c[0]] || [];
        from = el("td", { cls: "lineage" }, frag(srcs.map(function (s) {
          return el("div", null, assetLink(s.asset), el("span", { text: "." + s.column + " " }), el("span", { cls: "muted", text: s.subtype.toLowerCase() }));
        })));
      }
      var about = hasDescriptions ? el("td", { cls: "description", text: described[c[0]] || "" }) : null;
      t.appendChild(el("tr", null, el("td", null, el("code", { text: c[0] })), el("td", { cls: "muted", text: c[1] }), about, from));
    });
    detail.appendChild(t);
  }

  // -- the list, search and state filter -------------------------------------------------------------
  DATA.order.forEach(function (name) {
    var a = ASSETS[name];
    var li = el("li", { "data-name": name, title: name + " — " + (LABELS[a.state] || a.state) },
      el("span", { cls: "dot s-" + a.state, text: GLYPHS[a.state] || "•" }), " " + name, el("span", { cls: "kind", text: a.kind }));
    li.addEventListener("click", function () { select(name, true); });
    list.appendChild(li);
  });
  var stateFilter = null;
  function haystack(a) { return (a.name + " " + a.kind + " " + (a.owner || "") + " " + a.tags.join(" ") + " " + (a.description || "")).toLowerCase(); }
  function refilter() {
    var q = search.value.trim().toLowerCase();
    var shown = {};
    DATA.order.forEach(function (name) {
      var a = ASSETS[name];
      var ok = (!q || haystack(a).indexOf(q) >= 0) && (!stateFilter || a.state === stateFilter);
      shown[name] = ok;
      var active = q || stateFilter;
      nodes[name].classList.toggle("dim", !!active && !ok);
      nodes[name].classList.toggle("match", !!active && ok);
    });
    Array.prototype.forEach.call(list.children, function (li) { li.hidden = !shown[li.dataset.name]; });
    edges.forEach(function (e) {
      var active = q || stateFilter;
      e.classList.toggle("dim", !!active && !(shown[e.getAttribute("data-from")] && shown[e.getAttribute("data-to")]));
    });
    return DATA.order.filter(function (n) { return shown[n]; });
  }
  search.addEventListener("input", refilter);
  search.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { var hits = refilter(); if (hits.length) select(hits[0], true); }
    if (ev.key === "Escape") { search.value = ""; refilter(); search.blur(); }
  });
  Array.prototype.forEach.call(document.querySelectorAll("#legend .chip"), function (chip) {
    chip.addEventListener("click", function () {
      var s = chip.getAttribute("data-state");
      stateFilter = stateFilter === s ? null : s;
      Array.prototype.forEach.call(document.querySelectorAll("#legend .chip"), function (c) {
        c.classList.toggle("active", c.getAttribute("data-state") === stateFilter);
      });
      refilter();
    });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.target === search) return;
    if (ev.key === "/") { ev.preventDefault(); search.focus(); }
    else if (ev.key === "+" || ev.key === "=") zoomCenter(1.25);
    else if (ev.key === "-") zoomCenter(0.8);
    else if (ev.key === "0") fit(false);
    else if (ev.key === "f" && selected) { if (focus) showAll(); else focusOn(selected, depth()); }
    else if (ev.key === "Escape" && focus) showAll();
  });

  // -- start: fit, then open the asset named in the address (#asset=NAME), else the first failure ----
  // (#asset=NAME&focus=DEPTH opens that asset focused); a graph too large to read whole opens
  // focused on its first failure, where the reader has something to look at
  fit(true);
  var m = /#asset=([^&]+)/.exec(location.hash);
  var wanted = m ? decodeURIComponent(m[1]) : null;
  var f = /[#&]focus=(-?\d+)/.exec(location.hash);
  var r0 = graph.getBoundingClientRect();
  var tooLarge = Math.min(r0.width / W, r0.height / H) < READABLE;
  if (f) { depthSelect.value = String(+f[1] < 0 ? -1 : Math.min(+f[1], 3)); }
  if (wanted && ASSETS[wanted]) {
    select(wanted, true);
    if (f) focusOn(wanted, depth());
  } else {
    var bad = DATA.order.filter(function (n) { return ASSETS[n].state === "failed" || ASSETS[n].state === "check_failed"; });
    if (bad.length) {
      select(bad[0], true, true);
      if (tooLarge && DATA.order.length > 30) focusOn(bad[0], depth());  // a small one: pan it
    }
  }
  window.addEventListener("resize", function () { if (!selected || focus) fit(true); });
  document.body.setAttribute("data-ready", "1");
})();
