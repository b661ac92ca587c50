//! The lagging rules of DOMAIN.md, evaluated on one day. Project rules use
//! the projects' dated events on that day; indicator and schedule rules use
//! the latest period that has ended by then.

use chrono::{Days, NaiveDate};
use citydash_proto::v1::{self, AlertCode, AlertColor, ProjectStage, TaskStatus, Verdict};
use citydash_sector::domain::{self, add_months, in_statistics_on, stage_on};

use super::projects::{projects_of, qualifies, started_on};
use super::{Settings, indicators};
use crate::model::CityModel;

/// Chinese name of an alert code.
pub fn code_zh(code: AlertCode) -> &'static str {
    match code {
        AlertCode::FundedNotStarted => "资金已下达未开工",
        AlertCode::NotStartedOnTime => "未按期开工",
        AlertCode::StartedNotInStats => "已开工未入库",
        AlertCode::BehindSchedule => "进度滞后",
        AlertCode::IndicatorBehind => "指标落后时序进度",
        AlertCode::TaskOverdue => "任务逾期",
        AlertCode::Unspecified => "未知",
    }
}

/// English name of an alert code.
pub fn code_en(code: AlertCode) -> &'static str {
    match code {
        AlertCode::FundedNotStarted => "funded, not started",
        AlertCode::NotStartedOnTime => "not started on time",
        AlertCode::StartedNotInStats => "started, not in the statistics",
        AlertCode::BehindSchedule => "behind its monthly plan",
        AlertCode::IndicatorBehind => "indicator behind time progress",
        AlertCode::TaskOverdue => "task overdue",
        AlertCode::Unspecified => "unknown",
    }
}

/// The latest period whose last day is on or before `on`.
pub fn period_ended_by(on: NaiveDate) -> v1::Period {
    let this = v1::Period {
        year: chrono::Datelike::year(&on),
        month: chrono::Datelike::month(&on) as i32,
    };
    if domain::period_end(&this) == on {
        this
    } else if this.month == 1 {
        v1::Period {
            year: this.year - 1,
            month: 12,
        }
    } else {
        v1::Period {
            year: this.year,
            month: this.month - 1,
        }
    }
}

struct Subject<'a> {
    sector: i32,
    region: &'a str,
    unit: &'a str,
    code: &'a str,
    name: &'a str,
}

fn alert(code: AlertCode, color: AlertColor, s: &Subject<'_>, since: NaiveDate, zh: String, en: String) -> v1::Alert {
    v1::Alert {
        code: code as i32,
        color: color as i32,
        sector: s.sector,
        region_code: s.region.to_owned(),
        responsible_unit: s.unit.to_owned(),
        subject_code: s.code.to_owned(),
        subject_name: s.name.to_owned(),
        since: Some(domain::from_date(since)),
        detail_zh: zh,
        detail_en: en,
    }
}

/// Yellow from `yellow_from`, red from `red_from`, nothing before.
fn colour(on: NaiveDate, yellow_from: NaiveDate, red_from: NaiveDate) -> Option<AlertColor> {
    if on >= red_from {
        Some(AlertColor::Red)
    } else if on >= yellow_from {
        Some(AlertColor::Yellow)
    } else {
        None
    }
}

fn days(n: u64, from: NaiveDate) -> NaiveDate {
    from.checked_add_days(Days::new(n)).unwrap_or(NaiveDate::MAX)
}

/// Every open alert on day `on`, red first, then by sector, unit and subject.
pub fn on_day(model: &CityModel, settings: &Settings, on: NaiveDate) -> Vec<v1::Alert> {
    let period = period_ended_by(on);
    let mut out = Vec::new();
    for (sector, p) in projects_of(model, None) {
        project_alerts(model, sector, p, on, &period, settings, &mut out);
    }
    indicator_alerts(model, settings, &period, &mut out);
    task_alerts(model, on, &mut out);
    out.sort_by(|a, b| {
        (b.color, a.sector, &a.responsible_unit, a.code, &a.subject_code).cmp(&(
            a.color,
            b.sector,
            &b.responsible_unit,
            b.code,
            &b.subject_code,
        ))
    });
    out
}

