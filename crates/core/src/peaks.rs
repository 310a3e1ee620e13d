//! Peaks: the best mean of a 1 Hz series over each of a fixed set of windows, and how they
//! are stored (a map keyed by the window in seconds). Shared by the metrics (every activity's
//! peaks) and the physiology models (the CP fit's bests).

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Peak windows in seconds, 5 s … 60 min, with 3 and 12 min for the CP model (docs/design.md
/// §6b "Peaks"). Activities stored before those two were added have no value there until
/// they are rescored.
pub const PEAK_WINDOWS: [usize; 11] = [5, 15, 30, 60, 180, 300, 600, 720, 1200, 1800, 3600];
/// Best mean over each of [`PEAK_WINDOWS`]; `None` where the activity is shorter.
/// Serialized as a map keyed by the window in seconds (`"5"`, `"15"`, …).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PeakSeries(pub [Option<f64>; 11]);

impl PeakSeries {
    pub fn get(&self, window_s: usize) -> Option<f64> {
        PEAK_WINDOWS.iter().position(|&w| w == window_s).and_then(|i| self.0[i])
    }
}

impl Serialize for PeakSeries {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_peaks(&PEAK_WINDOWS, &self.0, s)
    }
}

impl<'de> Deserialize<'de> for PeakSeries {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(PeaksVisitor(&PEAK_WINDOWS)).map(PeakSeries)
    }
}

fn serialize_peaks<S: Serializer>(windows: &[usize], values: &[Option<f64>], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(windows.len()))?;
    for (w, v) in windows.iter().zip(values) {
        map.serialize_entry(&w.to_string(), v)?;
    }
    map.end()
}

/// Reads a map of window seconds to best mean into the slots of `windows`; keys of other
/// windows are ignored.
struct PeaksVisitor<const N: usize>(&'static [usize; N]);

impl<'de, const N: usize> Visitor<'de> for PeaksVisitor<N> {
    type Value = [Option<f64>; N];
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a map of window seconds to best mean")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = [None; N];
        while let Some((k, v)) = map.next_entry::<String, Option<f64>>()? {
            if let Some(i) = self.0.iter().position(|w| w.to_string() == k) {
                out[i] = v;
            }
        }
        Ok(out)
    }
}

/// Best mean over every window of [`PEAK_WINDOWS`].
pub fn peak_series(values: &[f64]) -> PeakSeries {
    let mut out = PeakSeries::default();
    best_means(values, &PEAK_WINDOWS, &mut out.0);
    out
}

/// Fills `slots[i]` with the best mean of `values` over `windows[i]` samples (left `None`
/// where the series is shorter), from one prefix sum shared by every window.
fn best_means(values: &[f64], windows: &[usize], slots: &mut [Option<f64>]) {
    let mut prefix = Vec::with_capacity(values.len() + 1);
    prefix.push(0.0);
    let mut acc = 0.0;
    for &v in values {
        acc += v;
        prefix.push(acc);
    }
    for (slot, &w) in slots.iter_mut().zip(windows) {
        if values.len() >= w {
            let best = (w..=values.len()).map(|end| prefix[end] - prefix[end - w]).fold(f64::MIN, f64::max);
            *slot = Some(best / w as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_are_null_when_shorter_than_the_window() {
        let p = peak_series(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        assert_eq!(p.get(5), Some(4.0));
        assert_eq!(p.get(15), None);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["5"], 4.0);
        assert!(json["3600"].is_null());
        assert_eq!(serde_json::from_value::<PeakSeries>(json).unwrap(), p);
    }
}
