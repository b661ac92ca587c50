//! The overview of one period: the city's own indicators against time
//! progress, investment and promotion figures, one panel per sector with its
//! indicators, alerts and own registers, and which feeds are stale.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use citydash_proto::v1::{self, AlertColor, ScaleStatus, ScenicLevel, TaskKind, TaskStatus};
use citydash_sector::domain;

use super::projects::Contribution;
use super::{Settings, alerts, as_of, indicators, reporting, sectors, total};
use crate::model::CityModel;

/// The overview of `period`, with the feeds' current state. `projects` are
/// the projects' contributions to `period` by sector (from
/// [`super::projects::contributions`], or kept current by
/// [`super::projects::ProjectSums`]).
pub fn overview(
    model: &CityModel,
    settings: &Settings,
    period: &v1::Period,
    feeds: &BTreeMap<i32, v1::FeedStatus>,
    data_version: i64,
    projects: &BTreeMap<i32, Contribution>,
) -> v1::Overview {
    let end = as_of(period);
    let city = settings.city_region();
    let registers = alerts::register_counts(model, settings, end);
    let of = |s: i32| projects.get(&s).copied().unwrap_or_default();
    let mut all = Contribution::default();
    for c in projects.values() {
        all += c;
    }
    let sectors: Vec<v1::SectorSummary> = sectors()
        .map(|s| {
            let s = s as i32;
            let sums = of(s);
            v1::SectorSummary {
                sector: s,
                agency_zh: model.agency(s).to_owned(),
                feed: feeds.get(&s).cloned(),
                indicators: indicators::of_sector(model, settings, s, city, period),
                investment: Some(sums.investment()),
                red_alerts: sums.red_alerts as i32 + registers.get(Some(s), AlertColor::Red),
                yellow_alerts: sums.yellow_alerts as i32 + registers.get(Some(s), AlertColor::Yellow),
                figures: figures(model, s, period, end),
                projects: sums.projects as i32,
                reporting: Some(sector_reporting(model, settings, s, period, &sums)),
            }
        })
        .collect();
    v1::Overview {
        period: Some(*period),
        as_of: Some(domain::from_date(end)),
        time_progress: f64::from(period.month) / 12.0,
        city_indicators: indicators::of_sector(model, settings, v1::Sector::City as i32, city, period),
        // Every project belongs to one sector (the city level may hold some
        // too): the city's figures are the parts added up.
        investment: Some(all.investment()),
        promotion: Some(all.promotion()),
        sectors,
        red_alerts: all.red_alerts as i32 + registers.get(None, AlertColor::Red),
        yellow_alerts: all.yellow_alerts as i32 + registers.get(None, AlertColor::Yellow),
        stale_feeds: feeds.values().filter(|f| f.stale).cloned().collect(),
        data_version,
        city_reporting: Some(sector_reporting(
            model,
            settings,
            v1::Sector::City as i32,
            period,
            &of(v1::Sector::City as i32),
        )),
    }
}

/// A sector's reporting figures: its projects' progress reports (kept per
/// project in `sums`) and its indicator values.
fn sector_reporting(
    model: &CityModel,
    settings: &Settings,
    sector: i32,
    period: &v1::Period,
    sums: &Contribution,
) -> v1::ReportingFigures {
    let mut tally = sums.reports();
    tally.add(&reporting::values_tally(model, settings, sector, period));
    tally.figures(Some(settings.reporting.due_date(sector, period)))
}

fn figure(code: &str, zh: &str, en: &str, value: i64, unit: &str, unit_zh: &str) -> v1::Figure {
    v1::Figure {
        code: code.to_owned(),
        label_zh: zh.to_owned(),
        label_en: en.to_owned(),
        value,
        unit: unit.to_owned(),
        unit_zh: unit_zh.to_owned(),
    }
}

fn on_or_before(d: Option<&v1::Date>, end: NaiveDate) -> bool {
    d.and_then(domain::to_date).is_some_and(|d| d <= end)
}

fn in_year_by(p: Option<&v1::Period>, period: &v1::Period) -> bool {
    p.is_some_and(|p| p.year == period.year && p.month <= period.month)
}

