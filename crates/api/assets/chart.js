// The fitness/fatigue chart, the form panel under it, and today's form (/api/pmc, /api/form).
// Two panels with one cursor: load, CTL and ATL on the first (the load's bars drawn first,
// so the lines stay on top); TSB and its bands on the second, on an axis of their own. Days
// whose CTL is still settling (the history begins too recently) are shaded on both.
"use strict";

function rangeFrom(days) {
  const today = new Date().toISOString().slice(0, 10);
  const span = days === "all" ? 10950 : Number(days);
  return { from: unixToDate(dateToUnix(today) - span * DAY), to: today };
}

// The x scale of both panels: the rows' days with half a day either side, so that the first
// and last bars are whole.
function dayRange(u, min, max) {
  return [min - DAY / 2, max + DAY / 2];
}

// The settling days (before `settled_from`) shaded and labelled on a panel.
function drawSettling(u) {
  const s = formInfo && formInfo.settling;
  if (!s || u.data[0].length === 0) return;
  const end = dateToUnix(s.settled_from) - DAY / 2;
  if (end <= u.scales.x.min) return;
  const ctx = u.ctx, { left, top, width, height } = u.bbox;
  const x = Math.min(u.valToPos(end, "x", true), left + width);
  ctx.save();
  ctx.fillStyle = "rgba(140, 149, 159, 0.16)";
  ctx.fillRect(left, top, x - left, height);
  if (x < left + width) {
    ctx.strokeStyle = "rgba(29, 35, 39, 0.55)";
    ctx.setLineDash([4 * devicePixelRatio, 3 * devicePixelRatio]);
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
  }
  if (x - left > 120 * devicePixelRatio) {
    ctx.fillStyle = "rgba(29, 35, 39, 0.6)";
    ctx.font = `${Math.round(11 * devicePixelRatio)}px system-ui, sans-serif`;
    ctx.textAlign = "right";
    ctx.fillText(`settling until ${s.settled_from}`, x - 6, top + 13 * devicePixelRatio);
  }
  ctx.restore();
}

async function loadPmc(days) {
  const { from, to } = rangeFrom(days);
  const pmc = await api(`/api/pmc?from=${from}&to=${to}`);
  const rows = pmc.rows;
  const top = $("#pmc-chart"), bottom = $("#tsb-chart");
  if (rows.length === 0) {
    clearChart("pmc", top, "No training load yet: your chart starts here once activities are imported and scored.");
    clearChart("tsb", bottom, "");
    return;
  }
  const x = rows.map((r) => dateToUnix(r.date));
  const common = {
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    cursor: { points: { size: 6 }, sync: { key: "pmc", setSeries: false } },
    scales: { x: { time: true, range: dayRange } },
  };
  const date = { label: "Date", value: (u, t) => (t == null ? "–" : unixToDate(t)) };
  draw("pmc", top, Object.assign({}, common, {
    hooks: { drawClear: [drawSettling] },
    scales: { x: common.scales.x, load: { range: (u, min, max) => [0, Math.max(max, 1) * 1.15] } },
    axes: [{}, { label: "CTL / ATL", labelSize: 18 }, { scale: "load", side: 1, label: "load", labelSize: 18, grid: { show: false } }],
    series: [
      date,
      { label: "Load", scale: "load", stroke: COLORS.load, fill: COLORS.load, width: 0, value: fixed(0), paths: uPlot.paths.bars({ size: [0.7, 12] }), points: { show: false } },
      { label: "CTL (fitness)", stroke: COLORS.ctl, width: 2, value: fixed(1) },
      { label: "ATL (fatigue)", stroke: COLORS.atl, width: 2, value: fixed(1) },
    ],
  }), [x, rows.map((r) => r.load), rows.map((r) => r.ctl), rows.map((r) => r.atl)]);
  draw("tsb", bottom, Object.assign({}, common, {
    hooks: { drawClear: [drawBands, drawSettling] },
    axes: [{}, { label: "TSB", labelSize: 18, values: (u, ticks) => ticks.map((t) => signed(t, 0)) }],
    series: [date, { label: "TSB (form)", stroke: COLORS.tsb, width: 2, value: fixed(1) }],
  }), [x, rows.map((r) => r.tsb)]);
  top.dataset.rows = String(rows.length);
  top.dataset.last = rows[rows.length - 1].date;
  const s = formInfo && formInfo.settling;
  top.dataset.settledFrom = s ? s.settled_from : "";
  if (window.firstChartMs == null) {
    window.firstChartMs = performance.now();
    document.body.dataset.pmcReady = "1";
  }
}

// The TSB bands on the form panel's scale, each labelled at the right edge; the panel's
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
    const range = z.lower == null ? `below ${signed(z.upper, 0)}` : z.upper == null ? `above ${signed(z.lower, 0)}` : `${signed(z.lower, 0)} to ${signed(z.upper, 0)}`;
    return el("li", { style: `--swatch:${ZONE_COLORS[z.key].replace(/0\.1\d?\)/, "0.45)")}`, "data-zone": z.key, title: z.meaning }, `${z.label} (${range})`);
  }));
  renderHistoryStart(formInfo.settling);
  const f = formInfo.form;
  const now = $("#form-now");
  const banner = $("#form-banner");
  const provisional = $("#form-provisional");
  if (!f) {
    now.textContent = "No form yet: it is computed from your scored activities.";
    banner.hidden = true;
    provisional.hidden = true;
    return;
  }
  const ramp = f.ramp.ctl_change;
  now.replaceChildren(
    el("span", {}, "Form today: TSB ", el("strong", { id: "form-tsb" }, signed(f.tsb, 1)), " · ",
      el("span", { class: "zone-name", id: "form-zone", "data-zone": f.zone.key }, f.zone.label + (f.provisional ? " (provisional)" : ""))),
    el("span", {}, `CTL ${f.ctl.toFixed(1)} `, el("span", { id: "form-ramp" }, `(${signed(ramp, 1)} in ${f.ramp.days} days)`)),
    ...(f.ramp.note ? [el("span", { class: "note", id: "ramp-note" }, f.ramp.note)] : []));
  if (f.provisional && formInfo.settling) {
    provisional.textContent = formInfo.settling.reason;
    provisional.hidden = false;
  } else {
    provisional.hidden = true;
  }
  if (f.overreaching) {
    const o = f.overreaching;
    banner.textContent = `Since ${o.since} (${o.days} days) your form has been below ${signed(formInfo.overreaching_below, 0)}. ${o.message}`;
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

// Where the stored history begins, beside the range buttons, and the import that would settle
// today's form offered in the import form.
function renderHistoryStart(s) {
  $("#history-start").textContent = s ? `Your history starts on ${s.history_from}.` : "";
  offerImport(s && s.import_offer);
}
