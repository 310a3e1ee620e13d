// The athlete's settings and data: profile and sync status (/api/me), thresholds and their
// rescore, history import, export, disconnect; the dashboard's controls. The page follows
// the sync status on its own (a new activity, an import, a rescore, the chart recomputed)
// and reloads what changed: what is shown is what is stored.
"use strict";

async function loadMe() {
  me = await api("/api/me");
  const name = [me.firstname, me.lastname].filter(Boolean).join(" ");
  $("#who").textContent = name || `athlete ${me.athlete_id}`;
  const t = me.thresholds;
  const form = $("#thresholds");
  if (!form.contains(document.activeElement)) {
    for (const k of ["ftp", "lthr", "hr_max", "hr_rest"]) form.elements[k].value = t[k] == null ? "" : Math.round(t[k]);
    form.elements.pace.value = t.threshold_speed ? duration(1000 / t.threshold_speed) : "";
  }
  renderSync(me.sync);
  renderAllowance(me.limits);
}

function importState(b) {
  if (!b) return "none requested";
  const kind = b.refresh ? "re-sync " : "";
  if (b.finished_at) return `${kind}finished ${when(b.finished_at)}: ${b.imported} imported of ${b.done} looked at`;
  if (b.running) return `${kind}running: ${b.done}${b.most_recent ? ` of ${b.most_recent}` : ""} activities looked at`;
  return `stalled after ${b.done} activities`;
}

