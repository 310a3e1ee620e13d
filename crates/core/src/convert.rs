//! A recording's samples (FIT records, GPX or TCX track points) turned into the stream set
//! the API path stores, by the exact rules of the shared fixtures' "How the files were made"
//! (docs/design.md §4b): the same streams Strava would serve, so the same scores.
//!
//! - Samples without a time are the parser's to skip; here a sample whose whole-second
//!   offset from the first is not after the last kept one is dropped (the first wins).
//! - A channel exists when any sample has it. Missing values are filled over *samples*
//!   (gaps in time stay gaps): linear in time between the nearest samples that have one,
//!   the nearest value at the ends, 0 for distance before its first value; distance is then
//!   made non-decreasing. Missing power is 0 (a dropout); present power is an integer.
//! - Rounding is half to even on the exact value (Python's `round`): distance and altitude
//!   to 0.1 m, heart rate, cadence and temperature to whole numbers, latlng to 6 decimals,
//!   `velocity_smooth` to 3 decimals from the rounded distance, `grade_smooth` to 1.
//! - `velocity_smooth[i] = (d[i] − d[i−2]) / (t[i] − t[i−2])` with `i−2` clamped to 0, and 0 at
//!   0; `moving` is `velocity_smooth > 0.5`; `grade_smooth` is rise over run between the
//!   first and last sample whose distance lies in `[d[i] − 25, d[i] + 25]`, the previous
//!   value when that run is under 10 m (0 before the first).
//! - No distance in any sample: no distance, velocity, moving or grade; no altitude: no grade.

use crate::streams::{NumericKey, StreamSet};

/// One sample of a recording, as its file holds it (SI units, degrees; `None` when the
/// sample lacks the channel).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sample {
    /// Seconds on the recording's clock (unix seconds, or a device's own).
    pub time: i64,
    pub distance: Option<f64>,
    pub altitude: Option<f64>,
    pub heartrate: Option<f64>,
    pub cadence: Option<f64>,
    pub watts: Option<f64>,
    pub temp: Option<f64>,
    pub latlng: Option<[f64; 2]>,
}

/// Figures of a converted recording that Strava's activity summary carries.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// The last `time` value, s.
    pub elapsed_time: i64,
    /// The time steps that end on a moving sample, s (the elapsed time without distance).
    pub moving_time: i64,
    pub distance: Option<f64>,
    pub average_heartrate: Option<f64>,
    pub max_heartrate: Option<f64>,
    pub average_watts: Option<f64>,
}

/// Mean radius of the Earth (IUGG), m: what GPX distances are computed with.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance between two `[lat, lng]` points in degrees (haversine), m.
pub fn haversine_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    let (la1, la2) = (a[0].to_radians(), b[0].to_radians());
    let dla = la2 - la1;
    let dlo = (b[1] - a[1]).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

/// Cumulative haversine distance over the samples' positions, set as their distance (for
/// tracks that carry none, such as GPX). Samples before the first position get none; a
/// sample without a position keeps the distance so far.
pub fn distance_from_positions(samples: &mut [Sample]) {
    let mut last: Option<[f64; 2]> = None;
    let mut total = 0.0;
    for s in samples {
        if let Some(p) = s.latlng {
            if let Some(q) = last {
                total += haversine_m(q, p);
            }
            last = Some(p);
        }
        if last.is_some() {
            s.distance = Some(total);
        }
    }
}

/// `x` rounded to `digits` decimals, half to even on its exact value: Python's `round`.
pub fn round_half_even(x: f64, digits: u32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let scale = 10f64.powi(digits as i32);
    let y = x * scale;
    let frac = y - y.floor();
    // Far from a tie, the scaled value rounds the same way as the exact one, and an exact
    // integer divided by an exact power of ten is the double nearest the decimal.
    if (frac - 0.5).abs() > 1e-6 {
        return y.round() / scale;
    }
    // Near a tie: decide on the exact value, as Python does (formatting is exact and rounds
    // ties to even).
    format!("{x:.prec$}", prec = digits as usize).parse().unwrap_or(x)
}

