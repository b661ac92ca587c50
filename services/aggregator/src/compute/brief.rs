//! The meeting brief (会议材料): the speech's own sentences filled from the
//! data — "1—6月份，地区生产总值完成X万元，同比增长X%，完成了全年目标任务的X%" —
//! for every city indicator, then projects and promotion, each sector's red
//! alerts with their units, and the peer-county ranking. Where a figure does
//! not exist the brief says so instead of leaving an X.

use std::collections::BTreeMap;

use citydash_proto::v1::{self, AlertColor, Verdict};

use super::format::{amount_en, amount_zh, money_en, money_zh, percent};
use super::{SECTORS, Settings, alerts, as_of, overview, projects, ranking, sector_en, sector_zh};
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

/// The brief of `period` in `language`.
pub fn brief(model: &CityModel, settings: &Settings, period: &v1::Period, language: Language) -> String {
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

    let mut sector_lines = Vec::new();
    for s in SECTORS.iter().map(|s| *s as i32).chain([v1::Sector::City as i32]) {
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
