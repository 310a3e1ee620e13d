//! What fake-strava serves: activities loaded from a fixtures directory, and seeded,
//! deterministic generated athletes with seasons of plausible activities.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};
use stravasync_core::date::{format_utc, parse_timestamp};
use stravasync_core::streams::{NumericKey, StreamSet, parse_streams_json};

/// An athlete known to the fake.
#[derive(Debug, Clone)]
pub struct Athlete {
    pub id: i64,
    pub firstname: String,
    pub lastname: String,
    /// `"M"` or `"F"`.
    pub sex: &'static str,
    pub ftp: f64,
    pub lthr: f64,
    pub threshold_speed: f64,
}

impl Athlete {
    pub fn json(&self) -> Value {
        // Every field of the API document's DetailedAthlete example.
        json!({
            "id": self.id, "username": null, "resource_state": 3, "firstname": self.firstname,
            "lastname": self.lastname, "city": null, "state": null, "country": null, "sex": self.sex,
            "premium": false, "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z",
            "badge_type_id": 0, "profile_medium": "avatar/athlete/medium.png", "profile": "avatar/athlete/large.png",
            "friend": null, "follower": null, "follower_count": 0, "friend_count": 0, "mutual_friend_count": 0,
            "athlete_type": 0, "date_preference": "%m/%d/%Y", "measurement_preference": "meters", "clubs": [],
            "ftp": self.ftp, "weight": 70.0, "bikes": [], "shoes": [],
        })
    }

    /// `/athlete/zones`: heart-rate zones by % of LTHR, power zones by % of FTP.
    pub fn zones_json(&self) -> Value {
        let ranges = |threshold: f64, pct: &[f64]| -> Vec<Value> {
            let mut bounds = vec![0.0];
            bounds.extend(pct.iter().map(|p| (threshold * p / 100.0).round()));
            bounds
                .iter()
                .enumerate()
                .map(|(i, &min)| json!({"min": min, "max": bounds.get(i + 1).copied().unwrap_or(-1.0)}))
                .collect()
        };
        json!({
            "heart_rate": {"custom_zones": false, "zones": ranges(self.lthr, &[68.0, 83.0, 94.0, 105.0])},
            "power": {"zones": ranges(self.ftp, &[55.0, 75.0, 90.0, 105.0, 120.0, 150.0])},
        })
    }
}

/// How an activity's streams are produced.
#[derive(Debug, Clone)]
pub enum StreamSource {
    /// A manual activity: `/streams` answers 404.
    None,
    /// Loaded from a fixture file.
    Fixed(Box<StreamSet>),
    /// Generated on request from these parameters (keeps big seasons cheap in memory).
    Generated { seed: u64, seconds: usize, run: bool, ftp: f64, lthr: f64, threshold_speed: f64 },
}

#[derive(Debug, Clone)]
pub struct Activity {
    pub id: i64,
    pub owner: i64,
    /// Unix start time (`start_date`), used by `before` / `after`.
    pub start: i64,
    /// The DetailedActivity JSON served for `/activities/{id}`, kept as compact text: a
    /// parsed `Value` takes several times the memory, and a simulation holds 600,000.
    pub json: Box<str>,
    pub streams: StreamSource,
    pub private: bool,
    pub deleted: bool,
    /// The next this-many stream fetches answer `{}` (not processed yet).
    pub empty_stream_fetches: u32,
}

impl Activity {
    /// A public, live activity serving `json`.
    pub fn new(id: i64, owner: i64, start: i64, json: &Value, streams: StreamSource) -> Self {
        Activity {
            id,
            owner,
            start,
            json: json.to_string().into(),
            streams,
            private: false,
            deleted: false,
            empty_stream_fetches: 0,
        }
    }

    pub fn streams(&self) -> Option<StreamSet> {
        match &self.streams {
            StreamSource::None => None,
            StreamSource::Fixed(s) => Some((**s).clone()),
            StreamSource::Generated { seed, seconds, run, ftp, lthr, threshold_speed } => {
                Some(generate_streams(*seed, *seconds, *run, *ftp, *lthr, *threshold_speed))
            }
        }
    }

    /// The stored JSON, parsed.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }

    /// Changes the stored JSON.
    pub fn edit_json(&mut self, edit: impl FnOnce(&mut Value)) {
        let mut j = self.json();
        edit(&mut j);
        self.json = j.to_string().into();
    }

