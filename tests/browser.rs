//! The dashboard the way an athlete sees it: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `make test` installs) drives the local stack of the demo
//! (moto, fake-strava, the webhook and read API on one site, the consumer and rollup kept
//! running). It connects through the OAuth redirect, lands on the dashboard, reads the
//! chart and the list against the table, follows "View on Strava", opens an activity,
//! changes FTP and sees the scores change, reads its form (bands, banner, ramp), season
//! bests and weekly totals, uses the estimated FTP and sees the rescore, downloads its data and reads the ZIP against
//! the API, reads the privacy page, and finally disconnects: the confirmation, the page
//! after it, nothing stored, the old cookie refused. It leaves screenshots and its
//! measurements under `target/browser/`.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use stravasync_core::LocalDate;
use stravasync_core::model::{ActivityState, StoredActivity};
use stravasync_core::ports::TokenVault;
use stravasync_core::ports::roles::*;
use stravasync_devtools::demo::{DemoOptions, DemoReport, run};

/// Waits on the page are for conditions, bounded only so that a broken page fails the
/// test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(90);

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn browser(profile_dir: &std::path::Path, downloads: &std::path::Path) -> (Driver, Client) {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let driver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{driver}: {e} (Debian's chromium-driver: `make test` installs it)"));
    let driver = Driver(child);
    let mut up = false;
    for _ in 0..400 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(up, "chromedriver did not listen on {port}");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,3000", "--hide-scrollbars",
                format!("--user-data-dir={}", profile_dir.display()),
            ],
            "prefs": {
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
                "download.directory_upgrade": true,
            },
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    (driver, client)
}

async fn wait_for(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"))
}

async fn script(c: &Client, js: &str) -> Value {
    c.execute(js, vec![]).await.unwrap_or_else(|e| panic!("{js}: {e}"))
}

async fn wait_until(c: &Client, js: &str) -> Value {
    let start = std::time::Instant::now();
    loop {
        let v = script(c, js).await;
        if !(v.is_null() || v == json!(false)) {
            return v;
        }
        assert!(start.elapsed() < PATIENCE, "never true: {js}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn newest(report: &DemoReport, n: usize) -> Vec<StoredActivity> {
    report.stack.store().activities_page(report.athlete, None, n).await.unwrap()
}

async fn live(report: &DemoReport, id: i64) -> StoredActivity {
    match report.stack.store().get_activity(report.athlete, id).await.unwrap() {
        Some(ActivityState::Live(a)) => *a,
        other => panic!("{id}: {other:?}"),
    }
}

/// The score the activity list shows for `id`.
async fn listed_score(c: &Client, id: i64) -> Value {
    script(c, &format!("return document.querySelector(\"#activities tr[data-id='{id}']\").cells[4].textContent")).await
}

fn score_text(a: &StoredActivity) -> String {
    a.metrics.as_ref().and_then(|m| m.score.value).map_or("–".into(), |v| format!("{v:.1}"))
}

/// One athlete's whole visit. The steps make one large future: it runs on a thread with
/// a stack to match (debug builds lay its states out in full).
#[test]
fn an_athlete_connects_sees_the_dashboard_and_the_rescore_of_a_new_ftp() {
    let visit = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(visit());
        })
        .unwrap();
    if let Err(panic) = visit.join() {
        std::panic::resume_unwind(panic);
    }
}

