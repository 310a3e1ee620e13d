//! `stravasync status`'s judgement: what was read from a stack (its app secret, Strava's
//! push subscriptions, its webhook's answer to a challenge, its queues, its budget and its
//! athletes) in, a line per concern out, each healthy (✓) or not (✗, saying what to do).
//! The reading is the CLI's (`crate::status`); this is pure.

use stravasync_core::LocalDate;

/// What `status` read. A read that failed is `Err` with what went wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// The app secret's JSON.
    pub app_secret: Result<serde_json::Value, String>,
    /// The webhook's public callback URL (`--callback`), if given.
    pub callback: Option<String>,
    /// Strava's push subscriptions of the app: (id, callback URL). `None`: not asked (the
    /// app secret has no credentials to ask with).
    pub subscriptions: Option<Result<Vec<(i64, String)>, String>>,
    /// The webhook's answer to a subscription challenge through `callback`. `None`: not
    /// asked (no callback, or no verify token).
    pub challenge: Option<Result<(), String>>,
    /// Per lane: its queue's messages waiting, in flight and delayed.
    pub queues: Vec<(&'static str, Result<QueueDepth, String>)>,
    /// The dead-letter queue: its messages, and the reasons of the first few.
    pub dlq: Result<(u64, Vec<String>), String>,
    /// The shared budget's windows: (name, used, limit, when it resets, unix seconds).
    pub budget: Result<Vec<(&'static str, u32, u32, i64)>, String>,
    /// The athletes' profiles as they stand.
    pub athletes: Result<AthletesFacts, String>,
    /// Unix seconds.
    pub now: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueDepth {
    pub waiting: u64,
    pub in_flight: u64,
    pub delayed: u64,
    /// The age of its oldest message, seconds (CloudWatch's `ApproximateAgeOfOldestMessage`
    /// of the last minutes; `None` when CloudWatch has no data point).
    pub oldest_s: Option<u64>,
}

/// The events lane falls behind when its oldest message is older than this (the default of
/// the template's `EventsQueueMaxAgeS`): a 15-minute window's wait for the budget, at most,
/// in normal running. The background lane waits for the budget by design: never flagged.
pub const EVENTS_MAX_AGE_S: u64 = 900;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AthletesFacts {
    pub connected: usize,
    /// The latest push event applied to any athlete (its `event_time`).
    pub last_event_at: Option<i64>,
    /// The newest stored activity's start date, over every athlete.
    pub last_activity: Option<LocalDate>,
    /// Imports asked for and not finished.
    pub backfills_running: usize,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub ok: bool,
    pub line: String,
}

fn ok(line: impl Into<String>) -> Check {
    Check { ok: true, line: line.into() }
}

fn bad(line: impl Into<String>) -> Check {
    Check { ok: false, line: line.into() }
}

/// The app secret's fields, in order: a missing or empty one is named.
pub const APP_SECRET_FIELDS: [&str; 4] = ["client_id", "client_secret", "verify_token", "subscription_id"];

fn missing_fields(secret: &serde_json::Value) -> Vec<&'static str> {
    APP_SECRET_FIELDS
        .into_iter()
        .filter(|f| match &secret[*f] {
            serde_json::Value::String(s) => s.trim().is_empty(),
            serde_json::Value::Number(n) => n.as_i64().is_none_or(|n| n <= 0),
            _ => true,
        })
        .collect()
}

fn utc(t: i64) -> String {
    let day = LocalDate::from_unix_seconds(t);
    let s = t.rem_euclid(86_400);
    format!("{day} {:02}:{:02} UTC", s / 3600, s % 3600 / 60)
}

/// Every concern's line, in the order an operator reads them after a deploy.
pub fn assess(f: &Facts) -> Vec<Check> {
    let mut out = Vec::new();
    let subscribe = |callback: &Option<String>| match callback {
        Some(url) => format!("run `stravasync subscribe --callback {url}`"),
        None => "run `stravasync subscribe --callback <WebhookBaseUrl><WebhookPathSecret>`".to_string(),
    };
    let subscription_id = match &f.app_secret {
        Err(e) => {
            out.push(bad(format!("app secret: unreadable ({e}); check APP_SECRET_ID and your credentials")));
            None
        }
        Ok(secret) => {
            let missing = missing_fields(secret);
            if missing.is_empty() {
                out.push(ok("app secret: client_id, client_secret, verify_token and subscription_id are set"));
            } else if missing == ["subscription_id"] {
                out.push(bad(format!("app secret: no subscription_id; {}", subscribe(&f.callback))));
            } else {
                out.push(bad(format!(
                    "app secret: {} missing; fill in the secret (README, Deploying) with your Strava app's values",
                    missing.join(", ")
                )));
            }
            secret["subscription_id"].as_i64().filter(|id| *id > 0)
        }
    };

    match (&f.subscriptions, subscription_id) {
        (None, _) => out.push(bad("push subscription: not checked (the app secret has no credentials)")),
        (Some(Err(e)), _) => out.push(bad(format!("push subscription: Strava did not answer ({e})"))),
        (Some(Ok(subs)), id) => match id.and_then(|id| subs.iter().find(|(s, _)| *s == id)) {
            None => out.push(bad(match (id, subs.first()) {
                (Some(id), Some((other, url))) => format!(
                    "push subscription: Strava has {other} (to {url}), not {id} of the app secret; delete it \
                     (`stravasync subscribe` needs the app's one slot) and {}",
                    subscribe(&f.callback)
                ),
                (Some(id), None) => {
                    format!("push subscription: Strava has none (not {id}); {}", subscribe(&f.callback))
                }
                (None, _) => format!("push subscription: none stored; {}", subscribe(&f.callback)),
            })),
            Some((id, url)) => match &f.callback {
                Some(callback) if callback != url => out.push(bad(format!(
                    "push subscription {id}: its callback is {url}, not this stack's webhook {callback}; events go \
                     elsewhere: delete it and {}",
                    subscribe(&f.callback)
                ))),
                Some(_) => out.push(ok(format!("push subscription {id}: Strava sends events to this stack's webhook"))),
                None => out.push(bad(format!(
                    "push subscription {id}: to {url}, not compared (pass --callback with this stack's webhook URL)"
                ))),
            },
        },
    }

    match (&f.challenge, &f.callback) {
        (Some(Ok(())), Some(url)) => out.push(ok(format!("webhook: answers Strava's challenge at {url}"))),
        (Some(Err(e)), Some(url)) => out.push(bad(format!(
            "webhook: no answer to Strava's challenge at {url} ({e}); check the deploy, the URL and the verify token"
        ))),
        _ => out.push(bad("webhook: not checked (pass --callback with this stack's webhook URL)")),
    }

    for (lane, depth) in &f.queues {
        out.push(match depth {
            Ok(d) => {
                let counts = format!("{} waiting, {} in flight, {} delayed", d.waiting, d.in_flight, d.delayed);
                match d.oldest_s {
                    Some(age) if *lane == "events" && age > EVENTS_MAX_AGE_S => bad(format!(
                        "{lane} queue: {counts}, the oldest {age} s old (over {EVENTS_MAX_AGE_S} s): the consumer is \
                         not keeping up; check the budget, the DLQ and the consumer's errors"
                    )),
                    Some(age) => ok(format!("{lane} queue: {counts}, the oldest {age} s old")),
                    None => ok(format!("{lane} queue: {counts} (no age of the oldest from CloudWatch yet)")),
                }
            }
            Err(e) => bad(format!("{lane} queue: unreadable ({e})")),
        });
    }

    out.push(match &f.dlq {
        Ok((0, _)) => ok("dead-letter queue: empty"),
        Ok((n, reasons)) => bad(format!(
            "dead-letter queue: {n} message(s){}; fix the cause, then `stravasync dlq redrive` (`stravasync dlq list` shows them)",
            if reasons.is_empty() { String::new() } else { format!(", first reasons: {}", reasons.join("; ")) }
        )),
        Err(e) => bad(format!("dead-letter queue: unreadable ({e})")),
    });

    match &f.budget {
        Ok(windows) => {
            let spent: Vec<_> = windows.iter().filter(|(_, used, limit, _)| used >= limit).collect();
            let text: Vec<String> = windows.iter().map(|(w, used, limit, _)| format!("{w} {used}/{limit}")).collect();
            out.push(match spent.first() {
                None => ok(format!("Strava budget: {}", text.join(", "))),
                Some((w, _, _, resets)) => bad(format!(
                    "Strava budget: {}; the {w} budget is spent: new activities wait until {} (lower \
                     BackgroundShare, or ask Strava for a larger limit)",
                    text.join(", "),
                    utc(*resets)
                )),
            });
        }
        Err(e) => out.push(bad(format!("Strava budget: unreadable ({e})"))),
    }

    match &f.athletes {
        Ok(a) => {
            out.push(ok(match a.connected {
                0 => "athletes: none connected yet (send them to /connect)".to_string(),
                n => format!("athletes: {n} connected"),
            }));
            let event = a.last_event_at.map_or("none yet".to_string(), utc);
            let activity = a.last_activity.map_or("none yet".to_string(), |d| d.to_string());
            out.push(ok(format!("last event applied: {event}; newest activity stored: {activity}")));
            out.push(ok(format!("backfills running: {}", a.backfills_running)));
        }
        Err(e) => out.push(bad(format!("athletes: unreadable ({e})"))),
    }
    out
}

/// The report as printed: a line per check, ✓ or ✗ first.
pub fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        out.push_str(if c.ok { "✓ " } else { "✗ " });
        out.push_str(&c.line);
        out.push('\n');
    }
    let bad = checks.iter().filter(|c| !c.ok).count();
    out.push_str(&match bad {
        0 => "healthy\n".to_string(),
        n => format!("{n} problem(s)\n"),
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CALLBACK: &str = "https://abc.execute-api.eu-west-1.amazonaws.com/webhook/s3cret";

    fn healthy() -> Facts {
        Facts {
            app_secret: Ok(json!({"client_id": "1", "client_secret": "x", "verify_token": "v", "subscription_id": 7})),
            callback: Some(CALLBACK.into()),
            subscriptions: Some(Ok(vec![(7, CALLBACK.into())])),
            challenge: Some(Ok(())),
            queues: vec![("events", Ok(QueueDepth::default())), ("background", Ok(QueueDepth::default()))],
            dlq: Ok((0, vec![])),
            budget: Ok(vec![("15-minute", 3, 100, 900), ("daily", 30, 1000, 86_400)]),
            athletes: Ok(AthletesFacts { connected: 2, ..Default::default() }),
            now: 0,
        }
    }

    fn failing(f: &Facts) -> Vec<String> {
        assess(f).into_iter().filter(|c| !c.ok).map(|c| c.line).collect()
    }

    #[test]
    fn a_healthy_stack_has_no_cross_and_each_break_names_itself() {
        assert_eq!(failing(&healthy()), Vec::<String>::new());
        assert!(render(&assess(&healthy())).ends_with("healthy\n"));

        let mut f = healthy();
        f.app_secret = Ok(json!({"client_id": "1", "client_secret": "", "verify_token": "v", "subscription_id": 7}));
        assert_eq!(failing(&f).len(), 1);
        assert!(failing(&f)[0].contains("client_secret missing"), "{:?}", failing(&f));

        let mut f = healthy();
        f.app_secret = Ok(json!({"client_id": "1", "client_secret": "x", "verify_token": "v", "subscription_id": 0}));
        let lines = failing(&f);
        assert!(lines[0].contains("no subscription_id") && lines[0].contains(CALLBACK), "{lines:?}");

        let mut f = healthy();
        f.subscriptions = Some(Ok(vec![(7, "https://elsewhere.example/webhook".into())]));
        assert_eq!(failing(&f).len(), 1);
        assert!(failing(&f)[0].contains("its callback is https://elsewhere.example/webhook"), "{:?}", failing(&f));

        let mut f = healthy();
        f.dlq = Ok((2, vec!["gave up after 5 receives: HTTP 500".into()]));
        assert!(failing(&f)[0].contains("2 message(s), first reasons: gave up after 5 receives"), "{:?}", failing(&f));

        let mut f = healthy();
        f.budget = Ok(vec![("15-minute", 3, 100, 900), ("daily", 1000, 1000, 86_400)]);
        assert!(failing(&f)[0].contains("the daily budget is spent: new activities wait until 1970-01-02 00:00 UTC"));

        let mut f = healthy();
        let old = QueueDepth { waiting: 40, oldest_s: Some(1_200), ..Default::default() };
        f.queues = vec![("events", Ok(old)), ("background", Ok(old))];
        assert_eq!(failing(&f).len(), 1, "the background lane may wait: {:?}", failing(&f));
        assert!(failing(&f)[0].contains("events queue: 40 waiting, 0 in flight, 0 delayed, the oldest 1200 s old"));

        let mut f = healthy();
        f.challenge = Some(Err("connection refused".into()));
        assert!(failing(&f)[0].starts_with("webhook: no answer to Strava's challenge"), "{:?}", failing(&f));
        assert!(render(&assess(&f)).ends_with("1 problem(s)\n"));
    }
}