    /// The JSON as `GET /activities/{id}` serves it (Strava's DetailedActivity): `private`
    /// reflects the current flag, and every field of the API document's example is there
    /// (a recording's own values kept, the rest as Strava sends them for an activity
    /// without photos, gear, segments or kudos).
    pub fn served_json(&self) -> Value {
        let mut j = self.json();
        j["private"] = json!(self.private);
        j["visibility"] = json!(if self.private { "only_me" } else { "everyone" });
        if let Value::Object(fields) = &mut j {
            let map =
                json!({"id": format!("a{}", self.id), "polyline": "", "summary_polyline": "", "resource_state": 3});
            for (name, value) in common_defaults(self.id, map).into_iter().chain(detail_only_defaults(self.id)) {
                fields.entry(name).or_insert(value);
            }
            if let Some(Value::Object(photos)) = fields.get_mut("photos") {
                photos.entry("use_primary_photo").or_insert(json!(false));
            }
        }
        j
    }

    /// The JSON as `GET /athlete/activities` lists it (Strava's SummaryActivity): the
    /// detailed fields the API document's summary example does not carry are left out, and
    /// the summary's own are there.
    pub fn summary_json(&self) -> Value {
        let mut j = self.served_json();
        if let Value::Object(fields) = &mut j {
            for (name, _) in detail_only_defaults(self.id) {
                fields.remove(name);
            }
            fields.insert("resource_state".into(), json!(2));
            if let Some(Value::Object(map)) = fields.get_mut("map") {
                map.remove("polyline");
                map.insert("resource_state".into(), json!(2));
            }
            for (name, value) in [
                ("location_city", Value::Null),
                ("location_state", Value::Null),
                ("location_country", Value::Null),
                ("average_heartrate", Value::Null),
                ("max_heartrate", Value::Null),
            ] {
                fields.entry(name).or_insert(value);
            }
        }
        j
    }
}

/// The fields of a DetailedActivity that a SummaryActivity does not carry (the API
/// document's two examples), as Strava sends them for an activity without photos, gear,
/// laps or segments.
fn detail_only_defaults(id: i64) -> [(&'static str, Value); 16] {
    [
        ("average_temp", Value::Null),
        ("calories", json!(0.0)),
        ("description", json!("")),
        ("elev_high", Value::Null),
        ("elev_low", Value::Null),
        ("embed_token", json!(format!("{id:016x}"))),
        ("gear", Value::Null),
        ("hide_from_home", json!(false)),
        ("highlighted_kudosers", json!([])),
        ("laps", json!([])),
        ("leaderboard_opt_out", json!(false)),
        ("partner_brand_tag", Value::Null),
        ("photos", json!({"primary": null, "use_primary_photo": false, "count": 0})),
        ("segment_efforts", json!([])),
        ("segment_leaderboard_opt_out", json!(false)),
        ("splits_metric", json!([])),
    ]
}

/// The fields both of Strava's activity examples carry, as Strava sends them for an
/// activity nobody has kudoed, photographed or tagged with gear.
fn common_defaults(id: i64, map: Value) -> Vec<(&'static str, Value)> {
    vec![
        ("external_id", json!(format!("fake-strava-{id}.fit"))),
        ("upload_id", json!(id)),
        ("start_latlng", json!([])),
        ("end_latlng", json!([])),
        ("achievement_count", json!(0)),
        ("kudos_count", json!(0)),
        ("comment_count", json!(0)),
        ("athlete_count", json!(1)),
        ("photo_count", json!(0)),
        ("total_photo_count", json!(0)),
        ("pr_count", json!(0)),
        ("map", map),
        ("flagged", json!(false)),
        ("gear_id", Value::Null),
        ("from_accepted_tag", json!(false)),
        ("has_kudoed", json!(false)),
        ("device_name", json!("fake-strava")),
        ("workout_type", Value::Null),
        ("suffer_score", Value::Null),
        ("max_speed", Value::Null),
        ("average_cadence", Value::Null),
        ("weighted_average_watts", Value::Null),
        ("kilojoules", Value::Null),
        ("max_watts", Value::Null),
        ("average_watts", Value::Null),
        ("device_watts", json!(false)),
    ]
}

#[derive(Debug, thiserror::Error)]
#[error("fixture {file}: {reason}")]
pub struct LoadError {
    pub file: String,
    pub reason: String,
}

/// Loads every `<name>.activity.json` with its `<name>.streams.json` (a missing streams
/// file makes it a manual activity). Owners become athletes with default thresholds.
pub fn load_fixtures(dir: &Path) -> Result<(Vec<Athlete>, Vec<Activity>), LoadError> {
    let err = |file: &Path, reason: String| LoadError { file: file.display().to_string(), reason };
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| err(dir, e.to_string()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".activity.json"))
        .collect();
    entries.sort();
    let mut athletes = BTreeMap::new();
    let mut activities = Vec::new();
    for path in entries {
        let text = std::fs::read(&path).map_err(|e| err(&path, e.to_string()))?;
        let json: Value = serde_json::from_slice(&text).map_err(|e| err(&path, e.to_string()))?;
        let id = json["id"].as_i64().ok_or_else(|| err(&path, "no integer id".into()))?;
        let owner = json["athlete"]["id"].as_i64().ok_or_else(|| err(&path, "no athlete.id".into()))?;
        let start = json["start_date"]
            .as_str()
            .and_then(parse_timestamp)
            .ok_or_else(|| err(&path, "no valid start_date".into()))?;
        let streams_path = path.with_file_name(
            path.file_name().unwrap_or_default().to_string_lossy().replace(".activity.json", ".streams.json"),
        );
        let streams = match std::fs::read(&streams_path) {
            Ok(bytes) => StreamSource::Fixed(Box::new(
                parse_streams_json(&bytes).map_err(|e| err(&streams_path, e.to_string()))?,
            )),
            Err(_) => StreamSource::None,
        };
        athletes.entry(owner).or_insert_with(|| Athlete {
            id: owner,
            firstname: "Fixture".into(),
            lastname: format!("Athlete {owner}"),
            sex: "M",
            ftp: 250.0,
            lthr: 165.0,
            threshold_speed: 3.9,
        });
        activities.push(Activity::new(id, owner, start, &json, streams));
    }
    Ok((athletes.into_values().collect(), activities))
}

