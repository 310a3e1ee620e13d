// The activity list (/api/activities) and one activity: facts, streams, zones, peaks.
"use strict";

function activityRow(a) {
  const score = a.score == null ? "–" : a.score.toFixed(1);
  const source = a.score_source ? sourceName(a.score_source) : a.unscored || "";
  const tr = el("tr", { "data-id": String(a.id) },
    el("td", {}, a.date),
    el("td", {}, el("a", { href: `#/activity/${a.id}` }, a.name || "(untitled)")),
    el("td", {}, a.sport_type || ""),
    el("td", { class: "num" }, duration(a.moving_time_s)),
    el("td", { class: "num score" }, score),
    el("td", { class: "src" }, source),
    el("td", { class: "num" }, a.decoupling_pct == null ? "–" : `${num(a.decoupling_pct, 1)} %`),
    el("td", { class: "num" }, a.ef == null ? "–" : efText(a.ef, a.sport_type)),
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
  labelCells($("#activities"));
  const none = !append && page.activities.length === 0;
  $("#activities-empty").hidden = !none;
  $("#activities").hidden = none;
  nextCursor = page.next;
  $("#more").hidden = !page.next;
  return page.activities;
}

// An efficiency factor with its unit: W/bpm for power, m/min per bpm for a run's pace.
function efText(ef, sport) {
  return isRun(sport) ? `${(ef * 60).toFixed(2)} m/min/bpm` : `${ef.toFixed(2)} W/bpm`;
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
    fact("Score", a.score == null ? `– (${a.unscored || "unscored"})` : `${a.score.toFixed(1)} ${sourceName(a.score_source)}`),
  ];
  // Why an activity is unscored, in a sentence (a manual entry has nothing recorded to score).
  $("#activity-unscored").textContent = a.score != null ? "" : !detail.has_streams
    ? "No score: this activity was entered by hand (or recorded without a device), so there are no streams of power, pace or heart rate to score it from."
    : `No score: ${a.unscored || "it has not been scored yet"}.`;
  $("#activity-unscored").hidden = a.score != null;
  if (m && m.power) facts.push(fact("NP / IF", `${m.power.np == null ? "–" : m.power.np.toFixed(0)} W / ${m.power.if == null ? "–" : m.power.if.toFixed(2)}`));
  if (m && m.pace && m.pace.ngs) facts.push(fact("Graded pace", `${paceOf(m.pace.ngs)} /km`));
  if (m && m.heartrate && m.heartrate.trimp != null) facts.push(fact("TRIMP", m.heartrate.trimp.toFixed(0)));
  if (m && m.stss != null) facts.push(fact("sTSS", m.stss.toFixed(1)));
  if (a.decoupling_pct != null) {
    const kind = m.decoupling && m.decoupling.output === "power" ? "Pw:HR" : "Pa:HR";
    facts.push(fact(`Decoupling (${kind})`, el("span", { id: "decoupling" }, `${num(a.decoupling_pct, 1)} % `, el("span", { class: "hint" }, detail.decoupling_reading))));
  }
  if (a.ef != null) facts.push(fact("Efficiency factor", el("span", { id: "ef" }, efText(a.ef, a.sport_type))));
  if (m && m.thresholds_in_force && m.thresholds_in_force.entry_effective_from) {
    const from = m.thresholds_in_force.entry_effective_from;
    facts.push(fact("Thresholds", from === "0001-01-01" ? "your first entries" : `the entry from ${from}`));
  }
  $("#activity-facts").replaceChildren(...facts.flat());
  renderZones(m);
  renderPeaks(m, run);
  const container = $("#streams-chart");
  if (!detail.has_streams) {
    clearChart("streams", container, "No streams for this activity (entered by hand).");
    return;
  }
  const st = await api(`/api/activities/${encodeURIComponent(id)}/streams?resolution=800`);
  const series = [{ label: "Time", value: (u, t) => (t == null ? "–" : duration(t)) }];
  const data = [st.time];
  const axes = [{ splits: roundTicks, values: (u, ticks) => ticks.map((t) => clockTime(t)) }];
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
      data.push(st.velocity_smooth.map((v) => (v > catalog.pace_min_speed_ms ? 1000 / v : null)));
      scales.pace = { dir: -1 };
      axes.push({ scale: "pace", label: "pace /km", side: 1, grid: { show: false }, values: (u, ticks) => ticks.map((t) => duration(t)) });
    } else {
      series.push({ label: "Speed (km/h)", stroke: COLORS.speed, scale: "kmh", value: fixed(1) });
      data.push(st.velocity_smooth.map((v) => v * 3.6));
      axes.push({ scale: "kmh", label: "km/h", side: 1, grid: { show: false } });
    }
  }
  draw("streams", container, { series, axes, scales, cursor: { sync: { key: "activity" } } }, data);
  drawWbal(st);
}

