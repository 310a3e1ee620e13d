// The athlete dashboard: reads the JSON routes under /api and draws with uPlot (vendored).
// Views: the dashboard (#) and one activity (#/activity/<id>).
"use strict";

const $ = (sel) => document.querySelector(sel);
const DAY = 86400;
const PEAK_LABELS = { 5: "5s", 15: "15s", 30: "30s", 60: "1m", 300: "5m", 600: "10m", 1200: "20m", 1800: "30m", 3600: "1h" };
const SOURCE_NAMES = { power: "TSS (power)", pace: "rTSS (pace)", heartrate: "hrTSS (heart rate)", none: "no score" };
const COLORS = { ctl: "#1f6feb", atl: "#d1242f", tsb: "#1a7f37", load: "#c8ced3", watts: "#8250df", hr: "#d1242f", speed: "#1f6feb" };
// Form bands of TSB, shaded behind the PMC (the values come from /api/form).
const ZONE_COLORS = { transition: "rgba(130, 80, 223, 0.10)", fresh: "rgba(31, 111, 235, 0.10)", neutral: "rgba(140, 149, 159, 0.10)", optimal: "rgba(26, 127, 55, 0.12)", high_risk: "rgba(209, 36, 47, 0.14)" };
const charts = {};
let me = null;
let formInfo = null;
let nextCursor = null;

