// The fitness/fatigue chart and today's form (/api/pmc, /api/form).
"use strict";

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