fn project_alerts(
    model: &CityModel,
    sector: i32,
    p: &v1::Project,
    on: NaiveDate,
    period: &v1::Period,
    settings: &Settings,
    out: &mut Vec<v1::Alert>,
) {
    let s = Subject {
        sector,
        region: &p.region_code,
        unit: &p.responsible_unit,
        code: &p.code,
        name: &p.name,
    };
    let stage = stage_on(p, on);
    let started = started_on(p, on);
    if stage == ProjectStage::Funded
        && let Some(funded) = domain::first_reached(p, ProjectStage::Funded, on)
        && let Some(c) = colour(on, days(30, funded), days(90, funded))
    {
        let n = (on - funded).num_days();
        out.push(alert(
            AlertCode::FundedNotStarted,
            c,
            &s,
            funded,
            format!("资金已于{funded}下达，{n}天未开工"),
            format!("funds allocated on {funded}, not started {n} days later"),
        ));
    }
    if started.is_none()
        && let Some(planned) = p.planned_start_date.as_ref().and_then(domain::to_date)
        && let Some(c) = colour(on, days(1, planned), add_months(planned, 3))
    {
        out.push(alert(
            AlertCode::NotStartedOnTime,
            c,
            &s,
            planned,
            format!("计划{planned}开工，至今未开工"),
            format!("planned to start on {planned}, not started"),
        ));
    }
    if let Some(start) = started
        && qualifies(p)
        && !in_statistics_on(p, on)
        && let Some(c) = colour(on, add_months(start, 1), add_months(start, 2))
    {
        out.push(alert(
            AlertCode::StartedNotInStats,
            c,
            &s,
            start,
            format!("{start}开工，尚未入库"),
            format!("started on {start}, not yet in the statistics database"),
        ));
    }
    if let Some(plan) = p.plans.iter().find(|pl| pl.year == period.year) {
        let planned: i64 = plan.monthly_plan_yuan.iter().sum();
        let due: i64 = plan.monthly_plan_yuan.iter().take(period.month as usize).sum();
        if planned > 0 {
            let done = model.invested(sector, &p.code, period.year, period.month);
            let gap = (done as f64 - due as f64) / planned as f64 * 100.0;
            let verdict = settings.bands.verdict(Some(gap));
            if let Some(c) = verdict_colour(verdict) {
                let since = domain::period_end(period);
                out.push(alert(
                    AlertCode::BehindSchedule,
                    c,
                    &s,
                    since,
                    format!(
                        "1—{}月完成投资{}，计划{}，落后{:.1}个百分点",
                        period.month,
                        super::format::money_zh(done),
                        super::format::money_zh(due),
                        -gap
                    ),
                    format!(
                        "completed {} by month {} against a plan of {}, {:.1} points behind",
                        super::format::money_en(done),
                        period.month,
                        super::format::money_en(due),
                        -gap
                    ),
                ));
            }
        }
    }
}

fn verdict_colour(v: Verdict) -> Option<AlertColor> {
    match v {
        Verdict::Yellow => Some(AlertColor::Yellow),
        Verdict::Red => Some(AlertColor::Red),
        _ => None,
    }
}

fn indicator_alerts(model: &CityModel, settings: &Settings, period: &v1::Period, out: &mut Vec<v1::Alert>) {
    for ((code, region, year), _) in model.targets.iter() {
        if *year != period.year || settings.region_kind(region) == v1::RegionKind::PeerCounty {
            continue;
        }
        let Some((sector, def)) = model.definition(code) else {
            continue;
        };
        let st = indicators::status(model, settings, sector, def, region, period);
        let Some(c) = verdict_colour(Verdict::try_from(st.verdict).unwrap_or(Verdict::Unspecified)) else {
            continue;
        };
        let s = Subject {
            sector,
            region,
            unit: &st.responsible_unit,
            code,
            name: &def.name_zh,
        };
        let c_pct = st.completion.as_ref().and_then(|r| r.value).unwrap_or(0.0) * 100.0;
        let gap = -st.gap_pp.unwrap_or(0.0);
        out.push(alert(
            AlertCode::IndicatorBehind,
            c,
            &s,
            domain::period_end(period),
            format!(
                "1—{}月完成全年目标的{c_pct:.1}%，落后时序进度{gap:.1}个百分点",
                period.month
            ),
            format!(
                "{c_pct:.1}% of the annual target by month {}, {gap:.1} points behind time",
                period.month
            ),
        ));
    }
}

fn task_alerts(model: &CityModel, on: NaiveDate, out: &mut Vec<v1::Alert>) {
    for t in model.entities_of::<v1::WelfareTask>() {
        let Some(deadline) = t.deadline.as_ref().and_then(domain::to_date) else {
            continue;
        };
        let done_by = t.done_date.as_ref().and_then(domain::to_date);
        let done = t.status == TaskStatus::Done as i32 && done_by.is_some_and(|d| d <= on);
        if done {
            continue;
        }
        let Some(c) = colour(on, days(1, deadline), days(30, deadline)) else {
            continue;
        };
        let s = Subject {
            sector: v1::Sector::Welfare as i32,
            region: &t.region_code,
            unit: &t.responsible_unit,
            code: &t.code,
            name: &t.title,
        };
        let late = (on - deadline).num_days();
        out.push(alert(
            AlertCode::TaskOverdue,
            c,
            &s,
            deadline,
            format!("期限{deadline}，已逾期{late}天"),
            format!("due on {deadline}, {late} days overdue"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_period_ended_by_a_day() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(period_ended_by(d(2026, 6, 30)), v1::Period { year: 2026, month: 6 });
        assert_eq!(period_ended_by(d(2026, 6, 15)), v1::Period { year: 2026, month: 5 });
        assert_eq!(period_ended_by(d(2026, 1, 15)), v1::Period { year: 2025, month: 12 });
    }
}
