//! The citydash command line as a library: the all-in-one demo and the demo
//! city it seeds, so tests drive exactly what a newcomer runs.

pub mod backup;
pub mod bench;
pub mod demo;
pub mod export;
pub mod import;
pub mod programs;
pub mod push;
pub mod seed;
pub mod token;
