//! The meeting brief (会议材料): the speech's own sentences filled from the
//! data — "1—6月份，地区生产总值完成X万元，同比增长X%，完成了全年目标任务的X%" —
//! for every city indicator, then projects and promotion, each sector's red
//! alerts with their units, and the peer-county ranking. Where a figure does
//! not exist the brief says so instead of leaving an X.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use citydash_proto::v1::{self, AlertColor, Verdict};

use super::format::{amount_en, amount_zh, money_en, money_zh, percent};
use super::{Settings, alerts, as_of, overview, projects, ranking, reporting, sector_en, sector_zh, sectors, whatif};
use crate::model::CityModel;

/// The brief language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// 中文 (the default).
    Zh,
    /// English.
    En,
}

fn months_zh(m: i32) -> String {
    if m == 1 {
        "1月份".to_owned()
    } else {
        format!("1—{m}月份")
    }
}

fn months_en(m: i32) -> String {
    if m == 1 {
        "In January".to_owned()
    } else {
        format!("In January–{}", month_name(m))
    }
}

fn month_name(m: i32) -> &'static str {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    NAMES[(m.clamp(1, 12) - 1) as usize]
}

fn rate_zh(r: Option<&v1::Rate>) -> String {
    r.and_then(|r| r.value).map_or_else(|| "不适用".to_owned(), percent)
}

fn rate_en(r: Option<&v1::Rate>) -> String {
    r.and_then(|r| r.value).map_or_else(|| "n/a".to_owned(), percent)
}

fn verdict_zh(v: i32) -> &'static str {
    match Verdict::try_from(v).unwrap_or(Verdict::Unspecified) {
        Verdict::Green => "绿色",
        Verdict::Yellow => "黄色",
        Verdict::Red => "红色",
        _ => "无法研判",
    }
}

fn verdict_en(v: i32) -> &'static str {
    match Verdict::try_from(v).unwrap_or(Verdict::Unspecified) {
        Verdict::Green => "green",
        Verdict::Yellow => "yellow",
        Verdict::Red => "red",
        _ => "not judged",
    }
}

fn indicator_zh(s: &v1::IndicatorStatus) -> String {
    let def = s.definition.clone().unwrap_or_default();
    let Some(a) = s.actual else {
        return format!("{}数据缺失", def.name_zh);
    };
    let mut out = format!("{}完成{}", def.name_zh, amount_zh(a, &def.unit, &def.unit_zh));
    let growth = s.official_yoy_growth.or(s.yoy_growth.as_ref().and_then(|r| r.value));
    match growth {
        Some(g) if g >= 0.0 => out += &format!("，同比增长{}", percent(g)),
        Some(g) => out += &format!("，同比下降{}", percent(-g)),
        None => out += "，上年同期数据缺失",
    }
    match (s.completion.as_ref().and_then(|c| c.value), s.gap_pp) {
        (Some(c), Some(gap)) => {
            out += &format!("，完成了全年目标任务的{}", percent(c));
            let side = if gap >= 0.0 { "高于" } else { "低于" };
            out += &format!("，{side}时序进度{:.1}个百分点（{}）", gap.abs(), verdict_zh(s.verdict));
        }
        _ => out += "，全年目标任务缺失",
    }
    out
}

fn indicator_en(s: &v1::IndicatorStatus) -> String {
    let def = s.definition.clone().unwrap_or_default();
    let Some(a) = s.actual else {
        return format!("{}: figure missing", def.name_en);
    };
    let mut out = format!("{} reached {}", def.name_en, amount_en(a, &def.unit));
    match s.official_yoy_growth.or(s.yoy_growth.as_ref().and_then(|r| r.value)) {
        Some(g) => out += &format!(", {} year on year", percent(g)),
        None => out += ", last year's figure missing",
    }
    match (s.completion.as_ref().and_then(|c| c.value), s.gap_pp) {
        (Some(c), Some(gap)) => {
            out += &format!(
                ", {} of the annual target, {:.1} points {} time progress ({})",
                percent(c),
                gap.abs(),
                if gap >= 0.0 { "ahead of" } else { "behind" },
                verdict_en(s.verdict)
            );
        }
        _ => out += ", annual target missing",
    }
    out
}

