// The dashboard's start and its two views: the dashboard (#) and one activity (#/activity/<id>).
"use strict";

async function route() {
  const match = location.hash.match(/^#\/activity\/(\d+)$/);
  $("#dashboard").hidden = !!match;
  $("#activity-view").hidden = !match;
  $("#error").hidden = true;
  if (match) await showActivity(match[1]);
  else resizeCharts();
}

document.addEventListener("DOMContentLoaded", async () => {
  const params = new URLSearchParams(location.search);
  if (params.has("connected")) {
    connectedImport = Number(params.get("connected")) || 0;
    const banner = $("#banner");
    banner.textContent = "Connected. Your recent activities are being imported; new ones follow within seconds of upload.";
    banner.hidden = false;
    history.replaceState(null, "", "/" + location.hash);
  }
  wireDashboard();
  window.addEventListener("hashchange", () => route().catch(showError));
  try {
    await loadCatalog();
    fillThresholdGroups();
    await refresh();
    await route();
    watchSync();
  } catch (e) {
    showError(e);
  }
});
