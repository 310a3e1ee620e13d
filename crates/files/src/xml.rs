//! GPX 1.1 and TCX (Garmin's Training Center XML) through quick-xml's serde support.
//! Element names are matched by their local name, whatever the namespace prefix
//! (`gpxtpx:hr`, `ns3:RunCadence`, …). The `gpx` crate is not used: it drops
//! `<extensions>`, where heart rate, cadence, power and temperature live.

use serde::Deserialize;
use stravasync_core::convert::{Sample, distance_from_positions};

use crate::sport::{self, Sport};
use crate::{FileError, Recording, Start};

#[derive(Deserialize)]
struct Gpx {
    #[serde(default)]
    trk: Vec<Trk>,
}

#[derive(Deserialize)]
struct Trk {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    trkseg: Vec<TrkSeg>,
}

#[derive(Deserialize)]
struct TrkSeg {
    #[serde(default)]
    trkpt: Vec<TrkPt>,
}

#[derive(Deserialize)]
struct TrkPt {
    #[serde(rename = "@lat")]
    lat: f64,
    #[serde(rename = "@lon")]
    lon: f64,
    ele: Option<f64>,
    time: Option<String>,
    extensions: Option<GpxExtensions>,
}

#[derive(Deserialize, Default)]
struct GpxExtensions {
    power: Option<f64>,
    #[serde(rename = "TrackPointExtension")]
    tpx: Option<TrackPointExtension>,
}

#[derive(Deserialize, Default)]
struct TrackPointExtension {
    hr: Option<f64>,
    cad: Option<f64>,
    atemp: Option<f64>,
    power: Option<f64>,
}

pub(crate) fn gpx(text: &str) -> Result<Recording, FileError> {
    let doc: Gpx = quick_xml::de::from_str(text).map_err(|e| FileError::Xml(e.to_string()))?;
    let mut samples = Vec::new();
    for p in doc.trk.iter().flat_map(|t| &t.trkseg).flat_map(|s| &s.trkpt) {
        let Some(time) = p.time.as_deref().and_then(parse_time) else { continue };
        let ext = p.extensions.as_ref();
        let tpx = ext.and_then(|e| e.tpx.as_ref());
        samples.push(Sample {
            time,
            altitude: p.ele,
            heartrate: tpx.and_then(|t| t.hr),
            cadence: tpx.and_then(|t| t.cad),
            watts: ext.and_then(|e| e.power).or(tpx.and_then(|t| t.power)),
            temp: tpx.and_then(|t| t.atemp),
            latlng: Some([p.lat, p.lon]),
            distance: None,
        });
    }
    // A track has no distance: it is the positions' (docs/design.md §4b).
    distance_from_positions(&mut samples);
    let sports: Vec<Sport> = doc.trk.iter().map(|t| t.kind.as_deref().map_or(Sport::WORKOUT, sport::gpx)).collect();
    let name = doc.trk.iter().find_map(|t| t.name.clone());
    finish(samples, Sport::of_parts(&sports), name)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tcx {
    activities: Option<Activities>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Activities {
    #[serde(default)]
    activity: Vec<Activity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Activity {
    #[serde(rename = "@Sport")]
    sport: Option<String>,
    #[serde(default)]
    lap: Vec<Lap>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Lap {
    #[serde(default)]
    track: Vec<Track>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Track {
    #[serde(default)]
    trackpoint: Vec<Trackpoint>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Trackpoint {
    time: Option<String>,
    position: Option<Position>,
    altitude_meters: Option<f64>,
    distance_meters: Option<f64>,
    heart_rate_bpm: Option<Valued>,
    cadence: Option<f64>,
    extensions: Option<TcxExtensions>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Position {
    latitude_degrees: f64,
    longitude_degrees: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Valued {
    value: f64,
}

#[derive(Deserialize, Default)]
struct TcxExtensions {
    #[serde(rename = "TPX")]
    tpx: Option<Tpx>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct Tpx {
    watts: Option<f64>,
    run_cadence: Option<f64>,
}

pub(crate) fn tcx(text: &str) -> Result<Recording, FileError> {
    let doc: Tcx = quick_xml::de::from_str(text).map_err(|e| FileError::Xml(e.to_string()))?;
    let activities = doc.activities.map(|a| a.activity).unwrap_or_default();
    let mut samples = Vec::new();
    for p in activities.iter().flat_map(|a| &a.lap).flat_map(|l| &l.track).flat_map(|t| &t.trackpoint) {
        let Some(time) = p.time.as_deref().and_then(parse_time) else { continue };
        let tpx = p.extensions.as_ref().and_then(|e| e.tpx.as_ref());
        samples.push(Sample {
            time,
            distance: p.distance_meters,
            altitude: p.altitude_meters,
            heartrate: p.heart_rate_bpm.as_ref().map(|v| v.value),
            cadence: p.cadence.or(tpx.and_then(|t| t.run_cadence)),
            watts: tpx.and_then(|t| t.watts),
            temp: None,
            latlng: p.position.as_ref().map(|p| [p.latitude_degrees, p.longitude_degrees]),
        });
    }
    let sports: Vec<Sport> = activities.iter().map(|a| sport::tcx(a.sport.as_deref().unwrap_or("Other"))).collect();
    finish(samples, Sport::of_parts(&sports), None)
}

fn finish(samples: Vec<Sample>, sport: Sport, name: Option<String>) -> Result<Recording, FileError> {
    let Some(first) = samples.first().map(|s| s.time) else { return Err(FileError::NoSamples) };
    // GPX and TCX carry UTC only: the place's offset is the athlete's.
    Ok(Recording { samples, sport, start: Start::Utc { unix: first, utc_offset_s: None }, name })
}

/// Unix seconds of an ISO 8601 time as GPX and TCX write it: `2015-08-17T14:45:08Z`, with
/// or without fractional seconds, with `Z` or a `±hh:mm` offset. Fractions are dropped
/// (whole seconds, as the conversion keeps).
pub(crate) fn parse_time(value: &str) -> Option<i64> {
    let value = value.trim();
    let base = stravasync_core::date::parse_timestamp(value.get(..19)?)?;
    let rest = &value[19..];
    let rest = rest.strip_prefix('.').map_or(rest, |r| r.trim_start_matches(|c: char| c.is_ascii_digit()));
    let offset = match rest {
        "" | "Z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let hm = rest[1..].replace(':', "");
            let (h, m) = (hm.get(..2)?.parse::<i64>().ok()?, hm.get(2..4).unwrap_or("00").parse::<i64>().ok()?);
            sign * (h * 3600 + m * 60)
        }
    };
    Some(base - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_as_files_write_them() {
        let t = parse_time("2015-08-17T14:45:08Z").unwrap();
        assert_eq!(parse_time("2015-08-17T14:45:08.000Z"), Some(t));
        assert_eq!(parse_time("2015-08-17T16:45:08+02:00"), Some(t));
        assert_eq!(parse_time("2015-08-17T12:15:08-0230"), Some(t));
        assert_eq!(parse_time(" 2015-08-17T14:45:08 "), Some(t));
        assert_eq!(parse_time("yesterday"), None);
    }
}
