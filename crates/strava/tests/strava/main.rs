//! The Strava client against fake-strava: OAuth, the athlete's calls with the token
//! lifecycle Strava requires, rate-limit headers, errors and what is logged (`client`);
//! Strava's published API document as the contract of the client and fake-strava
//! (`contract`).

mod client;
mod contract;
