//! What travels on the queues (docs/design.md §5): the jobs the consumer carries out (a
//! Strava event, or work the pipeline gave itself), their lanes and message groups, and the
//! SQS FIFO message made from each.

use serde::{Deserialize, Serialize};

use crate::LocalDate;
use crate::event::WebhookEvent;
use crate::hash::fnv1a64;
use crate::json::{FieldError, ParseError, field_error, parse_json_with_path};
use crate::model::AthleteId;

/// SQS caps a message's visibility timeout, and so any wait, at 12 hours.
pub const MAX_VISIBILITY_S: u32 = 43_200;

/// What travels on the queue: a Strava event or a job the pipeline gave itself. The
/// consumer parses each record into one of these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// A push event, as the webhook received it, and when it did (unix milliseconds; absent
    /// in messages of earlier versions): the start of the `UploadToStored` latency.
    WebhookEvent {
        event: WebhookEvent,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        received_ms: Option<i64>,
    },
    /// Import history: the `most_recent` N activities, or those in `after..before` (unix
    /// seconds). `page`, `index` (position in that page) and `done` (activities imported
    /// so far) are the checkpoint a resumed job continues from.
    Backfill {
        athlete_id: AthleteId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        most_recent: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        before: Option<i64>,
        #[serde(default = "first_page")]
        page: u32,
        #[serde(default)]
        index: u32,
        #[serde(default)]
        done: u32,
        /// When the import was asked for (its id, unix seconds): one runs at a time per
        /// athlete, and its progress is kept in the profile. `None` for untracked imports.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        requested_at: Option<i64>,
        /// Re-sync ("update existing datapoints"): activities already stored are fetched
        /// again, with their streams, stored again and rescored; without it they are skipped.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        refresh: bool,
        /// Activities charged to the athlete's daily allowance for this import (the read
        /// API's requests; `None` for an operator's or the connection's own): what it did
        /// not import is given back when it ends.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        charged: Option<u32>,
        /// Activities fetched and stored so far (missing, waiting for streams, or re-synced):
        /// what the allowance is charged for in the end. Skipped ones cost no request.
        #[serde(default, skip_serializing_if = "is_zero")]
        imported: u32,
    },
    /// List activities since `since` (unix seconds) and fetch the missing ones: the
    /// backstop for missed webhooks.
    Reconcile { athlete_id: AthleteId, since: i64 },
    /// Recompute metrics from stored streams: one activity (`activity_id`), or the
    /// activities `scope` covers, one chunk per message (docs/design.md §6b, "Rescoring a
    /// dated change"). Without either, every activity of the athlete (messages of earlier
    /// versions).
    Rescore {
        athlete_id: AthleteId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        activity_id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scope: Option<RescoreScope>,
    },
    /// The single-value shorthand (`PUT /api/me/thresholds`): values that hold from `from`
    /// (the day the API accepted them; the day the consumer applies them in messages of
    /// earlier versions), as [`crate::thresholds::ThresholdHistory::shorthand_changes`].
    SetThresholds {
        athlete_id: AthleteId,
        thresholds: crate::model::ThresholdsUpdate,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<LocalDate>,
    },
    /// A change of the athlete's threshold history made from its version `version` (the
    /// dashboard, `POST`/`DELETE /api/me/thresholds`): stored only if the history is still
    /// at that version, then the rescore of what it covers (the read API cannot write the
    /// table; the consumer does it, in order with the athlete's other messages).
    ChangeThresholds { athlete_id: AthleteId, change: crate::thresholds::ThresholdChange, version: u64 },
    /// The athlete asked to disconnect (the dashboard), or an operator deletes them at
    /// their request (`stravasync athlete delete`): the authorization is revoked at Strava,
    /// then the tokens and every item of the athlete are deleted, as for a
    /// deauthorization. A connection made after `requested_at` is a new one and is kept.
    Disconnect {
        athlete_id: AthleteId,
        requested_at: i64,
        #[serde(default)]
        by: Requester,
    },
}