/// "增长X%" or "下降X%".
fn change_zh(g: f64) -> String {
    if g >= 0.0 {
        format!("增长{}", percent(g))
    } else {
        format!("下降{}", percent(-g))
    }
}

/// The outlook of one indicator in the speech's words (DOMAIN.md): at June,
/// "下半年需完成6.00亿元，月均1.00亿元，需比上年同期增长15.4%（上半年增长5.3%）；
/// 按上年进度推算全年预计完成9.47亿元，为目标的94.7%。"
fn outlook_zh(s: &v1::IndicatorStatus, m: i32) -> Option<String> {
    let o = s.outlook.as_ref()?;
    let def = s.definition.clone().unwrap_or_default();
    let amount = |v: i64| amount_zh(v, &def.unit, &def.unit_zh);
    if o.met {
        return Some(format!("{}：已完成全年目标任务。", def.name_zh));
    }
    let Some(monthly) = o.required_monthly else {
        return Some(format!(
            "{}：全年目标任务差{}未完成。",
            def.name_zh,
            amount(o.remaining)
        ));
    };
    let (rest, so_far) = match m {
        6 => ("下半年".to_owned(), "上半年".to_owned()),
        1 => ("2—12月".to_owned(), "1月".to_owned()),
        11 => ("12月".to_owned(), "1—11月".to_owned()),
        m => (format!("{}—12月", m + 1), format!("1—{m}月")),
    };
    let mut out = format!(
        "{}：{rest}需完成{}，月均{}",
        def.name_zh,
        amount(o.remaining),
        amount(monthly)
    );
    if let (Some(req), Some(ytd)) = (o.required_growth, o.growth_so_far) {
        out += &format!("，需比上年同期{}（{so_far}{}）", change_zh(req), change_zh(ytd));
    }
    let share = |r: &Option<v1::Rate>| {
        r.as_ref()
            .and_then(|r| r.value)
            .map_or_else(|| "不适用".to_owned(), percent)
    };
    out += &match o.seasonal_landing {
        Some(e) => format!(
            "；按上年进度推算全年预计完成{}，为目标的{}。",
            amount(e),
            share(&o.seasonal_share)
        ),
        None => format!(
            "；按当前进度推算全年预计完成{}，为目标的{}。",
            amount(o.linear_landing),
            share(&o.linear_share)
        ),
    };
    Some(out)
}

fn outlook_en(s: &v1::IndicatorStatus) -> Option<String> {
    let o = s.outlook.as_ref()?;
    let def = s.definition.clone().unwrap_or_default();
    let amount = |v: i64| amount_en(v, &def.unit);
    if o.met {
        return Some(format!("{}: the annual target is met.", def.name_en));
    }
    let Some(monthly) = o.required_monthly else {
        return Some(format!(
            "{}: the year ended {} short of the target.",
            def.name_en,
            amount(o.remaining)
        ));
    };
    let mut out = format!(
        "{}: {} still to do, {} a month",
        def.name_en,
        amount(o.remaining),
        amount(monthly)
    );
    if let (Some(req), Some(ytd)) = (o.required_growth, o.growth_so_far) {
        out += &format!(
            ", {} over last year's remaining months ({} so far)",
            percent(req),
            percent(ytd)
        );
    }
    let share = |r: &Option<v1::Rate>| {
        r.as_ref()
            .and_then(|r| r.value)
            .map_or_else(|| "n/a".to_owned(), percent)
    };
    out += &match o.seasonal_landing {
        Some(e) => format!(
            "; at last year's pace the year lands at {}, {} of the target.",
            amount(e),
            share(&o.seasonal_share)
        ),
        None => format!(
            "; at the pace so far the year lands at {}, {} of the target.",
            amount(o.linear_landing),
            share(&o.linear_share)
        ),
    };
    Some(out)
}

