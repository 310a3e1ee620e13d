//! The dashboard the way an athlete sees it: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `make test` installs) drives the local stack of the demo
//! (moto, fake-strava, the webhook and read API on one site, the consumer and rollup kept
//! running, the scheduled rollup off: the page must not wait for it). It connects through
//! the OAuth redirect, lands on the dashboard, reads the chart and the list against the
//! table, follows "View on Strava", opens an activity (and a manual one, and resizes), is
//! refused implausible thresholds in words, adds a running threshold from a date and sees
//! only the later runs rescored, changes the cycling entry from the start (FTP, CP, W′) and
//! sees the scores and the chart change on their own, reads a ride's W′ balance, decoupling
//! and EF, reads its form on a short history (provisional, no false banner), imports the
//! older history it is offered and reads its settled form (the banner), reads season bests,
//! the CP curve and weekly totals, uses the estimated FTP and the fitted CP from today and
//! sees the rescore, downloads
//! its data and reads the ZIP against the API, reads the privacy page, reads every page at
//! phone widths (360 and 390 px: nothing wider than the screen), and finally disconnects:
//! the confirmation, the page after it, nothing stored, the old cookie refused. The
//! console holds no error at the end. It leaves screenshots and its measurements under
//! `target/browser/`.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use stravasync_core::LocalDate;
use stravasync_core::model::{ActivityState, StoredActivity};
use stravasync_core::ports::roles::*;
use stravasync_core::ports::{RationStore, TokenVault};
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
    caps.insert("goog:loggingPrefs".into(), json!({ "browser": "ALL" }));
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let client = ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a Chromium session");
    (driver, client)
}

/// Chromedriver's log of the page's console since the last read (`POST /se/log`).
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(json!({ "type": "browser" }).to_string()))
    }
}

/// The console's errors since the last read: what a script threw or logged as an error.
/// A refused request (a 4xx the page then explains) is the network's line, not the page's.
async fn console_errors(c: &Client) -> Vec<String> {
    let log = c.issue_cmd(BrowserLog).await.expect("the browser's console log");
    log.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE" && e["source"] != "network")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// The page's width against the window's: nothing may be wider than a phone's screen.
async fn assert_fits(c: &Client, what: &str) {
    let widths = script(c, "return [document.documentElement.scrollWidth, window.innerWidth]").await;
    assert!(widths[0].as_u64() <= widths[1].as_u64(), "{what}: {widths} (scrolls sideways)");
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
        if start.elapsed() >= PATIENCE {
            // What the page says, for the failure's message.
            let said = script(
                c,
                "return ['#error', '#thresholds-status', '#thresholds-refused', '#backfill-status']
                   .map(s => `${s}: ${(document.querySelector(s) || {}).textContent || ''}`).join(' | ')",
            )
            .await;
            panic!("never true: {js}\nthe page says: {said}\nconsole: {:?}", console_errors(c).await);
        }
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

/// A threshold form that is refused: the sport, the fields typed and what the page says.
type Refused<'a> = (&'a str, &'a [(&'a str, String)], String);

/// Chooses the sport of the threshold form, as a person picks it.
async fn choose_group(c: &Client, group: &str) {
    script(
        c,
        &format!(
            "const s = document.querySelector('#threshold-group'); s.value = '{group}'; s.dispatchEvent(new Event('change')); return true"
        ),
    )
    .await;
}

