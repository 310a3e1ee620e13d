//! The dashboard the way an athlete sees it: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, which `make test` installs) drives the local stack of the demo
//! (moto, fake-strava, the webhook and read API on one site, the consumer and rollup kept
//! running). It connects through the OAuth redirect, lands on the dashboard, reads the
//! chart and the list against the table, opens an activity, changes FTP and sees the
//! scores change. It leaves a screenshot and its measurements under `target/browser/`.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use stravasync_cli::demo::{DemoOptions, DemoReport, run};
use stravasync_core::LocalDate;
use stravasync_core::model::{ActivityState, StoredActivity};
use stravasync_core::ports::ActivityStore;

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

async fn browser(profile_dir: &std::path::Path) -> (Driver, Client) {
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
                "--disable-dev-shm-usage", "--window-size=1280,1900", "--hide-scrollbars",
                format!("--user-data-dir={}", profile_dir.display()),
            ],
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

fn score_text(a: &StoredActivity) -> String {
    a.metrics.as_ref().and_then(|m| m.score.value).map_or("–".into(), |v| format!("{v:.1}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_athlete_connects_sees_the_dashboard_and_the_rescore_of_a_new_ftp() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(endpoint.starts_with("http://127.0.0.1"), "run through `make test` (needs the local moto server)");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
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
    let (_driver, c) = browser(&profile).await;
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
    let shown = script(
        &c,
        &format!(
            "return document.querySelector(\"#activities tr[data-id='{}']\").cells[4].textContent",
            powered.activity_id
        ),
    )
    .await;
    assert_eq!(shown, json!(score_text(&after)));
    assert_ne!(shown, json!(format!("{b:.1}")));

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

    // Signing out shows the connect page; so does a session whose athlete is no longer
    // connected (the page's first API call is refused, and it clears the cookie).
    c.find(Locator::Id("logout")).await.unwrap().click().await.unwrap();
    wait_for(&c, "#connect").await;
    let key = stravasync_aws::resources::LOCAL_SESSION_KEY.as_bytes();
    let stranger = stravasync_core::signed::sign_session(
        key,
        stravasync_core::signed::Session { athlete: 42, generation: 1 },
        now + 3600,
    );
    let name = stravasync_core::signed::SESSION_COOKIE_INSECURE;
    script(&c, &format!("document.cookie = '{name}={stranger}; path=/'")).await;
    c.goto(&format!("{base}/")).await.unwrap();
    wait_for(&c, "#connect").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/");
    assert!(c.get_all_cookies().await.unwrap().is_empty(), "the refused session was cleared");

    c.close().await.unwrap();
    syncing.abort();
    let _ = std::fs::remove_dir_all(&profile);
}