async function api(path, options) {
  const resp = await fetch(path, Object.assign({ credentials: "same-origin" }, options));
  if (resp.status === 401) {
    // Expired, or no longer connected: clear the cookie (else "/" would show this page again).
    location.assign("/logout");
    throw new Error("signed out");
  }
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    // A spent ration (429) says when to come back.
    const wait = body.retry_after_s ? ` (try again in ${waitText(body.retry_after_s)})` : "";
    throw new Error((body.error || `${resp.status}`) + wait);
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

function duration(s) {
  if (s == null) return "–";
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = Math.round(s % 60);
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}` : `${m}:${String(sec).padStart(2, "0")}`;
}
const paceOf = (speed) => (speed > 0.3 ? duration(1000 / speed) : "–");
const when = (unix) => (unix ? new Date(unix * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "never");
const dateToUnix = (d) => Date.parse(`${d}T00:00:00Z`) / 1000;
const unixToDate = (t) => new Date(t * 1000).toISOString().slice(0, 10);
const isRun = (sport) => ["Run", "TrailRun", "VirtualRun"].includes(sport);
const fixed = (digits) => (u, v) => (v == null ? "–" : v.toFixed(digits));

function chartWidth(container) {
  return Math.max(280, container.clientWidth || container.parentElement.clientWidth - 40);
}

function draw(name, container, opts, data) {
  if (charts[name]) charts[name].destroy();
  container.textContent = "";
  charts[name] = new uPlot(Object.assign({ width: chartWidth(container), height: container.classList.contains("small") ? 240 : 320 }, opts), data, container);
  return charts[name];
}

// ---- dashboard ----

async function loadMe() {
  me = await api("/api/me");
  const name = [me.firstname, me.lastname].filter(Boolean).join(" ");
  $("#who").textContent = name || `athlete ${me.athlete_id}`;
  const t = me.thresholds;
  const form = $("#thresholds");
  for (const k of ["ftp", "lthr", "hr_max", "hr_rest"]) form.elements[k].value = t[k] == null ? "" : Math.round(t[k]);
  form.elements.pace.value = t.threshold_speed ? duration(1000 / t.threshold_speed) : "";
  renderSync(me.sync);
}

function renderSync(s) {
  const b = s.backfill;
  let history = "none requested";
  const kind = b && b.refresh ? "re-sync " : "";
  if (b && b.running) history = `${kind}running: ${b.done}${b.most_recent ? ` of ${b.most_recent}` : ""} activities`;
  else if (b && b.finished_at) history = `${kind}finished ${when(b.finished_at)} (${b.done} activities)`;
  else if (b) history = `stalled after ${b.done} activities`;
  const rows = [
    ["Activities stored", s.activities_stored],
    ["Waiting for streams", s.pending_streams],
    ["Last activity event", when(s.last_event_at)],
    ["Last history sync", when(s.last_sync)],
    ["History import", history],
  ];
  $("#sync").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

function rangeFrom(days) {
  const today = new Date().toISOString().slice(0, 10);
  const span = days === "all" ? 10950 : Number(days);
  return { from: unixToDate(dateToUnix(today) - span * DAY), to: today };
}

async function loadPmc(days) {
  const { from, to } = rangeFrom(days);
  const pmc = await api(`/api/pmc?from=${from}&to=${to}`);
  const rows = pmc.rows;
  const data = [
    rows.map((r) => dateToUnix(r.date)),
    rows.map((r) => r.ctl),
    rows.map((r) => r.atl),
    rows.map((r) => r.tsb),
    rows.map((r) => r.load),
  ];
  const container = $("#pmc-chart");
  if (rows.length === 0) {
    container.textContent = "No training load yet: activities appear here once they are imported and scored.";
    return;
  }
  draw("pmc", container, {
    hooks: { drawClear: [drawBands] },
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    cursor: { points: { size: 6 } },
    scales: { x: { time: true } },
    axes: [{}, { label: "load / CTL / ATL / TSB", labelSize: 18 }],
    series: [
      { label: "Date", value: (u, t) => (t == null ? "–" : unixToDate(t)) },
      { label: "CTL (fitness)", stroke: COLORS.ctl, width: 2, value: fixed(1) },
      { label: "ATL (fatigue)", stroke: COLORS.atl, width: 2, value: fixed(1) },
      { label: "TSB (form)", stroke: COLORS.tsb, width: 2, dash: [6, 4], value: fixed(1) },
      { label: "Load", stroke: COLORS.load, fill: COLORS.load, width: 0, value: fixed(0), paths: uPlot.paths.bars({ size: [0.7, 12] }), points: { show: false } },
    ],
  }, data);
  container.dataset.rows = String(rows.length);
  if (window.firstChartMs == null) {
    window.firstChartMs = performance.now();
    document.body.dataset.pmcReady = "1";
  }
}

// The TSB bands on the PMC's value scale, each labelled at the right edge; the chart's
// `data-bands` names the bands in view (after each draw).
function drawBands(u) {
  if (!formInfo) return;
  const ctx = u.ctx, { left, width } = u.bbox;
  const [lo, hi] = [u.scales.y.min, u.scales.y.max];
  const drawn = [];
  ctx.save();
  ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
  ctx.textAlign = "right";
  for (const z of formInfo.zones) {
    const from = Math.max(z.lower == null ? lo : z.lower, lo), to = Math.min(z.upper == null ? hi : z.upper, hi);
    if (!(to > from)) continue;
    const y0 = u.valToPos(to, "y", true), y1 = u.valToPos(from, "y", true);
    ctx.fillStyle = ZONE_COLORS[z.key];
    ctx.fillRect(left, y0, width, y1 - y0);
    if (y1 - y0 > 14 * devicePixelRatio) {
      ctx.fillStyle = "rgba(29, 35, 39, 0.55)";
      ctx.fillText(z.label, left + width - 6, y0 + 13 * devicePixelRatio);
    }
    drawn.push(z.key);
  }
  ctx.restore();
  u.root.parentElement.dataset.bands = drawn.join(",");
}

async function loadForm() {
  formInfo = await api("/api/form");
  $("#form-zones").replaceChildren(...formInfo.zones.map((z) => {
    const range = z.lower == null ? `below ${z.upper}` : z.upper == null ? `above +${z.lower}` : `${z.lower > 0 ? "+" : ""}${z.lower} to ${z.upper > 0 ? "+" : ""}${z.upper}`;
    return el("li", { style: `--swatch:${ZONE_COLORS[z.key].replace(/0\.1\d?\)/, "0.45)")}`, "data-zone": z.key, title: z.meaning }, `${z.label} (${range})`);
  }));
  const f = formInfo.form;
  const now = $("#form-now");
  const banner = $("#form-banner");
  if (!f) {
    now.textContent = "";
    banner.hidden = true;
    return;
  }
  const ramp = f.ramp.ctl_change;
  now.replaceChildren(
    el("span", {}, "Form today: TSB ", el("strong", { id: "form-tsb" }, f.tsb.toFixed(1)), " · ", el("span", { class: "zone-name", id: "form-zone", "data-zone": f.zone.key }, f.zone.label)),
    el("span", {}, `CTL ${f.ctl.toFixed(1)} `, el("span", { id: "form-ramp" }, `(${ramp >= 0 ? "+" : "−"}${Math.abs(ramp).toFixed(1)} in ${f.ramp.days} days)`)),
    ...(f.ramp.note ? [el("span", { class: "note", id: "ramp-note" }, f.ramp.note)] : []));
  if (f.overreaching) {
    const o = f.overreaching;
    banner.textContent = `Since ${o.since} (${o.days} days) your form has been below ${formInfo.overreaching_below}. ${o.message}`;
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

// ---- season bests, estimated thresholds ----

function windowLabel(w) {
  return PEAK_LABELS[w] || `${w}s`;
}

// A curve of best means, one column per window, equally spaced (5 s … 1 h), labelled by
// the window: an activity's peaks and the season's bests.
function drawPeakCurve(name, container, windows, values, { windowName, label, fmt, reversed = false, unit }) {
  const index = windows.map((_, i) => i);
  const at = (i) => (windows[i] == null ? "" : windowLabel(windows[i]));
  const yAxis = { values: (u, ticks) => ticks.map((t) => fmt(u, t)) };
  if (unit) Object.assign(yAxis, { label: unit, labelSize: 18 });
  draw(name, container, {
    scales: { x: { time: false, range: [-0.3, windows.length - 0.7] }, y: reversed ? { dir: -1 } : {} },
    axes: [{ splits: () => index, values: (u, ticks) => ticks.map((t) => at(Math.round(t))), space: 10 }, yAxis],
    series: [{ label: windowName, value: (u, i) => (i == null ? "–" : at(i)) }, { label, stroke: COLORS.watts, width: 2, value: fmt }],
  }, [index, values]);
}

function bestCell(b, show) {
  return el("td", { class: "num" }, b ? show(b.value) : "–");
}

function fromCell(b) {
  if (!b) return el("td", {});
  return el("td", {}, `${b.date} ${b.name || ""} `, el("a", { class: "view-on-strava", href: b.strava_url, target: "_blank", rel: "noopener" }, "View on Strava"));
}

async function loadBests(range) {
  const r = await api(`/api/bests?range=${encodeURIComponent(range)}`);
  const b = r.bests;
  const body = $("#bests tbody");
  body.replaceChildren(...r.windows.map((w, i) => {
    const power = b.power[i], hr = b.heartrate[i], pace = b.pace[i];
    return el("tr", { "data-window": String(w) },
      el("td", {}, windowLabel(w)),
      bestCell(power, (v) => `${v.toFixed(0)} W`), fromCell(power),
      bestCell(hr, (v) => `${v.toFixed(0)} bpm`), fromCell(hr),
      bestCell(pace, (v) => `${paceOf(v)} /km`), fromCell(pace));
  }));
  const container = $("#bests-chart");
  const power = b.power.filter(Boolean);
  if (power.length === 0) {
    if (charts.bests) { charts.bests.destroy(); delete charts.bests; }
    container.textContent = "No power in this range.";
  } else {
    drawPeakCurve("bests", container, power.map((x) => x.window_s), power.map((x) => x.value), { windowName: "Duration", label: "Best power (W)", fmt: fixed(0), unit: "W" });
  }
  container.dataset.points = String(power.length);
  renderEstimates(r.estimates);
}

function renderEstimates(e) {
  const box = $("#estimates");
  const cards = [];
  const one = (id, title, est, show, body) => {
    if (!est) return el("div", { class: "estimate", id }, el("div", {}, title), el("p", { class: "hint" }, "No effort long enough in the last 90 days."));
    const stored = est.stored == null ? "none stored" : `stored ${show(est.stored)}`;
    const change = est.change == null ? "" : ` (${est.change >= 0 ? "+" : "−"}${Math.abs(est.change * 100).toFixed(1)} %)`;
    const parts = [
      el("div", {}, title),
      el("div", { class: "value" }, show(est.value)),
      el("div", {}, `${stored}${change}`),
      el("div", {}, `from ${est.from.date} ${est.from.name || ""} `, el("a", { class: "view-on-strava", href: est.from.strava_url, target: "_blank", rel: "noopener" }, "View on Strava")),
    ];
    if (est.suggest) {
      const button = el("button", { type: "button", class: "use" }, `Use ${show(est.value)}`);
      button.addEventListener("click", () => applyThresholds(body(est.value), button).catch(showError));
      parts.push(button);
    }
    parts.push(el("p", { class: "hint definition" }, est.definition));
    return el("div", { class: "estimate", id }, ...parts);
  };
  cards.push(one("eftp", "Estimated FTP", e.ftp, (v) => `${Math.round(v)} W`, (v) => ({ ftp: v })));
  cards.push(one("epace", "Estimated threshold pace", e.threshold_speed, (v) => `${paceOf(v)} /km`, (v) => ({ threshold_speed: v })));
  box.replaceChildren(...cards);
}

// A threshold change: the API enqueues it, the consumer stores it and rescores
// (followRescore waits for both).
async function saveThresholds(body) {
  await send("PUT", "/api/me/thresholds", body);
  $("#thresholds-status").textContent = "Saved. Rescoring your activities…";
}

async function applyThresholds(body, button) {
  button.disabled = true;
  await saveThresholds(body);
  button.textContent = "Rescoring…";
  await followRescore(body);
}

// ---- weekly totals ----

async function loadWeeks() {
  const r = await api("/api/weeks");
  const weeks = r.weeks;
  $("#weeks tbody").replaceChildren(...weeks.slice().reverse().map((w) => el("tr", { "data-week": w.start },
    el("td", {}, w.start),
    el("td", { class: "num" }, w.total.load.toFixed(1)),
    el("td", { class: "num" }, duration(w.total.moving_time_s)),
    el("td", { class: "num" }, `${(w.total.distance_m / 1000).toFixed(1)} km`),
    el("td", { class: "num" }, String(w.total.count)),
    el("td", { class: "src" }, Object.entries(w.sports).map(([s, t]) => `${s} ${t.count}× ${t.load.toFixed(0)}`).join(", ")))));
  const data = [weeks.map((w) => dateToUnix(w.start)), weeks.map((w) => w.total.load)];
  draw("weeks", $("#weeks-chart"), {
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true, range: (u, min, max) => [min - 4 * DAY, max + 4 * DAY] } },
    axes: [{}, { label: "load", labelSize: 18 }],
    series: [
      { label: "Week of", value: (u, t) => (t == null ? "–" : unixToDate(t)) },
      { label: "Load", stroke: COLORS.ctl, fill: "rgba(31, 111, 235, 0.35)", width: 0, value: fixed(0), paths: uPlot.paths.bars({ size: [0.6, 40] }), points: { show: false } },
    ],
  }, data);
}

function selectedBestsRange() {
  const on = document.querySelector("#bests-ranges button.on");
  return on ? on.dataset.range : "90d";
}

function activityRow(a) {
  const score = a.score == null ? "–" : a.score.toFixed(1);
  const source = a.score_source ? SOURCE_NAMES[a.score_source] : a.unscored || "";
  const tr = el("tr", { "data-id": String(a.id) },
    el("td", {}, a.date),
    el("td", {}, el("a", { href: `#/activity/${a.id}` }, a.name || "(untitled)")),
    el("td", {}, a.sport_type || ""),
    el("td", { class: "num" }, duration(a.moving_time_s)),
    el("td", { class: "num score" }, score),
    el("td", { class: "src" }, source),
    el("td", {}, el("a", { class: "view-on-strava", href: a.strava_url, target: "_blank", rel: "noopener" }, "View on Strava")));
  tr.addEventListener("click", (e) => {
    if (e.target.tagName !== "A") location.hash = `#/activity/${a.id}`;
  });
  return tr;
}