async fn visit() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(endpoint.starts_with("http://127.0.0.1"), "run through `make test` (needs the local moto server)");
    let now = stravasync_core::clock::unix_now();
    let options = DemoOptions {
        suffix: format!("browser-{}", std::process::id()),
        activities: 40,
        seed: 11,
        now,
        kms_tokens: false,
    };
    let report = run(options, |_| {}).await.expect("the demo stack");
    let syncing = {
        let r = report.clone();
        tokio::spawn(async move { r.keep_syncing(Duration::from_millis(250)).await })
    };
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&out).unwrap();
    let profile = std::env::temp_dir().join(format!("stravasync-chromium-{}", std::process::id()));
    let downloads = std::env::temp_dir().join(format!("stravasync-downloads-{}", std::process::id()));
    std::fs::create_dir_all(&downloads).unwrap();
    let (_driver, c) = browser(&profile, &downloads).await;
    let base = &report.base_url;

    // A browser without a session: the connect page. Its link goes through Strava's
    // consent (the fake consents at once) and the callback to the dashboard.
    c.goto(&format!("{base}/")).await.unwrap();
    let connect = wait_for(&c, "#connect").await;
    assert_eq!(connect.text().await.unwrap(), "Connect with Strava");
    connect.click().await.unwrap();
    wait_for(&c, "body[data-pmc-ready='1']").await;
    let url = c.current_url().await.unwrap();
    assert_eq!((url.path(), url.query()), ("/", None), "landed on the dashboard: {url}");
    assert!(c.find(Locator::Css("#banner")).await.unwrap().text().await.unwrap().contains("Connected"));
    let first_chart_ms = script(&c, "return window.firstChartMs").await.as_f64().unwrap();

    // The chart: the stored PMC rows of the last 91 days, with axes and a legend that
    // shows the hovered day's values.
    let today = LocalDate::from_unix_seconds(now);
    let rows = report.stack.store().pmc_rows(report.athlete, today.add_days(-91), today).await.unwrap();
    assert!(!rows.is_empty());
    let drawn = script(&c, "return Number(document.querySelector('#pmc-chart').dataset.rows)").await;
    assert_eq!(drawn, json!(rows.len()));
    assert_eq!(c.find_all(Locator::Css("#pmc-chart canvas")).await.unwrap().len(), 1);
    let axes = script(&c, "return document.querySelectorAll('#pmc-chart .u-axis').length").await;
    assert_eq!(axes, json!(2));
    let hovered = script(
        &c,
        "const o = document.querySelector('#pmc-chart .u-over'); const r = o.getBoundingClientRect();
         o.dispatchEvent(new MouseEvent('mousemove', {clientX: r.right - 1, clientY: r.top + r.height / 2, bubbles: true}));
         return [...document.querySelectorAll('#pmc-chart .u-legend .u-series')].map(s =>
           [s.querySelector('.u-label').textContent, s.querySelector('.u-value').textContent]);",
    )
    .await;
    let last = rows.last().unwrap();
    assert_eq!(hovered[0], json!(["Date", last.date.to_string()]), "{hovered}");
    assert_eq!(hovered[1], json!(["CTL (fitness)", format!("{:.1}", last.ctl)]), "{hovered}");
    assert_eq!(hovered[2], json!(["ATL (fatigue)", format!("{:.1}", last.atl)]), "{hovered}");
    assert_eq!(hovered[3], json!(["TSB (form)", format!("{:.1}", last.tsb)]), "{hovered}");
    // Form: the bands behind the chart with their legend, today's band and ramp beside
    // CTL, and the banner (the demo athlete ends in a hard week: TSB below −20 for days),
    // all as core computes them from the stored rows.
    let form = stravasync_read::insight::form(
        &report.stack.store().pmc_rows(report.athlete, today.add_days(-365), today).await.unwrap(),
        today,
        Default::default(),
    )
    .expect("a form today");
    let bands = script(&c, "return document.querySelector('#pmc-chart').dataset.bands").await;
    let bands: Vec<&str> = bands.as_str().unwrap().split(',').collect();
    assert!(bands.contains(&"optimal") && bands.contains(&"high_risk"), "{bands:?}");
    let legend = script(&c, "return [...document.querySelectorAll('#form-zones li')].map(l => l.textContent)").await;
    assert_eq!(
        legend,
        json!([
            "Transition (above +25)",
            "Fresh (+5 to +25)",
            "Neutral (-10 to +5)",
            "Optimal training (-30 to -10)",
            "High risk (below -30)"
        ])
    );
    assert_eq!(c.find(Locator::Id("form-zone")).await.unwrap().text().await.unwrap(), form.zone.label);
    assert_eq!(c.find(Locator::Id("form-tsb")).await.unwrap().text().await.unwrap(), format!("{:.1}", form.tsb));
    let ramp = c.find(Locator::Id("form-ramp")).await.unwrap().text().await.unwrap();
    let change = form.ramp.ctl_change;
    assert_eq!(ramp, format!("({}{:.1} in 7 days)", if change >= 0.0 { "+" } else { "−" }, change.abs()));
    let overreaching = form.overreaching.as_ref().expect("the demo athlete's form is below −20 for days");
    let banner = c.find(Locator::Id("form-banner")).await.unwrap();
    assert!(banner.is_displayed().await.unwrap(), "the banner is shown");
    let banner = banner.text().await.unwrap();
    assert!(banner.contains(&format!("Since {}", overreaching.since)), "{banner}");
    assert!(banner.contains("Schedule recovery"), "{banner}");

    // The range picker: a year is more rows than three months.
    c.find(Locator::Css("#ranges button[data-days='365']")).await.unwrap().click().await.unwrap();
    let year = report.stack.store().pmc_rows(report.athlete, today.add_days(-365), today).await.unwrap();
    wait_until(&c, &format!("return document.querySelector('#pmc-chart').dataset.rows === '{}'", year.len())).await;

    // The list: the 20 newest activities with their scores and sources.
    let expected = newest(&report, 20).await;
    let listed = script(
        &c,
        "return [...document.querySelectorAll('#activities tbody tr')].map(r =>
           [Number(r.dataset.id), r.cells[0].textContent, r.cells[4].textContent, r.cells[5].textContent]);",
    )
    .await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), expected.len());
    for (row, a) in listed.iter().zip(&expected) {
        assert_eq!(row[0], json!(a.activity_id));
        assert_eq!(row[1], json!(a.local_date.to_string()));
        assert_eq!(row[2], json!(score_text(a)), "activity {}", a.activity_id);
    }
    let powered = expected
        .iter()
        .find(|a| a.metrics.as_ref().is_some_and(|m| m.power.as_ref().is_some_and(|p| p.tss.is_some())))
        .expect("a ride with power among the newest")
        .clone();
    let row = listed.iter().find(|r| r[0] == json!(powered.activity_id)).unwrap();
    assert_eq!(row[3], json!("TSS (power)"));
    // Every row links to the activity on Strava, in words that read as a link.
    let links = script(
        &c,
        "return [...document.querySelectorAll('#activities tbody tr')].map(r => {
           const a = r.querySelector('a.view-on-strava'); const s = getComputedStyle(a);
           return [Number(r.dataset.id), a.textContent, a.href, s.textDecorationLine, s.fontWeight, a.offsetParent !== null];
         });",
    )
    .await;
    for (link, a) in links.as_array().unwrap().iter().zip(&expected) {
        let url = format!("https://www.strava.com/activities/{}", a.activity_id);
        assert_eq!(
            link.as_array().unwrap()[0..3],
            [json!(a.activity_id), json!("View on Strava"), json!(url)],
            "{link}"
        );
        assert_eq!(link[3], json!("underline"), "{link}");
        assert!(link[4].as_str().unwrap().parse::<u32>().unwrap() >= 600, "bold: {link}");
        assert_eq!(link[5], json!(true), "visible: {link}");
    }
    // "Powered by Strava", the privacy notice and the support contact at the foot of the page.
    let footer = wait_for(&c, "footer.site").await.text().await.unwrap();
    assert!(footer.contains("Powered by Strava") && footer.contains("Privacy"), "{footer}");
    assert!(footer.contains(stravasync_aws::local::LOCAL_SUPPORT_EMAIL), "{footer}");

    // One activity: its charts, zones and peaks.
    c.find(Locator::Css(&format!("#activities tr[data-id='{}'] a", powered.activity_id)))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "#streams-chart canvas").await;
    wait_for(&c, "#peaks-chart canvas").await;
    assert!(c.find(Locator::Id("activity-view")).await.unwrap().is_displayed().await.unwrap());
    assert!(!c.find(Locator::Id("dashboard")).await.unwrap().is_displayed().await.unwrap(), "one view at a time");
    let title = c.find(Locator::Css("#activity-title")).await.unwrap().text().await.unwrap();
    assert!(title.contains(powered.summary.name.as_deref().unwrap()), "{title}");
    let on_strava = c.find(Locator::Id("activity-strava")).await.unwrap();
    assert!(on_strava.is_displayed().await.unwrap());
    assert_eq!(on_strava.text().await.unwrap(), "View on Strava");
    assert_eq!(
        on_strava.attr("href").await.unwrap(),
        Some(format!("https://www.strava.com/activities/{}", powered.activity_id))
    );
    assert!(c.find(Locator::Css("footer.site")).await.unwrap().text().await.unwrap().contains("Powered by Strava"));
    let legend =
        script(&c, "return [...document.querySelectorAll('#streams-chart .u-label')].map(l => l.textContent)").await;
    assert!(legend.as_array().unwrap().contains(&json!("Power (W)")), "{legend}");
    let zones = script(&c, "return document.querySelectorAll('#zones .zone').length").await;
    assert!(zones.as_u64().unwrap() >= 5, "{zones}");
    std::fs::write(out.join("activity.png"), c.screenshot().await.unwrap()).unwrap();

    // Back to the dashboard; FTP from 250 to 300: after the consumer's rescore the list
    // shows the new scores, the stored ones.
    c.find(Locator::Css("#activity-view a[href='#']")).await.unwrap().click().await.unwrap();
    wait_until(&c, "return document.querySelector('#dashboard').offsetParent !== null").await;
    assert!(!c.find(Locator::Id("activity-view")).await.unwrap().is_displayed().await.unwrap());
    let before = live(&report, powered.activity_id).await;
    let ftp = c.find(Locator::Id("ftp")).await.unwrap();
    let old_ftp: f64 = ftp.prop("value").await.unwrap().unwrap().parse().unwrap();
    ftp.clear().await.unwrap();
    ftp.send_keys("300").await.unwrap();
    c.find(Locator::Css("#thresholds button[type='submit']")).await.unwrap().click().await.unwrap();
    wait_until(&c, "return document.querySelector('#thresholds-status').textContent.startsWith('Rescored')").await;
    let after = live(&report, powered.activity_id).await;
    let (b, a) = (before.metrics.unwrap().score.value.unwrap(), after.metrics.as_ref().unwrap().score.value.unwrap());
    let expected_score = b * (old_ftp / 300.0).powi(2);
    assert!((a - expected_score).abs() < 1e-9 * expected_score, "{a} vs {expected_score}");
    let shown = listed_score(&c, powered.activity_id).await;
    assert_eq!(shown, json!(score_text(&after)));
    assert_ne!(shown, json!(format!("{b:.1}")));

    // Season bests: the mean-maximal power curve and the table, from the stored peaks.
    let stored_now =
        report.stack.store().activities_between(report.athlete, today.add_days(-400), today).await.unwrap();
    let bests =
        stravasync_read::insight::season_bests(&stored_now, stravasync_read::insight::BestsRange::Days90, today);
    wait_for(&c, "#bests-chart canvas").await;
    let points = script(&c, "return Number(document.querySelector('#bests-chart').dataset.points)").await;
    assert_eq!(points, json!(bests.power.0.iter().flatten().count()));
    let best20 = bests.power.get(1200).expect("a 20-minute power best");
    let cell =
        script(&c, "return document.querySelector(\"#bests tr[data-window='1200']\").cells[1].textContent").await;
    assert_eq!(cell, json!(format!("{:.0} W", best20.value)));
    let from =
        script(&c, "return document.querySelector(\"#bests tr[data-window='1200'] a.view-on-strava\").href").await;
    assert_eq!(from, json!(best20.strava_url));
    // The estimated FTP beside the stored 300 W, and "Use N W": the normal threshold
    // change and rescore (every power score times (300 / N)²).
    let estimate = stravasync_read::insight::estimates(&stored_now, today, Some(300.0), None).ftp.expect("an eFTP");
    assert_eq!(estimate.from.activity_id, best20.activity_id);
    assert!(estimate.suggest, "{} W is more than 3 % from 300 W", estimate.value);
    let eftp = c.find(Locator::Css("#eftp .value")).await.unwrap().text().await.unwrap();
    assert_eq!(eftp, format!("{:.0} W", estimate.value));
    let definition = c.find(Locator::Css("#eftp .definition")).await.unwrap().text().await.unwrap();
    assert!(definition.contains("95 %") && definition.contains("20-minute"), "{definition}");
    let use_it = c.find(Locator::Css("#eftp button.use")).await.unwrap();
    assert_eq!(use_it.text().await.unwrap(), format!("Use {:.0} W", estimate.value));
    let at_300 = live(&report, powered.activity_id).await;
    use_it.click().await.unwrap();
    wait_until(&c, "return document.body.dataset.rescored === '2'").await;
    let used = live(&report, powered.activity_id).await;
    let (b, a) = (at_300.metrics.unwrap().score.value.unwrap(), used.metrics.as_ref().unwrap().score.value.unwrap());
    let expected_score = b * (300.0 / estimate.value).powi(2);
    assert!((a - expected_score).abs() < 1e-9 * expected_score, "{a} vs {expected_score}");
    let shown = listed_score(&c, powered.activity_id).await;
    assert_eq!(shown, json!(score_text(&used)));
    assert!(c.find(Locator::Css("#eftp button.use")).await.is_err(), "nothing to suggest once used");
    assert_eq!(
        c.find(Locator::Id("ftp")).await.unwrap().prop("value").await.unwrap(),
        Some(format!("{:.0}", estimate.value))
    );

    // The last 12 weeks: each row the sums over the stored activities of its week.
    let stored_now =
        report.stack.store().activities_between(report.athlete, today.add_days(-100), today.add_days(7)).await.unwrap();
    let rows = script(
        &c,
        "return [...document.querySelectorAll('#weeks tbody tr')].map(r => [r.dataset.week, r.cells[1].textContent, r.cells[2].textContent, r.cells[4].textContent]);",
    )
    .await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[0][0], json!(stravasync_read::insight::week_start(today).to_string()), "newest first");
    for row in rows {
        let start: LocalDate = row[0].as_str().unwrap().parse().unwrap();
        let week: Vec<&StoredActivity> =
            stored_now.iter().filter(|a| a.local_date >= start && a.local_date <= start.add_days(6)).collect();
        let load = week.iter().fold(0.0, |sum, a| sum + a.load());
        let moving: i64 = week.iter().map(|a| a.summary.moving_time.unwrap_or(0)).sum();
        assert_eq!(row[1], json!(format!("{load:.1}")), "{row}");
        assert_eq!(row[3], json!(week.len().to_string()), "{row}");
        let (h, m, s) = (moving / 3600, moving / 60 % 60, moving % 60);
        let shown = if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") };
        assert_eq!(row[2], json!(shown), "{row}");
    }
    assert!(rows.iter().any(|r| r[3] != json!("0")), "some weeks have activities");
    wait_for(&c, "#weeks-chart canvas").await;

    // "Update existing activities": the import form's checkbox re-syncs the most recent
    // ones (their streams fetched again and rescored) on the background lane; the sync
    // card says when it is done.
    let streams_route = "/api/v3/activities/{id}/streams";
    let fetched = report.fake.state.requests_to(streams_route);
    let form = c.find(Locator::Id("backfill")).await.unwrap();
    let count = form.find(Locator::Css("input[name='count']")).await.unwrap();
    count.clear().await.unwrap();
    count.send_keys("5").await.unwrap();
    form.find(Locator::Css("input[name='refresh']")).await.unwrap().click().await.unwrap();
    form.find(Locator::Css("button[type='submit']")).await.unwrap().click().await.unwrap();
    wait_until(&c, "return document.querySelector('#backfill-status').textContent.startsWith('Re-sync started')").await;
    wait_until(&c, "return document.querySelector('#sync').textContent.includes('re-sync finished')").await;
    let progress = report.stack.store().get_profile(report.athlete).await.unwrap().unwrap().backfill.unwrap();
    assert!(progress.refresh && progress.finished_at.is_some() && progress.done == 5, "{progress:?}");
    let refetched = report.fake.state.requests_to(streams_route) - fetched;
    assert!((4..=5).contains(&refetched), "the five newest fetched again (a manual one has no streams): {refetched}");

    // What a first visit transfers, and a picture of the dashboard.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for(&c, "body[data-pmc-ready='1']").await;
    let transferred = script(
        &c,
        "const n = performance.getEntriesByType('navigation')[0];
         const r = performance.getEntriesByType('resource');
         return {page: n.encodedBodySize, assets: r.filter(e => e.name.includes('/static/')).map(e => [e.name.split('/static/')[1].split('?')[0], e.encodedBodySize]),
                 api: r.filter(e => e.name.includes('/api/')).map(e => [e.name.split(location.host)[1], e.encodedBodySize])};",
    )
    .await;
    // The picture with a day hovered, as a person reads the chart.
    script(
        &c,
        "const o = document.querySelector('#pmc-chart .u-over'); const r = o.getBoundingClientRect();
         o.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + r.width * 0.8, clientY: r.top + r.height / 3, bubbles: true}));",
    )
    .await;
    std::fs::write(out.join("dashboard.png"), c.screenshot().await.unwrap()).unwrap();
    let metrics = json!({ "first_chart_ms": first_chart_ms, "transferred": transferred });
    std::fs::write(out.join("metrics.json"), serde_json::to_string_pretty(&metrics).unwrap()).unwrap();
    println!("browser metrics: {metrics}");

    // Signing out ends this browser's session only: the connect page; signing in again
    // lands on the dashboard.
    c.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
    let connect = wait_for(&c, "#connect").await;
    let privacy_link = c.find(Locator::Css("footer.site a[href='/privacy']")).await.unwrap();
    assert!(privacy_link.is_displayed().await.unwrap(), "the connect page links the privacy notice");
    let style = script(&c, "return getComputedStyle(document.querySelector('#connect')).backgroundColor").await;
    assert_eq!(style, json!("rgb(252, 76, 2)"), "Connect with Strava in Strava's orange (#FC4C02)");
    connect.click().await.unwrap();
    wait_for(&c, "body[data-pmc-ready='1']").await;

    // The privacy page, from the footer: what is stored, for how long, the support contact.
    c.find(Locator::Css("footer.site a[href='/privacy']")).await.unwrap().click().await.unwrap();
    let heading = wait_for(&c, "main h1").await.text().await.unwrap();
    assert_eq!(heading, "Privacy");
    let notice = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
    for phrase in
        ["What we keep", "How long", "deleted when you disconnect", "never shown to other users", "never used to train"]
    {
        assert!(notice.contains(phrase), "{phrase} in {notice}");
    }
    assert!(notice.contains(stravasync_aws::local::LOCAL_SUPPORT_EMAIL));
    std::fs::write(out.join("privacy.png"), c.screenshot().await.unwrap()).unwrap();
    c.back().await.unwrap();
    wait_for(&c, "body[data-pmc-ready='1']").await;

    // "Download my data": the browser saves one ZIP, whose rows are the API's.
    c.find(Locator::Id("export-link")).await.unwrap().click().await.unwrap();
    let archive = saved_zip(&downloads).await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(std::fs::read(&archive).unwrap())).unwrap();
    let rows = stravasync_read::export::parse_csv(&zip_text(&mut zip, "activities.csv"));
    let stored = newest(&report, 100).await;
    let exported: Vec<(i64, String)> = rows[1..].iter().map(|r| (r[0].parse().unwrap(), r[1].clone())).collect();
    let expected: Vec<(i64, String)> = stored.iter().map(|a| (a.activity_id, a.local_date.to_string())).collect();
    assert_eq!(exported, expected, "a row per stored activity, newest first");
    let shown =
        script(&c, "return [...document.querySelectorAll('#activities tbody tr')].map(r => Number(r.dataset.id))")
            .await;
    let shown: Vec<i64> = serde_json::from_value(shown).unwrap();
    assert_eq!(
        shown,
        exported.iter().take(shown.len()).map(|(id, _)| *id).collect::<Vec<_>>(),
        "the ZIP matches the list"
    );
    let pmc = stravasync_read::export::parse_csv(&zip_text(&mut zip, "pmc.csv"));
    let all_days = report
        .stack
        .store()
        .pmc_rows(report.athlete, LocalDate::from_days_since_epoch(0), today.add_days(1))
        .await
        .unwrap();
    assert_eq!(pmc.len() - 1, all_days.len(), "every stored day");
    let with_streams = stored.iter().filter(|a| a.stream_chunks > 0).count();
    assert_eq!(zip.file_names().filter(|n| n.as_ref().is_ok_and(|n| n.starts_with("streams/"))).count(), with_streams);
    // A second download within minutes is refused, and the page says when to come back.
    c.find(Locator::Id("export-link")).await.unwrap().click().await.unwrap();
    wait_until(&c, "return document.querySelector('#export-status').textContent.includes('try again in')").await;

    // Disconnect: a confirmation names what goes; cancel keeps everything.
    let cookie = c.get_named_cookie(stravasync_read::site::SESSION_COOKIE_INSECURE).await.unwrap().value().to_string();
    c.find(Locator::Id("disconnect")).await.unwrap().click().await.unwrap();
    let dialog = wait_for(&c, "#disconnect-dialog[open]").await;
    let names = dialog.text().await.unwrap();
    for what in [
        format!("your {} activities", stored.len()),
        "training-load chart".into(),
        "profile and thresholds".into(),
        "Strava authorization".into(),
    ] {
        assert!(names.contains(&what), "{what} in {names}");
    }
    std::fs::write(out.join("disconnect.png"), c.screenshot().await.unwrap()).unwrap();
    c.find(Locator::Id("disconnect-cancel")).await.unwrap().click().await.unwrap();
    wait_until(&c, "return !document.querySelector('#disconnect-dialog').open").await;
    assert!(report.stack.store().athlete_has_items(report.athlete).await.unwrap(), "cancel deletes nothing");
    // Confirmed: revoked at Strava, everything deleted, the page after it.
    c.find(Locator::Id("disconnect")).await.unwrap().click().await.unwrap();
    wait_for(&c, "#disconnect-dialog[open]").await;
    c.find(Locator::Id("disconnect-confirm")).await.unwrap().click().await.unwrap();
    let done = wait_for(&c, "#disconnected-title").await.text().await.unwrap();
    assert_eq!(done, "Disconnected, and your data deleted");
    assert_eq!(c.current_url().await.unwrap().path(), "/disconnected");
    assert!(c.find(Locator::Css("footer.site a[href='/privacy']")).await.is_ok());
    assert!(!report.stack.store().athlete_has_items(report.athlete).await.unwrap(), "nothing of the athlete stored");
    assert!(report.stack.token_vault().get_tokens_fresh(report.athlete).await.unwrap().is_none(), "tokens gone");
    assert!(!report.fake.state.connected_athletes().contains(&report.athlete), "revoked at Strava");
    // The old cookie, put back by hand, is refused: the connect page, and 401 from the API.
    let name = stravasync_read::site::SESSION_COOKIE_INSECURE;
    script(&c, &format!("document.cookie = '{name}={cookie}; path=/'")).await;
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for(&c, "#connect").await;
    let http = stravasync_strava::tls::http_client_builder().build().unwrap();
    let me = http.get(format!("{base}/api/me")).header("cookie", format!("{name}={cookie}")).send().await.unwrap();
    assert_eq!(me.status().as_u16(), 401);

    c.close().await.unwrap();
    syncing.abort();
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_dir_all(&downloads);
}

/// The ZIP the browser saved in `dir`, once complete.
async fn saved_zip(dir: &std::path::Path) -> std::path::PathBuf {
    let start = std::time::Instant::now();
    loop {
        let files: Vec<std::path::PathBuf> =
            std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok().map(|e| e.path())).collect();
        let partial = files.iter().any(|f| f.extension().is_some_and(|e| e == "crdownload"));
        if let Some(zip) = files.iter().find(|f| f.extension().is_some_and(|e| e == "zip"))
            && !partial
        {
            assert!(zip.file_name().unwrap().to_string_lossy().starts_with("training-data-"), "{zip:?}");
            return zip.clone();
        }
        assert!(start.elapsed() < PATIENCE, "no download in {dir:?}: {files:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn zip_text(zip: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> String {
    use std::io::Read;
    let mut text = String::new();
    zip.by_name(name).unwrap_or_else(|e| panic!("{name}: {e}")).read_to_string(&mut text).unwrap();
    text
}