/// The what-if in one sentence (DOMAIN.md; a projection, said as one):
/// "若X个已具备条件的项目入库，固定资产投资完成率可达X%。"
fn what_if_line(model: &CityModel, settings: &Settings, period: &v1::Period, zh: bool) -> Option<String> {
    let w = whatif::what_if(model, settings, period);
    w.target_yuan?;
    let ready = w.with_ready.unwrap_or_default();
    let rate = |c: &v1::WhatIfCase| c.completion.as_ref().and_then(|r| r.value).map(percent);
    if w.projects.is_empty() {
        return None;
    }
    Some(match (zh, ready.added_projects) {
        (true, 0) => format!("已开工未入库的{}个项目均未具备入库条件。", w.projects.len()),
        (true, n) => format!("若{n}个已具备条件的项目入库，固定资产投资完成率可达{}。", rate(&ready)?),
        (false, 0) => format!(
            " None of the {} started projects outside the database is ready to enter it.",
            w.projects.len()
        ),
        (false, n) => format!(
            " If the {n} ready projects entered the statistics database, fixed-asset investment would reach {} of its target (a projection).",
            rate(&ready)?
        ),
    })
}

/// The follow-through (督办落实): a line per unit on the month's black list
/// (an order past due and still open), then the red list; none when the
/// city has no supervision orders.
fn orders_line(model: &CityModel, period: &v1::Period, on: NaiveDate, open: &[v1::Alert], zh: bool) -> Option<String> {
    let orders = model.entities_of::<v1::SupervisionOrder>();
    if orders.is_empty() {
        return None;
    }
    let red: Vec<(String, String)> = open
        .iter()
        .filter(|a| a.color == AlertColor::Red as i32)
        .map(|a| (a.responsible_unit_code.clone(), a.responsible_unit.clone()))
        .collect();
    let s = super::orders::standings(period, on, &orders, &red);
    let black: Vec<String> = s
        .units
        .iter()
        .filter(|u| u.black_list)
        .map(|u| {
            if zh {
                format!("{}督办单逾期未办结{}件（黑榜）", u.responsible_unit, u.overdue)
            } else {
                format!(
                    "{}: {} supervision orders overdue (black list)",
                    u.responsible_unit, u.overdue
                )
            }
        })
        .collect();
    let mut line = match (zh, black.is_empty()) {
        (true, true) => "督办落实：无逾期未办结的督办单".to_owned(),
        (true, false) => format!("督办落实：{}", black.join("；")),
        (false, true) => "Follow-through: no supervision order is overdue".to_owned(),
        (false, false) => format!("Follow-through: {}", black.join("; ")),
    };
    if !s.red_list.is_empty() {
        line += &if zh {
            format!("；红榜：{}", s.red_list.join("、"))
        } else {
            format!("; red list: {}", s.red_list.join(", "))
        };
    }
    line.push(if zh { '。' } else { '.' });
    Some(line)
}

/// Who has reported (报送情况): the brief's month, or the latest month whose
/// due days have passed when the brief's have not, judged on `today` — the
/// figures owed and received, the rates, and each agency overdue (逾期未报)
/// with its missing count. None when nothing is owed.
fn reporting_line(
    model: &CityModel,
    settings: &Settings,
    period: &v1::Period,
    today: NaiveDate,
    zh: bool,
) -> Option<String> {
    use chrono::Datelike as _;
    let settled = settings.reporting.settled_month(model.catalogs.keys().copied(), today);
    let month = if (period.year, period.month) <= (settled.year, settled.month) {
        *period
    } else {
        settled
    };
    let r = reporting::reporting(model, settings, &month, today, None, None);
    if r.total.expected == 0 {
        return None;
    }
    let overdue: Vec<String> = r
        .agencies
        .iter()
        .filter(|a| a.status == v1::ReportingStatus::Overdue as i32)
        .map(|a| {
            let missing = a.figures.as_ref().map_or(0, |f| f.missing);
            if zh {
                format!("{}（缺{}项）", a.unit_name_zh, missing)
            } else {
                format!("{} ({} missing)", a.unit_name_zh, missing)
            }
        })
        .collect();
    let t = &r.total;
    let (day, mon) = (today.day(), today.month());
    let mut line = if zh {
        format!(
            "报送情况：截至{mon}月{day}日，{}月份数据应报{}项、已报{}项，完整率{}、及时率{}",
            month.month,
            t.expected,
            t.received,
            rate_zh(t.completeness.as_ref()),
            rate_zh(t.timeliness.as_ref())
        )
    } else {
        format!(
            "Reporting: as of {day} {}, {} figures: {} due, {} received, completeness {}, timeliness {}",
            month_name(mon as i32),
            month_name(month.month),
            t.expected,
            t.received,
            rate_en(t.completeness.as_ref()),
            rate_en(t.timeliness.as_ref())
        )
    };
    line += &match (zh, overdue.is_empty()) {
        (true, true) => "；无逾期未报的单位。".to_owned(),
        (true, false) => format!("；{}个单位未按时报送：{}。", overdue.len(), overdue.join("、")),
        (false, true) => "; no agency is overdue.".to_owned(),
        (false, false) => format!("; {} agencies overdue: {}.", overdue.len(), overdue.join(", ")),
    };
    Some(line)
}

