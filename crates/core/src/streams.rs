//! Strava's activity streams in the `key_by_type=true` shape:
//! `{"<key>": {"data": [...], "series_type": ..., "original_size": N, "resolution": ...}}`.
//!
//! The client asks for that shape, as Strava's API document requires (`key_by_type` "must
//! be true"); the document's own example is the other shape, an array of streams
//! `[{"type": "<key>", "data": [...], ...}]`. Both carry the same samples, so both parse
//! to the same [`StreamSet`]: a Strava that ignored the parameter would lose nothing.
//!
//! Parsing is tolerant where Strava may change (unknown stream keys and unknown fields of a
//! stream are ignored) and strict where a wrong value would change a number:
//! [`StreamSet::validate`] names the stream and the index of the first bad sample.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

pub use crate::json::ParseError;
use crate::json::parse_json_with_path;

/// The numeric streams the pipeline keeps, in the order the codec writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NumericKey {
    Time,
    Distance,
    Altitude,
    VelocitySmooth,
    Heartrate,
    Cadence,
    Watts,
    Temp,
    GradeSmooth,
}

impl NumericKey {
    pub const ALL: [NumericKey; 9] = [
        NumericKey::Time,
        NumericKey::Distance,
        NumericKey::Altitude,
        NumericKey::VelocitySmooth,
        NumericKey::Heartrate,
        NumericKey::Cadence,
        NumericKey::Watts,
        NumericKey::Temp,
        NumericKey::GradeSmooth,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NumericKey::Time => "time",
            NumericKey::Distance => "distance",
            NumericKey::Altitude => "altitude",
            NumericKey::VelocitySmooth => "velocity_smooth",
            NumericKey::Heartrate => "heartrate",
            NumericKey::Cadence => "cadence",
            NumericKey::Watts => "watts",
            NumericKey::Temp => "temp",
            NumericKey::GradeSmooth => "grade_smooth",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        NumericKey::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Streams that cannot be negative (altitude, temperature and grade can).
    fn non_negative(self) -> bool {
        !matches!(self, NumericKey::Altitude | NumericKey::Temp | NumericKey::GradeSmooth)
    }
}

/// Every stream key the pipeline asks Strava for (docs/design.md §4), comma-separated.
pub const REQUESTED_KEYS: &str =
    "time,distance,latlng,altitude,velocity_smooth,heartrate,cadence,watts,temp,moving,grade_smooth";

/// One activity's streams. Missing streams are `None`; all present streams should have
/// the same length (checked by [`StreamSet::validate`], not by parsing, so the error can
/// say which stream differs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StreamSet {
    numeric: [Option<Vec<f64>>; 9],
    /// `[lat, lng]` pairs in degrees. A sample that was not a pair is kept as `NaN`s and
    /// reported by `validate`.
    pub latlng: Option<Vec<[f64; 2]>>,
    pub moving: Option<Vec<bool>>,
    /// Index and length of the first `latlng` entry that was not a pair.
    bad_latlng: Option<(usize, usize)>,
    /// First `null` sample in a stream where Strava never sends one.
    bad_null: Option<(NumericKey, usize)>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StreamError {
    #[error("stream {key} has {len} samples but time has {expected}")]
    UnequalLength { key: &'static str, len: usize, expected: usize },
    #[error("stream {key} is present but there is no time stream")]
    MissingTime { key: &'static str },
    #[error("stream time at index {index}: {value} is before the previous sample's {previous}")]
    NonMonotonicTime { index: usize, value: f64, previous: f64 },
    #[error("stream time at index {index}: {value} is not a whole number of seconds >= 0")]
    BadTime { index: usize, value: f64 },
    #[error("stream {key} at index {index}: value {value} is not a finite number")]
    NotFinite { key: &'static str, index: usize, value: f64 },
    #[error("stream {key} at index {index}: value {value} is negative")]
    Negative { key: &'static str, index: usize, value: f64 },
    #[error("stream {key} at index {index}: null sample")]
    Null { key: &'static str, index: usize },
    #[error("stream latlng at index {index}: expected a [lat, lng] pair, got {len} numbers")]
    NotAPair { index: usize, len: usize },
    #[error("stream latlng at index {index}: [{lat}, {lng}] is outside ±90/±180 degrees")]
    LatLngRange { index: usize, lat: f64, lng: f64 },
    #[error("stream time at index {index}: {value} s is beyond the {limit} s an activity may span")]
    TimeOutOfRange { index: usize, value: f64, limit: f64 },
    #[error("streams have {len} samples, more than the {limit} this pipeline scores")]
    TooManySamples { len: usize, limit: usize },
    #[error(
        "streams span {duration_s} s at 1 Hz after removing pauses, more than the {limit_s} s this pipeline scores"
    )]
    TooLong { duration_s: u64, limit_s: u64 },
}

/// Largest `time` offset accepted (a year, in seconds). It keeps every time difference and
/// sum far from integer overflow, whatever a corrupt stream says.
pub const MAX_TIME_S: f64 = 366.0 * 86_400.0;
/// Most samples per stream accepted for scoring: twice [`MAX_RESAMPLED_S`] (a 1 Hz
/// recording of 48 h moving time with every second recorded twice).
pub const MAX_SAMPLES: usize = 2 * MAX_RESAMPLED_S as usize;
/// Longest 1 Hz series scored: 48 h of moving time (pauses over 90 s removed). Bounds the
/// memory and time of resampling, whose gaps of up to 90 s become one sample a second.
pub const MAX_RESAMPLED_S: u64 = 48 * 3600;

impl StreamError {
    /// True for streams that are valid but larger than the pipeline scores: the activity
    /// is stored unscored with this reason rather than refused.
    pub fn is_over_limit(&self) -> bool {
        matches!(self, StreamError::TooManySamples { .. } | StreamError::TooLong { .. })
    }
}

impl StreamSet {
    pub fn get(&self, key: NumericKey) -> Option<&[f64]> {
        self.numeric[key as usize].as_deref()
    }

    pub fn set(&mut self, key: NumericKey, data: Option<Vec<f64>>) {
        self.numeric[key as usize] = data;
    }

    pub fn time(&self) -> Option<&[f64]> {
        self.get(NumericKey::Time)
    }

    /// True for `{}`: Strava's answer for a manual activity.
    pub fn is_empty(&self) -> bool {
        self.numeric.iter().all(Option::is_none) && self.latlng.is_none() && self.moving.is_none()
    }

    /// Number of samples (the length of `time`, or of any stream if time is missing).
    pub fn len(&self) -> usize {
        self.numeric
            .iter()
            .flatten()
            .map(Vec::len)
            .chain(self.latlng.as_ref().map(Vec::len))
            .chain(self.moving.as_ref().map(Vec::len))
            .next()
            .unwrap_or(0)
    }

    /// Names of the streams present, in codec order.
    pub fn keys(&self) -> Vec<&'static str> {
        let mut keys: Vec<&'static str> =
            NumericKey::ALL.into_iter().filter(|k| self.get(*k).is_some()).map(NumericKey::name).collect();
        if self.latlng.is_some() {
            keys.push("latlng");
        }
        if self.moving.is_some() {
            keys.push("moving");
        }
        keys
    }

    /// Checks what parsing lets through: equal lengths, a time stream that is whole,
    /// non-negative and non-decreasing seconds, finite values, no negative power, speed,
    /// heart rate, cadence or distance, and latlng pairs inside ±90/±180.
    pub fn validate(&self) -> Result<(), StreamError> {
        if let Some((key, index)) = self.bad_null {
            return Err(StreamError::Null { key: key.name(), index });
        }
        if let Some((index, len)) = self.bad_latlng {
            return Err(StreamError::NotAPair { index, len });
        }
        let Some(time) = self.time() else {
            return match self.keys().first() {
                Some(key) => Err(StreamError::MissingTime { key }),
                None => Ok(()),
            };
        };
        let expected = time.len();
        if expected > MAX_SAMPLES {
            return Err(StreamError::TooManySamples { len: expected, limit: MAX_SAMPLES });
        }
        let lengths = NumericKey::ALL
            .into_iter()
            .filter_map(|k| self.get(k).map(|d| (k.name(), d.len())))
            .chain(self.latlng.as_ref().map(|d| ("latlng", d.len())))
            .chain(self.moving.as_ref().map(|d| ("moving", d.len())));
        for (key, len) in lengths {
            if len != expected {
                return Err(StreamError::UnequalLength { key, len, expected });
            }
        }
        for key in NumericKey::ALL {
            let Some(data) = self.get(key) else { continue };
            for (index, &value) in data.iter().enumerate() {
                if !value.is_finite() {
                    return Err(StreamError::NotFinite { key: key.name(), index, value });
                }
                if key.non_negative() && value < 0.0 {
                    return Err(StreamError::Negative { key: key.name(), index, value });
                }
            }
        }
        for (index, pair) in time.windows(2).enumerate() {
            if pair[1] < pair[0] {
                return Err(StreamError::NonMonotonicTime { index: index + 1, value: pair[1], previous: pair[0] });
            }
        }
        if let Some(index) = time.iter().position(|t| t.fract() != 0.0) {
            return Err(StreamError::BadTime { index, value: time[index] });
        }
        if let Some(index) = time.iter().position(|&t| t > MAX_TIME_S) {
            return Err(StreamError::TimeOutOfRange { index, value: time[index], limit: MAX_TIME_S });
        }
        if let Some(latlng) = &self.latlng {
            for (index, &[lat, lng]) in latlng.iter().enumerate() {
                if !(lat.abs() <= 90.0 && lng.abs() <= 180.0) {
                    return Err(StreamError::LatLngRange { index, lat, lng });
                }
            }
        }
        Ok(())
    }

    /// The samples at `indices` (in that order, repeats allowed) of every stream. Indices
    /// past the end are skipped. Benchmarks use it to build worst cases from real data.
    pub fn select(&self, indices: &[usize]) -> StreamSet {
        fn pick<T: Copy>(data: &[T], indices: &[usize]) -> Vec<T> {
            indices.iter().filter_map(|&i| data.get(i).copied()).collect()
        }
        let mut out = StreamSet::default();
        for key in NumericKey::ALL {
            out.set(key, self.get(key).map(|d| pick(d, indices)));
        }
        out.latlng = self.latlng.as_deref().map(|d| pick(d, indices));
        out.moving = self.moving.as_deref().map(|d| pick(d, indices));
        out
    }

    /// Repeats the recording end to end until it has at least `min_samples` samples,
    /// shifting each copy's time to follow the previous one (1 s after its last sample).
    /// Benchmarks use it to build long activities from real ones.
    pub fn tiled(&self, min_samples: usize) -> StreamSet {
        let Some(time) = self.time().filter(|t| !t.is_empty()) else { return self.clone() };
        let copies = min_samples.div_ceil(time.len()).max(1);
        let period = time[time.len() - 1] - time[0] + 1.0;
        let mut out = StreamSet::default();
        for key in NumericKey::ALL {
            if let Some(d) = self.get(key) {
                let shift = if key == NumericKey::Time { period } else { 0.0 };
                out.set(key, Some((0..copies).flat_map(|c| d.iter().map(move |v| v + shift * c as f64)).collect()));
            }
        }
        out.latlng = self.latlng.as_ref().map(|d| d.repeat(copies));
        out.moving = self.moving.as_ref().map(|d| d.repeat(copies));
        out
    }

    /// Builder for tests and generators.
    pub fn with(mut self, key: NumericKey, data: Vec<f64>) -> Self {
        self.set(key, Some(data));
        self
    }
}

impl<'de> Deserialize<'de> for StreamSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StreamSetVisitor)
    }
}