/// The samples as Strava's stream set, by the rules above.
pub fn stream_set(samples: &[Sample]) -> StreamSet {
    let kept = keep_increasing(samples);
    let n = kept.len();
    let mut set = StreamSet::default();
    if n == 0 {
        return set;
    }
    let t0 = kept[0].time;
    let time: Vec<f64> = kept.iter().map(|s| (s.time - t0) as f64).collect();

    let channel = |get: fn(&Sample) -> Option<f64>| -> Option<Vec<Option<f64>>> {
        let values: Vec<Option<f64>> = kept.iter().map(get).collect();
        values.iter().any(Option::is_some).then_some(values)
    };
    let distance = channel(|s| s.distance).map(|v| {
        let mut d = fill(&time, &v, Some(0.0));
        let mut max = f64::NEG_INFINITY;
        for x in &mut d {
            max = max.max(*x);
            *x = round_half_even(max, 1);
        }
        d
    });
    let altitude = channel(|s| s.altitude).map(|v| round_all(fill(&time, &v, None), 1));
    let whole =
        |v: Vec<Option<f64>>| -> Vec<f64> { fill(&time, &v, None).into_iter().map(f64::round_ties_even).collect() };
    let heartrate = channel(|s| s.heartrate).map(whole);
    let cadence = channel(|s| s.cadence).map(whole);
    let temp = channel(|s| s.temp).map(whole);
    let watts = channel(|s| s.watts).map(|v| v.into_iter().map(|w| w.map_or(0.0, f64::trunc)).collect::<Vec<_>>());
    let latlng = kept.iter().any(|s| s.latlng.is_some()).then(|| {
        let lat: Vec<Option<f64>> = kept.iter().map(|s| s.latlng.map(|p| p[0])).collect();
        let lng: Vec<Option<f64>> = kept.iter().map(|s| s.latlng.map(|p| p[1])).collect();
        let (lat, lng) = (fill(&time, &lat, None), fill(&time, &lng, None));
        lat.into_iter().zip(lng).map(|(a, b)| [round_half_even(a, 6), round_half_even(b, 6)]).collect::<Vec<_>>()
    });

    if let Some(d) = &distance {
        let velocity = velocity_smooth(&time, d);
        set.moving = Some(velocity.iter().map(|&v| v > 0.5).collect());
        if let Some(alt) = &altitude {
            set.set(NumericKey::GradeSmooth, Some(grade_smooth(d, alt)));
        }
        set.set(NumericKey::VelocitySmooth, Some(velocity));
    }
    set.set(NumericKey::Distance, distance);
    set.set(NumericKey::Altitude, altitude);
    set.set(NumericKey::Heartrate, heartrate);
    set.set(NumericKey::Cadence, cadence);
    set.set(NumericKey::Watts, watts);
    set.set(NumericKey::Temp, temp);
    set.latlng = latlng;
    set.set(NumericKey::Time, Some(time));
    set
}

/// What Strava's summary says of a converted recording.
pub fn figures(set: &StreamSet) -> Figures {
    let time = set.time().unwrap_or(&[]);
    let elapsed_time = time.last().copied().unwrap_or(0.0) as i64;
    let moving_time = match &set.moving {
        Some(moving) => (1..time.len()).filter(|&i| moving[i]).map(|i| (time[i] - time[i - 1]) as i64).sum(),
        None => elapsed_time,
    };
    let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
    let hr = set.get(NumericKey::Heartrate);
    Figures {
        elapsed_time,
        moving_time,
        distance: set.get(NumericKey::Distance).and_then(|d| d.last().copied()),
        average_heartrate: hr.and_then(mean).map(|x| round_half_even(x, 1)),
        max_heartrate: hr.and_then(|v| v.iter().copied().reduce(f64::max)),
        average_watts: set.get(NumericKey::Watts).and_then(mean).map(|x| round_half_even(x, 1)),
    }
}

/// The samples whose whole-second offset is after the last kept one's.
fn keep_increasing(samples: &[Sample]) -> Vec<Sample> {
    let mut kept: Vec<Sample> = Vec::with_capacity(samples.len());
    for s in samples {
        if kept.last().is_none_or(|last| s.time > last.time) {
            kept.push(*s);
        }
    }
    kept
}

/// Missing values filled linearly in time between the nearest samples that have one; at
/// the start `before_first` (or the first value), at the end the last value.
fn fill(time: &[f64], values: &[Option<f64>], before_first: Option<f64>) -> Vec<f64> {
    let mut out = vec![0.0; values.len()];
    let mut prev: Option<usize> = None;
    for i in 0..values.len() {
        if let Some(v) = values[i] {
            match prev {
                None => {
                    let lead = before_first.unwrap_or(v);
                    out[..i].iter_mut().for_each(|x| *x = lead);
                }
                Some(p) if p + 1 < i => {
                    let (vp, tp) = (out[p], time[p]);
                    for (j, x) in out.iter_mut().enumerate().take(i).skip(p + 1) {
                        *x = vp + (v - vp) * (time[j] - tp) / (time[i] - tp);
                    }
                }
                Some(_) => {}
            }
            out[i] = v;
            prev = Some(i);
        }
    }
    if let Some(p) = prev {
        let last = out[p];
        out[p + 1..].iter_mut().for_each(|x| *x = last);
    }
    out
}

fn round_all(values: Vec<f64>, digits: u32) -> Vec<f64> {
    values.into_iter().map(|x| round_half_even(x, digits)).collect()
}

fn velocity_smooth(time: &[f64], d: &[f64]) -> Vec<f64> {
    (0..d.len())
        .map(|i| {
            if i == 0 {
                return 0.0;
            }
            let j = i.saturating_sub(2);
            round_half_even((d[i] - d[j]) / (time[i] - time[j]), 3)
        })
        .collect()
}