/// SplitMix64: tiny, seeded, deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Exponentially distributed with the given mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    /// Approximately normal (sum of uniforms).
    pub fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let s: f64 = (0..6).map(|_| self.unit()).sum::<f64>() - 3.0;
        mean + sd * s * std::f64::consts::SQRT_2
    }
}

pub const GENERATED_ATHLETE_BASE: i64 = 6_100_000_000;
pub const GENERATED_ACTIVITY_BASE: i64 = 19_000_000_000;

/// Parameters of the generated data.
#[derive(Debug, Clone, Copy)]
pub struct Season {
    pub athletes: u32,
    pub activities_per_athlete: u32,
    pub seed: u64,
    /// Unix time of the last generated activity's day.
    pub end: i64,
    /// A hard block at the end: on each of the last `block_days` days two activities, a
    /// morning and an evening one (part of `activities_per_athlete`), so that the
    /// athlete's form ends deep in fatigue (the demo's over-reaching warning).
    pub block_days: u32,
}

pub fn generate_athlete(index: u32, seed: u64) -> Athlete {
    let mut rng = Rng::new(seed ^ (u64::from(index) << 32) ^ 0xA7);
    let female = index % 2 == 1;
    Athlete {
        id: GENERATED_ATHLETE_BASE + i64::from(index) + 1,
        firstname: if female { "Grace".into() } else { "Eddy".into() },
        lastname: format!("Generated {}", index + 1),
        sex: if female { "F" } else { "M" },
        ftp: (rng.range(190.0, 310.0)).round(),
        lthr: (rng.range(155.0, 178.0)).round(),
        threshold_speed: (rng.range(3.3, 4.6) * 100.0).round() / 100.0,
    }
}

/// One generated activity: id, owner, start, kind and length from the seed.
pub fn generate_activity(athlete: &Athlete, id: i64, start: i64, seed: u64) -> Activity {
    generate_activity_with(athlete, id, start, seed, 1)
}