struct StreamSetVisitor;

impl<'de> Visitor<'de> for StreamSetVisitor {
    type Value = StreamSet;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "a map of stream key to {\"data\": [...]} (Strava's key_by_type=true form) \
             or an array of {\"type\": key, \"data\": [...]}",
        )
    }

    /// The `key_by_type=true` form.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StreamSet, A::Error> {
        let mut set = StreamSet::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            read_stream(&mut set, &key, &mut map, true)?;
        }
        Ok(set)
    }

    /// The array form of the API document's example.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StreamSet, A::Error> {
        let mut set = StreamSet::default();
        while seq.next_element_seed(ArrayStream(&mut set))?.is_some() {}
        Ok(set)
    }
}

/// Reads the samples of the stream `key` from `map`'s next value, `{"data": [...]}` when
/// `wrapped`, else the samples array itself, into `set`; an unknown key is skipped.
fn read_stream<'de, A: MapAccess<'de>>(
    set: &mut StreamSet,
    key: &str,
    map: &mut A,
    wrapped: bool,
) -> Result<(), A::Error> {
    fn next<'de, T: Deserialize<'de>, A: MapAccess<'de>>(map: &mut A, wrapped: bool) -> Result<T, A::Error> {
        if wrapped { map.next_value::<Stream<T>>().map(|s| s.data) } else { map.next_value::<T>() }
    }
    if let Some(k) = NumericKey::from_name(key) {
        let NumericData { mut values, first_null } = next(map, wrapped)?;
        if let Some(i) = first_null {
            if k == NumericKey::Heartrate {
                // Heart-rate dropouts may come as null: no reading, like 0 bpm.
                values.iter_mut().filter(|v| v.is_nan()).for_each(|v| *v = 0.0);
            } else {
                set.bad_null.get_or_insert((k, i));
            }
        }
        set.numeric[k as usize] = Some(values);
    } else if key == "latlng" {
        let data: Vec<LatLngSample> = next(map, wrapped)?;
        let mut pairs = Vec::with_capacity(data.len());
        for (i, s) in data.into_iter().enumerate() {
            match s {
                LatLngSample::Pair(p) => pairs.push(p),
                LatLngSample::Bad(len) => {
                    set.bad_latlng.get_or_insert((i, len));
                    pairs.push([f64::NAN, f64::NAN]);
                }
            }
        }
        set.latlng = Some(pairs);
    } else if key == "moving" {
        set.moving = Some(next(map, wrapped)?);
    } else {
        map.next_value::<IgnoredAny>()?;
    }
    Ok(())
}

