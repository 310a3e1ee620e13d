// Season bests with the estimated thresholds, and the weekly totals (/api/bests, /api/weeks).
"use strict";

// ---- season bests, estimated thresholds ----

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
  const any = [b.power, b.heartrate, b.pace].some((channel) => channel.some(Boolean));
  $("#bests-empty").hidden = any;
  $("#bests").hidden = !any;
  body.replaceChildren(...r.windows.map((w, i) => {
    const power = b.power[i], hr = b.heartrate[i], pace = b.pace[i];
    return el("tr", { "data-window": String(w) },
      el("td", {}, windowLabel(w)),
      bestCell(power, (v) => `${v.toFixed(0)} W`), fromCell(power),
      bestCell(hr, (v) => `${v.toFixed(0)} bpm`), fromCell(hr),
      bestCell(pace, (v) => `${paceOf(v)} /km`), fromCell(pace));
  }));
  labelCells($("#bests"));
  const container = $("#bests-chart");
  const power = b.power.filter(Boolean);
  if (power.length === 0) {
    clearChart("bests", container, "No power in this range: the curve of your best efforts appears once an activity with a power meter is stored.");
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
    el("td", { class: "src" }, Object.entries(w.sports).map(([s, t]) => `${s} ${t.count}× ${t.load.toFixed(0)}`).join(", ") || "–"))));
  labelCells($("#weeks"));
  $("#weeks-empty").hidden = weeks.some((w) => w.total.count > 0);
  const data = [weeks.map((w) => dateToUnix(w.start)), weeks.map((w) => w.total.load)];
  // One tick a week, on its Monday (every other one on a narrow chart).
  const mondays = (u) => {
    const step = u.bbox.width / devicePixelRatio < 500 ? 2 : 1;
    const ticks = u.data[0].filter((_, i) => (u.data[0].length - 1 - i) % step === 0);
    u.root.parentElement.dataset.ticks = ticks.map(unixToDate).join(",");
    return ticks;
  };
  draw("weeks", $("#weeks-chart"), {
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true, range: (u, min, max) => [min - 4 * DAY, max + 4 * DAY] } },
    axes: [{ splits: mondays, values: (u, ticks) => ticks.map((t) => unixToDate(t).slice(5)) }, { label: "load", labelSize: 18 }],
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