async function loadActivities(append) {
  const query = append && nextCursor ? `?before=${encodeURIComponent(nextCursor)}` : "";
  const page = await api(`/api/activities${query}`);
  const body = $("#activities tbody");
  const rows = page.activities.map(activityRow);
  if (append) body.append(...rows); else body.replaceChildren(...rows);
  nextCursor = page.next;
  $("#more").hidden = !page.next;
  return page.activities;
}

function selectedRange() {
  const on = document.querySelector("#ranges button.on");
  return on ? on.dataset.days : "91";
}

async function refresh() {
  // The bands are drawn from the form's zones: the form first, then the chart.
  await Promise.all([loadMe(), loadForm().then(() => loadPmc(selectedRange())), loadActivities(false), loadBests(selectedBestsRange()), loadWeeks()]);
}

function thresholdsBody(form) {
  const body = {};
  for (const k of ["ftp", "lthr", "hr_max", "hr_rest"]) {
    if (form.elements[k].value !== "") body[k] = Number(form.elements[k].value);
  }
  const pace = form.elements.pace.value.trim();
  if (pace) {
    const [m, s] = pace.split(":").map(Number);
    const seconds = m * 60 + (s || 0);
    if (!(seconds > 0)) throw new Error("threshold pace: use min:s per km, like 5:03");
    body.threshold_speed = Math.round((1000 / seconds) * 1000) / 1000;
  }
  return body;
}

