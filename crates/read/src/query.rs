//! Query parameters and request bodies of the read side, validated into typed values whose
//! errors name the field, and their limits (how much one request may ask for).

use serde::Serialize;
use stravasync_core::LocalDate;
use stravasync_core::json::{FieldError, field_error};
use stravasync_core::model::ActivityId;
use stravasync_core::ports::ActivityCursor;

pub use stravasync_core::json::parse_body;

pub(crate) fn parse_date(field: &str, value: &str) -> Result<LocalDate, FieldError> {
    value.parse().map_err(|_| field_error(field, format!("{value:?} is not a date YYYY-MM-DD")))
}

fn parse_bounded(field: &str, value: Option<&str>, default: usize, range: (usize, usize)) -> Result<usize, FieldError> {
    let Some(value) = value else { return Ok(default) };
    match value.parse::<usize>() {
        Ok(n) if (range.0..=range.1).contains(&n) => Ok(n),
        _ => Err(field_error(field, format!("{value:?} is not a whole number in {}..={}", range.0, range.1))),
    }
}
/// The PMC window shown when the request names none: the last 90 days.
pub const DEFAULT_PMC_DAYS: i32 = 90;
/// The longest PMC window one request returns (about 30 years).
pub const MAX_PMC_DAYS: i32 = 11_000;

/// `?from&to` of the PMC route: both optional (`to` = today, `from` = 90 days before `to`),
/// `from <= to`, at most [`MAX_PMC_DAYS`] apart.
pub fn pmc_range(from: Option<&str>, to: Option<&str>, today: LocalDate) -> Result<(LocalDate, LocalDate), FieldError> {
    let to = to.map(|v| parse_date("to", v)).transpose()?.unwrap_or(today);
    let from = from.map(|v| parse_date("from", v)).transpose()?.unwrap_or(to.add_days(-DEFAULT_PMC_DAYS));
    if from > to {
        return Err(field_error("from", format!("{from} is after to ({to})")));
    }
    if from.days_until(to) > MAX_PMC_DAYS {
        return Err(field_error("from", format!("the range is over {MAX_PMC_DAYS} days")));
    }
    Ok((from, to))
}

/// A position in the activity list as clients see it: `YYYY-MM-DD` (everything before that
/// date) or `YYYY-MM-DD_<activity>` (the `next` of a page); the order is the stores'
/// by-date order ([`ActivityCursor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor(pub ActivityCursor);

impl PageCursor {
    pub fn parse(field: &str, value: &str) -> Result<Self, FieldError> {
        let (date, activity) = match value.split_once('_') {
            Some((d, id)) => {
                let id = id.parse::<ActivityId>().ok().filter(|id| *id > 0);
                let id =
                    id.ok_or_else(|| field_error(field, format!("{value:?}: the part after _ is not an activity id")))?;
                (d, Some(id))
            }
            None => (value, None),
        };
        Ok(PageCursor(ActivityCursor { date: parse_date(field, date)?, activity }))
    }
}

impl std::fmt::Display for PageCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.activity {
            Some(id) => write!(f, "{}_{id}", self.0.date),
            None => write!(f, "{}", self.0.date),
        }
    }
}

impl Serialize for PageCursor {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

pub const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 100;

/// `?before&limit` of the activity list.
pub fn activity_page(before: Option<&str>, limit: Option<&str>) -> Result<(Option<ActivityCursor>, usize), FieldError> {
    let before = before.map(|v| PageCursor::parse("before", v).map(|c| c.0)).transpose()?;
    Ok((before, parse_bounded("limit", limit, DEFAULT_PAGE, (1, MAX_PAGE))?))
}

/// `?resolution=` of the streams route: points per series.
pub const DEFAULT_RESOLUTION: usize = 600;
pub const MAX_RESOLUTION: usize = 5_000;

pub fn resolution(value: Option<&str>) -> Result<usize, FieldError> {
    parse_bounded("resolution", value, DEFAULT_RESOLUTION, (10, MAX_RESOLUTION))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> LocalDate {
        s.parse().unwrap()
    }

    #[test]
    fn pmc_ranges_default_and_refuse_with_the_field() {
        let today = d("2026-11-22");
        assert_eq!(pmc_range(None, None, today), Ok((d("2026-08-24"), today)));
        assert_eq!(pmc_range(Some("2026-01-01"), Some("2026-02-01"), today), Ok((d("2026-01-01"), d("2026-02-01"))));
        assert_eq!(pmc_range(Some("2026-13-01"), None, today).unwrap_err().field, "from");
        assert_eq!(pmc_range(None, Some("yesterday"), today).unwrap_err().field, "to");
        assert_eq!(pmc_range(Some("2026-02-02"), Some("2026-02-01"), today).unwrap_err().field, "from");
        assert_eq!(pmc_range(Some("1900-01-01"), None, today).unwrap_err().field, "from");
    }

    #[test]
    fn cursors_round_trip_and_name_the_field() {
        let c = PageCursor::parse("before", "2026-11-20_123").unwrap();
        assert_eq!((c.to_string(), c.0.activity), ("2026-11-20_123".to_string(), Some(123)));
        assert_eq!(serde_json::to_value(c).unwrap(), "2026-11-20_123");
        let whole_day = PageCursor::parse("before", "2026-11-20").unwrap();
        assert_eq!((whole_day.to_string(), whole_day.0.activity), ("2026-11-20".to_string(), None));
        for bad in ["", "2026-11-20_", "2026-11-20_x", "2026-11-20_-4", "20261120"] {
            assert_eq!(PageCursor::parse("before", bad).unwrap_err().field, "before", "{bad}");
        }
        assert_eq!(activity_page(None, None), Ok((None, DEFAULT_PAGE)));
        assert_eq!(activity_page(None, Some("0")).unwrap_err().field, "limit");
        assert_eq!(activity_page(None, Some("101")).unwrap_err().field, "limit");
        assert_eq!(resolution(Some("5")).unwrap_err().field, "resolution");
    }
}
