/**
 * The dashboard: one self-contained HTML page (no external scripts, styles or fonts)
 * fed by the `/events` stream. One tile per pattern instance, in the spirit of the
 * Hystrix dashboard: state, request rate, error rate, rejections and queue depth, each
 * with a chart of the last minutes drawn as inline SVG.
 */

/** @internal */
export interface PageConfig {
  readonly title: string
  /** Where the page opens its EventSource, relative to the page. */
  readonly events: string
  /** The span of each chart, in milliseconds. */
  readonly historyMillis: number
}

const escapeHtml = (text: string): string =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;")

// JSON inside <script> must not be able to close the element.
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, "\\u003c")

const style = `
:root {
  --bg: #f4f5f7; --card: #fff; --ink: #1d2330; --muted: #687083; --line: #dfe2e8;
  --ok: #2e7d32; --warn: #c77700; --bad: #c62828; --iso: #7b1fa2; --off: #8a8f98;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); }
header { display: flex; align-items: center; gap: 1rem; padding: .75rem 1.25rem; background: var(--card);
  border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 1; }
header h1 { font-size: 1.1rem; margin: 0; font-weight: 600; }
.badge { display: inline-block; padding: .15rem .55rem; border-radius: 999px; font-size: .75rem; font-weight: 600;
  color: #fff; background: var(--off); text-transform: uppercase; letter-spacing: .03em; }
.badge.healthy, .badge.Closed { background: var(--ok); }
.badge.degraded, .badge.HalfOpen { background: var(--warn); }
.badge.unhealthy, .badge.Open { background: var(--bad); }
.badge.Isolated { background: var(--iso); }
#connection { margin-left: auto; font-size: .8rem; color: var(--muted); }
#connection.down { color: var(--bad); font-weight: 600; }
#overall-reasons { margin: 0; padding: .5rem 1.25rem 0; color: var(--bad); font-size: .85rem; list-style: none; }
main { padding: 1rem 1.25rem; }
#grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 1rem; }
#empty { color: var(--muted); }
.tile { background: var(--card); border: 1px solid var(--line); border-left: 6px solid var(--ok);
  border-radius: 8px; padding: .75rem .9rem; }
.tile.degraded { border-left-color: var(--warn); }
.tile.unhealthy { border-left-color: var(--bad); }
.tile.changed { animation: flash 1.2s ease-out 3; }
@keyframes flash { 0% { box-shadow: 0 0 0 4px rgba(198, 40, 40, .55); } 100% { box-shadow: 0 0 0 0 rgba(198, 40, 40, 0); } }
.tile-head { display: flex; align-items: baseline; gap: .5rem; }
.tile-kind { font-size: .7rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); }
.tile-head .badge { margin-left: auto; }
.tile-name { font-size: 1rem; font-weight: 600; margin: .1rem 0 .5rem; overflow-wrap: anywhere; }
.cells { display: grid; grid-template-columns: 1fr 1fr; gap: .5rem .9rem; }
.cell-label { font-size: .7rem; color: var(--muted); }
.cell-value { font-size: 1.05rem; font-variant-numeric: tabular-nums; font-weight: 600; }
.cell svg { display: block; width: 100%; height: 30px; }
.cell polyline { fill: none; stroke: #3f6fd8; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.cell.err polyline { stroke: var(--bad); }
.cell.rej polyline { stroke: var(--warn); }
.cell.queue polyline { stroke: var(--iso); }
.tile-reasons { margin: .5rem 0 0; padding: 0; list-style: none; font-size: .8rem; color: var(--bad); }
.tile-change { margin-top: .4rem; font-size: .75rem; color: var(--muted); }
.tile-change.recent { color: var(--bad); font-weight: 600; }
section#events { margin-top: 1.5rem; }
section#events h2 { font-size: .95rem; margin: 0 0 .4rem; }
table { width: 100%; border-collapse: collapse; background: var(--card); font-size: .8rem; }
td, th { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.details { font-family: ui-monospace, monospace; color: var(--muted); overflow-wrap: anywhere; }
tr.state-change { background: #fdecea; font-weight: 600; }
`

