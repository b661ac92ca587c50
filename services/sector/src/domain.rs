//! Domain rules every sector shares (DOMAIN.md): calendar arithmetic on
//! periods and dates, the regions a deployment knows, the project lifecycle,
//! and how a project's dated events give its stage and statistics flag on any
//! day. Pure functions, no I/O, so the aggregator evaluates a project exactly
//! as the sector service stored it.

use chrono::{Datelike, NaiveDate};
use citydash_proto::v1::{self, ProjectStage, RegionKind, project_event};

/// The city's offset from UTC: every "today" and "current month" is the city's (UTC+8).
pub const CITY_UTC_OFFSET_HOURS: i64 = 8;

/// Today in the city's time zone: no fact may be dated after it (DOMAIN.md, Settled points).
pub fn city_today() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(CITY_UTC_OFFSET_HOURS)).date_naive()
}

/// Earliest year a period or plan may name.
pub const MIN_YEAR: i32 = 2000;
/// Latest year a period or plan may name.
pub const MAX_YEAR: i32 = 2100;

/// A calendar date from its proto form, if it is a real date.
pub fn to_date(d: &v1::Date) -> Option<NaiveDate> {
    if d.month < 1 || d.month > 12 || d.day < 1 {
        return None;
    }
    NaiveDate::from_ymd_opt(d.year, d.month as u32, d.day as u32)
}

/// The proto form of a calendar date.
pub fn from_date(d: NaiveDate) -> v1::Date {
    v1::Date {
        year: d.year(),
        month: d.month() as i32,
        day: d.day() as i32,
    }
}

/// Whether a period names a real month within the supported years.
pub fn period_is_valid(p: &v1::Period) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&p.year) && (1..=12).contains(&p.month)
}

/// The last day of month `month` of `year` (the day a period is evaluated on).
pub fn month_end(year: i32, month: u32) -> NaiveDate {
    let (ny, nm) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MAX)
}

/// The last day of a period.
pub fn period_end(p: &v1::Period) -> NaiveDate {
    month_end(p.year, p.month.clamp(1, 12) as u32)
}

/// The month a day falls in.
pub fn period_of(d: NaiveDate) -> v1::Period {
    v1::Period {
        year: d.year(),
        month: d.month() as i32,
    }
}

/// The month before `p`.
pub fn previous_period(p: &v1::Period) -> v1::Period {
    if p.month <= 1 {
        v1::Period {
            year: p.year - 1,
            month: 12,
        }
    } else {
        v1::Period {
            year: p.year,
            month: p.month - 1,
        }
    }
}

/// "N months after date D": the same day of the month N months later, clamped
/// to that month's last day (DOMAIN.md).
pub fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    let total = d.year() * 12 + d.month0() as i32 + n as i32;
    let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
    let last = month_end(y, m);
    NaiveDate::from_ymd_opt(y, m, d.day().min(last.day())).unwrap_or(last)
}

/// `code:中文名:English name:kind` entries separated by `;`, kind being
/// `city`, `district` or `peer_county`.
pub const DEFAULT_REGIONS: &str = "city:全市:City:city;\
chengguan:城关区:Chengguan District:district;\
dongcheng:东城区:Dongcheng District:district;\
xiang:乡镇片区:Townships:district;\
county_a:甲县:County A:peer_county;\
county_b:乙县:County B:peer_county";

/// The regions a deployment accepts in pushes.
#[derive(Debug, Clone)]
pub struct Regions(Vec<v1::Region>);