/// The figures of a sector's own registers.
fn figures(model: &CityModel, sector: i32, period: &v1::Period, end: NaiveDate) -> Vec<v1::Figure> {
    match v1::Sector::try_from(sector).unwrap_or(v1::Sector::Unspecified) {
        v1::Sector::Agriculture => {
            let bases = model.entities_of::<v1::ProductionBase>();
            let firms = model.entities_of::<v1::LeadingEnterprise>();
            let national = firms
                .iter()
                .filter(|f| f.level == v1::EnterpriseLevel::National as i32)
                .count() as i64;
            vec![
                figure(
                    "agri.bases",
                    "特色种养殖基地",
                    "Specialty bases",
                    bases.len() as i64,
                    "count",
                    "个",
                ),
                figure(
                    "agri.base_area",
                    "基地种植面积",
                    "Planted area",
                    total(bases.iter().map(|b| b.area_mu)),
                    "mu",
                    "亩",
                ),
                figure(
                    "agri.base_head",
                    "基地养殖存栏",
                    "Livestock",
                    total(bases.iter().map(|b| b.head_count)),
                    "head",
                    "头",
                ),
                figure(
                    "agri.base_output",
                    "基地产值",
                    "Base output",
                    total(bases.iter().map(|b| b.output_value_yuan)),
                    "yuan",
                    "元",
                ),
                figure(
                    "agri.leading",
                    "龙头企业",
                    "Leading enterprises",
                    firms.len() as i64,
                    "count",
                    "家",
                ),
                figure(
                    "agri.leading_national",
                    "国家级龙头企业",
                    "National leading enterprises",
                    national,
                    "count",
                    "家",
                ),
            ]
        }
        v1::Sector::Industry => {
            let firms = model.entities_of::<v1::IndustrialEnterprise>();
            let above = |f: &&v1::IndustrialEnterprise| {
                f.scale_status == ScaleStatus::AboveScale as i32
                    && f.reached_scale_date.as_ref().is_none_or(|d| on_or_before(Some(d), end))
            };
            let new = firms
                .iter()
                .filter(above)
                .filter(|f| {
                    f.reached_scale_date
                        .as_ref()
                        .and_then(domain::to_date)
                        .is_some_and(|d| d.year() == period.year)
                })
                .count() as i64;
            let candidates = firms
                .iter()
                .filter(|f| f.scale_status == ScaleStatus::Candidate as i32)
                .count() as i64;
            let revenue = total(
                model
                    .entities_of::<v1::EnterpriseMonth>()
                    .iter()
                    .filter(|m| in_year_by(m.period.as_ref(), period))
                    .map(|m| m.main_revenue_yuan),
            );
            vec![
                figure(
                    "industry.above_scale",
                    "规上工业企业",
                    "Above-scale enterprises",
                    firms.iter().filter(above).count() as i64,
                    "count",
                    "家",
                ),
                figure(
                    "industry.new_above_scale",
                    "今年新增规上企业",
                    "New this year",
                    new,
                    "count",
                    "家",
                ),
                figure(
                    "industry.candidates",
                    "达规培育企业",
                    "Reaching-scale candidates",
                    candidates,
                    "count",
                    "家",
                ),
                figure(
                    "industry.register_revenue",
                    "在册企业主营业务收入",
                    "Register main revenue",
                    revenue,
                    "yuan",
                    "元",
                ),
            ]
        }
        v1::Sector::Tourism => {
            let areas = model.entities_of::<v1::ScenicArea>();
            let rated = |min: ScenicLevel| areas.iter().filter(|a| a.level >= min as i32).count() as i64;
            let creating = areas
                .iter()
                .filter(|a| a.target_level != ScenicLevel::Unspecified as i32)
                .count() as i64;
            let months: Vec<v1::ScenicMonth> = model
                .entities_of::<v1::ScenicMonth>()
                .into_iter()
                .filter(|m| in_year_by(m.period.as_ref(), period))
                .collect();
            vec![
                figure(
                    "tourism.a_level",
                    "A级景区",
                    "A-level scenic areas",
                    rated(ScenicLevel::A1),
                    "count",
                    "个",
                ),
                figure(
                    "tourism.a4_plus",
                    "4A级以上景区",
                    "4A and above",
                    rated(ScenicLevel::A4),
                    "count",
                    "个",
                ),
                figure(
                    "tourism.creating",
                    "创建中景区",
                    "Under creation",
                    creating,
                    "count",
                    "个",
                ),
                figure(
                    "tourism.area_visitors",
                    "景区接待游客",
                    "Scenic-area visitors",
                    total(months.iter().map(|m| m.visitors)),
                    "person_time",
                    "人次",
                ),
                figure(
                    "tourism.area_revenue",
                    "景区收入",
                    "Scenic-area revenue",
                    total(months.iter().map(|m| m.revenue_yuan)),
                    "yuan",
                    "元",
                ),
            ]
        }
        v1::Sector::Welfare => {
            let tasks: Vec<v1::WelfareTask> = model
                .entities_of::<v1::WelfareTask>()
                .into_iter()
                .filter(|t| on_or_before(t.open_date.as_ref(), end))
                .collect();
            let done =
                |t: &&v1::WelfareTask| t.status == TaskStatus::Done as i32 && on_or_before(t.done_date.as_ref(), end);
            let of_kind = |k: TaskKind| tasks.iter().filter(move |t| t.kind == k as i32);
            vec![
                figure(
                    "welfare.campaign",
                    "百日会战任务",
                    "Campaign tasks",
                    of_kind(TaskKind::Campaign).count() as i64,
                    "count",
                    "项",
                ),
                figure(
                    "welfare.campaign_done",
                    "已完成",
                    "Done",
                    of_kind(TaskKind::Campaign).filter(done).count() as i64,
                    "count",
                    "项",
                ),
                figure(
                    "welfare.rectification",
                    "回头看整改事项",
                    "Rectification items",
                    of_kind(TaskKind::Rectification).count() as i64,
                    "count",
                    "项",
                ),
                figure(
                    "welfare.rectification_closed",
                    "已整改销号",
                    "Closed",
                    of_kind(TaskKind::Rectification).filter(done).count() as i64,
                    "count",
                    "项",
                ),
            ]
        }
        _ => Vec::new(),
    }
}
