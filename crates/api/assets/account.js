// The athlete's settings and data: profile and sync status (/api/me), the threshold history
// by sport and date and its rescores (/api/me/thresholds), history import, export,
// disconnect; the dashboard's controls. The page follows
// the sync status on its own (a new activity, an import, a rescore, the chart recomputed)
// and reloads what changed: what is shown is what is stored.
"use strict";

async function loadMe() {
  me = await api("/api/me");
  const name = [me.firstname, me.lastname].filter(Boolean).join(" ");
  $("#who").textContent = name || `athlete ${me.athlete_id}`;
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

// ---- thresholds by sport and date (/api/me/thresholds) ----

let thresholdsInfo = null;

// The athlete's today: the browser's local date (activities are filed under their local day).
const today = () => {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
};
const groupName = (g) => (catalog.threshold_groups.find((x) => x.group === g) || { name: g }).name;
const groupFields = (g) => (catalog.threshold_groups.find((x) => x.group === g) || { fields: [] }).fields;

// An entry's values as the athlete reads them.
function entryValues(e) {
  const parts = [];
  if (e.ftp != null) parts.push(`FTP ${Math.round(e.ftp)} W`);
  if (e.cp != null) parts.push(`CP ${Math.round(e.cp)} W`);
  if (e.w_prime != null) parts.push(`W′ ${(e.w_prime / 1000).toFixed(1)} kJ`);
  if (e.threshold_speed != null) parts.push(`pace ${paceOf(e.threshold_speed)} /km`);
  if (e.css != null) parts.push(`CSS ${duration(100 / e.css)} /100 m`);
  if (e.lthr != null) parts.push(`LTHR ${Math.round(e.lthr)}`);
  if (e.hr_max != null) parts.push(`HR max ${Math.round(e.hr_max)}`);
  if (e.hr_rest != null) parts.push(`HR rest ${Math.round(e.hr_rest)}`);
  return parts.join(", ");
}

const shownDate = (d) => (d === "0001-01-01" ? "the start" : d);

async function loadThresholds() {
  thresholdsInfo = await api("/api/me/thresholds");
  const box = $("#threshold-history");
  const tables = [];
  for (const g of catalog.threshold_groups) {
    const entries = thresholdsInfo.history.filter((e) => e.group === g.group);
    if (entries.length === 0) continue;
    const rows = entries.map((e) => {
      const change = el("button", { type: "button", class: "link" }, "Change");
      change.addEventListener("click", () => fillEntry(e));
      const remove = el("button", { type: "button", class: "link danger" }, "Delete");
      remove.addEventListener("click", () => removeEntry(e).catch((err) => { $("#thresholds-status").textContent = err.message; }));
      return el("tr", { "data-group": e.group, "data-from": e.effective_from },
        el("td", {}, shownDate(e.effective_from)), el("td", {}, entryValues(e)), el("td", {}, change, " ", remove));
    });
    const table = el("table", { class: "list history", "data-group": g.group },
      el("caption", {}, g.name),
      el("thead", {}, el("tr", {}, el("th", {}, "From"), el("th", {}, "Thresholds"), el("th", {}, ""))),
      el("tbody", {}, ...rows));
    tables.push(table);
  }
  box.replaceChildren(...tables);
  tables.forEach(labelCells);
  box.dataset.version = String(thresholdsInfo.version);
  const refused = $("#thresholds-refused");
  refused.textContent = thresholdsInfo.refused || "";
  refused.hidden = !thresholdsInfo.refused;
  const form = $("#thresholds");
  if (!form.contains(document.activeElement) && !form.elements.effective_from.value) form.elements.effective_from.value = today();
}

// The form's sports, from the catalog (cycling first chosen).
function fillThresholdGroups() {
  const groups = $("#threshold-group");
  groups.replaceChildren(...catalog.threshold_groups.map((g) => el("option", { value: g.group }, g.name)));
  groups.value = "cycling";
  showGroupFields();
}

// The form shows the fields the chosen sport may set (the catalog says which).
function showGroupFields() {
  const form = $("#thresholds");
  const fields = groupFields(form.elements.group.value);
  for (const label of form.querySelectorAll("label[data-field]")) label.hidden = !fields.includes(label.dataset.field);
}

function fillEntry(e) {
  const form = $("#thresholds");
  form.elements.group.value = e.group;
  form.elements.effective_from.value = e.effective_from;
  for (const k of ["ftp", "cp", "w_prime", "lthr", "hr_max", "hr_rest"]) form.elements[k].value = e[k] == null ? "" : Math.round(e[k]);
  form.elements.pace.value = e.threshold_speed ? duration(1000 / e.threshold_speed) : "";
  form.elements.css.value = e.css ? duration(100 / e.css) : "";
  showGroupFields();
  form.elements.effective_from.focus();
}

// "m:ss" as seconds, or an error naming the field.
function minutesSeconds(value, name, example) {
  const match = value.match(/^(\d{1,2}):([0-5]\d)$/);
  const seconds = match ? Number(match[1]) * 60 + Number(match[2]) : 0;
  if (!(seconds > 0)) throw new Error(`${name}: enter minutes and seconds, like ${example}.`);
  return seconds;
}

const ENTRY_NAMES = { ftp: "FTP", cp: "CP", w_prime: "W′", lthr: "Threshold heart rate", hr_max: "Maximum heart rate", hr_rest: "Resting heart rate" };

// The form's entry as the API takes it: whole numbers and m:ss checked here, naming the
// field; the ranges and the pairs (LTHR under HR max, W′ above CP, …) the API checks.
function entryBody(form) {
  const group = form.elements.group.value;
  const fields = groupFields(group);
  const from = form.elements.effective_from.value;
  if (!from) throw new Error("Choose the first day the thresholds hold.");
  const entry = { group, effective_from: from };
  for (const [k, name] of Object.entries(ENTRY_NAMES)) {
    const value = form.elements[k].value.trim();
    if (value === "" || !fields.includes(k)) continue;
    if (!/^\d+$/.test(value)) throw new Error(`${name}: enter a whole number, not “${value}”.`);
    entry[k] = Number(value);
  }
  const pace = form.elements.pace.value.trim();
  if (pace && fields.includes("threshold_speed")) entry.threshold_speed = Math.round((1000 / minutesSeconds(pace, "Threshold pace", "5:03")) * 1000) / 1000;
  const css = form.elements.css.value.trim();
  if (css && fields.includes("css")) entry.css = Math.round((100 / minutesSeconds(css, "CSS", "1:40")) * 1000) / 1000;
  if (Object.keys(entry).length === 2) throw new Error("Nothing to save: enter at least one threshold.");
  return entry;
}

// A change of the history, made from the version shown; the consumer stores it (unless the
// history changed meanwhile) and rescores from its date.
async function saveEntry(entry) {
  await send("POST", "/api/me/thresholds", { entry, version: thresholdsInfo.version });
  $("#thresholds-status").textContent = `Saved from ${shownDate(entry.effective_from)}. Rescoring ${groupName(entry.group).toLowerCase()} activities from that day…`;
  await followHistory(thresholdsInfo.version);
}

async function removeEntry(e) {
  const path = `/api/me/thresholds?group=${encodeURIComponent(e.group)}&effective_from=${encodeURIComponent(e.effective_from)}`;
  await api(path, { method: "DELETE", headers: { "Content-Type": "application/json", "If-Match": `"${thresholdsInfo.version}"` } });
  $("#thresholds-status").textContent = `Deleted the ${groupName(e.group).toLowerCase()} entry from ${shownDate(e.effective_from)}. Rescoring from that day…`;
  await followHistory(thresholdsInfo.version);
}

// After a change the consumer stores it, rescores what it covers and recomputes the chart:
// poll until the history has moved past `version` (or the change was refused) and both
// are done, then reload the views.
async function followHistory(version) {
  await followRescore(async () => {
    const [now, t] = await Promise.all([api("/api/me"), api("/api/me/thresholds")]);
    if (t.refused && t.version === version) return "refused";
    return t.version > version && !t.rescore_pending && !now.sync.pmc_pending;
  });
}

// The single-value shorthand (the estimates' "Use"): the values hold from today.
async function applyThresholds(body, button) {
  button.disabled = true;
  await send("PUT", "/api/me/thresholds", body);
  $("#thresholds-status").textContent = "Saved from today. Rescoring today's activities…";
  button.textContent = "Rescoring…";
  const version = thresholdsInfo ? thresholdsInfo.version : 0;
  await followHistory(version);
}

function selectedRange() {
  const on = document.querySelector("#ranges button.on");
  return on ? on.dataset.days : "91";
}

async function refresh() {
  // The bands and the settling are drawn from the form's answer: the form first, then the chart.
  await Promise.all([loadMe(), loadThresholds(), loadForm().then(() => loadPmc(selectedRange())), loadActivities(false), loadBests(selectedBestsRange()), loadWeeks()]);
  document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
}

// Polls `done` (true when finished, "refused" when the change was refused) every second for
// two minutes; then the views are reloaded.
async function followRescore(done) {
  const status = $("#thresholds-status");
  for (let i = 0; i < 120; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const state = await done();
    if (state === "refused") {
      await loadThresholds();
      status.textContent = "Not saved (below).";
      return;
    }
    if (state) {
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
  $("#threshold-group").addEventListener("change", showGroupFields);
  $("#thresholds").addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = $("#thresholds-status");
    status.dataset.field = "";
    try {
      await saveEntry(entryBody(e.target));
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
