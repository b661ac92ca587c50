//! What a unit is told (DOMAIN.md "Notifications"), derived from the model
//! on a day: every event that holds, each with an id that depends only on
//! what happened (the alert and the day it turned red, the order and its
//! due day, the agency and the month), never on when it is derived. So the
//! notifier can derive them again after any restart, on any replica, and
//! queue each once.

use chrono::{Datelike, NaiveDate};
use citydash_proto::v1::{self, AlertColor, NotificationEvent, ReportingStatus};
use citydash_sector::domain;

use super::orders::{self as rules, key_of_alert};
use super::{Settings, alerts, reporting, sector_zh};
use crate::model::CityModel;

/// Days before its due day that an open order's reminder goes out.
pub const DUE_SOON_DAYS: i64 = 3;

/// One event for one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Stable: the same event always has this id.
    pub id: String,
    /// What happened.
    pub event: NotificationEvent,
    /// The unit told (its code).
    pub unit: String,
    /// The unit's registered name.
    pub unit_name: String,
    /// The text: the figure, the rule and what to do.
    pub text: String,
}

fn day(d: Option<&v1::Date>) -> Option<NaiveDate> {
    d.and_then(domain::to_date)
}

fn md(d: NaiveDate) -> String {
    format!("{}月{}日", d.month(), d.day())
}