/// As [`generate_activity`], its summary (distance, averages) taken from streams
/// `summary_step` times shorter: cheap enough for hundreds of thousands of activities;
/// the streams served are the full ones either way.
pub fn generate_activity_with(athlete: &Athlete, id: i64, start: i64, seed: u64, summary_step: usize) -> Activity {
    let mut rng = Rng::new(seed ^ (id as u64).rotate_left(17));
    let roll = rng.unit();
    let (sport, run, manual) = if roll < 0.1 {
        ("Workout", false, true)
    } else if roll < 0.4 {
        ("Run", true, false)
    } else {
        ("Ride", false, false)
    };
    let minutes = if run { rng.range(25.0, 75.0) } else { rng.range(45.0, 150.0) };
    let seconds = (minutes * 60.0) as usize;
    let stream_seed = rng.next_u64();
    let streams = if manual {
        StreamSource::None
    } else {
        StreamSource::Generated {
            seed: stream_seed,
            seconds,
            run,
            ftp: athlete.ftp,
            lthr: athlete.lthr,
            threshold_speed: athlete.threshold_speed,
        }
    };
    let mut activity = Activity::new(id, athlete.id, start, &Value::Null, streams);
    let step = summary_step.max(1);
    let set = match &activity.streams {
        StreamSource::Generated { seed, seconds, run, ftp, lthr, threshold_speed } if step > 1 => {
            Some(generate_streams(*seed, (*seconds / step).max(1), *run, *ftp, *lthr, *threshold_speed))
        }
        _ => activity.streams(),
    };
    let distance =
        set.as_ref().and_then(|s| s.get(NumericKey::Distance).and_then(|d| d.last().copied())).unwrap_or(0.0)
            * step as f64;
    let mean =
        |key| set.as_ref().and_then(|s| s.get(key)).map(|d: &[f64]| d.iter().sum::<f64>() / d.len().max(1) as f64);
    let name = match (sport, start.rem_euclid(86_400) / 3600) {
        (s, h) if h < 12 => format!("Morning {s}"),
        (s, h) if h < 17 => format!("Afternoon {s}"),
        (s, _) => format!("Evening {s}"),
    };
    let json = json!({
        "resource_state": 3,
        "athlete": {"id": athlete.id, "resource_state": 1},
        "id": id,
        "name": name,
        "distance": (distance * 10.0).round() / 10.0,
        "moving_time": seconds,
        "elapsed_time": seconds,
        "total_elevation_gain": 0.0,
        "type": sport,
        "sport_type": sport,
        "start_date": format_utc(start),
        "start_date_local": format_utc(start),
        "timezone": "(GMT+00:00) Africa/Abidjan",
        "utc_offset": 0.0,
        "manual": manual,
        "private": false,
        "visibility": "everyone",
        "trainer": false,
        "commute": false,
        "device_watts": !run && !manual,
        "average_watts": mean(NumericKey::Watts),
        "average_heartrate": mean(NumericKey::Heartrate),
        "average_speed": mean(NumericKey::VelocitySmooth),
        "has_heartrate": !manual,
    });
    activity.json = json.to_string().into();
    activity
}

/// A season: `activities_per_athlete` activities per athlete, one every 1–2 days back
/// from `end`, ids assigned in start order.
pub fn generate_season(season: Season) -> (Vec<Athlete>, Vec<Activity>) {
    let athletes: Vec<Athlete> = (0..season.athletes).map(|i| generate_athlete(i, season.seed)).collect();
    let mut plans = Vec::new();
    for a in &athletes {
        let mut rng = Rng::new(season.seed ^ a.id as u64);
        let mut day = season.end - season.end.rem_euclid(86_400);
        let mut planned = 0;
        for _ in 0..season.block_days.min(season.activities_per_athlete / 2) {
            for (lo, hi) in [(6.0, 9.0), (16.0, 19.0)] {
                plans.push((day + (rng.range(lo, hi) * 3600.0) as i64, a.id));
            }
            planned += 2;
            day -= 86_400;
        }
        for _ in planned..season.activities_per_athlete {
            let start = day + (rng.range(6.0, 19.0) * 3600.0) as i64;
            plans.push((start, a.id));
            day -= 86_400 * if rng.unit() < 0.6 { 1 } else { 2 };
        }
    }
    plans.sort();
    let by_id: BTreeMap<i64, &Athlete> = athletes.iter().map(|a| (a.id, a)).collect();
    let activities = plans
        .into_iter()
        .enumerate()
        .map(|(i, (start, owner))| {
            generate_activity(by_id[&owner], GENERATED_ACTIVITY_BASE + i as i64 + 1, start, season.seed)
        })
        .collect();
    (athletes, activities)
}

