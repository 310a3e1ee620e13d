// The athlete dashboard's shared parts: the API client, the catalog, element and number
// helpers, the chart frame (uPlot, vendored). The views are in chart.js (the PMC and form),
// insight.js (bests, estimates, weekly totals), activities.js (the list and one activity),
// account.js (thresholds, sync, import, export, disconnect); app.js routes between them.
"use strict";

const $ = (sel) => document.querySelector(sel);
const DAY = 86400;
// What the page shows without computing it (peak windows and their labels, score
// sources, sport groups, the pace cut-off) comes from /api/catalog, loaded first.
let catalog = null;
const COLORS = { ctl: "#1f6feb", atl: "#d1242f", tsb: "#1a7f37", load: "#c8ced3", watts: "#8250df", hr: "#d1242f", speed: "#1f6feb" };
// Form bands of TSB, shaded behind the PMC (the values come from /api/form).
const ZONE_COLORS = { transition: "rgba(130, 80, 223, 0.10)", fresh: "rgba(31, 111, 235, 0.10)", neutral: "rgba(140, 149, 159, 0.10)", optimal: "rgba(26, 127, 55, 0.12)", high_risk: "rgba(209, 36, 47, 0.14)" };
const charts = {};
let me = null;
let formInfo = null;
let nextCursor = null;
// The history import a new connection started (`/?connected=<its id>`): the welcome banner
// stays until it has run.
let connectedImport = Infinity;

async function api(path, options) {
  const resp = await fetch(path, Object.assign({ credentials: "same-origin" }, options));
  if (resp.status === 401) {
    // Expired, or no longer connected: clear the cookie (else "/" would show this page again).
    location.assign("/logout");
    throw new Error("signed out");
  }
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    // A spent ration (429) says when to come back, once.
    const wait = body.retry_after_s ? ` Try again in ${waitText(body.retry_after_s)}.` : "";
    const error = new Error((body.error || `The site answered ${resp.status}.`) + wait);
    error.field = body.field;
    throw error;
  }
  return body;
}

function waitText(s) {
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 3600)} h`;
}

function send(method, path, value) {
  return api(path, { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(value) });
}

function showError(e) {
  const el = $("#error");
  el.textContent = `Something went wrong: ${e.message}`;
  el.hidden = false;
}

const text = (s) => document.createTextNode(s == null ? "" : String(s));
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c instanceof Node ? c : text(c));
  return node;
}

// Seconds as h:mm:ss or m:ss, rounded to the second first (239.99 s is 4:00, not 3:60).
function duration(s) {
  if (s == null) return "–";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}` : `${m}:${String(sec).padStart(2, "0")}`;
}
const paceOf = (speed) => (speed > 0.3 ? duration(1000 / speed) : "–");
const when = (unix) => (unix ? new Date(unix * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "never");
const dateToUnix = (d) => Date.parse(`${d}T00:00:00Z`) / 1000;
const unixToDate = (t) => new Date(t * 1000).toISOString().slice(0, 10);
const isRun = (sport) => catalog.sport_groups.run.includes(sport);
const sourceName = (source) => (catalog.score_sources.find((s) => s.source === source) || { name: source }).name;
function windowLabel(w) {
  const known = catalog.peak_windows.find((p) => p.seconds === w);
  return known ? known.label : `${w}s`;
}

async function loadCatalog() {
  catalog = await api("/api/catalog");
}
// Numbers as the page shows them: one minus sign (U+2212) throughout; `signed` also gives
// positive values their plus (a change, a form value).
const num = (v, digits) => v.toFixed(digits).replace("-", "\u2212");
const signed = (v, digits) => (v > 0 ? "+" : "") + num(v, digits);
const fixed = (digits) => (u, v) => (v == null ? "–" : num(v, digits));

function chartWidth(container) {
  return Math.max(280, container.clientWidth || container.parentElement.clientWidth - 40);
}

function chartHeight(container) {
  if (container.classList.contains("tiny")) return 180;
  return container.classList.contains("small") ? 240 : 320;
}

function draw(name, container, opts, data) {
  clearChart(name, container, "");
  charts[name] = new uPlot(Object.assign({ width: chartWidth(container), height: chartHeight(container) }, opts), data, container);
  return charts[name];
}

// A chart taken down (and forgotten, so a resize never reaches for it), `text` in its place.
function clearChart(name, container, text) {
  if (charts[name]) {
    charts[name].destroy();
    delete charts[name];
  }
  container.textContent = text;
}

// Every chart on the page fitted to its container again (a resize, a view shown again).
function resizeCharts() {
  for (const c of Object.values(charts)) {
    const container = c.root.parentElement;
    if (container && container.offsetParent) c.setSize({ width: chartWidth(container), height: chartHeight(container) });
  }
}

// Tables read as lists on a phone: each cell carries its column's name.
function labelCells(table) {
  const names = [...table.querySelectorAll("thead th")].map((th) => th.textContent);
  for (const row of table.tBodies[0].rows) {
    [...row.cells].forEach((cell, i) => cell.setAttribute("data-label", names[i] || ""));
  }
}