/// Which activities a rescore covers and how far it has come: those of `group` (every
/// group's for `default`) on or after `from`, newest first, `chunk` at a time; `before` is
/// where the next chunk starts. `version` is the profile's thresholds version the rescore
/// brings them to; `migrate` marks the one-time move of an athlete to §6b, which stores the
/// profile's single thresholds as the first entries of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RescoreScope {
    pub from: LocalDate,
    pub group: crate::thresholds::ThresholdGroup,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<crate::order::ActivityCursor>,
    pub version: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub migrate: bool,
}

impl RescoreScope {
    /// Every activity of every group.
    pub fn everything(version: u32) -> RescoreScope {
        RescoreScope {
            from: crate::thresholds::MIGRATED_EFFECTIVE_FROM,
            group: crate::thresholds::ThresholdGroup::Default,
            before: None,
            version,
            migrate: false,
        }
    }
}

/// Who asked for a deletion (it is logged, nothing else depends on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Requester {
    #[default]
    Athlete,
    Operator,
}

impl Job {
    /// A backfill from its beginning (first page, nothing done yet).
    pub fn start_backfill(
        athlete_id: AthleteId,
        most_recent: Option<u32>,
        after: Option<i64>,
        before: Option<i64>,
        requested_at: Option<i64>,
    ) -> Job {
        Job::Backfill {
            athlete_id,
            most_recent,
            after,
            before,
            page: 1,
            index: 0,
            done: 0,
            requested_at,
            refresh: false,
            charged: None,
            imported: 0,
        }
    }

    /// The same backfill as a re-sync of what is already stored (`refresh`).
    pub fn refreshing(mut self, on: bool) -> Job {
        if let Job::Backfill { refresh, .. } = &mut self {
            *refresh = on;
        }
        self
    }
}

fn first_page() -> u32 {
    1
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Job {
    /// The same backfill, charged `activities` of the athlete's daily allowance.
    pub fn charged(mut self, activities: u32) -> Job {
        if let Job::Backfill { charged, .. } = &mut self {
            *charged = Some(activities);
        }
        self
    }
}

impl Job {
    pub fn athlete_id(&self) -> AthleteId {
        match self {
            Job::WebhookEvent { event, .. } => event.owner_id,
            Job::Backfill { athlete_id, .. }
            | Job::Reconcile { athlete_id, .. }
            | Job::Rescore { athlete_id, .. }
            | Job::SetThresholds { athlete_id, .. }
            | Job::ChangeThresholds { athlete_id, .. }
            | Job::Disconnect { athlete_id, .. } => *athlete_id,
        }
    }

    /// History work travels in the background lane: backfill, reconcile, and rescores (a
    /// dated change's or the migration's chunks; they cost no Strava request, and a new
    /// activity never waits behind a ten-year rescore). A rescore needs no order with the
    /// athlete's events: it writes an activity at the version it read, so an event that
    /// changed the activity meanwhile wins (§5). Everything else, threshold changes
    /// included, in the events lane.
    pub fn lane(&self) -> Lane {
        match self {
            Job::Backfill { .. } | Job::Reconcile { .. } | Job::Rescore { .. } => Lane::Background,
            Job::WebhookEvent { .. }
            | Job::SetThresholds { .. }
            | Job::ChangeThresholds { .. }
            | Job::Disconnect { .. } => Lane::Events,
        }
    }

    /// Its message group: the athlete's group in its lane, or the deauthorization group
    /// ([`QueueMessage::deauthorization_group`]).
    pub fn group_id(&self) -> String {
        match self {
            Job::WebhookEvent { event, .. } if event.is_deauthorization() => {
                QueueMessage::deauthorization_group(event.owner_id)
            }
            // Strava's deauthorization event that follows a disconnect lands behind it.
            Job::Disconnect { athlete_id, .. } => QueueMessage::deauthorization_group(*athlete_id),
            _ => QueueMessage::group_in(self.lane(), self.athlete_id()),
        }
    }

    /// Parses a queue body; an error names the JSON path.
    pub fn parse(body: &str) -> Result<Self, ParseError> {
        parse_json_with_path(body.as_bytes())
    }
}

/// The two queues work travels on (docs/design.md §5, lanes). New events never wait
/// behind history: each lane has its own FIFO queue, its own consumers and its own share
/// of Strava's budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Lane {
    /// Push events, threshold changes and the rescores behind them: the whole budget.
    #[default]
    Events,
    /// Backfill and reconcile: what the events lane leaves of the budget, up to a share.
    Background,
}