// After a change the consumer stores the thresholds, then rescores every activity: poll
// /api/me until both are done, then reload the list and the chart.
async function followRescore(expected) {
  const status = $("#thresholds-status");
  for (let i = 0; i < 120; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await api("/api/me");
    const stored = Object.entries(expected).every(([k, v]) => Math.abs((now.thresholds[k] || 0) - v) < 1e-6);
    if (stored && !now.sync.rescore_pending) {
      await refresh();
      status.textContent = "Rescored: the scores below use the new thresholds (the chart follows at the next rollup).";
      document.body.dataset.rescored = String(Number(document.body.dataset.rescored || 0) + 1);
      return;
    }
  }
  status.textContent = "Still rescoring; reload the page in a minute.";
}

// An import runs on the consumer's background lane: poll /api/me for its progress (the
// sync card shows it) until it has finished (a finished import other than `previous`,
// the one shown when it was asked for), then reload what it may have changed.
async function followImport(previous) {
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    await loadMe();
    const b = me.sync.backfill;
    if (b && b.finished_at && JSON.stringify(b) !== previous) {
      await refresh();
      return;
    }
  }
}

function wireDashboard() {
  for (const b of document.querySelectorAll("#ranges button")) {
    b.addEventListener("click", () => {
      document.querySelectorAll("#ranges button").forEach((x) => x.classList.toggle("on", x === b));
      loadPmc(b.dataset.days).catch(showError);
    });
  }
  for (const b of document.querySelectorAll("#bests-ranges button")) {
    b.addEventListener("click", () => {
      document.querySelectorAll("#bests-ranges button").forEach((x) => x.classList.toggle("on", x === b));
      loadBests(b.dataset.range).catch(showError);
    });
  }
  $("#more").addEventListener("click", () => loadActivities(true).catch(showError));
  $("#thresholds").addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = $("#thresholds-status");
    try {
      const body = thresholdsBody(e.target);
      await saveThresholds(body);
      followRescore(body).catch(showError);
    } catch (err) {
      status.textContent = err.message;
    }
  });
  $("#backfill").addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = $("#backfill-status");
    try {
      const refresh = e.target.elements.refresh.checked;
      const previous = JSON.stringify(me && me.sync.backfill);
      await send("POST", "/api/backfill", { count: Number(e.target.elements.count.value), refresh });
      status.textContent = refresh ? "Re-sync started: stored activities are fetched again and rescored." : "Import started.";
      followImport(previous).catch(showError);
    } catch (err) {
      status.textContent = err.message;
    }
  });
  for (const link of document.querySelectorAll("a[href='/api/export']")) {
    link.addEventListener("click", (e) => {
      e.preventDefault();
      startExport().catch((err) => { $("#export-status").textContent = err.message; });
    });
  }
  $("#disconnect").addEventListener("click", () => {
    const n = me ? me.sync.activities_stored : null;
    if (n != null) {
      $("#disconnect-activities").textContent =
        `your ${n} ${n === 1 ? "activity" : "activities"} stored here, with their recorded streams (GPS tracks, heart rate, power…) and scores;`;
    }
    $("#disconnect-status").textContent = "";
    $("#disconnect-dialog").showModal();
  });
  $("#disconnect-cancel").addEventListener("click", () => $("#disconnect-dialog").close());
  $("#disconnect-confirm").addEventListener("click", async () => {
    const status = $("#disconnect-status");
    $("#disconnect-confirm").disabled = true;
    status.textContent = "Revoking access at Strava and deleting your data…";
    try {
      const done = await send("POST", "/api/me/disconnect", {});
      location.assign(done.next || "/disconnected");
    } catch (err) {
      $("#disconnect-confirm").disabled = false;
      status.textContent = err.message;
    }
  });
  let resizeTimer;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      for (const [name, c] of Object.entries(charts)) {
        const container = c.root.parentElement;
        if (container.offsetParent) c.setSize({ width: chartWidth(container), height: c.height });
      }
    }, 150);
  });
}