function renderSync(s) {
  const rows = [
    ["Activities stored", s.activities_stored],
    ["Waiting for streams", s.pending_streams],
    ["Last activity event", when(s.last_event_at)],
    ["Last history sync", when(s.last_sync)],
    ["History import", importState(s.backfill)],
    ["Chart", s.pmc_pending ? "being recomputed" : "up to date"],
  ];
  $("#sync").replaceChildren(...rows.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  // The welcome banner says the connection's import is running: it goes once that import
  // (the id the callback handed over, or a later one) has finished.
  const b = s.backfill;
  if (b && b.finished_at && b.requested_at >= connectedImport) $("#banner").hidden = true;
}

// What remains of today's import allowance, said before anyone asks.
function renderAllowance(limits) {
  const left = limits.backfill_remaining_today;
  $("#backfill-allowance").textContent = left > 0
    ? `You can import up to ${left} more ${left === 1 ? "activity" : "activities"} today (${limits.backfill_daily_activities} a day).`
    : `Today's ${limits.backfill_daily_activities} activities are imported: you can import more after midnight UTC.`;
  $("#backfill button[type=submit]").disabled = left === 0;
  const form = $("#backfill");
  const today = new Date().toISOString().slice(0, 10);
  form.elements.after.max = today;
  form.elements.before.max = unixToDate(dateToUnix(today) + DAY);
}

// The import that would settle today's form (older history), offered in the import form.
function offerImport(offer) {
  const box = $("#import-offer");
  box.hidden = !offer;
  if (!offer) return;
  $("#import-offer-text").textContent = `Import ${offer.after} to ${offer.before} for a reliable form.`;
  $("#import-offer-use").onclick = () => {
    const form = $("#backfill");
    form.elements.mode.value = "range";
    form.elements.after.value = offer.after;
    form.elements.before.value = offer.before;
    form.requestSubmit();
  };
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

function selectedRange() {
  const on = document.querySelector("#ranges button.on");
  return on ? on.dataset.days : "91";
}

async function refresh() {
  // The bands and the settling are drawn from the form's answer: the form first, then the chart.
  await Promise.all([loadMe(), loadForm().then(() => loadPmc(selectedRange())), loadActivities(false), loadBests(selectedBestsRange()), loadWeeks()]);
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
}

const THRESHOLD_NAMES = { ftp: "FTP", lthr: "Threshold heart rate", hr_max: "Maximum heart rate", hr_rest: "Resting heart rate" };

// The form's values as the API takes them: what is not a whole number is refused here,
// with the field's name; the ranges and the pairs (LTHR under HR max, …) the API checks.
function thresholdsBody(form) {
  const body = {};
  for (const [k, name] of Object.entries(THRESHOLD_NAMES)) {
    const value = form.elements[k].value.trim();
    if (value === "") continue;
    if (!/^\d+$/.test(value)) throw new Error(`${name}: enter a whole number, not “${value}”.`);
    body[k] = Number(value);
  }
  const pace = form.elements.pace.value.trim();
  if (pace) {
    const match = pace.match(/^(\d{1,2}):([0-5]\d)$/);
    const seconds = match ? Number(match[1]) * 60 + Number(match[2]) : 0;
    if (!(seconds > 0)) throw new Error("Threshold pace: enter minutes and seconds per km, like 5:03.");
    body.threshold_speed = Math.round((1000 / seconds) * 1000) / 1000;
  }
  if (Object.keys(body).length === 0) throw new Error("Nothing to save: enter at least one threshold.");
  const stored = me ? me.thresholds : {};
  if (Object.entries(body).every(([k, v]) => stored[k] != null && Math.abs(stored[k] - v) < 1e-6)) {
    throw new Error("Nothing changed: these are your thresholds already.");
  }
  return body;
}

// After a change the consumer stores the thresholds, rescores every activity and
// recomputes the chart: poll /api/me until all three are done, then reload the views.
async function followRescore(expected) {
  const status = $("#thresholds-status");
  for (let i = 0; i < 120; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await api("/api/me");
    const stored = Object.entries(expected).every(([k, v]) => Math.abs((now.thresholds[k] || 0) - v) < 1e-6);
    if (stored && !now.sync.rescore_pending && !now.sync.pmc_pending) {
      await refresh();
      status.textContent = "Rescored: the scores and the chart use the new thresholds.";
      document.body.dataset.rescored = String(Number(document.body.dataset.rescored || 0) + 1);
      return;
    }
  }
  status.textContent = "Still rescoring; reload the page in a minute.";
}

// What of the sync status changes what the views show.
function syncMark(s) {
  const b = s.backfill || {};
  return JSON.stringify([s.activities_stored, s.last_event_at, b.requested_at, b.finished_at, s.rescore_pending, s.pmc_pending]);
}

// The page follows the sync status on its own: quickly while an import or a rescore runs
// (its progress shows), slowly otherwise; when anything that shows changes, the views are
// reloaded once the chart is recomputed.
function watchSync() {
  let seen = me ? syncMark(me.sync) : "";
  let stale = false;
  const busy = () => me && ((me.sync.backfill && me.sync.backfill.running) || me.sync.rescore_pending || me.sync.pmc_pending);
  const tick = async () => {
    try {
      if (!document.hidden && !$("#dashboard").hidden) {
        const previous = me && me.sync.backfill;
        await loadMe();
        const mark = syncMark(me.sync);
        stale = stale || mark !== seen;
        seen = mark;
        if (stale && !me.sync.pmc_pending) {
          stale = false;
          await refresh();
          seen = syncMark(me.sync);
        }
        const b = me.sync.backfill;
        if (b && b.finished_at && !(previous && previous.finished_at === b.finished_at)) {
          $("#backfill-status").textContent = `Import finished: ${b.imported} ${b.imported === 1 ? "activity" : "activities"} imported, ${b.done} looked at.`;
        }
      }
    } catch (e) {
      // The next tick tries again; a signed-out page has gone to /logout already.
    }
    setTimeout(tick, busy() ? 1500 : 15000);
  };
  setTimeout(tick, busy() ? 1500 : 15000);
}

function backfillBody(form) {
  const refresh = form.elements.refresh.checked;
  if (form.elements.mode.value === "range") {
    const after = form.elements.after.value, before = form.elements.before.value;
    if (!after) throw new Error("Choose the first day of the range.");
    const today = new Date().toISOString().slice(0, 10);
    if (after > today) throw new Error(`The range starts in the future: choose a first day up to ${today}.`);
    return before ? { after, before, refresh } : { after, refresh };
  }
  const count = form.elements.count.value.trim();
  if (!/^\d+$/.test(count)) throw new Error("Enter how many activities to import, as a whole number.");
  return { count: Number(count), refresh };
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
    status.dataset.field = "";
    try {
      const body = thresholdsBody(e.target);
      await saveThresholds(body);
      followRescore(body).catch(showError);
    } catch (err) {
      status.textContent = err.message;
      status.dataset.field = err.field || "";
    }
  });
  for (const radio of document.querySelectorAll("#backfill input[name=mode]")) {
    radio.addEventListener("change", () => {
      $("#backfill").dataset.mode = $("#backfill").elements.mode.value;
    });
  }
  $("#backfill").addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = $("#backfill-status");
    try {
      const body = backfillBody(e.target);
      const answer = await send("POST", "/api/backfill", body);
      status.textContent = body.refresh
        ? `Re-sync started: up to ${answer.activities} stored activities are fetched again and rescored.`
        : `Import started: up to ${answer.activities} activities. Progress shows under Sync; the chart follows when it is done.`;
      await loadMe();
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
    resizeTimer = setTimeout(resizeCharts, 150);
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
