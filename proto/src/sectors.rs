//! The sectors of the city's economy that have a service of their own, written
//! once. The command line, the demo, tokens, the aggregator's sources, the
//! formulas' display order and names, the import and the tests all read this
//! table; a sector crate takes its name, port and agency from its row. The
//! city level (the aggregator's own engine) is [`CITY`], beside them.

use crate::v1::Sector;

/// One sector: its place in the contract and how it is deployed and named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectorEntry {
    /// Its value in the contract.
    pub sector: Sector,
    /// Its short name: the service, the token audience and scope, the command
    /// (`citydash serve agriculture`), the aggregator's `--sector NAME=URL`.
    pub name: &'static str,
    /// The port its service listens on by default.
    pub default_port: u16,
    /// The agency that owns it, the default responsible unit of its figures.
    pub agency_zh: &'static str,
    /// Its name in Chinese, as reports write it.
    pub name_zh: &'static str,
    /// Its name in English.
    pub name_en: &'static str,
}

/// The sector services, in display order.
pub const SECTORS: &[SectorEntry] = &[
    SectorEntry {
        sector: Sector::Agriculture,
        name: "agriculture",
        default_port: 50061,
        agency_zh: "市农业农村局",
        name_zh: "农业",
        name_en: "Agriculture",
    },
    SectorEntry {
        sector: Sector::Industry,
        name: "industry",
        default_port: 50062,
        agency_zh: "市工信局",
        name_zh: "工业",
        name_en: "Industry",
    },
    SectorEntry {
        sector: Sector::Tourism,
        name: "tourism",
        default_port: 50063,
        agency_zh: "市文旅局",
        name_zh: "旅游",
        name_en: "Tourism",
    },
    SectorEntry {
        sector: Sector::Welfare,
        name: "welfare",
        default_port: 50064,
        agency_zh: "市乡村振兴局",
        name_zh: "民生",
        name_en: "Social welfare",
    },
];

/// The city level: the aggregator's own engine, which the statistics,
/// finance and development-and-reform bureaus push to.
pub const CITY: SectorEntry = SectorEntry {
    sector: Sector::City,
    name: "city",
    default_port: 50060,
    agency_zh: "市统计局",
    name_zh: "全市",
    name_en: "City",
};

/// The row of `sector`, for use in constants (a sector crate's name and
/// port); a sector without a row fails to compile there.
pub const fn entry(sector: Sector) -> &'static SectorEntry {
    if sector as i32 == CITY.sector as i32 {
        return &CITY;
    }
    let mut i = 0;
    while i < SECTORS.len() {
        if SECTORS[i].sector as i32 == sector as i32 {
            return &SECTORS[i];
        }
        i += 1;
    }
    panic!("a sector without a row in citydash_proto::sectors::SECTORS")
}

/// The row of a sector value from the wire (the city level included).
pub fn of(sector: i32) -> Option<&'static SectorEntry> {
    SECTORS.iter().chain([&CITY]).find(|e| e.sector as i32 == sector)
}

/// The row of a short name (the city level included).
pub fn named(name: &str) -> Option<&'static SectorEntry> {
    SECTORS.iter().chain([&CITY]).find(|e| e.name == name)
}

/// Every service that accepts tokens: the sectors, then the city level.
pub fn service_names() -> impl Iterator<Item = &'static str> {
    SECTORS.iter().chain([&CITY]).map(|e| e.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sector_of_the_contract_has_one_row_with_its_own_name_and_port() {
        let rows: Vec<&SectorEntry> = SECTORS.iter().chain([&CITY]).collect();
        for value in 1..=5 {
            let sector = Sector::try_from(value).expect("a contract value");
            assert_eq!(entry(sector).sector, sector);
            assert_eq!(of(value), Some(entry(sector)));
            assert_eq!(named(entry(sector).name), Some(entry(sector)));
        }
        let mut names: Vec<&str> = rows.iter().map(|r| r.name).collect();
        let mut ports: Vec<u16> = rows.iter().map(|r| r.default_port).collect();
        names.sort_unstable();
        names.dedup();
        ports.sort_unstable();
        ports.dedup();
        assert_eq!((names.len(), ports.len()), (rows.len(), rows.len()));
        assert_eq!(of(0), None);
        assert_eq!(service_names().last(), Some("city"));
    }
}