// The export: the ration is taken here (a 429 says when to come back), then the browser
// follows the one-time link, which downloads the archive.
async function startExport() {
  const status = $("#export-status");
  status.textContent = "Preparing your archive…";
  const link = await api("/api/export", { headers: { Accept: "application/json" } });
  status.textContent = "Your download has started.";
  location.assign(link.url);
}

// ---- one activity ----

function fact(k, v) {
  return [el("dt", {}, k), el("dd", {}, v)];
}

async function showActivity(id) {
  const detail = await api(`/api/activities/${encodeURIComponent(id)}`);
  const a = detail.activity, s = detail.summary, m = detail.metrics;
  const run = isRun(a.sport_type);
  $("#activity-title").textContent = `${a.name || "(untitled)"} · ${a.date}`;
  $("#activity-strava").href = a.strava_url;
  const facts = [
    fact("Type", a.sport_type || "–"),
    fact("Moving time", duration(s.moving_time)),
    fact("Distance", s.distance == null ? "–" : `${(s.distance / 1000).toFixed(2)} km`),
    fact("Score", a.score == null ? `– (${a.unscored || "unscored"})` : `${a.score.toFixed(1)} ${SOURCE_NAMES[a.score_source]}`),
  ];
  if (m && m.power) facts.push(fact("NP / IF", `${m.power.np == null ? "–" : m.power.np.toFixed(0)} W / ${m.power.if == null ? "–" : m.power.if.toFixed(2)}`));
  if (m && m.pace && m.pace.ngs) facts.push(fact("Graded pace", `${paceOf(m.pace.ngs)} /km`));
  if (m && m.heartrate && m.heartrate.trimp != null) facts.push(fact("TRIMP", m.heartrate.trimp.toFixed(0)));
  $("#activity-facts").replaceChildren(...facts.flat());
  renderZones(m);
  renderPeaks(m, run);
  const container = $("#streams-chart");
  if (!detail.has_streams) {
    container.textContent = "No streams for this activity (manual entry).";
    return;
  }
  const st = await api(`/api/activities/${encodeURIComponent(id)}/streams?resolution=800`);
  const series = [{ label: "Time", value: (u, t) => (t == null ? "–" : duration(t)) }];
  const data = [st.time];
  const axes = [{ values: (u, ticks) => ticks.map((t) => duration(t)) }];
  const scales = { x: { time: false } };
  if (st.watts) {
    series.push({ label: "Power (W)", stroke: COLORS.watts, scale: "W", value: fixed(0) });
    data.push(st.watts);
    axes.push({ scale: "W", label: "W" });
  }
  if (st.heartrate) {
    series.push({ label: "Heart rate (bpm)", stroke: COLORS.hr, scale: "bpm", value: fixed(0) });
    data.push(st.heartrate);
    axes.push({ scale: "bpm", label: "bpm", side: 1, grid: { show: false } });
  }
  if (st.velocity_smooth) {
    if (run) {
      series.push({ label: "Pace (/km)", stroke: COLORS.speed, scale: "pace", value: (u, v) => (v == null ? "–" : duration(v)) });
      data.push(st.velocity_smooth.map((v) => (v > 0.5 ? 1000 / v : null)));
      scales.pace = { dir: -1 };
      axes.push({ scale: "pace", label: "pace /km", side: 1, grid: { show: false }, values: (u, ticks) => ticks.map((t) => duration(t)) });
    } else {
      series.push({ label: "Speed (km/h)", stroke: COLORS.speed, scale: "kmh", value: fixed(1) });
      data.push(st.velocity_smooth.map((v) => v * 3.6));
      axes.push({ scale: "kmh", label: "km/h", side: 1, grid: { show: false } });
    }
  }
  draw("streams", container, { series, axes, scales }, data);
}

