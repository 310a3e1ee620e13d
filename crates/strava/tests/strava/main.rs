//! The Strava client against fake-strava: OAuth, the athlete's calls with the token
//! lifecycle Strava requires, rate-limit headers, errors and what is logged.

mod client;
