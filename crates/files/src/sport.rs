//! The one table of sport types for files (README, "The athlete's own files"): FIT
//! `sport`/`sub_sport`, GPX `<type>`, TCX `Activity Sport`, and the export's `Activity Type`.
//!
//! | file says | sport_type |
//! |---|---|
//! | FIT `cycling` (sub_sport `virtual_activity`; `mountain`, `downhill`; `gravel_cycling`, `cyclocross`; `e_bike_fitness`; `e_bike_mountain`; `indoor_cycling`, `spin`: a trainer ride) | `Ride` (`VirtualRide`; `MountainBikeRide`; `GravelRide`; `EBikeRide`; `EMountainBikeRide`; `Ride`) |
//! | FIT `e_biking` | `EBikeRide` |
//! | FIT `running` (`trail`; `virtual_activity`; `treadmill`, `indoor_running`: a trainer run) | `Run` (`TrailRun`; `VirtualRun`; `Run`) |
//! | FIT `swimming`, `walking`, `hiking`, `rowing` (`indoor_rowing`: `Rowing` on a trainer), `cross_country_skiing`, `alpine_skiing`, `snowboarding`, `paddling`, `kayaking`, `stand_up_paddleboarding`, `surfing`, `kitesurfing`, `windsurfing`, `rock_climbing`, `inline_skating`, `ice_skating`, `snowshoeing`, `golf`, `soccer`, `tennis`, `wheelchair_push_run`, `wheelchair_push_walk`, `hand_cycling` | `Swim`, `Walk`, `Hike`, `Rowing`, `NordicSki`, `AlpineSki`, `Snowboard`, `Canoeing`, `Kayaking`, `StandUpPaddling`, `Surfing`, `Kitesurf`, `Windsurf`, `RockClimbing`, `InlineSkate`, `IceSkate`, `Snowshoe`, `Golf`, `Soccer`, `Tennis`, `Wheelchair`, `Wheelchair`, `Handcycle` |
//! | FIT `training` (`strength_training`; `yoga`; `pilates`; `elliptical`; `stair_climbing`; `hiit`) | `Workout` (`WeightTraining`; `Yoga`; `Pilates`; `Elliptical`; `StairStepper`; `HighIntensityIntervalTraining`) |
//! | FIT `fitness_equipment` (sub_sports as `training`'s, `indoor_rowing`: `Rowing`) | as `training` |
//! | GPX `<type>`: the FIT names above (`running`, `cycling`, …), or a Strava sport type (`Ride`, `TrailRun`, …); Strava's numbers `1` (cycling) and `9` (running) | as the FIT sport |
//! | TCX `Sport="Running"`, `"Biking"`, `"Other"` | `Run`, `Ride`, `Workout` |
//! | anything else, or sessions of different sports | `Workout` |
//!
//! An export row's `Activity Type` wins over the file when it names a Strava sport type
//! (spaces and hyphens ignored: `Virtual Ride`, `E-Bike Ride`).

use stravasync_core::model::KNOWN_SPORT_TYPES;

/// A sport type from the table, and whether it was on a trainer (indoors, no travel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sport {
    pub sport_type: &'static str,
    pub trainer: bool,
}

impl Sport {
    pub const WORKOUT: Sport = Sport { sport_type: "Workout", trainer: false };

    /// One file's sport from its parts' (FIT sessions, GPX tracks, TCX activities): theirs
    /// when they agree, else (or without any) a `Workout`.
    pub fn of_parts(parts: &[Sport]) -> Sport {
        match parts.split_first() {
            Some((one, rest)) if rest.iter().all(|s| s == one) => *one,
            _ => Sport::WORKOUT,
        }
    }

    const fn of(sport_type: &'static str) -> Sport {
        Sport { sport_type, trainer: false }
    }

    const fn indoors(sport_type: &'static str) -> Sport {
        Sport { sport_type, trainer: true }
    }
}

