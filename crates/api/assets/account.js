// The athlete's settings and data: profile and sync status (/api/me), thresholds and their
// rescore, history import, export, disconnect; the dashboard's controls.
"use strict";

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