/// One stream of the array form, `{"type": key, "data": [...], ...}`, read into the set.
struct ArrayStream<'a>(&'a mut StreamSet);

impl<'de> DeserializeSeed<'de> for ArrayStream<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ArrayStream<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a stream {\"type\": key, \"data\": [...]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut kind: Option<String> = None;
        let mut read = false;
        // "data" before "type" (no order is promised): kept until the key is known.
        let mut early: Option<serde_json::Value> = None;
        while let Some(field) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match (field.as_ref(), &kind) {
                ("type", _) => kind = Some(map.next_value()?),
                ("data", Some(k)) => {
                    read_stream(self.0, k, &mut map, false)?;
                    read = true;
                }
                ("data", None) => early = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let kind = kind.ok_or_else(|| A::Error::custom("a stream without \"type\""))?;
        match early {
            Some(data) => {
                let keyed = serde_json::json!({ kind.as_str(): { "data": data } });
                let one: StreamSet = serde_json::from_value(keyed).map_err(A::Error::custom)?;
                self.0.take_from(one);
            }
            None if !read => return Err(A::Error::custom(format!("stream {kind:?} without \"data\""))),
            None => {}
        }
        Ok(())
    }
}

impl StreamSet {
    /// Moves every stream `other` has (and the first bad sample it saw) into `self`.
    fn take_from(&mut self, other: StreamSet) {
        for (slot, theirs) in self.numeric.iter_mut().zip(other.numeric) {
            if theirs.is_some() {
                *slot = theirs;
            }
        }
        if other.latlng.is_some() {
            self.latlng = other.latlng;
        }
        if other.moving.is_some() {
            self.moving = other.moving;
        }
        self.bad_null = self.bad_null.or(other.bad_null);
        self.bad_latlng = self.bad_latlng.or(other.bad_latlng);
    }
}

