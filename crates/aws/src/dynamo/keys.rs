//! Key layout of the single table (the table in `super`'s docs).

use stravasync_core::LocalDate;
use stravasync_core::model::{ActivityId, AthleteId, RateWindow, RateWindowKind, StreamSetRef};

/// Partition key of everything of one athlete (the token vault's item too).
pub(crate) fn athlete_pk(athlete: AthleteId) -> String {
    format!("ATH#{athlete}")
}

/// Sort key of the sealed tokens item (`TokenStore=dynamodb-kms`, [`crate::kms_vault`]).
pub const TOKENS_SK: &str = "TOKENS";

pub(super) fn activity_sk(activity: ActivityId) -> String {
    format!("ACT#{activity}")
}

/// Key prefix of the chunks of one stream set.
pub(super) fn chunk_prefix(activity: ActivityId, set: StreamSetRef<'_>) -> String {
    match set {
        StreamSetRef::Id(id) => format!("STS#{activity}#{id}#"),
        StreamSetRef::Legacy => format!("STR#{activity}#"),
    }
}

pub(super) fn chunk_sk(activity: ActivityId, set_id: &str, index: usize) -> String {
    format!("{}{index:05}", chunk_prefix(activity, StreamSetRef::Id(set_id)))
}

pub(super) fn pmc_sk(date: LocalDate) -> String {
    format!("PMC#{date}")
}

pub(super) fn by_date_pk(athlete: AthleteId) -> String {
    format!("ATH#{athlete}#ACT")
}

/// The `by_date` index's sort key of a position in an athlete's activities:
/// `<date>#<activity>` for the cursor just past an activity (and so the sort key of that
/// activity's item), `<date>#` for a whole date. As text, these order the items exactly as
/// the ports' by-date order says ([`stravasync_core::ports::ActivityCursor`]: same-day ids
/// compared as their digits).
pub(super) fn by_date_sort_key(c: &stravasync_core::ports::ActivityCursor) -> String {
    match c.activity {
        Some(id) => format!("{}#{id}", c.date),
        None => format!("{}#", c.date),
    }
}

pub(super) fn window_sk(w: RateWindow) -> String {
    let kind = match w.kind {
        RateWindowKind::QuarterHour => "15min",
        RateWindowKind::Daily => "daily",
    };
    format!("{kind}#{}", w.start)
}

/// The sort key of an athlete's threshold history (docs/design.md §6b), beside `PROFILE`.
pub(super) const THRESHOLDS_SK: &str = "THRESHOLDS";