/// The brief of `period` in `language`, written on `today` (the orders of a
/// month that has not ended are judged as of today).
pub fn brief(
    model: &CityModel,
    settings: &Settings,
    period: &v1::Period,
    language: Language,
    today: NaiveDate,
) -> String {
    let view = overview::overview(
        model,
        settings,
        period,
        &BTreeMap::new(),
        0,
        &projects::contributions(model, settings, period),
    );
    let open = alerts::on_day(model, settings, as_of(period));
    let rankings = ranking::rankings(model, settings, period, "");
    let zh = language == Language::Zh;
    let m = period.month;
    let mut paragraphs = Vec::new();

    let mut lines: Vec<String> = view
        .city_indicators
        .iter()
        .map(|s| if zh { indicator_zh(s) } else { indicator_en(s) })
        .collect();
    if lines.is_empty() {
        lines.push(if zh {
            "全市指标数据缺失".to_owned()
        } else {
            "No city indicators were pushed".to_owned()
        });
    }
    paragraphs.push(if zh {
        format!("一、{}，{}。", months_zh(m), lines.join("；"))
    } else {
        format!("1. {} {}, {}.", months_en(m), period.year, lines.join("; "))
    });
    // Where the year lands (全年落点), each city indicator with a target.
    let landing: Vec<String> = view
        .city_indicators
        .iter()
        .filter_map(|s| if zh { outlook_zh(s, m) } else { outlook_en(s) })
        .collect();
    if !landing.is_empty() {
        paragraphs.push(if zh {
            format!("全年落点：{}", landing.join(""))
        } else {
            format!("Year-end outlook: {}", landing.join(" "))
        });
    }

    let inv = view.investment.unwrap_or_default();
    let pro = view.promotion.unwrap_or_default();
    paragraphs.push(if zh {
        format!(
            "二、项目建设：已入库项目完成投资{}（{}个），已开工未入库项目完成投资{}（{}个，应统未统）；项目开工率{}，复工率{}。招商引资：签约项目{}个，开工率{}，合同履约率{}，资金到位率{}，实际到位资金{}。",
            money_zh(inv.counted_yuan),
            inv.counted_projects,
            money_zh(inv.uncounted_yuan),
            inv.uncounted_projects,
            rate_zh(inv.start_rate.as_ref()),
            rate_zh(inv.resumption_rate.as_ref()),
            pro.signed,
            rate_zh(pro.start_rate.as_ref()),
            rate_zh(pro.fulfilment_rate.as_ref()),
            rate_zh(pro.funds_arrival_rate.as_ref()),
            money_zh(pro.funds_arrived_yuan),
        )
    } else {
        format!(
            "2. Projects: {} completed by {} projects in the statistics database, {} by {} started projects not in it (uncounted); start rate {}, resumption rate {}. Investment promotion: {} contracts signed, start rate {}, contract fulfilment {}, funds arrival {}, funds arrived {}.",
            money_en(inv.counted_yuan),
            inv.counted_projects,
            money_en(inv.uncounted_yuan),
            inv.uncounted_projects,
            rate_en(inv.start_rate.as_ref()),
            rate_en(inv.resumption_rate.as_ref()),
            pro.signed,
            rate_en(pro.start_rate.as_ref()),
            rate_en(pro.fulfilment_rate.as_ref()),
            rate_en(pro.funds_arrival_rate.as_ref()),
            money_en(pro.funds_arrived_yuan),
        )
    });
    if let Some(line) = what_if_line(model, settings, period, zh)
        && let Some(last) = paragraphs.last_mut()
    {
        last.push_str(&line);
    }

    let mut sector_lines = Vec::new();
    for s in sectors().map(|s| s as i32).chain([v1::Sector::City as i32]) {
        let red: Vec<&v1::Alert> = open
            .iter()
            .filter(|a| a.sector == s && a.color == AlertColor::Red as i32)
            .collect();
        let mut units: Vec<&str> = red.iter().map(|a| a.responsible_unit.as_str()).collect();
        units.sort_unstable();
        units.dedup();
        if red.is_empty() && s == v1::Sector::City as i32 {
            continue;
        }
        sector_lines.push(match (zh, red.is_empty()) {
            (true, true) => format!("{}无红色预警", sector_zh(s)),
            (true, false) => format!(
                "{}红色预警{}项，责任单位：{}",
                sector_zh(s),
                red.len(),
                units.join("、")
            ),
            (false, true) => format!("{}: no red alerts", sector_en(s)),
            (false, false) => format!(
                "{}: {} red alerts, responsible: {}",
                sector_en(s),
                red.len(),
                units.join(", ")
            ),
        });
    }
    paragraphs.push(if zh {
        format!("三、分行业：{}。", sector_lines.join("；"))
    } else {
        format!("3. By sector: {}.", sector_lines.join("; "))
    });

    if let Some(line) = orders_line(model, period, super::orders::standings_day(period, today), &open, zh) {
        paragraphs.push(line);
    }
    if let Some(line) = reporting_line(model, settings, period, today, zh) {
        paragraphs.push(line);
    }

    let city = settings.city_region();
    let mut rank_lines = Vec::new();
    for r in &rankings {
        let def = r.definition.clone().unwrap_or_default();
        let ranked = r.places.iter().filter(|p| p.published).count();
        let Some(me) = r.places.iter().find(|p| p.region_code == city) else {
            continue;
        };
        let missing: Vec<&str> = r
            .places
            .iter()
            .filter(|p| !p.published)
            .map(|p| p.region_name_zh.as_str())
            .collect();
        let mut line = if !me.published {
            if zh {
                format!("{}本市未公布", def.name_zh)
            } else {
                format!("{}: the city has not published", def.name_en)
            }
        } else if zh {
            let growth_ranked = r.places.iter().filter(|p| p.growth_rank > 0).count();
            let growth = if me.growth_rank > 0 {
                format!("，增速在{growth_ranked}个地区中居第{}位", me.growth_rank)
            } else {
                String::new()
            };
            format!(
                "{}总量在{}个地区中居第{}位{}",
                def.name_zh, ranked, me.amount_rank, growth
            )
        } else {
            let growth = if me.growth_rank > 0 {
                format!(", growth rank {}", me.growth_rank)
            } else {
                String::new()
            };
            format!("{}: rank {} of {}{}", def.name_en, me.amount_rank, ranked, growth)
        };
        if !missing.is_empty() {
            line += &if zh {
                format!("（{}未公布）", missing.join("、"))
            } else {
                format!(" ({} not yet published)", missing.join(", "))
            };
        }
        rank_lines.push(line);
    }
    if !rank_lines.is_empty() {
        paragraphs.push(if zh {
            format!("四、与周边县比较：{}。", rank_lines.join("；"))
        } else {
            format!("4. Against peer counties: {}.", rank_lines.join("; "))
        });
    }
    paragraphs.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::outlook::{Inputs, OutlookBand, outlook};

    /// DOMAIN.md's worked example reads exactly as DOMAIN.md writes it.
    #[test]
    fn the_outlook_reads_as_the_speech_does() {
        let status = v1::IndicatorStatus {
            definition: Some(v1::IndicatorDefinition {
                name_zh: "地区生产总值".into(),
                unit: "yuan".into(),
                unit_zh: "元".into(),
                ..Default::default()
            }),
            outlook: Some(outlook(
                Inputs {
                    target: 1_000_000_000,
                    actual: 400_000_000,
                    month: 6,
                    prev_m: Some(380_000_000),
                    prev_12: Some(900_000_000),
                },
                OutlookBand::default(),
            )),
            ..Default::default()
        };
        assert_eq!(
            outlook_zh(&status, 6).as_deref(),
            Some(
                "地区生产总值：下半年需完成6.00亿元，月均1.00亿元，需比上年同期增长15.4%（上半年增长5.3%）；按上年进度推算全年预计完成9.47亿元，为目标的94.7%。"
            )
        );
        assert!(outlook_en(&status).is_some_and(|t| t.contains("94.7% of the target")));
    }
}