/// FIT's `sport` and `sub_sport` (fitparser's names of FIT's enums).
pub fn fit(sport: &str, sub_sport: Option<&str>) -> Sport {
    let sub = sub_sport.unwrap_or("generic");
    match (sport, sub) {
        ("cycling", "virtual_activity") => Sport::of("VirtualRide"),
        ("cycling", "mountain" | "downhill") => Sport::of("MountainBikeRide"),
        ("cycling", "gravel_cycling" | "cyclocross") => Sport::of("GravelRide"),
        ("cycling", "e_bike_fitness") | ("e_biking", _) => Sport::of("EBikeRide"),
        ("cycling", "e_bike_mountain") => Sport::of("EMountainBikeRide"),
        ("cycling", "indoor_cycling" | "spin") => Sport::indoors("Ride"),
        ("cycling", _) => Sport::of("Ride"),
        ("running", "trail") => Sport::of("TrailRun"),
        ("running", "virtual_activity") => Sport::of("VirtualRun"),
        ("running", "treadmill" | "indoor_running") => Sport::indoors("Run"),
        ("running", _) => Sport::of("Run"),
        ("rowing" | "fitness_equipment", "indoor_rowing") => Sport::indoors("Rowing"),
        ("training" | "fitness_equipment", "strength_training") => Sport::of("WeightTraining"),
        ("training" | "fitness_equipment", "yoga") => Sport::of("Yoga"),
        ("training" | "fitness_equipment", "pilates") => Sport::of("Pilates"),
        ("training" | "fitness_equipment", "elliptical") => Sport::of("Elliptical"),
        ("training" | "fitness_equipment", "stair_climbing") => Sport::of("StairStepper"),
        ("training" | "fitness_equipment", "hiit") => Sport::of("HighIntensityIntervalTraining"),
        _ => Sport::of(match sport {
            "swimming" => "Swim",
            "walking" => "Walk",
            "hiking" => "Hike",
            "rowing" => "Rowing",
            "cross_country_skiing" => "NordicSki",
            "alpine_skiing" => "AlpineSki",
            "snowboarding" => "Snowboard",
            "paddling" => "Canoeing",
            "kayaking" => "Kayaking",
            "stand_up_paddleboarding" => "StandUpPaddling",
            "surfing" => "Surfing",
            "kitesurfing" => "Kitesurf",
            "windsurfing" => "Windsurf",
            "rock_climbing" => "RockClimbing",
            "inline_skating" => "InlineSkate",
            "ice_skating" => "IceSkate",
            "snowshoeing" => "Snowshoe",
            "golf" => "Golf",
            "soccer" => "Soccer",
            "tennis" => "Tennis",
            "wheelchair_push_run" | "wheelchair_push_walk" => "Wheelchair",
            "hand_cycling" => "Handcycle",
            _ => "Workout",
        }),
    }
}

/// GPX's `<type>`.
pub fn gpx(kind: &str) -> Sport {
    let kind = kind.trim();
    match kind {
        "1" => fit("cycling", None),
        "9" => fit("running", None),
        "biking" => fit("cycling", None),
        _ => strava_type(kind).map(Sport::of).unwrap_or_else(|| fit(&kind.to_ascii_lowercase(), None)),
    }
}

/// TCX's `Activity Sport`.
pub fn tcx(sport: &str) -> Sport {
    match sport {
        "Running" => Sport::of("Run"),
        "Biking" => Sport::of("Ride"),
        _ => Sport::WORKOUT,
    }
}

/// A Strava sport type as written (`TrailRun`) or as the export writes it (`Trail Run`,
/// `E-Bike Ride`), or `None`.
pub fn strava_type(name: &str) -> Option<&'static str> {
    let squashed: String = name.chars().filter(|c| !matches!(c, ' ' | '-' | '_')).collect();
    KNOWN_SPORT_TYPES.iter().copied().find(|t| t.eq_ignore_ascii_case(&squashed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table() {
        assert_eq!(fit("cycling", Some("generic")), Sport::of("Ride"));
        assert_eq!(fit("cycling", Some("indoor_cycling")), Sport::indoors("Ride"));
        assert_eq!(fit("running", Some("trail")).sport_type, "TrailRun");
        assert_eq!(fit("swimming", Some("lap_swimming")).sport_type, "Swim");
        assert_eq!(fit("generic", None), Sport::WORKOUT);
        assert_eq!(fit("fitness_equipment", Some("indoor_rowing")), Sport::indoors("Rowing"));
        assert_eq!(gpx("running").sport_type, "Run");
        assert_eq!(gpx("9").sport_type, "Run");
        assert_eq!(gpx("TrailRun").sport_type, "TrailRun");
        assert_eq!(gpx("Quidditch").sport_type, "Workout");
        assert_eq!(tcx("Biking").sport_type, "Ride");
        assert_eq!(tcx("Other").sport_type, "Workout");
        assert_eq!(strava_type("Virtual Ride"), Some("VirtualRide"));
        assert_eq!(strava_type("E-Bike Ride"), Some("EBikeRide"));
        assert_eq!(strava_type("Weight Training"), Some("WeightTraining"));
        assert_eq!(strava_type("Radfahrt"), None);
        for t in ["Ride", "Run", "Swim", "Workout", "Rowing", "Handcycle", "Wheelchair", "Canoeing"] {
            assert!(KNOWN_SPORT_TYPES.contains(&t), "{t}");
        }
    }
}
