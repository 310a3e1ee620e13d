//! The insight routes: form (`GET /api/form`), season bests with the estimated
//! thresholds (`GET /api/bests?range`) and weekly totals (`GET /api/weeks`), computed by
//! [`stravasync_core::insight`] from the stored PMC rows and per-activity metrics (no
//! stream is read), the activities a page at a time.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use stravasync_core::insight::{
    self, BestsRange, FORM_ZONES, OVERREACHING_DAYS, OVERREACHING_TSB, RAMP_NOTE_ABOVE, SeasonBests, WeeklyTotals,
};
use stravasync_core::metrics::PEAK_WINDOWS;
use stravasync_core::ports::{ActivityStore, EventQueue, activities_by_page};

use crate::ApiError;
use crate::routes::{Params, Shared, bad_request, json_no_store};

/// Activities read per page: the bests and weekly totals hold one page, whatever the
/// history (about 1.7 KB an item on DynamoDB).
const PAGE: usize = stravasync_core::view::MAX_PAGE;

/// `GET /api/form`: today's CTL, ATL, TSB, its band, the 7-day CTL ramp, the
/// over-reaching banner, and the bands themselves (the chart shades them).
pub(crate) async fn form<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: axum_extra::extract::CookieJar,
) -> Result<Response, ApiError> {
    let (athlete, profile) = api.signed_in(&cookies).await?;
    let today = api.today();
    let (first, last) = insight::form_read_days(today);
    let rows = api.store.pmc_rows(athlete, first, last).await.map_err(|e| ApiError::unavailable("pmc", e))?;
    let form = insight::form(&rows, today, profile.pmc);
    Ok(json_no_store(
        StatusCode::OK,
        json!({
            "today": today,
            "form": form,
            "zones": FORM_ZONES,
            "overreaching_below": OVERREACHING_TSB,
            "overreaching_days": OVERREACHING_DAYS,
            "ramp_note_above": RAMP_NOTE_ABOVE,
        }),
    ))
}

/// `GET /api/bests?range=42d|90d|1y|all` (default 90d): the best power, heart rate and
/// pace of each peak window over the range, each naming its activity; and the FTP and
/// threshold pace estimated from the last 90 days, next to the stored ones.
pub(crate) async fn bests<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: axum_extra::extract::CookieJar,
    Query(q): Params,
) -> Result<Response, ApiError> {
    let (athlete, profile) = api.signed_in(&cookies).await?;
    let range = BestsRange::parse("range", q.get("range").map(String::as_str)).map_err(bad_request)?;
    let today = api.today();
    let (first, last) = insight::bests_read_days(range, today);
    let mut bests = SeasonBests::new(range, today);
    let mut recent = SeasonBests::new(BestsRange::Days90, today);
    activities_by_page(&api.store, athlete, first, last, PAGE, |page| {
        for a in page {
            bests.add(a);
            recent.add(a);
        }
    })
    .await
    .map_err(|e| ApiError::unavailable("activities", e))?;
    let t = &profile.thresholds;
    let estimates = insight::estimates_from(&recent, t.ftp, t.threshold_speed);
    Ok(json_no_store(StatusCode::OK, json!({ "windows": PEAK_WINDOWS, "bests": bests, "estimates": estimates })))
}

/// `GET /api/weeks`: the last 12 weeks, Monday to Sunday, with load, moving time,
/// distance and count, in total and per sport.
pub(crate) async fn weeks<S: ActivityStore, Q: EventQueue>(
    State(api): Shared<S, Q>,
    cookies: axum_extra::extract::CookieJar,
) -> Result<Response, ApiError> {
    let (athlete, _) = api.signed_in(&cookies).await?;
    let today = api.today();
    let (first, last) = insight::weeks_read_days(today);
    let mut weeks = WeeklyTotals::new(today);
    activities_by_page(&api.store, athlete, first, last, PAGE, |page| page.iter().for_each(|a| weeks.add(a)))
        .await
        .map_err(|e| ApiError::unavailable("activities", e))?;
    Ok(json_no_store(StatusCode::OK, json!({ "weeks": weeks.weeks() })))
}