function renderZones(m) {
  const out = $("#zones");
  out.textContent = "";
  const sets = m ? [["Power", m.zones.power, "W"], ["Heart rate", m.zones.heartrate, "bpm"]] : [];
  for (const [name, z, unit] of sets) {
    if (!z) continue;
    const total = z.seconds.reduce((x, y) => x + y, 0) || 1;
    out.append(el("h4", {}, `${name} (zones from ${z.boundaries.map((b) => Math.round(b)).join(", ")} ${unit})`));
    z.seconds.forEach((sec, i) => {
      const bar = el("div", { class: "bar", style: `width:${((100 * sec) / total).toFixed(1)}%` });
      out.append(el("div", { class: "zone" }, el("span", {}, `Z${i + 1}`), el("div", {}, bar), el("span", { class: "num" }, duration(sec))));
    });
  }
  if (!out.childNodes.length) out.textContent = "No power or heart-rate zones for this activity.";
}

function renderPeaks(m, run) {
  const container = $("#peaks-chart");
  const peaks = m && m.peaks;
  const pick = peaks && (peaks.watts ? ["watts", "Power (W)", (v) => v] : peaks.velocity_smooth ? ["velocity_smooth", run ? "Pace (/km)" : "Speed (km/h)", (v) => (run ? 1000 / v : v * 3.6)] : peaks.heartrate ? ["heartrate", "Heart rate (bpm)", (v) => v] : null);
  if (!pick) {
    if (charts.peaks) { charts.peaks.destroy(); delete charts.peaks; }
    container.textContent = "No peaks for this activity.";
    return;
  }
  const [key, label, conv] = pick;
  const windows = Object.keys(peaks[key]).map(Number).sort((x, y) => x - y).filter((w) => peaks[key][w] != null);
  const values = windows.map((w) => conv(peaks[key][w]));
  const pace = key === "velocity_smooth" && run;
  const fmt = pace ? (u, v) => (v == null ? "–" : duration(v)) : fixed(0);
  drawPeakCurve("peaks", container, windows, values, { windowName: "Window", label, fmt, reversed: pace });
}

// ---- routing ----

async function route() {
  const match = location.hash.match(/^#\/activity\/(\d+)$/);
  $("#dashboard").hidden = !!match;
  $("#activity-view").hidden = !match;
  $("#error").hidden = true;
  if (match) await showActivity(match[1]);
  else {
    if (charts.pmc) charts.pmc.setSize({ width: chartWidth($("#pmc-chart")), height: 320 });
    for (const name of ["bests", "weeks"]) if (charts[name]) charts[name].setSize({ width: chartWidth(charts[name].root.parentElement), height: 240 });
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  if (new URLSearchParams(location.search).has("connected")) {
    const banner = $("#banner");
    banner.textContent = "Connected. Your recent activities are being imported; new ones follow within seconds of upload.";
    banner.hidden = false;
    history.replaceState(null, "", "/" + location.hash);
  }
  wireDashboard();
  window.addEventListener("hashchange", () => route().catch(showError));
  try {
    await refresh();
    await route();
  } catch (e) {
    showError(e);
  }
});
