//! FIT files (`fitparser`): the `record` messages as samples, the sessions' sports, and
//! the activity's local offset (docs/design.md §4b).

use fitparser::profile::MesgNum;
use fitparser::{FitDataRecord, Value};
use stravasync_core::convert::Sample;

use crate::sport::{self, Sport};
use crate::{FileError, Recording, Start};

/// FIT's epoch (1989-12-31T00:00:00Z) in unix seconds.
const FIT_EPOCH: i64 = 631_065_600;
/// FIT timestamps below this are seconds on the device's own clock, not dates.
const DEVICE_RELATIVE_BELOW: i64 = 0x1000_0000;

pub(crate) fn read(bytes: &[u8]) -> Result<Recording, FileError> {
    let messages = fitparser::from_bytes(bytes).map_err(|e| FileError::Fit(e.to_string()))?;
    let mut samples = Vec::new();
    let mut sports: Vec<Sport> = Vec::new();
    let mut activity_offset: Option<i64> = None;
    for m in &messages {
        match m.kind() {
            MesgNum::Record => {
                if let Some(s) = sample(m) {
                    samples.push(s);
                }
            }
            MesgNum::Session => {
                let sport = text(m, "sport").unwrap_or("generic");
                sports.push(sport::fit(sport, text(m, "sub_sport")));
            }
            MesgNum::Activity => {
                if let (Some(ts), Some(local)) = (time(m, "timestamp"), time(m, "local_timestamp")) {
                    activity_offset = Some(local + host_offset_at_fit_epoch() - ts);
                }
            }
            _ => {}
        }
    }
    let Some(first) = samples.first().map(|s| s.time) else {
        return Err(FileError::NoSamples);
    };
    let start = if first - FIT_EPOCH < DEVICE_RELATIVE_BELOW {
        Start::DeviceRelative
    } else {
        // An offset beyond any time zone's is a device's wrong clock, not a place.
        Start::Utc { unix: first, utc_offset_s: activity_offset.filter(|o| o.abs() <= 14 * 3600) }
    };
    Ok(Recording { samples, sport: Sport::of_parts(&sports), start, name: None })
}

fn sample(m: &FitDataRecord) -> Option<Sample> {
    let mut s = Sample { time: time(m, "timestamp")?, ..Sample::default() };
    let (mut lat, mut lng, mut enhanced_altitude, mut altitude) = (None, None, None, None);
    for f in m.fields() {
        let v = || number(f.value());
        match f.name() {
            "distance" => s.distance = v(),
            "enhanced_altitude" => enhanced_altitude = v(),
            "altitude" => altitude = v(),
            "heart_rate" => s.heartrate = v(),
            "cadence" => s.cadence = v(),
            "power" => s.watts = v(),
            "temperature" => s.temp = v(),
            "position_lat" => lat = v(),
            "position_long" => lng = v(),
            _ => {}
        }
    }
    s.altitude = enhanced_altitude.or(altitude);
    if let (Some(lat), Some(lng)) = (lat, lng) {
        let deg = 180.0 / 2f64.powi(31);
        s.latlng = Some([lat * deg, lng * deg]);
    }
    Some(s)
}

/// fitparser reads a `local_date_time` as the FIT epoch's wall time *in the host's zone*
/// plus the value, so its instant is off by the host's offset at that epoch; this is that
/// offset (0 on Lambda, which runs in UTC), to be added back.
fn host_offset_at_fit_epoch() -> i64 {
    use chrono::{Local, NaiveDate, Offset, TimeZone};
    let epoch = NaiveDate::from_ymd_opt(1989, 12, 31).and_then(|d| d.and_hms_opt(0, 0, 0));
    epoch
        .and_then(|e| Local.offset_from_local_datetime(&e).single())
        .map_or(0, |o| i64::from(o.fix().local_minus_utc()))
}

fn time(m: &FitDataRecord, name: &str) -> Option<i64> {
    m.fields().iter().find(|f| f.name() == name).and_then(|f| match f.value() {
        Value::Timestamp(t) => Some(t.timestamp()),
        _ => None,
    })
}

fn text<'a>(m: &'a FitDataRecord, name: &str) -> Option<&'a str> {
    m.fields().iter().find(|f| f.name() == name).and_then(|f| match f.value() {
        Value::String(s) => Some(s.as_str()),
        _ => None,
    })
}

fn number(v: &Value) -> Option<f64> {
    let x = match *v {
        Value::SInt8(x) => f64::from(x),
        Value::UInt8(x) | Value::UInt8z(x) | Value::Byte(x) => f64::from(x),
        Value::SInt16(x) => f64::from(x),
        Value::UInt16(x) | Value::UInt16z(x) => f64::from(x),
        Value::SInt32(x) => f64::from(x),
        Value::UInt32(x) | Value::UInt32z(x) => f64::from(x),
        Value::SInt64(x) => x as f64,
        Value::UInt64(x) | Value::UInt64z(x) => x as f64,
        Value::Float32(x) => f64::from(x),
        Value::Float64(x) => x,
        _ => return None,
    };
    x.is_finite().then_some(x)
}