impl Lane {
    pub const ALL: [Lane; 2] = [Lane::Events, Lane::Background];

    pub fn name(self) -> &'static str {
        match self {
            Lane::Events => "events",
            Lane::Background => "background",
        }
    }

    /// The lane of a message group ([`QueueMessage::group_id`]): background groups are
    /// `background-<athlete>`.
    pub fn of_group(group_id: &str) -> Lane {
        if group_id.starts_with(BACKGROUND_GROUP_PREFIX) { Lane::Background } else { Lane::Events }
    }
}

impl std::str::FromStr for Lane {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "events" => Ok(Lane::Events),
            "background" => Ok(Lane::Background),
            other => Err(format!("unknown lane {other:?} (events or background)")),
        }
    }
}

const BACKGROUND_GROUP_PREFIX: &str = "background-";

/// A message for an SQS FIFO queue: one athlete's messages of a lane share a group, so they
/// are applied in order and never concurrently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    pub group_id: String,
    pub dedup_id: String,
    pub body: String,
}

impl QueueMessage {
    /// The queue it travels on, from its group.
    pub fn lane(&self) -> Lane {
        Lane::of_group(&self.group_id)
    }
}

/// Whether SQS accepts `c` in a message body: `#x9 | #xA | #xD | #x20-#xD7FF |
/// #xE000-#xFFFD | #x10000-#x10FFFF` (SQS `SendMessage` documentation). A send with any
/// other character is refused as a whole.
pub fn sqs_allows(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Serializes a queue body so that SQS accepts it: JSON whose strings carry any
/// character SQS refuses (U+FFFE, U+FFFF; serde_json already escapes control
/// characters) as a `\uXXXX` escape. The JSON value, and so the event, is unchanged.
fn queue_body<T: Serialize>(value: &T) -> String {
    let json = serde_json::to_string(value).unwrap_or_default();
    if json.chars().all(sqs_allows) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 12);
    for c in json.chars() {
        if sqs_allows(c) {
            out.push(c);
        } else {
            // Only BMP characters are outside the set (U+10000 and above are allowed).
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        }
    }
    out
}

impl QueueMessage {
    /// The events-lane group of an athlete.
    pub fn group_for(athlete: AthleteId) -> String {
        format!("athlete-{athlete}")
    }

    /// The group of an athlete in `lane`.
    pub fn group_in(lane: Lane, athlete: AthleteId) -> String {
        match lane {
            Lane::Events => Self::group_for(athlete),
            Lane::Background => format!("{BACKGROUND_GROUP_PREFIX}{athlete}"),
        }
    }

    /// The group of an athlete's deauthorizations (events lane). A deauthorization needs no
    /// Strava call, so it must not wait behind the athlete's events when those wait for the
    /// budget; applied first, it turns them into no-ops (the athlete is no longer
    /// connected). Writes that race it are undone by the writer (docs/design.md §5).
    pub fn deauthorization_group(athlete: AthleteId) -> String {
        format!("deauth-{athlete}")
    }

    /// The message for a webhook event received at `received_ms` (unix milliseconds): the
    /// athlete's events group, or the deauthorization group. The deduplication id is the
    /// event's alone: Strava's retry of an event, received later, is the same message.
    pub fn for_event(event: &WebhookEvent, received_ms: Option<i64>) -> Self {
        let job = Job::WebhookEvent { event: event.clone(), received_ms };
        QueueMessage { group_id: job.group_id(), dedup_id: event.dedup_id(), body: queue_body(&job) }
    }

    /// A job message; `dedup_key` distinguishes jobs that must not collapse (e.g. a
    /// checkpoint's page).
    /// The import queue's message of one file (docs/design.md §4b).
    pub fn for_import(message: &crate::model::ImportMessage) -> Self {
        QueueMessage { group_id: message.group_id(), dedup_id: message.dedup_id(), body: queue_body(message) }
    }