impl Regions {
    /// Parses the `CITYDASH_REGIONS` format (see [`DEFAULT_REGIONS`]).
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut out: Vec<v1::Region> = Vec::new();
        for entry in spec.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let parts: Vec<&str> = entry.split(':').map(str::trim).collect();
            let [code, zh, en, kind] = parts.as_slice() else {
                return Err(format!("region entry {entry:?}: expected code:中文名:English:kind"));
            };
            let kind = match *kind {
                "city" => RegionKind::City,
                "district" => RegionKind::District,
                "peer_county" => RegionKind::PeerCounty,
                other => return Err(format!("region {code}: unknown kind {other:?}")),
            };
            if code.is_empty() || out.iter().any(|r| r.code == *code) {
                return Err(format!("region code {code:?} is empty or repeated"));
            }
            out.push(v1::Region {
                code: (*code).to_owned(),
                name_zh: (*zh).to_owned(),
                name_en: (*en).to_owned(),
                kind: kind as i32,
            });
        }
        if out.is_empty() {
            return Err("no regions configured".to_owned());
        }
        Ok(Self(out))
    }

    /// Whether `code` is a known region.
    pub fn contains(&self, code: &str) -> bool {
        self.0.iter().any(|r| r.code == code)
    }

    /// Every known region, in configured order.
    pub fn all(&self) -> &[v1::Region] {
        &self.0
    }
}

impl Default for Regions {
    fn default() -> Self {
        Self::parse(DEFAULT_REGIONS).unwrap_or_else(|_| Self(Vec::new()))
    }
}

/// Order of the forward stages; suspended ranks with started.
fn rank(stage: ProjectStage) -> u8 {
    match stage {
        ProjectStage::Unspecified => 0,
        ProjectStage::Reserve => 1,
        ProjectStage::Declared => 2,
        ProjectStage::Funded => 3,
        ProjectStage::Started | ProjectStage::Suspended => 4,
        ProjectStage::Completed => 5,
        ProjectStage::InProduction => 6,
    }
}

/// Whether a project may move from `from` to `to` (DOMAIN.md "Project
/// lifecycle"): forward, skipping stages if need be; suspended only from
/// started and back to started; never backwards otherwise.
pub fn stage_move_allowed(from: ProjectStage, to: ProjectStage) -> bool {
    use ProjectStage as S;
    match (from, to) {
        (_, S::Unspecified) => false,
        (a, b) if a == b => false,
        (S::Started, S::Suspended) => true,
        (_, S::Suspended) => false,
        (S::Suspended, S::Started) => true,
        (S::Suspended, _) => false,
        (a, b) => rank(b) > rank(a),
    }
}

/// Chinese name of a stage, for error messages and reports.
pub fn stage_zh(stage: ProjectStage) -> &'static str {
    match stage {
        ProjectStage::Unspecified => "未指定",
        ProjectStage::Reserve => "储备",
        ProjectStage::Declared => "已申报",
        ProjectStage::Funded => "资金已下达",
        ProjectStage::Started => "已开工",
        ProjectStage::Suspended => "停工",
        ProjectStage::Completed => "已竣工",
        ProjectStage::InProduction => "已投产",
    }
}

/// Whether a stage counts as started (DOMAIN.md: started, suspended,
/// completed or in production).
pub fn is_started(stage: ProjectStage) -> bool {
    matches!(
        stage,
        ProjectStage::Started | ProjectStage::Suspended | ProjectStage::Completed | ProjectStage::InProduction
    )
}

/// A project's stage on day `on`, from its dated events: the last stage
/// event on or before that day, reserve before any.
pub fn stage_on(project: &v1::Project, on: NaiveDate) -> ProjectStage {
    let mut stage = ProjectStage::Reserve;
    for e in &project.events {
        let Some(date) = e.date.as_ref().and_then(to_date) else {
            continue;
        };
        if date > on {
            break;
        }
        if let Some(project_event::Event::Stage(s)) = e.event {
            stage = ProjectStage::try_from(s).unwrap_or(stage);
        }
    }
    stage
}

/// Whether a project is in the statistics database on day `on`.
pub fn in_statistics_on(project: &v1::Project, on: NaiveDate) -> bool {
    let mut flag = false;
    for e in &project.events {
        let Some(date) = e.date.as_ref().and_then(to_date) else {
            continue;
        };
        if date > on {
            break;
        }
        if let Some(project_event::Event::InStatisticsDatabase(f)) = e.event {
            flag = f;
        }
    }
    flag
}

