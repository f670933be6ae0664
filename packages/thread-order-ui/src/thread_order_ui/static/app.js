// thread-order dashboard: draws what the server's event stream says. It keeps no run state of
// its own: a live run is rebuilt from /events (replayed from the start, or from Last-Event-ID),
// a past run from /api/history/ID. Every name, value, log line and traceback is set with
// textContent; the graph SVG comes from the server already escaped.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const SVGNS = "http://www.w3.org/2000/svg";
  const XTOKEN = document.querySelector('meta[name="x-token"]').content;
  const STATUSES = ["pending", "running", "passed", "failed", "skipped", "cancelled", "timed_out"];
  const LANE_H = 22, LABEL_W = 80;

  let view = null;      // the run on screen
  let mode = "live";    // "live" or "history"
  let lastId = 0;       // last live event id seen
  let source = null;    // EventSource
  let selected = -1;
  let renderQueued = false;

  // ---- the run model, built from events only --------------------------------------------
  function newView(ev) {
    const tasks = ev.names.map((name, i) => ({
      i, name, status: "pending", thread: "", start: null, end: null, error: null, reason: "", log: [],
    }));
    view = {
      live: ev.live, historyId: ev.history_id || null, names: ev.names, preds: ev.preds, tasks,
      threads: ev.threads.slice(), state: ev.state || {}, rerunOf: ev.rerun_of,
      finished: null, clock: { server: 0, local: performance.now() }, dirty: new Set(),
      nodes: [], bars: [], critical: new Set(), laneSvg: null,
    };
    selected = -1;
    drawGraph(ev.svg || "");
    drawLanes();
    drawState();
    $("run-title").textContent = ev.live
      ? (ev.rerun_of ? "live run (rerun of #" + ev.rerun_of + ")" : "live run")
      : "run #" + ev.history_id + (ev.rerun_of ? " (rerun of #" + ev.rerun_of + ")" : "");
    clearDetail();
  }

  function apply(ev) {
    if (ev.type === "run") { newView(ev); return; }
    if (!view) return;
    if (ev.now !== undefined) view.clock = { server: ev.now, local: performance.now() };
    const t = ev.task !== undefined ? view.tasks[ev.task] : null;
    switch (ev.type) {
      case "run_started":
        view.workers = ev.workers; view.wall = ev.wall; break;
      case "added":  // a task added during the run: no node in the graph, a row everywhere else
        view.tasks.push({
          i: ev.task, name: ev.name, status: "pending", thread: "", start: null, end: null,
          error: null, reason: "", log: [], parent: ev.parent,
        });
        view.names.push(ev.name);
        view.preds.push(ev.after);
        for (const b of ev.before) if (view.preds[b]) view.preds[b].push(ev.task);
        view.dirty.add(ev.task); break;
      case "started":
        t.status = "running"; t.thread = ev.thread; t.start = ev.t; view.dirty.add(t.i); break;
      case "finished":
        t.status = ev.status.toLowerCase(); t.thread = ev.thread || t.thread;
        t.start = ev.start; t.end = ev.end; t.error = ev.error; t.reason = ev.reason || "";
        t.attempts = ev.attempts || 1;
        view.dirty.add(t.i); break;
      case "log":
        t.log.push(ev.line); if (t.i === selected) view.dirty.add(t.i); break;
      case "run_finished":
        view.finished = ev;
        if (ev.history_id) view.historyId = ev.history_id;
        view.critical = new Set(ev.critical_path || []);
        for (const i of view.critical) view.dirty.add(i);
        if (ev.error) message(ev.error);
        if (view.live) loadHistory();
        break;
    }
  }

  function now() {
    if (!view) return 0;
    if (view.finished) return view.finished.duration || 0;
    return view.clock.server + (performance.now() - view.clock.local) / 1000;
  }

  // ---- drawing ---------------------------------------------------------------------------
  function drawGraph(svgText) {
    const box = $("graph");
    box.replaceChildren();
    if (!svgText) return;
    const doc = new DOMParser().parseFromString(svgText, "image/svg+xml");
    const svg = document.importNode(doc.documentElement, true);
    box.appendChild(svg);
    view.nodes = view.tasks.map((t) => svg.querySelector("#n-" + t.i));
  }

  function svgEl(tag, attrs) {
    const el = document.createElementNS(SVGNS, tag);
    for (const k in attrs) el.setAttribute(k, attrs[k]);
    return el;
  }

  function laneIndex(thread) {
    let k = view.threads.indexOf(thread);
    if (k < 0) { view.threads.push(thread); k = view.threads.length - 1; drawLanes(); }
    return k;
  }

  function drawLanes() {
    const box = $("lanes");
    const n = Math.max(view.threads.length, 1);
    const svg = svgEl("svg", { class: "lanes", width: "100%", height: String(n * LANE_H + 20) });
    view.threads.forEach((name, k) => {
      svg.appendChild(svgEl("rect", { class: "lane", x: LABEL_W, y: k * LANE_H + 2, width: "100%", height: LANE_H - 4 }));
      const label = svgEl("text", { x: 2, y: k * LANE_H + 15 });
      label.textContent = name;
      svg.appendChild(label);
    });
    const axis = svgEl("text", { class: "axis", x: LABEL_W, y: n * LANE_H + 14 });
    svg.appendChild(axis);
    box.replaceChildren(svg);
    view.laneSvg = svg; view.axis = axis; view.bars = [];
    for (const t of view.tasks) if (t.start !== null && t.thread) view.dirty.add(t.i);
  }

  function nodeClass(t) {
    let c = "node st-" + t.status;
    if (view.critical.has(t.i)) c += " critical";
    if (t.i === selected) c += " selected";
    return c;
  }

  function render() {
    renderQueued = false;
    if (!view) return;
    for (const i of view.dirty) {
      const t = view.tasks[i];
      const node = view.nodes[i];
      if (node) node.setAttribute("class", nodeClass(t));
      if (t.start !== null && t.thread && !view.bars[i]) {
        const bar = svgEl("rect", { "data-task": i, height: LANE_H - 6 });
        const title = svgEl("title", {});
        title.textContent = t.name;
        bar.appendChild(title);
        bar.setAttribute("y", laneIndex(t.thread) * LANE_H + 3);
        view.laneSvg.appendChild(bar);
        view.bars[i] = bar;
      }
      const bar = view.bars[i];
      if (bar) bar.setAttribute("class", "bar st-" + t.status + (view.critical.has(i) ? " critical" : ""));
      if (i === selected) showDetail(i);
    }
    if (view.critical.size) {
      for (const e of document.querySelectorAll("#graph .edge")) {
        const [, a, b] = e.id.split("-").map(Number);
        e.classList.toggle("critical", view.critical.has(a) && view.critical.has(b));
      }
    }
    view.dirty.clear();
    tick();
  }

  function queueRender() {
    if (!renderQueued) { renderQueued = true; requestAnimationFrame(render); }
  }

  function tick() {
    if (!view) return;
    const t = now();
    const counts = {};
    for (const s of STATUSES) counts[s] = 0;
    for (const task of view.tasks) counts[task.status]++;
    const total = view.tasks.length;
    const done = total - counts.pending - counts.running;
    const chips = STATUSES.filter((s) => counts[s]).map((s) => {
      const chip = document.createElement("span");
      chip.className = "count st-" + s;
      chip.dataset.status = s;
      chip.textContent = counts[s] + " " + s.replace("_", " ");
      return chip;
    });
    $("counts").replaceChildren(...chips);
    $("progress-bar").style.width = (total ? (100 * done) / total : 0) + "%";
    $("elapsed").textContent = t.toFixed(1) + "s";
    const running = !view.finished && view.live;
    $("cancel").disabled = !running;
    $("run").disabled = running;
    // bars: scale the whole run into the lane width
    const width = Math.max(($("lanes").clientWidth || 600) - LABEL_W - 10, 100);
    const span = Math.max(t, 0.001);
    for (const task of view.tasks) {
      const bar = view.bars[task.i];
      if (!bar) continue;
      const end = task.end !== null ? task.end : t;
      bar.setAttribute("x", (LABEL_W + (task.start / span) * width).toFixed(1));
      bar.setAttribute("width", Math.max(((end - task.start) / span) * width, 1).toFixed(1));
    }
    if (view.axis) view.axis.textContent = "0s \u2026 " + t.toFixed(2) + "s";
    const items = view.tasks.filter((x) => x.status === "running").slice(0, 50).map((x) => {
      const li = document.createElement("li");
      li.textContent = (t - x.start).toFixed(1) + "s  " + x.name;
      return li;
    });
    $("running").replaceChildren(...items);
  }

  function drawState() {
    const rows = Object.keys(view ? view.state : {}).map((k) => {
      const tr = document.createElement("tr");
      const a = document.createElement("td"), b = document.createElement("td");
      a.textContent = k; b.textContent = view.state[k];
      tr.append(a, b);
      return tr;
    });
    $("state").tBodies[0].replaceChildren(...rows);
  }

  // ---- detail ----------------------------------------------------------------------------
  function fmt(x) { return x === null || x === undefined ? "-" : Number(x).toFixed(3) + "s"; }

  function clearDetail() {
    $("d-title").textContent = "Click a task in the graph or a bar in the threads";
    $("d-fields").replaceChildren(); $("d-tb").textContent = ""; $("d-log").textContent = "";
  }

  function showDetail(i) {
    const t = view.tasks[i];
    const prev = selected;
    selected = i;
    if (prev !== i && prev >= 0 && view.nodes[prev]) view.nodes[prev].setAttribute("class", nodeClass(view.tasks[prev]));
    if (view.nodes[i]) view.nodes[i].setAttribute("class", nodeClass(t));
    $("d-title").textContent = t.name;
    const end = t.end !== null ? t.end : (t.start !== null ? now() : null);
    const fields = [
      ["status", t.status.replace("_", " ").toUpperCase()],
      ["thread", t.thread || "-"],
      ["started", fmt(t.start)],
      ["ended", fmt(t.end)],
      ["duration", t.start !== null && end !== null ? fmt(end - t.start) : "-"],
      ["attempts", t.start === null ? "0" : String(t.attempts || 1)],
      ["error", t.error ? t.error.type + ": " + t.error.message : "-"],
      ["reason", t.reason || "-"],
      ["depends on", view.preds[i].map((p) => view.names[p]).join(", ") || "-"],
      ["added by", t.parent === undefined ? "-" : (t.parent || "(the scheduler)")],
    ];
    $("d-fields").replaceChildren(...fields.flatMap(([k, v]) => {
      const dt = document.createElement("dt"), dd = document.createElement("dd");
      dt.textContent = k; dd.textContent = v; dd.dataset.field = k;
      return [dt, dd];
    }));
    $("d-tb").textContent = t.error ? t.error.traceback : "";
    $("d-log").textContent = t.log.join("\n");
  }

  function taskOf(target) {
    const el = target.closest("[data-task]");
    return el ? Number(el.getAttribute("data-task")) : -1;
  }

  // ---- server ----------------------------------------------------------------------------
  function message(text) { $("message").textContent = text || ""; }

  async function post(path, body) {
    const r = await fetch(path, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Token": XTOKEN },
      body: JSON.stringify(body),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error || r.status + " " + r.statusText);
    return data;
  }

  function connect() {
    if (source) source.close();
    source = new EventSource("/events?after=" + lastId);
    source.onmessage = (msg) => {
      if (mode !== "live") return;
      lastId = Number(msg.lastEventId) || lastId;
      for (const ev of JSON.parse(msg.data)) apply(ev);
      queueRender();
    };
  }

  function goLive() {
    mode = "live";
    $("mode").textContent = "live"; $("mode").className = "badge";
    $("live").hidden = true; $("trace").hidden = false;
    lastId = 0; view = null;
    connect();
    markHistory();
  }

  async function openRun(id) {
    const r = await fetch("/api/history/" + id, { credentials: "same-origin" });
    const data = await r.json();
    if (!r.ok) { message(data.error); return; }
    if (source) { source.close(); source = null; }
    mode = "history";
    $("mode").textContent = "history"; $("mode").className = "badge history";
    $("live").hidden = false; $("trace").hidden = true;
    for (const ev of data.events) apply(ev);
    render();
    markHistory();
  }

  function markHistory() {
    for (const b of document.querySelectorAll("#history button")) {
      b.classList.toggle("current", mode === "history" && view && Number(b.dataset.run) === view.historyId);
    }
  }

  async function loadHistory() {
    const r = await fetch("/api/history", { credentials: "same-origin" });
    if (!r.ok) return;
    const data = await r.json();
    $("history").replaceChildren(...data.runs.map((run) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button"; b.dataset.run = run.id;
      const when = new Date(run.started_at * 1000).toLocaleTimeString();
      let text = "#" + run.id + " " + when + " \u00b7 " + run.passed + " passed, " + run.failed + " failed, " +
        run.skipped + " skipped" + (run.cancelled ? ", " + run.cancelled + " cancelled" : "") +
        " \u00b7 " + run.duration.toFixed(2) + "s";
      if (run.rerun_of) text += " \u00b7 rerun of #" + run.rerun_of;
      b.textContent = text;
      b.addEventListener("click", () => openRun(run.id));
      li.appendChild(b);
      return li;
    }));
    markHistory();
  }

  function requestBody() {
    const state = {};
    for (const line of $("state-input").value.split("\n")) {
      const k = line.indexOf("=");
      if (k > 0) state[line.slice(0, k).trim()] = line.slice(k + 1);
    }
    const workers = parseInt($("workers").value, 10);
    return {
      workers: Number.isFinite(workers) ? workers : null,
      tags: $("tags").value, keyword: $("keyword").value, marker: $("marker").value, state,
    };
  }

  async function startRun(extra) {
    message("");
    try {
      if (mode !== "live") goLive();
      await post("/api/run", Object.assign(requestBody(), extra || {}));
      connect();
    } catch (err) { message(err.message); }
  }

  async function init() {
    $("run").addEventListener("click", () => startRun());
    $("rerun").addEventListener("click", () => {
      if (!view || !view.historyId) { message("no recorded run to rerun yet"); return; }
      startRun({ rerun_of: view.historyId });
    });
    $("cancel").addEventListener("click", async () => {
      try { await post("/api/cancel", {}); } catch (err) { message(err.message); }
    });
    $("only-failed").addEventListener("change", (e) => document.body.classList.toggle("only-failed", e.target.checked));
    $("live").addEventListener("click", goLive);
    $("graph").addEventListener("click", (e) => { const i = taskOf(e.target); if (i >= 0 && view) showDetail(i); });
    $("lanes").addEventListener("click", (e) => { const i = taskOf(e.target); if (i >= 0 && view) showDetail(i); });
    setInterval(() => { if (view && !view.finished) tick(); }, 250);
    const r = await fetch("/api/config", { credentials: "same-origin" });
    const config = await r.json();
    if (r.ok) {
      if (config.workers) $("workers").value = config.workers;
      $("tags").value = config.tags || ""; $("keyword").value = config.keyword || ""; $("marker").value = config.marker || "";
      if (!view) { view = null; const s = config.state; drawConfigState(s); }
    } else message(config.error);
    connect();
    loadHistory();
  }

  function drawConfigState(state) {
    const rows = Object.keys(state).map((k) => {
      const tr = document.createElement("tr");
      const a = document.createElement("td"), b = document.createElement("td");
      a.textContent = k; b.textContent = state[k];
      tr.append(a, b);
      return tr;
    });
    $("state").tBodies[0].replaceChildren(...rows);
  }

  init();
})();