#[derive(Deserialize)]
struct Stream<T> {
    data: T,
}

/// A numeric stream's samples, read straight into `f64`s; a `null` becomes NaN and the
/// index of the first one is kept for the error (or, for heart rate, the fix-up).
struct NumericData {
    values: Vec<f64>,
    first_null: Option<usize>,
}

impl<'de> Deserialize<'de> for NumericData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NumericData;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an array of numbers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<NumericData, A::Error> {
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 20));
                let mut first_null = None;
                while let Some(v) = seq.next_element::<Option<f64>>()? {
                    if v.is_none() && first_null.is_none() {
                        first_null = Some(values.len());
                    }
                    values.push(v.unwrap_or(f64::NAN));
                }
                Ok(NumericData { values, first_null })
            }
        }
        d.deserialize_seq(V)
    }
}

/// Writes whole numbers without a fraction (`5`, not `5.0`), as Strava does.
struct Num(f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0.abs() < 9.0e15 {
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

/// A latlng sample: a pair, or the length of whatever array stood there instead.
enum LatLngSample {
    Pair([f64; 2]),
    Bad(usize),
}

impl<'de> Deserialize<'de> for LatLngSample {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LatLngSample;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a [lat, lng] pair")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LatLngSample, A::Error> {
                let mut vals = [0.0; 2];
                let mut n = 0;
                while let Some(v) = seq.next_element::<f64>()? {
                    if n < 2 {
                        vals[n] = v;
                    }
                    n += 1;
                }
                Ok(if n == 2 { LatLngSample::Pair(vals) } else { LatLngSample::Bad(n) })
            }
        }
        d.deserialize_seq(V)
    }
}