/// The first day a project reached `stage` (or, for forward stages, any later
/// one), if it has by day `on`.
pub fn first_reached(project: &v1::Project, stage: ProjectStage, on: NaiveDate) -> Option<NaiveDate> {
    project.events.iter().find_map(|e| {
        let date = e.date.as_ref().and_then(to_date)?;
        match e.event {
            Some(project_event::Event::Stage(s)) if date <= on => {
                let s = ProjectStage::try_from(s).ok()?;
                (rank(s) >= rank(stage) && rank(stage) > 0).then_some(date)
            }
            _ => None,
        }
    })
}

/// The date of the latest event of a project, if any.
pub fn last_event_date(project: &v1::Project) -> Option<NaiveDate> {
    project
        .events
        .iter()
        .filter_map(|e| e.date.as_ref().and_then(to_date))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn months_clamp_to_the_last_day() {
        assert_eq!(add_months(d(2026, 1, 31), 1), d(2026, 2, 28));
        assert_eq!(add_months(d(2024, 1, 31), 1), d(2024, 2, 29));
        assert_eq!(add_months(d(2026, 11, 15), 3), d(2027, 2, 15));
        assert_eq!(add_months(d(2026, 3, 31), 0), d(2026, 3, 31));
        assert_eq!(month_end(2026, 6), d(2026, 6, 30));
        assert_eq!(month_end(2026, 12), d(2026, 12, 31));
    }

    #[test]
    fn lifecycle_moves() {
        use ProjectStage as S;
        assert!(stage_move_allowed(S::Reserve, S::Declared));
        assert!(stage_move_allowed(S::Reserve, S::Started));
        assert!(stage_move_allowed(S::Started, S::Suspended));
        assert!(stage_move_allowed(S::Suspended, S::Started));
        assert!(!stage_move_allowed(S::Suspended, S::Completed));
        assert!(!stage_move_allowed(S::Funded, S::Suspended));
        assert!(!stage_move_allowed(S::Started, S::Funded));
        assert!(!stage_move_allowed(S::Completed, S::Started));
        assert!(!stage_move_allowed(S::Started, S::Started));
        assert!(stage_move_allowed(S::Completed, S::InProduction));
    }

    #[test]
    fn regions_parse_and_reject() {
        let r = Regions::parse(DEFAULT_REGIONS).unwrap();
        assert!(r.contains("city") && r.contains("county_b"));
        assert!(!r.contains("nowhere"));
        assert!(Regions::parse("a:甲:A:moon").is_err());
        assert!(Regions::parse("a:甲:A:city;a:乙:B:city").is_err());
        assert!(Regions::parse("").is_err());
    }

    #[test]
    fn stage_follows_dated_events() {
        use project_event::Event;
        let ev = |y, m, day, e| v1::ProjectEvent {
            date: Some(from_date(d(y, m, day))),
            event: Some(e),
        };
        let p = v1::Project {
            events: vec![
                ev(2026, 2, 1, Event::Stage(ProjectStage::Funded as i32)),
                ev(2026, 5, 10, Event::Stage(ProjectStage::Started as i32)),
                ev(2026, 7, 3, Event::InStatisticsDatabase(true)),
            ],
            ..Default::default()
        };
        assert_eq!(stage_on(&p, d(2026, 1, 31)), ProjectStage::Reserve);
        assert_eq!(stage_on(&p, d(2026, 6, 30)), ProjectStage::Started);
        assert!(!in_statistics_on(&p, d(2026, 6, 30)));
        assert!(in_statistics_on(&p, d(2026, 7, 31)));
        assert_eq!(
            first_reached(&p, ProjectStage::Funded, d(2026, 6, 30)),
            Some(d(2026, 2, 1))
        );
        assert_eq!(first_reached(&p, ProjectStage::Completed, d(2026, 6, 30)), None);
    }
}
