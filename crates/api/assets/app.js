// The dashboard's start and its two views: the dashboard (#) and one activity (#/activity/<id>).
"use strict";

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
    await loadCatalog();
    await refresh();
    await route();
  } catch (e) {
    showError(e);
  }
});