/// Rise over run in a ±25 m distance window (distance is non-decreasing, so the window's
/// ends move forward only).
fn grade_smooth(d: &[f64], alt: &[f64]) -> Vec<f64> {
    let n = d.len();
    let mut out = Vec::with_capacity(n);
    let (mut first, mut last) = (0usize, 0usize);
    let mut previous = 0.0;
    for i in 0..n {
        let (lo, hi) = (d[i] - 25.0, d[i] + 25.0);
        while d[first] < lo {
            first += 1;
        }
        last = last.max(i);
        while last + 1 < n && d[last + 1] <= hi {
            last += 1;
        }
        let run = d[last] - d[first];
        if run >= 10.0 {
            previous = round_half_even((alt[last] - alt[first]) / run * 100.0, 1);
        }
        out.push(previous);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_half_to_even_on_the_exact_value() {
        assert_eq!(round_half_even(0.25, 1), 0.2);
        assert_eq!(round_half_even(0.35, 1), 0.3); // 0.35 is 0.34999… exactly
        assert_eq!(round_half_even(2.675, 2), 2.67);
        assert_eq!(round_half_even(12.45, 1), 12.4); // 12.449999… exactly
        assert_eq!(round_half_even(-1.25, 1), -1.2);
        assert_eq!(round_half_even(1.0005, 3), 1.0);
        assert_eq!(round_half_even(100.06, 1), 100.1);
        assert_eq!(round_half_even(0.5f64.round_ties_even(), 0), 0.0);
    }

    #[test]
    fn gaps_stay_gaps_and_missing_values_are_filled_over_samples() {
        let s =
            |time, hr: Option<f64>, d: Option<f64>| Sample { time, heartrate: hr, distance: d, ..Sample::default() };
        let set = stream_set(&[
            s(100, None, None),
            s(101, Some(100.0), Some(2.0)),
            s(101, Some(200.0), Some(9.0)), // the same second: dropped
            s(104, None, None),
            s(105, Some(110.0), Some(1.0)), // distance goes back: held
            s(106, None, None),
        ]);
        assert_eq!(set.time().unwrap(), &[0.0, 1.0, 4.0, 5.0, 6.0]);
        assert_eq!(set.get(NumericKey::Heartrate).unwrap(), &[100.0, 100.0, 108.0, 110.0, 110.0]);
        // Before its first value distance is 0; interpolated 2 → 1 over the gap, then held.
        assert_eq!(set.get(NumericKey::Distance).unwrap(), &[0.0, 2.0, 2.0, 2.0, 2.0]);
        assert_eq!(set.get(NumericKey::VelocitySmooth).unwrap(), &[0.0, 2.0, 0.5, 0.0, 0.0]);
        assert_eq!(set.moving.as_deref().unwrap(), &[false, true, false, false, false]);
        assert!(set.get(NumericKey::GradeSmooth).is_none(), "no altitude, no grade");
        assert!(set.get(NumericKey::Watts).is_none());
    }

    #[test]
    fn power_dropouts_are_zero_and_present_power_whole() {
        let s = |time, w: Option<f64>| Sample { time, watts: w, ..Sample::default() };
        let set = stream_set(&[s(0, Some(200.7)), s(1, None), s(2, Some(300.0))]);
        assert_eq!(set.get(NumericKey::Watts).unwrap(), &[200.0, 0.0, 300.0]);
        assert!(set.get(NumericKey::Distance).is_none() && set.moving.is_none());
    }

    #[test]
    fn grade_is_rise_over_run_in_a_fifty_metre_window() {
        let samples: Vec<Sample> = (0..10)
            .map(|i| Sample {
                time: i,
                distance: Some(i as f64 * 5.0),
                altitude: Some(i as f64 * 0.5),
                ..Sample::default()
            })
            .collect();
        let set = stream_set(&samples);
        let grade = set.get(NumericKey::GradeSmooth).unwrap();
        assert!(grade.iter().all(|&g| g == 10.0), "{grade:?}");
    }

    #[test]
    fn haversine_distance_of_a_degree_of_latitude() {
        let d = haversine_m([0.0, 0.0], [1.0, 0.0]);
        assert!((d - EARTH_RADIUS_M * std::f64::consts::PI / 180.0).abs() < 1e-6);
        let mut s = [
            Sample { time: 0, ..Sample::default() },
            Sample { time: 1, latlng: Some([0.0, 0.0]), ..Sample::default() },
            Sample { time: 2, latlng: Some([0.001, 0.0]), ..Sample::default() },
        ];
        distance_from_positions(&mut s);
        assert_eq!(s[0].distance, None);
        assert_eq!(s[1].distance, Some(0.0));
        assert!((s[2].distance.unwrap() - 111.195).abs() < 1e-3);
    }
}
