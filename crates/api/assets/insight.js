// Season bests with the estimated thresholds, and the weekly totals (/api/bests, /api/weeks).
"use strict";

// ---- season bests, estimated thresholds ----

// A curve of best means, one column per window, equally spaced (5 s … 1 h), labelled by
// the window: an activity's peaks and the season's bests.
function drawPeakCurve(name, container, windows, values, { windowName, label, fmt, reversed = false, unit, model }) {
  const index = windows.map((_, i) => i);
  const at = (i) => (windows[i] == null ? "" : windowLabel(windows[i]));
  const yAxis = { values: (u, ticks) => ticks.map((t) => fmt(u, t)) };
  if (unit) Object.assign(yAxis, { label: unit, labelSize: 18 });
  const series = [{ label: windowName, value: (u, i) => (i == null ? "–" : at(i)) }, { label, stroke: COLORS.watts, width: 2, value: fmt }];
  const data = [index, values];
  if (model) {
    series.push({ label: model.label, stroke: COLORS.ctl, width: 2, dash: [6, 4], value: fmt, points: { show: false } });
    data.push(model.values);
  }
  draw(name, container, {
    scales: { x: { time: false, range: [-0.3, windows.length - 0.7] }, y: reversed ? { dir: -1 } : {} },
    axes: [{ splits: () => index, values: (u, ticks) => ticks.map((t) => at(Math.round(t))), space: 10 }, yAxis],
    series,
  }, data);
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
    // The fitted model P(t) = CP + W′/t over the durations it describes (from 2 minutes).
    const fit = r.cp;
    const windows = power.map((x) => x.window_s);
    const model = fit.cp == null ? null : {
      label: `CP model (CP ${Math.round(fit.cp)} W, W′ ${(fit.w_prime / 1000).toFixed(1)} kJ)`,
      values: windows.map((t) => (t >= 120 ? fit.cp + fit.w_prime / t : null)),
    };
    drawPeakCurve("bests", container, windows, power.map((x) => x.value), { windowName: "Duration", label: "Best power (W)", fmt: fixed(0), unit: "W", model });
    container.dataset.model = model ? "cp" : "";
  }
  container.dataset.points = String(power.length);
  renderEstimates(r.estimates);
  renderCp(r.cp, r.estimates.ftp);
  drawEfTrend(r.ef_trend);
}

// CP and W′ of the last 90 days' rides, the model's eFTP (= CP) beside the 95 %-of-20-min
// estimate, and "Use": a cycling entry (FTP = CP, CP, W′) from today.
function renderCp(fit, eftp) {
  const box = $("#cp-model");
  if (fit.cp == null) {
    box.replaceChildren(el("div", { class: "estimate", id: "cp" }, el("div", {}, "Critical power"),
      el("p", { class: "hint" }, `No fit from ${fit.first}: ${fit.reason}.`)));
    return;
  }
  const use = el("button", { type: "button", class: "use", id: "cp-use" }, `Use CP ${Math.round(fit.cp)} W and W′ ${(fit.w_prime / 1000).toFixed(1)} kJ`);
  use.addEventListener("click", () => useCp(fit, use).catch(showError));
  const against = eftp ? ` · 95 % of your best 20 minutes: ${Math.round(eftp.value)} W` : "";
  box.replaceChildren(el("div", { class: "estimate", id: "cp" },
    el("div", {}, "Critical power"),
    el("div", { class: "value" }, `${Math.round(fit.cp)} W`),
    el("div", {}, `W′ ${(fit.w_prime / 1000).toFixed(1)} kJ · model eFTP ${Math.round(fit.eftp)} W${against}`),
    el("div", {}, `fitted to ${fit.n} best efforts of 3 to 20 minutes in ${fit.rides} rides since ${fit.first}, within ${fit.rmse_w.toFixed(1)} W`),
    use,
    el("p", { class: "hint definition" }, "Two-parameter model P(t) = CP + W′/t (Monod and Scherrer; Skiba's W′ balance uses it).")));
}

// "Use": today's cycling entry with FTP = CP and CP, W′ replaced; the rest of it kept.
async function useCp(fit, button) {
  button.disabled = true;
  const day = today();
  const current = thresholdsInfo.history.filter((e) => e.group === "cycling" && e.effective_from <= day).pop() || {};
  const entry = Object.assign({}, current, { group: "cycling", effective_from: day, ftp: Math.round(fit.cp), cp: Math.round(fit.cp), w_prime: Math.round(fit.w_prime) });
  button.textContent = "Rescoring…";
  await saveEntry(entry);
}

// EF of rides and runs over 90 days, each on its own axis (W/bpm; m/min per bpm).
function drawEfTrend(trend) {
  const container = $("#ef-chart");
  const rides = trend.cycling, runs = trend.running;
  if (rides.length + runs.length === 0) {
    clearChart("ef", container, "No rides or runs with power or pace and heart rate in the last 90 days.");
    container.dataset.points = "0";
    return;
  }
  const days = [...new Set([...rides, ...runs].map((p) => p.date))].sort();
  const at = (points, scale) => days.map((d) => {
    const p = points.filter((x) => x.date === d);
    return p.length ? p.reduce((s, x) => s + x.ef, 0) / p.length * scale : null;
  });
  draw("ef", container, {
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    scales: { x: { time: true } },
    axes: [{}, { scale: "ride", label: "W/bpm", labelSize: 18 }, { scale: "run", side: 1, label: "m/min per bpm", labelSize: 18, grid: { show: false } }],
    series: [
      { label: "Date", value: (u, t) => (t == null ? "–" : unixToDate(t)) },
      { label: "Rides (W/bpm)", scale: "ride", stroke: COLORS.watts, width: 2, spanGaps: true, value: fixed(2) },
      { label: "Runs (m/min per bpm)", scale: "run", stroke: COLORS.speed, width: 2, spanGaps: true, value: fixed(2) },
    ],
  }, [days.map(dateToUnix), at(rides, 1), at(runs, 60)]);
  container.dataset.points = String(rides.length + runs.length);
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
