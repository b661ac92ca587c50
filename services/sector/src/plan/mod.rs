//! Turning one write request into the records it changes. Each planner reads
//! a snapshot of the records it touches, validates every item against it in
//! request order (so a later item sees an earlier one's effect), and returns
//! the writes and per-item results, or every violation found. Planning is
//! pure: nothing is written until the whole batch is known to be valid.

mod entities;
mod events;
mod indicators;
mod progress;
mod projects;
#[cfg(test)]
mod properties;
mod staging;
mod targets;

pub use entities::UpsertEntities;
pub use indicators::ReportIndicators;
pub use progress::ReportProgress;
pub use projects::UpsertProjects;
pub use staging::{Context, Planned, Planner, Snapshot};
pub use targets::SetTargets;