// Plain browser JavaScript; it builds every element with textContent, so names and
// reasons from the server are never parsed as HTML.
const script = `
"use strict";
const config = JSON.parse(document.getElementById("config").textContent);
const grid = document.getElementById("grid");
const empty = document.getElementById("empty");
const overall = document.getElementById("overall");
const overallReasons = document.getElementById("overall-reasons");
const connection = document.getElementById("connection");
const eventRows = document.getElementById("event-rows");
const views = new Map();
const maxEvents = 100;
const series = [
  { id: "req", label: "requests/s", format: (v) => v.toFixed(1) },
  { id: "err", label: "error rate", format: (v) => v.toFixed(1) + "%" },
  { id: "rej", label: "rejections/s", format: (v) => v.toFixed(1) },
  { id: "queue", label: "queue depth", format: (v) => String(Math.round(v)) }
];

const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};
const svgNs = "http://www.w3.org/2000/svg";
const clock = (millis) => new Date(millis).toLocaleTimeString();

function createView(tile) {
  const root = el("article", "tile");
  root.dataset.tile = tile.kind + "/" + tile.name;
  root.setAttribute("aria-label", tile.kind + " " + tile.name);
  const head = el("div", "tile-head");
  head.append(el("span", "tile-kind", tile.kind));
  const state = el("span", "badge state");
  head.append(state);
  root.append(head, el("div", "tile-name", tile.name));
  const cells = el("div", "cells");
  const cellViews = {};
  for (const s of series) {
    const cell = el("div", "cell " + s.id);
    cell.dataset.series = s.id;
    const value = el("div", "cell-value", "–");
    const svg = document.createElementNS(svgNs, "svg");
    svg.setAttribute("viewBox", "0 0 100 30");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", s.label + " over the last minutes");
    const line = document.createElementNS(svgNs, "polyline");
    svg.append(line);
    cell.append(el("div", "cell-label", s.label), value, svg);
    cells.append(cell);
    cellViews[s.id] = { value, line, points: [] };
  }
  const reasons = el("ul", "tile-reasons");
  const change = el("div", "tile-change");
  root.append(cells, reasons, change);
  grid.append(root);
  return { root, state, reasons, change, cells: cellViews, previous: null, currentState: undefined };
}

function setState(view, state, at) {
  const shown = state ?? "";
  if (view.currentState !== undefined && view.currentState !== shown) {
    view.root.classList.remove("changed");
    void view.root.offsetWidth;
    view.root.classList.add("changed");
    view.change.textContent = (view.currentState || "–") + " → " + (shown || "–") + " at " + clock(at);
    view.change.classList.add("recent");
    view.changedAt = at;
  }
  view.currentState = shown;
  view.root.dataset.state = shown;
  view.state.textContent = shown || "";
  view.state.hidden = shown === "";
  view.state.className = "badge state " + shown;
}

// The x axis spans the history window, or less while the page has seen less, so that
// a freshly opened page draws a full-width chart.
function draw(cell, now, format) {
  cell.points = cell.points.filter((p) => p[0] >= now - config.historyMillis);
  const from = cell.points.length > 0 ? cell.points[0][0] : now;
  const span = Math.max(1, now - from);
  const max = Math.max(1, ...cell.points.map((p) => p[1]));
  cell.line.setAttribute(
    "points",
    cell.points.map((p) => ((p[0] - from) / span * 100).toFixed(2) + "," + (29 - p[1] / max * 27).toFixed(2)).join(" ")
  );
  const last = cell.points[cell.points.length - 1];
  cell.value.textContent = last === undefined ? "–" : format(last[1]);
}

function update(view, tile, now) {
  const previous = view.previous;
  if (previous !== null && now > previous.at) {
    const seconds = (now - previous.at) / 1000;
    const requests = Math.max(0, tile.requests - previous.requests);
    const failures = Math.max(0, tile.failures - previous.failures);
    view.cells.req.points.push([now, requests / seconds]);
    view.cells.err.points.push([now, requests > 0 ? Math.min(100, failures / requests * 100) : 0]);
    view.cells.rej.points.push([now, Math.max(0, tile.rejections - previous.rejections) / seconds]);
  }
  view.cells.queue.points.push([now, tile.queued ?? 0]);
  view.previous = { at: now, requests: tile.requests, failures: tile.failures, rejections: tile.rejections };
  for (const s of series) draw(view.cells[s.id], now, s.format);
  setState(view, tile.state ?? (tile.kind === "CircuitBreaker" ? null : tile.status), now);
  view.root.classList.remove("healthy", "degraded", "unhealthy");
  view.root.classList.add(tile.status);
  view.root.dataset.status = tile.status;
  view.reasons.replaceChildren(...tile.reasons.map((r) => el("li", "", r)));
  if (view.changedAt !== undefined && now - view.changedAt > 60000) view.change.classList.remove("recent");
}

function onSnapshot(snapshot) {
  overall.textContent = snapshot.status;
  overall.className = "badge " + snapshot.status;
  overallReasons.replaceChildren(...snapshot.reasons.map((r) => el("li", "", r)));
  const seen = new Set();
  for (const tile of snapshot.tiles) {
    const key = tile.kind + "/" + tile.name;
    seen.add(key);
    let view = views.get(key);
    if (view === undefined) {
      view = createView(tile);
      views.set(key, view);
    }
    update(view, tile, snapshot.timestamp);
  }
  for (const [key, view] of views) {
    if (!seen.has(key)) {
      view.root.remove();
      views.delete(key);
    }
  }
  empty.hidden = views.size > 0;
  connection.textContent = "updated " + clock(snapshot.timestamp);
}

function onPatternEvent(event) {
  const isStateChange = event._tag === "StateChanged";
  const row = el("tr", isStateChange ? "state-change" : "");
  const { _tag, pattern, name, timestamp, ...details } = event;
  row.append(
    el("td", "", clock(timestamp)),
    el("td", "", pattern),
    el("td", "", name),
    el("td", "", _tag),
    el("td", "details", JSON.stringify(details))
  );
  eventRows.prepend(row);
  while (eventRows.children.length > maxEvents) eventRows.lastElementChild.remove();
  if (isStateChange && typeof event.to === "string") {
    const view = views.get(pattern + "/" + name);
    if (view !== undefined) setState(view, event.to, timestamp);
  }
}

const source = new EventSource(config.events);
source.addEventListener("snapshot", (e) => onSnapshot(JSON.parse(e.data)));
source.addEventListener("pattern", (e) => onPatternEvent(JSON.parse(e.data)));
source.addEventListener("open", () => connection.classList.remove("down"));
source.addEventListener("error", () => {
  connection.classList.add("down");
  connection.textContent = "disconnected, retrying…";
});
`

/**
 * Renders the page.
 *
 * @internal
 */
export const render = (config: PageConfig): string =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(config.title)}</title>
<style>${style}</style>
</head>
<body>
<header>
  <h1>${escapeHtml(config.title)}</h1>
  <span id="overall" class="badge">connecting</span>
  <span id="connection">connecting…</span>
</header>
<ul id="overall-reasons"></ul>
<main>
  <p id="empty">No pattern instance is registered yet.</p>
  <div id="grid"></div>
  <section id="events">
    <h2>Recent events</h2>
    <table>
      <thead><tr><th>time</th><th>pattern</th><th>name</th><th>event</th><th>details</th></tr></thead>
      <tbody id="event-rows"></tbody>
    </table>
  </section>
</main>
<script type="application/json" id="config">${scriptJson(config)}</script>
<script>${script}</script>
</body>
</html>
`
