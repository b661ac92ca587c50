//! The aggregator: the city-wide view the mayor's office reads. It follows
//! the four sectors' change feeds and the city level's own (GDP, investment,
//! budget revenue, peer counties, pushed here by the statistics and finance
//! bureaus), keeps a persisted read model whose feed positions commit with
//! the data, and computes DOMAIN.md's formulas: targets against time
//! progress, year-on-year growth, the project funnel, lagging alerts, the
//! peer-county ranking, the supervision report and the meeting brief.

pub mod api;
pub mod city;
pub mod clock;
pub mod compute;
pub mod feedbook;
pub mod feeds;
pub mod launch;
pub mod lease;
#[cfg(test)]
mod memstore;
pub mod model;
pub mod notify;
pub mod orders;
pub mod readstore;
pub mod reports;
pub mod sources;
pub mod view;
