//! Calendar dates without a time zone, and the UTC clock arithmetic the pipeline needs.
//!
//! A training day is the athlete's local calendar day (`start_date_local`), so dates here
//! carry no zone. The civil-date conversion is Howard Hinnant's `days_from_civil`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A proleptic Gregorian calendar day, stored as days since 1970-01-01.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDate(i32);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {value:?}: expected YYYY-MM-DD")]
pub struct DateError {
    pub value: String,
}

impl LocalDate {
    /// Builds a date from year, month (1..=12) and day (1..=31); `None` if it does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = month as i32;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(LocalDate(era * 146_097 + doe - 719_468))
    }

    pub const fn from_days_since_epoch(days: i32) -> Self {
        LocalDate(days)
    }

    pub fn days_since_epoch(self) -> i32 {
        self.0
    }

    /// The UTC calendar day of a unix timestamp.
    pub fn from_unix_seconds(secs: i64) -> Self {
        LocalDate(secs.div_euclid(86_400) as i32)
    }

    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i32::from(month <= 2);
        (year, month, day)
    }

    pub fn add_days(self, days: i32) -> Self {
        LocalDate(self.0 + days)
    }

    /// Number of days from `self` to `later` (negative if `later` is earlier).
    pub fn days_until(self, later: LocalDate) -> i32 {
        later.0 - self.0
    }

    /// The date part of an ISO-8601 timestamp such as Strava's `start_date_local`
    /// (`2019-09-29T15:58:25Z`), or of a plain `YYYY-MM-DD`.
    pub fn from_timestamp_prefix(value: &str) -> Result<Self, DateError> {
        value
            .get(..10)
            .filter(|_| value.len() == 10 || value.as_bytes()[10] == b'T')
            .and_then(|d| d.parse().ok())
            .ok_or_else(|| DateError { value: value.to_string() })
    }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

impl FromStr for LocalDate {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DateError { value: s.to_string() };
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let digits = |r: std::ops::Range<usize>| -> Result<u32, DateError> {
            let part = &s[r];
            if part.bytes().all(|c| c.is_ascii_digit()) { part.parse().map_err(|_| err()) } else { Err(err()) }
        };
        let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
        LocalDate::from_ymd(y as i32, m, d).ok_or_else(err)
    }
}

impl fmt::Display for LocalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for LocalDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Serialize for LocalDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LocalDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` of a unix timestamp, as Strava writes `start_date`.
pub fn format_utc(unix_secs: i64) -> String {
    let date = LocalDate::from_unix_seconds(unix_secs);
    let t = unix_secs.rem_euclid(86_400);
    format!("{date}T{:02}:{:02}:{:02}Z", t / 3600, t % 3600 / 60, t % 60)
}

/// Unix seconds of `YYYY-MM-DDTHH:MM:SSZ` (the zone suffix is ignored: Strava's
/// `start_date_local` uses `Z` too, for local wall time).
pub fn parse_timestamp(value: &str) -> Option<i64> {
    let date = LocalDate::from_timestamp_prefix(value).ok()?;
    let time = value.get(11..19)?;
    let b = time.as_bytes();
    if b[2] != b':' || b[5] != b':' {
        return None;
    }
    let part = |r: std::ops::Range<usize>| time.get(r)?.parse::<i64>().ok();
    let (h, m, s) = (part(0..2)?, part(3..5)?, part(6..8)?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(i64::from(date.days_since_epoch()) * 86_400 + h * 3600 + m * 60 + s)
}

/// Start (unix seconds) of the 15-minute rate-limit window that contains `unix_secs`.
/// Strava's windows reset at :00, :15, :30 and :45 UTC.
pub fn quarter_hour_start(unix_secs: i64) -> i64 {
    unix_secs - unix_secs.rem_euclid(900)
}

/// Start (unix seconds) of the UTC day that contains `unix_secs`; Strava's daily limit
/// resets at midnight UTC.
pub fn utc_day_start(unix_secs: i64) -> i64 {
    unix_secs - unix_secs.rem_euclid(86_400)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(LocalDate::from_ymd(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(LocalDate::from_ymd(2000, 3, 1).unwrap().days_since_epoch(), 11_017);
        assert_eq!("2024-02-29".parse::<LocalDate>().unwrap().to_string(), "2024-02-29");
        assert!("2023-02-29".parse::<LocalDate>().is_err());
        assert!("2023-13-01".parse::<LocalDate>().is_err());
        assert!("2023-1-01".parse::<LocalDate>().is_err());
        assert!("+023-01-01".parse::<LocalDate>().is_err());
    }

    #[test]
    fn timestamp_prefix() {
        let d = LocalDate::from_timestamp_prefix("2019-09-29T15:58:25Z").unwrap();
        assert_eq!(d.to_string(), "2019-09-29");
        assert!(LocalDate::from_timestamp_prefix("2019-09-29X").is_err());
        assert!(LocalDate::from_timestamp_prefix("2019").is_err());
    }

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("2023-11-14T22:13:20Z"), Some(1_700_000_000));
        assert_eq!(format_utc(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(parse_timestamp("2023-11-14T25:13:20Z"), None);
        assert_eq!(parse_timestamp("2023-11-14"), None);
    }

    #[test]
    fn windows() {
        assert_eq!(quarter_hour_start(1_700_000_000), 1_699_999_200);
        assert_eq!(utc_day_start(1_700_000_000), 1_699_920_000);
    }

    proptest! {
        #[test]
        fn days_round_trip(days in -800_000i32..800_000) {
            let d = LocalDate::from_days_since_epoch(days);
            let (y, m, dd) = d.ymd();
            prop_assert_eq!(LocalDate::from_ymd(y, m, dd), Some(d));
            if (0..=9999).contains(&y) {
                prop_assert_eq!(d.to_string().parse::<LocalDate>().unwrap(), d);
            }
        }
    }
}
