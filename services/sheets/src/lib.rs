//! Spreadsheets in and out, shared by the command line (`citydash import`,
//! `template`, `export`) and the clerk's import page on the aggregator's web
//! port, so both read a sheet, talk to the services and report refusals the
//! same way.

pub mod import;
pub mod table;
pub mod write;