    pub fn for_job(job: &Job, dedup_key: &str) -> Self {
        let body = queue_body(job);
        QueueMessage {
            group_id: job.group_id(),
            dedup_id: format!(
                "job-{:016x}-{}",
                fnv1a64(body.as_bytes()),
                dedup_key.chars().take(80).collect::<String>()
            ),
            body,
        }
    }
}

/// The most activities one backfill request imports.
pub const MAX_BACKFILL_COUNT: u32 = 2_000;

/// `POST /api/backfill` (and `stravasync backfill`): the most recent `count` activities, or
/// those from `after` (inclusive) to `before` (exclusive), dates in UTC.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackfillRequest {
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default)]
    pub after: Option<String>,
    #[serde(default)]
    pub before: Option<String>,
    /// Re-sync: activities of the range already stored are fetched again (streams
    /// included), stored again and rescored, instead of skipped.
    #[serde(default)]
    pub refresh: bool,
}

fn parse_date(field: &str, value: &str) -> Result<LocalDate, FieldError> {
    value.parse().map_err(|_| {
        field_error(field, format!("{value:?} is not a date YYYY-MM-DD"))
            .said(format!("{value:?} is not a date (YYYY-MM-DD)."))
    })
}

fn day_start(date: LocalDate) -> i64 {
    i64::from(date.days_since_epoch()) * 86_400
}