impl Serialize for StreamSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a, T: Serialize> {
            data: &'a [T],
            series_type: &'static str,
            original_size: usize,
            resolution: &'static str,
        }
        fn out<T: Serialize>(data: &[T]) -> Out<'_, T> {
            Out { data, series_type: "distance", original_size: data.len(), resolution: "high" }
        }
        let mut map = s.serialize_map(None)?;
        for key in NumericKey::ALL {
            if let Some(d) = self.get(key) {
                let nums: Vec<Num> = d.iter().map(|&v| Num(v)).collect();
                map.serialize_entry(key.name(), &out(&nums))?;
            }
        }
        if let Some(d) = &self.latlng {
            let pairs: Vec<[Num; 2]> = d.iter().map(|&[a, b]| [Num(a), Num(b)]).collect();
            map.serialize_entry("latlng", &out(&pairs))?;
        }
        if let Some(d) = &self.moving {
            map.serialize_entry("moving", &out(d))?;
        }
        map.end()
    }
}

/// Parses Strava's streams JSON; a syntax or type error names the JSON path.
pub fn parse_streams_json(json: &[u8]) -> Result<StreamSet, ParseError> {
    parse_json_with_path(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> StreamSet {
        parse_streams_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn empty_object_is_a_manual_activity() {
        let s = parse("{}");
        assert!(s.is_empty());
        assert_eq!(s.len(), 0);
        assert!(s.validate().is_ok());
    }

    #[test]
    fn unknown_keys_and_fields_are_ignored() {
        let s = parse(
            r#"{"time":{"data":[0,1],"series_type":"time","extra":1},
                "watts_calc":{"data":[1,2]},"moving":{"data":[true,false]},
                "latlng":{"data":[[1.5,2.5],[1.6,2.6]]}}"#,
        );
        assert_eq!(s.keys(), vec!["time", "latlng", "moving"]);
        assert!(s.validate().is_ok());
    }

    #[test]
    fn unequal_lengths_name_the_stream() {
        let s = parse(r#"{"time":{"data":[0,1,2]},"watts":{"data":[1,2]}}"#);
        assert_eq!(s.validate(), Err(StreamError::UnequalLength { key: "watts", len: 2, expected: 3 }));
    }

    #[test]
    fn time_must_not_go_back() {
        let s = parse(r#"{"time":{"data":[0,5,4]}}"#);
        assert_eq!(s.validate(), Err(StreamError::NonMonotonicTime { index: 2, value: 4.0, previous: 5.0 }));
        assert!(parse(r#"{"time":{"data":[0,1.5]}}"#).validate().unwrap_err().to_string().contains("index 1"));
    }

    #[test]
    fn negative_and_null_values_name_field_and_index() {
        let s = parse(r#"{"time":{"data":[0,1]},"watts":{"data":[10,-1]}}"#);
        assert_eq!(s.validate(), Err(StreamError::Negative { key: "watts", index: 1, value: -1.0 }));
        let s = parse(r#"{"time":{"data":[0,1]},"altitude":{"data":[-10,-1]}}"#);
        assert!(s.validate().is_ok(), "altitude may be below sea level");
        let s = parse(r#"{"time":{"data":[0,1]},"watts":{"data":[10,null]}}"#);
        assert_eq!(s.validate(), Err(StreamError::Null { key: "watts", index: 1 }));
        let s = parse(r#"{"time":{"data":[0,1]},"heartrate":{"data":[null,120]}}"#);
        assert_eq!(s.get(NumericKey::Heartrate), Some(&[0.0, 120.0][..]));
    }

    #[test]
    fn latlng_must_be_pairs() {
        let s = parse(r#"{"time":{"data":[0,1]},"latlng":{"data":[[1,2],[1,2,3]]}}"#);
        assert_eq!(s.validate(), Err(StreamError::NotAPair { index: 1, len: 3 }));
        let s = parse(r#"{"time":{"data":[0]},"latlng":{"data":[[91,2]]}}"#);
        assert!(matches!(s.validate(), Err(StreamError::LatLngRange { index: 0, .. })));
    }

    #[test]
    fn missing_time_is_reported() {
        let s = parse(r#"{"watts":{"data":[1]}}"#);
        assert_eq!(s.validate(), Err(StreamError::MissingTime { key: "watts" }));
    }

    #[test]
    fn type_errors_name_the_path() {
        let e = parse_streams_json(br#"{"watts":{"data":[1,"x"]}}"#).unwrap_err();
        assert_eq!(e.path, "watts.data[1]");
        let e = parse_streams_json(b"[1,2]").unwrap_err();
        assert!(e.message.contains("a stream {\"type\""), "{e}");
        let e = parse_streams_json(br#"[{"data":[1]}]"#).unwrap_err();
        assert!(e.message.contains("without \"type\""), "{e}");
        let e = parse_streams_json(br#"[{"type":"watts"}]"#).unwrap_err();
        assert!(e.message.contains("\"watts\" without \"data\""), "{e}");
        let e = parse_streams_json(br#"[{"type":"watts","data":[1,"x"]}]"#).unwrap_err();
        assert_eq!(e.path, "[0].data[1]");
        let e = parse_streams_json(b"7").unwrap_err();
        assert!(e.message.contains("key_by_type=true form"), "{e}");
    }

    #[test]
    fn the_array_form_parses_to_the_same_set_whatever_the_order_of_its_fields() {
        let keyed = parse(
            r#"{"time":{"data":[0,1,2]},"heartrate":{"data":[120,null,122]},"latlng":{"data":[[1,2],[1,2],[1,2]]},
                "moving":{"data":[true,true,false]},"watts":{"data":[100,null,300]}}"#,
        );
        let arrays = parse(
            r#"[{"type":"time","data":[0,1,2],"series_type":"distance","original_size":3,"resolution":"high"},
                {"data":[120,null,122],"type":"heartrate"},{"type":"latlng","data":[[1,2],[1,2],[1,2]]},
                {"type":"moving","data":[true,true,false]},{"data":[100,null,300],"type":"watts"},
                {"type":"unknown","data":[{}]}]"#,
        );
        // Debug, not ==: the null watts sample is NaN on both sides.
        assert_eq!(format!("{arrays:?}"), format!("{keyed:?}"));
        assert_eq!(arrays.validate(), keyed.validate());
        assert!(keyed.validate().is_err(), "a null watts sample is named either way");
    }

    #[test]
    fn tiling_keeps_time_increasing() {
        let s = parse(r#"{"time":{"data":[0,1,3]},"watts":{"data":[5,6,7]},"moving":{"data":[true,false,true]}}"#);
        let t = s.tiled(7);
        assert_eq!(t.time().unwrap(), &[0.0, 1.0, 3.0, 4.0, 5.0, 7.0, 8.0, 9.0, 11.0]);
        assert_eq!(t.get(NumericKey::Watts).unwrap().len(), 9);
        assert!(t.validate().is_ok());
    }

    #[test]
    fn serialize_round_trip() {
        let s = parse(r#"{"time":{"data":[0,1]},"grade_smooth":{"data":[-1.5,2]},"moving":{"data":[true,false]}}"#);
        let back = parse(&serde_json::to_string(&s).unwrap());
        assert_eq!(back, s);
    }
}