/// Every event that holds on `today`.
pub fn notices(model: &CityModel, settings: &Settings, today: NaiveDate) -> Vec<Notice> {
    let mut out = Vec::new();
    let unit_name = |code: &str| model.units.name(code).to_owned();
    for a in alerts::on_day(model, settings, today)
        .into_iter()
        .filter(|a| a.color == AlertColor::Red as i32)
    {
        let red = day(a.red_since.as_ref())
            .or_else(|| day(a.since.as_ref()))
            .unwrap_or(today);
        let code = v1::AlertCode::try_from(a.code).unwrap_or(v1::AlertCode::Unspecified);
        out.push(Notice {
            id: format!("alert-red/{}/{red}", key_of_alert(&a)),
            event: NotificationEvent::AlertRed,
            unit: a.responsible_unit_code.clone(),
            unit_name: unit_name(&a.responsible_unit_code),
            text: format!(
                "【红色预警】{}：{}（{}，{}起为红色）。请立即组织整改，督查室将于下一个督查日据数据核验。",
                a.subject_name,
                a.detail_zh,
                alerts::code_zh(code),
                md(red)
            ),
        });
    }
    for o in model.entities_of::<v1::SupervisionOrder>() {
        if rules::is_closed(&o) {
            continue;
        }
        let (Some(opened), Some(due)) = (day(o.opened.as_ref()), day(o.due.as_ref())) else {
            continue;
        };
        let unit = o.responsible_unit_code.clone();
        let name = unit_name(&unit);
        let plan_due = day(o.plan_due.as_ref()).map_or_else(String::new, |d| format!("，整改方案请于{}前报送", md(d)));
        let mut push = |event, id: String, text: String| {
            out.push(Notice {
                id,
                event,
                unit: unit.clone(),
                unit_name: name.clone(),
                text,
            });
        };
        push(
            NotificationEvent::OrderOpened,
            format!("order-opened/{}/{}", o.code, o.reopened),
            format!(
                "【督办单】{}（{}）：{}。{}下达，限{}前办结{}；以数据销号。",
                o.code,
                o.subject_name,
                o.alert_detail_zh,
                md(opened),
                md(due),
                plan_due
            ),
        );
        let soon = due - chrono::Duration::days(DUE_SOON_DAYS);
        if today >= soon && today <= due {
            push(
                NotificationEvent::OrderDueSoon,
                format!("order-due-soon/{}/{due}", o.code),
                format!(
                    "【督办提醒】督办单{}（{}）将于{}到期，尚未销号。请抓紧整改并报送，逾期将列入黑榜。",
                    o.code,
                    o.subject_name,
                    md(due)
                ),
            );
        }
        if rules::is_overdue(&o, today) {
            push(
                NotificationEvent::OrderOverdue,
                format!("order-overdue/{}/{due}", o.code),
                format!(
                    "【督办逾期】督办单{}（{}）已于{}到期仍未销号，已列入黑榜。请立即整改，并向督查室说明原因。",
                    o.code,
                    o.subject_name,
                    md(due)
                ),
            );
        }
    }
    for &sector in model.catalogs.keys() {
        let month = settings.reporting.settled_month(std::iter::once(sector), today);
        let due = settings.reporting.due_date(sector, &month);
        let r = reporting::reporting(model, settings, &month, today, None, Some(sector));
        for a in r
            .agencies
            .iter()
            .filter(|a| a.status == ReportingStatus::Overdue as i32)
        {
            let f = a.figures.unwrap_or_default();
            out.push(Notice {
                id: format!(
                    "reporting-overdue/{}/{sector}/{:04}-{:02}",
                    a.unit_code, month.year, month.month
                ),
                event: NotificationEvent::ReportingOverdue,
                unit: a.unit_code.clone(),
                unit_name: a.unit_name_zh.clone(),
                text: format!(
                    "【逾期未报】{}：{}年{}月份{}数据应于{}前报送，应报{}项、已报{}项，尚缺{}项。请尽快报送。",
                    a.unit_name_zh,
                    month.year,
                    month.month,
                    sector_zh(sector),
                    md(due),
                    f.expected,
                    f.received,
                    f.missing
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use citydash_proto::v1::record::Record;
    use prost::{Message, Name};

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    /// A model holding one open order of unit `slj`, opened 15 June (due 15 July).
    fn with_order() -> CityModel {
        let alert = v1::Alert {
            code: v1::AlertCode::FundedNotStarted as i32,
            sector: v1::Sector::Agriculture as i32,
            region_code: "city".into(),
            subject_code: "AG-1".into(),
            subject_name: "项目 AG-1".into(),
            responsible_unit_code: "slj".into(),
            ..Default::default()
        };
        let order = rules::open(&alert, d(6, 15), "snapshot");
        let mut m = CityModel::default();
        m.apply(
            v1::Sector::City as i32,
            &v1::Change {
                key: order.code.clone(),
                record: Some(v1::Record {
                    record: Some(Record::Entity(prost_types::Any {
                        type_url: format!("type.googleapis.com/{}", v1::SupervisionOrder::full_name()),
                        value: order.encode_to_vec(),
                    })),
                }),
                ..Default::default()
            },
        );
        m
    }

    fn ids(m: &CityModel, on: NaiveDate) -> Vec<(NotificationEvent, String)> {
        notices(m, &Settings::default(), on)
            .into_iter()
            .map(|n| (n.event, n.id))
            .collect()
    }

    #[test]
    fn an_order_is_announced_reminded_three_days_before_and_flagged_after_its_due_day() {
        let m = with_order();
        let code = m.entities_of::<v1::SupervisionOrder>()[0].code.clone();
        let opened = (NotificationEvent::OrderOpened, format!("order-opened/{code}/0"));
        let soon = (
            NotificationEvent::OrderDueSoon,
            format!("order-due-soon/{code}/2026-07-15"),
        );
        let overdue = (
            NotificationEvent::OrderOverdue,
            format!("order-overdue/{code}/2026-07-15"),
        );
        assert_eq!(ids(&m, d(7, 11)), std::slice::from_ref(&opened));
        assert_eq!(ids(&m, d(7, 12)), [opened.clone(), soon.clone()]);
        assert_eq!(ids(&m, d(7, 15)), [opened.clone(), soon]);
        assert_eq!(ids(&m, d(7, 16)), [opened, overdue]);
        // The same events derived again have the same ids.
        assert_eq!(ids(&m, d(7, 16)), ids(&m, d(7, 16)));
        let text = &notices(&m, &Settings::default(), d(7, 16))[1].text;
        assert!(text.contains("7月15日") && text.contains("黑榜"), "{text}");
    }

    #[test]
    fn an_agency_whose_reports_are_overdue_is_told_once_per_month() {
        let mut m = CityModel::default();
        m.catalogs.insert(
            v1::Sector::Tourism as i32,
            v1::GetCatalogResponse {
                agency_zh: "市文旅局".into(),
                indicators: vec![v1::IndicatorDefinition {
                    code: "tourism.visitors".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
        );
        // On 10 July June's reports are not yet overdue (May's are).
        let on_10 = ids(&m, d(7, 10));
        assert_eq!(
            on_10,
            [(
                NotificationEvent::ReportingOverdue,
                "reporting-overdue/市文旅局/3/2026-05".to_owned()
            )]
        );
        let on_11 = notices(&m, &Settings::default(), d(7, 11));
        assert_eq!(on_11[0].id, "reporting-overdue/市文旅局/3/2026-06");
        assert!(on_11[0].text.contains("尚缺1项"), "{}", on_11[0].text);
    }
}