/// Plausible 1 Hz streams: power with intervals and HR that follows it for rides; pace
/// with hills for runs. Values are rounded the way Strava serves them.
pub fn generate_streams(seed: u64, seconds: usize, run: bool, ftp: f64, lthr: f64, threshold_speed: f64) -> StreamSet {
    let mut rng = Rng::new(seed);
    let n = seconds.max(1);
    let mut time = Vec::with_capacity(n);
    let mut watts = Vec::with_capacity(n);
    let mut hr = Vec::with_capacity(n);
    let mut speed = Vec::with_capacity(n);
    let mut grade = Vec::with_capacity(n);
    let mut distance = Vec::with_capacity(n);
    let mut altitude = Vec::with_capacity(n);
    let mut cadence = Vec::with_capacity(n);
    let mut latlng = Vec::with_capacity(n);
    let phase = rng.range(0.0, std::f64::consts::TAU);
    let (mut dist, mut alt, mut heart) = (0.0f64, rng.range(20.0, 400.0), lthr * 0.6);
    for i in 0..n {
        let t = i as f64;
        let g = 4.0 * (t / 420.0 + phase).sin() + 1.5 * (t / 97.0).sin();
        let interval = if (i / 60) % 20 >= 15 { 0.35 } else { 0.0 };
        let effort = (0.62 + 0.12 * (t / 900.0 + phase).sin() + interval + rng.range(-0.08, 0.08)).max(0.0);
        let target_hr = lthr * (0.62 + 0.42 * effort.min(1.2));
        heart += (target_hr - heart) / 25.0;
        let v = if run {
            (threshold_speed * (0.78 + 0.25 * (effort - 0.62)) * (1.0 - g * 0.02)).max(1.0)
        } else {
            (5.0 + 6.0 * effort - g * 0.35).max(1.5)
        };
        dist += v;
        alt += v * g / 100.0;
        time.push(t);
        if !run {
            watts.push((ftp * effort).round());
        }
        hr.push(heart.round());
        speed.push((v * 1000.0).round() / 1000.0);
        grade.push((g * 10.0).round() / 10.0);
        distance.push((dist * 10.0).round() / 10.0);
        altitude.push((alt * 10.0).round() / 10.0);
        cadence.push(if run { (86.0 + rng.range(-2.0, 2.0)).round() } else { (88.0 + rng.range(-5.0, 5.0)).round() });
        latlng.push([((10.0 + dist / 111_320.0) * 1e6).round() / 1e6, -30.0]);
    }
    let mut set = StreamSet::default()
        .with(NumericKey::Time, time)
        .with(NumericKey::Distance, distance)
        .with(NumericKey::Altitude, altitude)
        .with(NumericKey::VelocitySmooth, speed)
        .with(NumericKey::Heartrate, hr)
        .with(NumericKey::Cadence, cadence)
        .with(NumericKey::GradeSmooth, grade);
    if !run {
        set.set(NumericKey::Watts, Some(watts));
    }
    set.latlng = Some(latlng);
    set.moving = Some(vec![true; n]);
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_valid() {
        let season = Season { athletes: 2, activities_per_athlete: 20, seed: 7, end: 1_700_000_000, block_days: 0 };
        let (a1, b1) = generate_season(season);
        let (a2, b2) = generate_season(season);
        assert_eq!(a1.len(), 2);
        assert_eq!(b1.len(), 40);
        assert_eq!(
            b1.iter().map(|a| (a.id, a.start, a.json.clone())).collect::<Vec<_>>(),
            b2.iter().map(|a| (a.id, a.start, a.json.clone())).collect::<Vec<_>>()
        );
        assert_eq!(a1[0].ftp, a2[0].ftp);
        assert!(b1.windows(2).all(|w| w[0].start <= w[1].start));
        let with_streams: Vec<_> = b1.iter().filter_map(Activity::streams).collect();
        assert!(!with_streams.is_empty() && with_streams.len() < 40, "some manual activities");
        for s in with_streams {
            s.validate().unwrap();
        }
    }
}