/// Types `fields` (by name) into the threshold form, each cleared first.
async fn fill(c: &Client, fields: &[(&str, String)]) {
    for (field, typed) in fields {
        let input = c.find(Locator::Css(&format!("#thresholds input[name='{field}']"))).await.unwrap();
        input.clear().await.unwrap();
        input.send_keys(typed).await.unwrap();
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
    // Ten in the morning of today: the test moves the demo's clock on by hours at most, and
    // the day stays the browser's day.
    let now = stravasync_core::clock::unix_now() / 86_400 * 86_400 + 10 * 3600;
    // A season long enough that the athlete's whole history settles CTL (about 180 days);
    // the connection imports only the last 30 of it.
    let options = DemoOptions {
        suffix: format!("browser-{}", std::process::id()),
        activities: 120,
        seed: 11,
        now,
        kms_tokens: false,
        // An application past Strava's review: enough of Strava's window for the older
        // history in one go.
        read_limits: Some((600, 6000)),
    };
    let report = run(options, |_| {}).await.expect("the demo stack");
    let syncing = {
        let r = report.clone();
        tokio::spawn(async move { r.keep_syncing(Duration::from_millis(250), None).await })
    };
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser");
    std::fs::create_dir_all(&out).unwrap();
    let profile = std::env::temp_dir().join(format!("stravasync-chromium-{}", std::process::id()));
    let downloads = std::env::temp_dir().join(format!("stravasync-downloads-{}", std::process::id()));
    std::fs::create_dir_all(&downloads).unwrap();
    let (_driver, c) = browser(&profile, &downloads).await;
    let base = &report.base_url;

    // A minute after the demo's own connection (its clock is the demo's, not the wall's).
    report.clock.advance(60);
    // A browser without a session: the connect page. Its link goes through Strava's
    // consent (the fake consents at once) and the callback to the dashboard.
    c.goto(&format!("{base}/")).await.unwrap();
    let connect = wait_for(&c, "#connect").await;
    assert_eq!(connect.text().await.unwrap(), "Connect with Strava");
    connect.click().await.unwrap();
    wait_for(&c, "body[data-pmc-ready='1']").await;
    let url = c.current_url().await.unwrap();
    assert_eq!((url.path(), url.query()), ("/", None), "landed on the dashboard: {url}");
    let welcome = script(&c, "return document.querySelector('#banner').textContent").await;
    assert!(welcome.as_str().unwrap().contains("Connected"), "{welcome}");
    let first_chart_ms = script(&c, "return window.firstChartMs").await.as_f64().unwrap();
    // The welcome goes once the connection's import has run (the page follows it).
    wait_until(&c, "return document.querySelector('#banner').hidden").await;
    let import = report.stack.store().get_profile(report.athlete).await.unwrap().unwrap().backfill.unwrap();
    assert!(import.finished_at.is_some(), "{import:?}");

    // The chart: the stored PMC rows of the last 91 days, with axes and a legend that
    // shows the hovered day's values.
    let today = LocalDate::from_unix_seconds(now);
    let rows = report.stack.store().pmc_rows(report.athlete, today.add_days(-91), today).await.unwrap();
    assert!(!rows.is_empty());
    let drawn = script(&c, "return Number(document.querySelector('#pmc-chart').dataset.rows)").await;
    assert_eq!(drawn, json!(rows.len()));
    assert_eq!(c.find_all(Locator::Css("#pmc-chart canvas")).await.unwrap().len(), 1);
    let axes = script(&c, "return document.querySelectorAll('#pmc-chart .u-axis').length").await;
    assert_eq!(axes, json!(3), "days, CTL/ATL, load");
    let hovered = script(
        &c,
        "const o = document.querySelector('#pmc-chart .u-over'); const r = o.getBoundingClientRect();
         o.dispatchEvent(new MouseEvent('mousemove', {clientX: r.right - 2, clientY: r.top + r.height / 2, bubbles: true}));
         const read = (chart) => [...document.querySelectorAll(chart + ' .u-legend .u-series')].map(s =>
           [s.querySelector('.u-label').textContent, s.querySelector('.u-value').textContent]);
         return [read('#pmc-chart'), read('#tsb-chart')];",
    )
    .await;
    let last = rows.last().unwrap();
    let minus = |v: f64, digits: usize| format!("{v:.digits$}").replace('-', "\u{2212}");
    // The last day is whole on the chart, and the form panel follows the same cursor.
    assert_eq!(hovered[0][0], json!(["Date", last.date.to_string()]), "{hovered}");
    assert_eq!(hovered[0][1], json!(["Load", minus(last.load, 0)]), "{hovered}");
    assert_eq!(hovered[0][2], json!(["CTL (fitness)", minus(last.ctl, 1)]), "{hovered}");
    assert_eq!(hovered[0][3], json!(["ATL (fatigue)", minus(last.atl, 1)]), "{hovered}");
    assert_eq!(hovered[1][1], json!(["TSB (form)", minus(last.tsb, 1)]), "{hovered}");
    // Form on a short history (the last 30 activities): what the page shows is what the
    // read side says, provisional, and the banner the raw chart would raise stays silent.
    let athlete = report.stack.store().get_profile(report.athlete).await.unwrap().unwrap();
    let answer = stravasync_read::answers::form(&report.stack.store(), &athlete, today).await.unwrap();
    let form = answer.form.clone().expect("a form today");
    let settling = answer.settling.clone().expect("a history");
    assert!(form.provisional && form.overreaching.is_none(), "{form:?}");
    let raw = stravasync_read::insight::form(
        &report.stack.store().pmc_rows(report.athlete, today.add_days(-365), today).await.unwrap(),
        today,
        Default::default(),
    )
    .unwrap();
    assert!(raw.overreaching.is_some(), "the chart from zero would warn");
    let bands = script(&c, "return document.querySelector('#tsb-chart').dataset.bands").await;
    let bands: Vec<&str> = bands.as_str().unwrap().split(',').collect();
    assert!(bands.contains(&"optimal") && bands.contains(&"high_risk"), "{bands:?}");
    let legend = script(&c, "return [...document.querySelectorAll('#form-zones li')].map(l => l.textContent)").await;
    assert_eq!(
        legend,
        json!([
            "Transition (above +25)",
            "Fresh (+5 to +25)",
            "Neutral (\u{2212}10 to +5)",
            "Optimal training (\u{2212}30 to \u{2212}10)",
            "High risk (below \u{2212}30)"
        ])
    );
    let zone = c.find(Locator::Id("form-zone")).await.unwrap().text().await.unwrap();
    assert_eq!(zone, format!("{} (provisional)", form.zone.label));
    let tsb = c.find(Locator::Id("form-tsb")).await.unwrap().text().await.unwrap();
    assert_eq!(tsb, format!("{}{}", if form.tsb > 0.0 { "+" } else { "" }, minus(form.tsb, 1)));
    let why = c.find(Locator::Id("form-provisional")).await.unwrap();
    assert!(why.is_displayed().await.unwrap());
    assert_eq!(why.text().await.unwrap(), settling.reason);
    assert!(!c.find(Locator::Id("form-banner")).await.unwrap().is_displayed().await.unwrap(), "no false banner");
    assert!(c.find(Locator::Id("ramp-note")).await.is_err(), "no ramp note on a settling day");
    let settled = script(&c, "return document.querySelector('#pmc-chart').dataset.settledFrom").await;
    assert_eq!(settled, json!(settling.settled_from.to_string()), "the chart shows where settling ends");
    let start = c.find(Locator::Id("history-start")).await.unwrap().text().await.unwrap();
    assert_eq!(start, format!("Your history starts on {}.", settling.history_from));
    let offer = settling.import_offer.expect("an import that would settle today");
    let offered = c.find(Locator::Id("import-offer-text")).await.unwrap().text().await.unwrap();
    assert_eq!(offered, format!("Import {} to {} for a reliable form.", offer.after, offer.before));

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
    // The time axis ticks on round minutes (here every 5, 10, 15 or 30 minutes).
    let ticks = script(&c, "return document.querySelector('#streams-chart').dataset.ticks").await;
    let ticks: Vec<u64> = ticks.as_str().unwrap().split(',').map(|t| t.parse().unwrap()).collect();
    let step = ticks[1] - ticks[0];
    assert!([300, 600, 900, 1800, 3600].contains(&step) && ticks.iter().all(|t| t % step == 0), "{ticks:?}");
    let zones = script(&c, "return document.querySelectorAll('#zones .zone').length").await;
    assert!(zones.as_u64().unwrap() >= 5, "{zones}");
    std::fs::write(out.join("activity.png"), c.screenshot().await.unwrap()).unwrap();
    // A manual activity: no streams, no score, and a sentence that says why; resizing the
    // window then redraws what is shown and nothing else (no error in the console).
    let manual = newest(&report, 100).await.into_iter().find(|a| a.stream_chunks == 0).expect("a manual activity");
    c.goto(&format!("{base}/#/activity/{}", manual.activity_id)).await.unwrap();
    let why = wait_for(&c, "#activity-unscored:not([hidden])").await.text().await.unwrap();
    assert!(why.starts_with("No score: this activity was entered by hand"), "{why}");
    let empty = c.find(Locator::Id("streams-chart")).await.unwrap().text().await.unwrap();
    assert!(empty.contains("No streams"), "{empty}");
    c.set_window_size(900, 2000).await.unwrap();
    c.set_window_size(1280, 3000).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // the resize handler's debounce
    assert_eq!(console_errors(&c).await, Vec::<String>::new(), "resizing with a manual activity open");

    // Back to the dashboard; thresholds a person could not have are refused, in words.
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for(&c, "body[data-pmc-ready='1']").await;
    assert!(!c.find(Locator::Id("activity-view")).await.unwrap().is_displayed().await.unwrap());
    let store = report.stack.store();
    let thresholds_before = store.get_profile(report.athlete).await.unwrap().unwrap().thresholds;
    let hr_max = thresholds_before.hr_max.unwrap();
    let above_max = (hr_max + 5.0).min(230.0);
    let cases: [Refused; 5] = [
        ("cycling", &[("ftp", "2x0".into())], "FTP: enter a whole number, not “2x0”.".into()),
        (
            "default",
            &[("lthr", format!("{above_max:.0}")), ("hr_max", format!("{hr_max:.0}"))],
            format!("Threshold heart rate ({above_max:.0} bpm) cannot be above maximum heart rate ({hr_max:.0} bpm)."),
        ),
        (
            "default",
            &[("lthr", "100".into()), ("hr_rest", "110".into())],
            "Resting heart rate (110 bpm) must be below threshold heart rate (100 bpm).".into(),
        ),
        ("running", &[("pace", "0:30".into())], "Threshold pace must be between 1:40 and 16:40 per km.".into()),
        (
            "cycling",
            &[("cp", "250".into()), ("w_prime", "20".into())],
            "W′ is in joules (20 kJ is 20000) and must be above CP.".into(),
        ),
    ];
    for (group, fields, said) in cases {
        c.goto(&format!("{base}/")).await.unwrap();
        wait_for(&c, "body[data-pmc-ready='1']").await;
        choose_group(&c, group).await;
        fill(&c, fields).await;
        c.find(Locator::Css("#thresholds button[type='submit']")).await.unwrap().click().await.unwrap();
        let shown =
            wait_until(&c, "const t = document.querySelector('#thresholds-status').textContent; return t || null")
                .await;
        assert_eq!(shown, json!(said), "{group} {fields:?}");
    }
    assert!(store.threshold_history(report.athlete).await.unwrap().is_none(), "nothing refused was stored");
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for(&c, "body[data-pmc-ready='1']").await;

    // A running entry from a day in the middle of the runs (a faster threshold pace, and a
    // running FTP for runs with power): only the runs from that day are rescored; the rides
    // and the earlier runs keep their scores, to the bit.
    let all_before = store.activities_between(report.athlete, today.add_days(-400), today).await.unwrap();
    let runs: Vec<&StoredActivity> =
        all_before.iter().filter(|a| a.summary.sport_type.as_deref() == Some("Run") && a.metrics.is_some()).collect();
    assert!(runs.len() >= 4, "{} runs", runs.len());
    let from = runs[runs.len() / 2].local_date;
    assert!(runs.iter().any(|a| a.local_date < from), "runs before {from}");
    let old_speed = thresholds_before.threshold_speed.unwrap();
    let new_speed = (1000.0f64 / 240.0 * 1000.0).round() / 1000.0; // 4:00 per km, as the page rounds it
    choose_group(&c, "running").await;
    script(&c, &format!("document.querySelector('#thresholds [name=effective_from]').value = '{from}'; return true"))
        .await;
    fill(&c, &[("ftp", "280".into()), ("pace", "4:00".into())]).await;
    c.find(Locator::Css("#thresholds button[type='submit']")).await.unwrap().click().await.unwrap();
    wait_until(&c, "return document.body.dataset.rescored === '1'").await;
    let all_after = store.activities_between(report.athlete, today.add_days(-400), today).await.unwrap();
    let mut rescored = 0;
    for b in &all_before {
        let a = all_after.iter().find(|a| a.activity_id == b.activity_id).expect("still stored");
        let (old, new) = (b.metrics.as_ref().map(|m| m.score.clone()), a.metrics.as_ref().map(|m| m.score.clone()));
        let later_run = a.summary.sport_type.as_deref() == Some("Run") && a.local_date >= from;
        match (old, new) {
            (Some(o), Some(n)) if later_run && o.source == stravasync_core::metrics::ScoreSource::Pace => {
                let want = o.value.unwrap() * (old_speed / new_speed).powi(2);
                assert!((n.value.unwrap() - want).abs() <= 1e-9 * want, "{}: {n:?} vs {want}", a.activity_id);
                rescored += 1;
            }
            (o, n) => assert_eq!(n, o, "{} of {}: not a run from {from}", a.activity_id, a.local_date),
        }
    }
    assert!(rescored >= 2, "{rescored} runs rescored");
    let row = format!("#threshold-history table[data-group='running'] tr[data-from='{from}']");
    let listed = wait_for(&c, &row).await.text().await.unwrap();
    assert!(listed.contains("FTP 280 W") && listed.contains("pace 4:00 /km"), "{listed}");

    // "Change" the cycling entry that holds from the start: FTP 250 to 300 with a CP and W′.
    // After the consumer's rescore every ride shows its new score, and the chart its
    // recomputed rows, without the scheduled rollup and without a reload.
    let before = live(&report, powered.activity_id).await;
    let chart_before = store.pmc_rows(report.athlete, today, today).await.unwrap();
    let old_ftp = thresholds_before.ftp.unwrap();
    c.find(Locator::Css("#threshold-history table[data-group='cycling'] tr[data-from='0001-01-01'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let prefilled = script(&c, "return document.querySelector('#thresholds [name=ftp]').value").await;
    assert_eq!(prefilled, json!(format!("{old_ftp:.0}")), "the entry's values in the form");
    fill(&c, &[("ftp", "300".into()), ("cp", "240".into()), ("w_prime", "20000".into())]).await;
    c.find(Locator::Css("#thresholds button[type='submit']")).await.unwrap().click().await.unwrap();
    wait_until(&c, "return document.body.dataset.rescored === '2'").await;
    let chart_after = store.pmc_rows(report.athlete, today, today).await.unwrap();
    assert_ne!(chart_after, chart_before, "the stored chart follows the rescore at once");
    let shown_ctl = script(
        &c,
        "const o = document.querySelector('#pmc-chart .u-over'); const r = o.getBoundingClientRect();
         o.dispatchEvent(new MouseEvent('mousemove', {clientX: r.right - 2, clientY: r.top + r.height / 2, bubbles: true}));
         return document.querySelectorAll('#pmc-chart .u-legend .u-series')[2].querySelector('.u-value').textContent;",
    )
    .await;
    assert_eq!(shown_ctl, json!(minus(chart_after[0].ctl, 1)), "the page shows it");
    let after = live(&report, powered.activity_id).await;
    let (b, a) = (before.metrics.unwrap().score.value.unwrap(), after.metrics.as_ref().unwrap().score.value.unwrap());
    let expected_score = b * (old_ftp / 300.0).powi(2);
    assert!((a - expected_score).abs() < 1e-9 * expected_score, "{a} vs {expected_score}");
    let shown = listed_score(&c, powered.activity_id).await;
    assert_eq!(shown, json!(score_text(&after)));
    assert_ne!(shown, json!(format!("{b:.1}")));

    // A ride with CP and W′ in force: its W′ balance under the power chart, the lowest point
    // marked, and its decoupling and EF read with their reference.
    let rides = store.activities_between(report.athlete, today.add_days(-400), today).await.unwrap();
    let steady = rides
        .iter()
        .filter(|a| {
            a.metrics
                .as_ref()
                .is_some_and(|m| m.wbal.is_some() && m.decoupling.as_ref().is_some_and(|d| d.pct.is_some()))
        })
        .max_by_key(|a| a.metrics.as_ref().unwrap().duration_s)
        .expect("a ride with W'bal and decoupling")
        .clone();
    c.goto(&format!("{base}/#/activity/{}", steady.activity_id)).await.unwrap();
    wait_for(&c, "#wbal-chart canvas").await;
    let m = steady.metrics.as_ref().unwrap();
    let drawn_min = script(&c, "return Number(document.querySelector('#wbal-chart').dataset.min)").await;
    let stored_min = m.wbal.as_ref().unwrap().min;
    assert!(
        (drawn_min.as_f64().unwrap() - stored_min).abs() <= 1e-9 * stored_min.abs().max(1.0),
        "{drawn_min} vs {stored_min}"
    );
    let note = c.find(Locator::Id("wbal-note")).await.unwrap().text().await.unwrap();
    assert!(note.contains("CP 240 W") && note.contains("W′ 20.0 kJ") && note.contains("(marked)"), "{note}");
    let decoupling = c.find(Locator::Id("decoupling")).await.unwrap().text().await.unwrap();
    let pct = m.decoupling.as_ref().unwrap().pct.unwrap();
    assert!(decoupling.starts_with(&format!("{} %", minus(pct, 1))) && decoupling.contains("Friel"), "{decoupling}");
    let ef = c.find(Locator::Id("ef")).await.unwrap().text().await.unwrap();
    assert_eq!(ef, format!("{:.2} W/bpm", m.ef.unwrap()));
    std::fs::write(out.join("activity-wbal.png"), c.screenshot().await.unwrap()).unwrap();
    assert_eq!(console_errors(&c).await, Vec::<String>::new(), "the W'bal chart");
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for(&c, "body[data-pmc-ready='1']").await;

    // Season bests: the mean-maximal power curve and the table, from the stored peaks.
    let stored_now = store.activities_between(report.athlete, today.add_days(-400), today).await.unwrap();
    let bests =
        stravasync_read::insight::season_bests(&stored_now, stravasync_read::insight::BestsRange::Days90, today);
    wait_for(&c, "#bests-chart canvas").await;
    let points = script(&c, "return Number(document.querySelector('#bests-chart').dataset.points)").await;
    assert_eq!(points, json!(bests.power.0.iter().flatten().count()));
    let best20 = bests.power.get(1200).expect("a 20-minute power best");
    let cell =
        script(&c, "return document.querySelector(\"#bests tr[data-window='1200']\").cells[1].textContent").await;
    assert_eq!(cell, json!(format!("{:.0} W", best20.value)));
    let from_link =
        script(&c, "return document.querySelector(\"#bests tr[data-window='1200'] a.view-on-strava\").href").await;
    assert_eq!(from_link, json!(best20.strava_url));
    // The estimated FTP beside the 300 W in force, and "Use N W": the value holds from today
    // (today's rides rescored, none before).
    let estimate = stravasync_read::insight::estimates(&stored_now, today, Some(300.0), None).ftp.expect("an eFTP");
    assert_eq!(estimate.from.activity_id, best20.activity_id);
    assert!(estimate.suggest, "{} W is more than 3 % from 300 W", estimate.value);
    let eftp = c.find(Locator::Css("#eftp .value")).await.unwrap().text().await.unwrap();
    assert_eq!(eftp, format!("{:.0} W", estimate.value));
    let definition = c.find(Locator::Css("#eftp .definition")).await.unwrap().text().await.unwrap();
    assert!(definition.contains("95 %") && definition.contains("20-minute"), "{definition}");
    let use_it = c.find(Locator::Css("#eftp button.use")).await.unwrap();
    assert_eq!(use_it.text().await.unwrap(), format!("Use {:.0} W", estimate.value));
    use_it.click().await.unwrap();
    // (The page was loaded again since the rescores above: its count starts over.)
    wait_until(&c, "return document.body.dataset.rescored === '1'").await;
    let used = store.activities_between(report.athlete, today.add_days(-400), today).await.unwrap();
    for b in stored_now.iter().filter(|b| b.local_date < today) {
        let a = used.iter().find(|a| a.activity_id == b.activity_id).expect("still stored");
        assert_eq!(a.metrics, b.metrics, "{}: before today, kept", a.activity_id);
    }
    assert!(c.find(Locator::Css("#eftp button.use")).await.is_err(), "nothing to suggest once used");
    let today_row = format!("#threshold-history table[data-group='cycling'] tr[data-from='{today}']");
    let listed = wait_for(&c, &today_row).await.text().await.unwrap();
    assert!(listed.contains(&format!("FTP {:.0} W", estimate.value)) && listed.contains("CP 240 W"), "{listed}");

    // The CP curve over the bests, CP and W′ beside the 95 %-of-20-min estimate, and "Use":
    // a cycling entry from today with FTP = CP, CP and W′.
    let mut model = stravasync_read::insight::ModelFold::new(today);
    used.iter().for_each(|a| model.add(a));
    let (cp, _) = model.finish();
    let (fit_cp, fit_w) = (cp.fit.cp.expect("a CP fit"), cp.fit.w_prime.unwrap());
    wait_for(&c, "#bests-chart[data-model='cp']").await;
    let legend =
        script(&c, "return [...document.querySelectorAll('#bests-chart .u-label')].map(l => l.textContent)").await;
    let curve = format!("CP model (CP {fit_cp:.0} W, W′ {:.1} kJ)", fit_w / 1000.0);
    assert!(legend.as_array().unwrap().contains(&json!(curve)), "{legend}");
    assert_eq!(c.find(Locator::Css("#cp .value")).await.unwrap().text().await.unwrap(), format!("{fit_cp:.0} W"));
    let cp_text = c.find(Locator::Id("cp")).await.unwrap().text().await.unwrap();
    assert!(
        cp_text.contains(&format!("model eFTP {fit_cp:.0} W")) && cp_text.contains("95 % of your best 20 minutes"),
        "{cp_text}"
    );
    c.find(Locator::Id("cp-use")).await.unwrap().click().await.unwrap();
    wait_until(&c, "return document.body.dataset.rescored === '2'").await;
    let history = store.threshold_history(report.athlete).await.unwrap().unwrap().history;
    let entry = history.entry_in_force(stravasync_core::thresholds::ThresholdGroup::Cycling, today).unwrap();
    assert_eq!(entry.effective_from, today);
    assert_eq!((entry.ftp, entry.cp, entry.w_prime), (Some(fit_cp.round()), Some(fit_cp.round()), Some(fit_w.round())));
    // The EF trend of rides and runs.
    let ef_points = script(&c, "return Number(document.querySelector('#ef-chart').dataset.points)").await;
    assert!(ef_points.as_u64().unwrap() > 0, "{ef_points}");
    std::fs::write(out.join("thresholds.png"), c.screenshot().await.unwrap()).unwrap();

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
    // The weekly chart's ticks fall on Mondays.
    let ticks = script(&c, "return document.querySelector('#weeks-chart').dataset.ticks").await;
    for tick in ticks.as_str().unwrap().split(',') {
        let day: LocalDate = tick.parse().unwrap();
        assert_eq!(stravasync_read::insight::week_start(day), day, "{tick} is a Monday");
    }

    // The import form says what remains of today's allowance, and refuses a range that
    // starts in the future, as the API behind it does.
    let remaining = report.stack.store().backfill_remaining(report.athlete, 500, report.clock.now()).await.unwrap();
    let allowance = c.find(Locator::Id("backfill-allowance")).await.unwrap().text().await.unwrap();
    assert!(allowance.starts_with(&format!("You can import up to {remaining} more activities today")), "{allowance}");
    let tomorrow = today.add_days(1);
    script(
        &c,
        &format!(
            "const f = document.querySelector('#backfill'); f.elements.mode.value = 'range';
             f.elements.after.value = '{tomorrow}'; f.requestSubmit();"
        ),
    )
    .await;
    let refused =
        wait_until(&c, "const t = document.querySelector('#backfill-status').textContent; return t || null").await;
    assert_eq!(refused, json!(format!("The range starts in the future: choose a first day up to {today}.")));
    let http = stravasync_strava::tls::http_client_builder().build().unwrap();
    let session = format!(
        "{}={}",
        stravasync_read::site::SESSION_COOKIE_INSECURE,
        c.get_named_cookie(stravasync_read::site::SESSION_COOKIE_INSECURE).await.unwrap().value()
    );
    let api = http
        .post(format!("{base}/api/backfill"))
        .header("cookie", &session)
        .header("content-type", "application/json")
        .body(format!(r#"{{"after": "{tomorrow}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status().as_u16(), 400);
    let body: serde_json::Value = api.json().await.unwrap();
    assert_eq!(body["field"], json!("after"), "{body}");
    let after = report.stack.store().backfill_remaining(report.athlete, 500, report.clock.now()).await.unwrap();
    assert_eq!(after, remaining, "nothing charged");

    // The older history it is offered: imported (in a rate window of its own), and the
    // page follows on its own, without a reload: the form settles, is provisional no
    // more, and the hard block at the end raises the banner the chart now supports.
    script(&c, "window.sameVisit = true").await;
    report.clock.advance(16 * 60);
    c.find(Locator::Id("import-offer-use")).await.unwrap().click().await.unwrap();
    wait_until(&c, "return document.querySelector('#backfill-status').textContent.startsWith('Import started')").await;
    let banner = wait_until(
        &c,
        "const b = document.querySelector('#form-banner'); return b.offsetParent !== null && b.textContent",
    )
    .await;
    let athlete = report.stack.store().get_profile(report.athlete).await.unwrap().unwrap();
    assert_eq!(athlete.history_imported_from, Some(offer.after), "the history begins where the import did");
    let settled = stravasync_read::answers::form(&report.stack.store(), &athlete, today).await.unwrap();
    let settled_form = settled.form.clone().unwrap();
    assert!(!settled_form.provisional, "{settled_form:?}");
    let overreaching = settled_form.overreaching.as_ref().expect("the hard block, on a settled chart");
    let banner = banner.as_str().unwrap();
    assert!(banner.contains(&format!("Since {}", overreaching.since)), "{banner}");
    assert!(banner.contains("Schedule recovery"), "{banner}");
    let zone = c.find(Locator::Id("form-zone")).await.unwrap().text().await.unwrap();
    assert_eq!(zone, settled_form.zone.label);
    assert!(!c.find(Locator::Id("form-provisional")).await.unwrap().is_displayed().await.unwrap());
    assert!(!c.find(Locator::Id("import-offer")).await.unwrap().is_displayed().await.unwrap(), "nothing to offer");
    assert_eq!(script(&c, "return window.sameVisit === true").await, json!(true), "no reload");
    let finished = wait_until(
        &c,
        "const t = document.querySelector('#backfill-status').textContent; return t.startsWith('Import finished') && t",
    )
    .await;
    let import = athlete.backfill.unwrap();
    assert_eq!(
        finished,
        json!(format!("Import finished: {} activities imported, {} looked at.", import.imported, import.done))
    );
    assert!(import.imported > 20, "{import:?}");
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for(&c, "body[data-pmc-ready='1']").await;

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
    // A phone: every page fits a 360 and a 390 px screen (nothing scrolls sideways), the
    // tables read as lists, the charts take the width there is.
    for width in [360u32, 390] {
        c.set_window_size(width, 3000).await.unwrap();
        c.goto(&format!("{base}/")).await.unwrap();
        wait_for(&c, "body[data-pmc-ready='1']").await;
        wait_for(&c, "#weeks-chart canvas").await;
        assert_fits(&c, &format!("the dashboard at {width} px")).await;
        let lists = script(
            &c,
            "return [getComputedStyle(document.querySelector('#activities thead')).display,
                     document.querySelector('#activities tbody td').getAttribute('data-label')]",
        )
        .await;
        assert_eq!(lists, json!(["none", "Date"]), "tables read as lists at {width} px");
        let chart =
            script(&c, "return document.querySelector('#pmc-chart canvas').getBoundingClientRect().right").await;
        assert!(chart.as_f64().unwrap() <= f64::from(width), "the chart fits: {chart}");
        if width == 360 {
            std::fs::write(out.join("dashboard-phone.png"), c.screenshot().await.unwrap()).unwrap();
        }
        c.goto(&format!("{base}/#/activity/{}", powered.activity_id)).await.unwrap();
        wait_for(&c, "#streams-chart canvas").await;
        assert_fits(&c, &format!("an activity at {width} px")).await;
        c.goto(&format!("{base}/privacy")).await.unwrap();
        wait_for(&c, "#back").await;
        assert_fits(&c, &format!("the privacy page at {width} px")).await;
    }
    c.set_window_size(1280, 3000).await.unwrap();
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for(&c, "body[data-pmc-ready='1']").await;
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
    let back = c.find(Locator::Id("back")).await.unwrap();
    assert_eq!(back.attr("href").await.unwrap().as_deref(), Some("/"), "the privacy page leads back");
    std::fs::write(out.join("privacy.png"), c.screenshot().await.unwrap()).unwrap();
    c.back().await.unwrap();
    wait_for(&c, "body[data-pmc-ready='1']").await;

    // "Download my data": the browser saves one ZIP, whose rows are the API's.
    c.find(Locator::Id("export-link")).await.unwrap().click().await.unwrap();
    let archive = saved_zip(&downloads).await;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(std::fs::read(&archive).unwrap())).unwrap();
    let rows = stravasync_read::export::parse_csv(&zip_text(&mut zip, "activities.csv"));
    let stored = newest(&report, 1000).await;
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
    let refused = wait_until(
        &c,
        "const t = document.querySelector('#export-status').textContent; return t.includes('Try again in') && t",
    )
    .await;
    assert_eq!(refused.as_str().unwrap().matches("again").count(), 1, "one time to come back: {refused}");

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
    let again = c.find(Locator::Id("connect-again")).await.unwrap();
    assert_eq!(again.attr("href").await.unwrap().as_deref(), Some("/connect"), "straight to Strava's consent");
    c.set_window_size(360, 3000).await.unwrap();
    assert_fits(&c, "the page after a disconnect at 360 px").await;
    c.set_window_size(1280, 3000).await.unwrap();
    assert!(!report.fake.state.connected_athletes().contains(&report.athlete), "revoked at Strava");
    // The old cookie, put back by hand, is refused: the connect page, and 401 from the API.
    let name = stravasync_read::site::SESSION_COOKIE_INSECURE;
    script(&c, &format!("document.cookie = '{name}={cookie}; path=/'")).await;
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for(&c, "#connect").await;
    let http = stravasync_strava::tls::http_client_builder().build().unwrap();
    let me = http.get(format!("{base}/api/me")).header("cookie", format!("{name}={cookie}")).send().await.unwrap();
    assert_eq!(me.status().as_u16(), 401);

    assert_eq!(console_errors(&c).await, Vec::<String>::new(), "the console holds no error");
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
