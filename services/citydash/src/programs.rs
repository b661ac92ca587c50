//! The sector crates this binary links, one row each: the one place a sector
//! crate is named. The rows' names, ports and agencies are
//! `citydash_proto::sectors`'s; here each gets its way to run. `serve`,
//! `migrate`, the demo and the benchmark go through this table.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;

use citydash_proto::sectors::SectorEntry;
use citydash_sector::launch::SectorArgs;
use citydash_sector::spec::SectorSpec;
use tokio::net::TcpListener;

/// A future that runs a service until it stops.
pub type Running = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// A sector service this binary can run.
pub trait SectorProgram: Sync {
    /// Its row of `citydash_proto::sectors`.
    fn entry(&self) -> &'static SectorEntry;
    /// Runs it with `args` (on `listener` when given) until `shutdown` resolves.
    fn run(
        &self,
        args: SectorArgs,
        listener: Option<TcpListener>,
        shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Running;
}

struct Program<S>(PhantomData<fn() -> S>);

impl<S: SectorSpec> SectorProgram for Program<S> {
    fn entry(&self) -> &'static SectorEntry {
        citydash_proto::sectors::entry(S::SECTOR)
    }

    fn run(
        &self,
        args: SectorArgs,
        listener: Option<TcpListener>,
        shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Running {
        Box::pin(citydash_sector::launch::run::<S>(args, listener, shutdown))
    }
}

/// Every sector service, in the order of `citydash_proto::sectors::SECTORS`.
pub const PROGRAMS: &[&dyn SectorProgram] = &[
    &Program::<citydash_agriculture::Agriculture>(PhantomData),
    &Program::<citydash_industry::Industry>(PhantomData),
    &Program::<citydash_tourism::Tourism>(PhantomData),
    &Program::<citydash_welfare::Welfare>(PhantomData),
];

/// The program of the sector named `name`.
pub fn named(name: &str) -> Option<&'static dyn SectorProgram> {
    PROGRAMS.iter().copied().find(|p| p.entry().name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sector_of_the_registry_has_its_program_in_order() {
        let programs: Vec<&str> = PROGRAMS.iter().map(|p| p.entry().name).collect();
        let sectors: Vec<&str> = citydash_proto::sectors::SECTORS.iter().map(|s| s.name).collect();
        assert_eq!(programs, sectors);
    }
}