impl BackfillRequest {
    /// The job this request asks for: exactly one of `count` and `after`.
    pub fn to_job(&self, athlete_id: AthleteId, now: i64) -> Result<Job, FieldError> {
        let job = |most_recent, after, before| {
            Job::start_backfill(athlete_id, most_recent, after, before, Some(now)).refreshing(self.refresh)
        };
        match (self.count, &self.after, &self.before) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                Err(field_error("count", "give either count or after (and before), not both")
                    .said("Give a number of activities or a range of dates, not both."))
            }
            (Some(n), None, None) if (1..=MAX_BACKFILL_COUNT).contains(&n) => Ok(job(Some(n), None, None)),
            (Some(n), None, None) => Err(field_error("count", format!("{n} is outside 1..={MAX_BACKFILL_COUNT}"))
                .said(format!("Import between 1 and {MAX_BACKFILL_COUNT} activities."))),
            (None, None, Some(_)) => {
                Err(field_error("after", "required with before").said("Give the first day of the range."))
            }
            (None, None, None) => Err(field_error("count", "give count, or after (and before)")
                .said("Give a number of activities or a range of dates.")),
            (None, Some(after), before) => {
                let after = parse_date("after", after)?;
                let before = before.as_deref().map(|b| parse_date("before", b)).transpose()?;
                if before.is_some_and(|b| b <= after) {
                    return Err(
                        field_error("before", "must be after `after`").said("The range must end after it starts.")
                    );
                }
                // Strava has nothing from the future: such a range would only spend the
                // day's allowance.
                let today = LocalDate::from_unix_seconds(now);
                if after > today {
                    return Err(field_error(
                        "after",
                        format!("{after} is in the future: the range must start by {today}"),
                    )
                    .said(format!("The range starts in the future: choose a first day up to {today}.")));
                }
                Ok(job(None, Some(day_start(after) - 1), before.map(day_start)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::CREATE;
    use crate::event::{AspectType, WebhookEvent};

    #[test]
    fn trailing_bytes_are_refused_for_events_and_queue_bodies() {
        for tail in ["{}", " garbage", ",", "\u{0}"] {
            let e = WebhookEvent::parse(format!("{CREATE}{tail}").as_bytes()).unwrap_err();
            assert_eq!(e.path, "(end of document)", "{tail:?}");
            let body = serde_json::to_string(&Job::Rescore { athlete_id: 5, activity_id: None, scope: None }).unwrap();
            assert!(Job::parse(&format!("{body}{tail}")).is_err(), "{tail:?}");
        }
        // A type error after which garbage follows is still reported at its field.
        let e = WebhookEvent::parse(format!("{}x", CREATE.replace("1516126040", "\"t\"")).as_bytes()).unwrap_err();
        assert_eq!(e.path, "event_time");
    }

    #[test]
    fn queue_bodies_hold_only_characters_sqs_accepts() {
        // The boundaries of SQS's documented set, and every character outside it that a
        // Rust string can hold.
        let mut chars: Vec<char> = (0u32..0x20)
            .chain([0x7F, 0xD7FF, 0xE000, 0xFFFD, 0xFFFE, 0xFFFF, 0x10000, 0x10FFFF])
            .filter_map(char::from_u32)
            .collect();
        chars.extend(['é', '😀', '\u{FEFF}']);
        let title: String = chars.iter().collect();
        let mut event = WebhookEvent::parse(CREATE.as_bytes()).unwrap();
        event.aspect_type = AspectType::Update;
        event.updates.title = Some(title.clone());
        event.updates.other.insert("\u{FFFF}key".into(), serde_json::Value::String("\u{FFFE}".into()));
        let m = QueueMessage::for_event(&event, Some(1_764_000_000_123));
        let refused: Vec<char> = m.body.chars().filter(|c| !sqs_allows(*c)).collect();
        assert!(refused.is_empty(), "{refused:?}");
        assert!(m.body.contains("\\ufffe") && m.body.contains("\\uffff"), "{}", m.body);
        // The escapes decode back to the very same event (title included).
        assert_eq!(
            Job::parse(&m.body).unwrap(),
            Job::WebhookEvent { event: event.clone(), received_ms: Some(1_764_000_000_123) }
        );
        let job = Job::WebhookEvent { event, received_ms: None };
        assert!(QueueMessage::for_job(&job, "k").body.chars().all(sqs_allows));
        for (c, ok) in [('\t', true), ('\u{B}', false), (' ', true), ('\u{D7FF}', true), ('\u{E000}', true)] {
            assert_eq!(sqs_allows(c), ok, "{c:?}");
        }
        for c in ['\u{FFFE}', '\u{FFFF}', '\u{0}', '\u{1F}'] {
            assert!(!sqs_allows(c), "{c:?}");
        }
    }

    #[test]
    fn dedup_ids_collapse_retries_only() {
        let a = WebhookEvent::parse(CREATE.as_bytes()).unwrap();
        let mut b = a.clone();
        assert_eq!(a.dedup_id(), b.dedup_id());
        b.event_time += 1;
        assert_ne!(a.dedup_id(), b.dedup_id());
        let mut c = a.clone();
        c.updates.title = Some("t".into());
        assert_ne!(a.dedup_id(), c.dedup_id());
        assert!(a.dedup_id().len() <= 128);
        let m = QueueMessage::for_event(&a, Some(1));
        assert_eq!(m.group_id, "athlete-5123456789");
        assert_eq!(m.dedup_id, QueueMessage::for_event(&a, Some(2)).dedup_id, "a retry received later");
        assert_eq!(Job::parse(&m.body).unwrap(), Job::WebhookEvent { event: a.clone(), received_ms: Some(1) });
        // A message of an earlier version, without the receipt time, still parses.
        let old = m.body.replace(",\"received_ms\":1", "");
        assert!(!old.contains("received_ms"), "{old}");
        assert_eq!(Job::parse(&old).unwrap(), Job::WebhookEvent { event: a, received_ms: None });
    }

    #[test]
    fn jobs_round_trip_and_default_their_checkpoint() {
        let j = Job::parse(r#"{"kind":"backfill","athlete_id":5,"most_recent":30}"#).unwrap();
        assert_eq!(
            j,
            Job::Backfill {
                athlete_id: 5,
                most_recent: Some(30),
                after: None,
                before: None,
                page: 1,
                index: 0,
                done: 0,
                requested_at: None,
                refresh: false,
                charged: None,
                imported: 0,
            }
        );
        let m = QueueMessage::for_job(&j, "p1");
        assert_eq!(Job::parse(&m.body).unwrap(), j);
        assert!(m.dedup_id.len() <= 128);
        let e = Job::parse(r#"{"kind":"teleport","athlete_id":5}"#).unwrap_err();
        assert!(e.message.contains("unknown variant"), "{e}");
    }

    #[test]
    fn history_travels_in_the_background_lane_under_its_own_group() {
        let backfill = Job::start_backfill(7, Some(30), None, None, Some(1));
        let reconcile = Job::Reconcile { athlete_id: 7, since: 0 };
        let rescore = Job::Rescore { athlete_id: 7, activity_id: None, scope: None };
        for (job, lane, group) in [
            (&backfill, Lane::Background, "background-7"),
            (&reconcile, Lane::Background, "background-7"),
            (&rescore, Lane::Background, "background-7"),
        ] {
            assert_eq!(job.lane(), lane);
            let m = QueueMessage::for_job(job, "k");
            assert_eq!((m.group_id.as_str(), m.lane()), (group, lane));
        }
        assert_eq!(
            QueueMessage::for_event(&WebhookEvent::parse(CREATE.as_bytes()).unwrap(), None).lane(),
            Lane::Events
        );
        let deauth = r#"{"aspect_type":"update","event_time":1,"object_id":7,"object_type":"athlete",
            "owner_id":7,"subscription_id":1,"updates":{"authorized":"false"}}"#;
        let m = QueueMessage::for_event(&WebhookEvent::parse(deauth.as_bytes()).unwrap(), None);
        assert_eq!((m.group_id.as_str(), m.lane()), ("deauth-7", Lane::Events), "not behind the athlete's events");
        let rename = deauth.replace(r#""authorized":"false""#, r#""title":"x""#);
        let m = QueueMessage::for_event(&WebhookEvent::parse(rename.as_bytes()).unwrap(), None);
        assert_eq!(m.group_id, "athlete-7", "other athlete updates keep the athlete's order");
        assert_eq!(Lane::of_group("ungrouped"), Lane::Events);
        assert_eq!("background".parse::<Lane>(), Ok(Lane::Background));
        assert!("sideways".parse::<Lane>().is_err());
    }

    fn d(s: &str) -> LocalDate {
        s.parse().unwrap()
    }

    #[test]
    fn backfill_requests_become_jobs_or_name_the_field() {
        use crate::json::parse_body;
        // Asked on 2026-05-28.
        let now = 1_780_000_000;
        let req = |json: &[u8]| parse_body::<BackfillRequest>(json).unwrap().to_job(7, now);
        match req(br#"{"count": 50}"#).unwrap() {
            Job::Backfill {
                most_recent: Some(50),
                after: None,
                before: None,
                page: 1,
                requested_at: Some(1_780_000_000),
                ..
            } => {}
            other => panic!("{other:?}"),
        }
        match req(br#"{"after": "2026-01-01", "before": "2026-02-01"}"#).unwrap() {
            Job::Backfill { most_recent: None, after: Some(a), before: Some(b), .. } => {
                assert_eq!((a + 1, b), (day_start(d("2026-01-01")), day_start(d("2026-02-01"))));
            }
            other => panic!("{other:?}"),
        }
        match req(br#"{"count": 10, "refresh": true}"#).unwrap() {
            Job::Backfill { most_recent: Some(10), refresh: true, .. } => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(parse_body::<BackfillRequest>(br#"{"count": 1, "refresh": "yes"}"#).unwrap_err().field, "refresh");
        for (json, field) in [
            (&br#"{}"#[..], "count"),
            (br#"{"count": 0}"#, "count"),
            (br#"{"count": 5000}"#, "count"),
            (br#"{"count": 5, "after": "2026-01-01"}"#, "count"),
            (br#"{"before": "2026-01-01"}"#, "after"),
            (br#"{"after": "01/01/2026"}"#, "after"),
            (br#"{"after": "2026-02-01", "before": "2026-01-01"}"#, "before"),
            (br#"{"after": "2026-05-29"}"#, "after"),
        ] {
            assert_eq!(req(json).unwrap_err().field, field, "{}", String::from_utf8_lossy(json));
        }
        assert_eq!(parse_body::<BackfillRequest>(br#"{"count": -1}"#).unwrap_err().field, "count");
    }
}