// W′ balance under the power chart (a ride with CP and W′ in force), its lowest point marked.
function drawWbal(st) {
  const container = $("#wbal-chart"), note = $("#wbal-note");
  container.hidden = note.hidden = !st.wbal;
  if (!st.wbal) {
    clearChart("wbal", container, "");
    return;
  }
  const w = st.wbal;
  const markMin = (u) => {
    const x = u.valToPos(w.min_at_s, "x", true), y = u.valToPos(w.min / 1000, "y", true);
    const ctx = u.ctx;
    ctx.save();
    ctx.fillStyle = COLORS.atl;
    ctx.beginPath();
    ctx.arc(x, y, 4 * devicePixelRatio, 0, 2 * Math.PI);
    ctx.fill();
    ctx.restore();
  };
  draw("wbal", container, {
    cursor: { sync: { key: "activity" } },
    scales: { x: { time: false } },
    hooks: { draw: [markMin] },
    axes: [{ splits: roundTicks, values: (u, ticks) => ticks.map((t) => clockTime(t)) }, { label: "W′ kJ", labelSize: 18 }],
    series: [
      { label: "Time", value: (u, t) => (t == null ? "–" : duration(t)) },
      { label: "W′ balance (kJ)", stroke: COLORS.watts, fill: "rgba(130, 80, 223, 0.12)", width: 2, value: fixed(1) },
    ],
  }, [st.time, w.values.map((v) => v / 1000)]);
  container.dataset.min = String(w.min);
  note.textContent = `W′ balance with CP ${Math.round(w.cp)} W and W′ ${(w.w_prime / 1000).toFixed(1)} kJ: lowest ${(w.min / 1000).toFixed(1)} kJ at ${duration(w.min_at_s)} (marked). Below zero, CP or W′ are set too low for this ride.`;
}

// Ticks of an activity's time axis on round steps (1, 5, 10, 15, 30 min, 1 or 2 h), about
// one per 90 pixels.
function roundTicks(u, axis, min, max) {
  const fits = Math.max(2, Math.floor(u.bbox.width / devicePixelRatio / 90));
  const step = [60, 300, 600, 900, 1800, 3600, 7200, 14400].find((s) => (max - min) / s <= fits) || 14400;
  const ticks = [];
  for (let t = Math.ceil(min / step) * step; t <= max; t += step) ticks.push(t);
  u.root.parentElement.dataset.ticks = ticks.join(",");
  return ticks;
}

// Seconds into an activity as h:mm.
function clockTime(t) {
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60);
  return `${h}:${String(m).padStart(2, "0")}`;
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
    clearChart("peaks", container, "No peaks for this activity: it has no power, speed or heart-rate stream.");
    return;
  }
  const [key, label, conv] = pick;
  const windows = Object.keys(peaks[key]).map(Number).sort((x, y) => x - y).filter((w) => peaks[key][w] != null);
  const values = windows.map((w) => conv(peaks[key][w]));
  const pace = key === "velocity_smooth" && run;
  const fmt = pace ? (u, v) => (v == null ? "–" : duration(v)) : fixed(0);
  drawPeakCurve("peaks", container, windows, values, { windowName: "Window", label, fmt, reversed: pace });
}
