//! The rules of supervision orders (DOMAIN.md, 督办单), as pure functions of
//! the orders, the snapshot's alerts and a day: when an order opens, when it is
//! due, its colour, what a snapshot changes, and the units' standings in a
//! month. Nothing here reads a store or knows gRPC.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Days, NaiveDate};
use citydash_proto::v1::{self, AlertColor, OrderClosing, OrderColor, OrderState};
use citydash_sector::domain::{self, add_months, month_end};
use sha2::{Digest, Sha256};

use super::numbers::rate;
use super::supervision::{is_report_day, previous_report_day};

/// Who a snapshot's writes are by, in the orders and the audit trail.
pub const SNAPSHOT: &str = "snapshot";

/// Days a unit has to file its rectification plan.
pub const PLAN_DAYS: u64 = 3;

/// Snapshots after its closing within which a returning alert reopens an order.
pub const REOPEN_WITHIN: usize = 2;

/// What identifies an alert across snapshots: rule, sector, region, subject
/// (the supervision report's identity of an alert).
pub fn alert_key(code: i32, sector: i32, region: &str, subject: &str) -> String {
    let code = v1::AlertCode::try_from(code).map_or("?", |c| c.as_str_name());
    let sector = v1::Sector::try_from(sector).map_or("?", |s| s.as_str_name());
    format!("{code}/{sector}/{region}/{subject}")
}

/// The key of the alert an alert message is.
pub fn key_of_alert(a: &v1::Alert) -> String {
    alert_key(a.code, a.sector, &a.region_code, &a.subject_code)
}

/// The key of the alert an order came from.
pub fn key_of_order(o: &v1::SupervisionOrder) -> String {
    alert_key(o.alert_code, o.sector, &o.region_code, &o.subject_code)
}

/// The code of the order opened on `opened` for the alert `key`: the same on
/// every replica that opens it, so two of them write one record.
pub fn order_code(opened: NaiveDate, key: &str) -> String {
    let hash = Sha256::digest(key.as_bytes());
    format!("DB{}-{}", opened.format("%Y%m%d"), hex::encode(&hash[..4]))
}

/// The first report day on or after `d`.
pub fn report_day_on_or_after(d: NaiveDate) -> NaiveDate {
    if is_report_day(d) {
        d
    } else if d.day() < 15 {
        d.with_day(15).unwrap_or(d)
    } else {
        month_end(d.year(), d.month())
    }
}

/// The report day after `d`.
pub fn next_report_day(d: NaiveDate) -> NaiveDate {
    report_day_on_or_after(d.succ_opt().unwrap_or(d))
}

/// Due: the snapshot day one month after opening (the monthly big
/// inspection): 06-15 → 07-15, 06-30 → 07-31; an order opened by hand on
/// another day is due on the first report day a month later.
pub fn due_for(opened: NaiveDate) -> NaiveDate {
    let month_later = if opened == month_end(opened.year(), opened.month()) {
        let next = add_months(opened.with_day(1).unwrap_or(opened), 1);
        month_end(next.year(), next.month())
    } else {
        add_months(opened, 1)
    };
    report_day_on_or_after(month_later)
}

/// A new order on `alert`, opened on `opened` by `by`.
pub fn open(alert: &v1::Alert, opened: NaiveDate, by: &str) -> v1::SupervisionOrder {
    v1::SupervisionOrder {
        code: order_code(opened, &key_of_alert(alert)),
        alert_code: alert.code,
        sector: alert.sector,
        subject_code: alert.subject_code.clone(),
        subject_name: alert.subject_name.clone(),
        region_code: alert.region_code.clone(),
        responsible_unit_code: alert.responsible_unit_code.clone(),
        responsible_unit: alert.responsible_unit.clone(),
        alert_detail_zh: alert.detail_zh.clone(),
        opened: Some(domain::from_date(opened)),
        opened_by: by.to_owned(),
        plan_due: Some(domain::from_date(opened + Days::new(PLAN_DAYS))),
        due: Some(domain::from_date(due_for(opened))),
        state: OrderState::Open as i32,
        ..Default::default()
    }
}

fn day(d: &Option<v1::Date>) -> Option<NaiveDate> {
    d.as_ref().and_then(domain::to_date)
}

/// The order's state.
pub fn state(o: &v1::SupervisionOrder) -> OrderState {
    OrderState::try_from(o.state).unwrap_or(OrderState::Unspecified)
}

/// Whether it is closed.
pub fn is_closed(o: &v1::SupervisionOrder) -> bool {
    state(o) == OrderState::Closed
}

/// Whether it is open on `on` and past its due day.
pub fn is_overdue(o: &v1::SupervisionOrder, on: NaiveDate) -> bool {
    open_on(o, on) && day(&o.due).is_some_and(|due| on > due)
}

/// Whether it was open on `on`: opened by then and not closed by then (an
/// order reopened since counts from its reopening).
fn open_on(o: &v1::SupervisionOrder, on: NaiveDate) -> bool {
    let opened = day(&o.opened).is_some_and(|d| d <= on);
    let closed_by_then = is_closed(o) && day(&o.closed).is_some_and(|d| d <= on);
    opened && !closed_by_then
}

/// The colour of an open order on `on`: red past due; yellow when its plan
/// is late or its report unverified; normal otherwise. A closed one has none.
pub fn colour(o: &v1::SupervisionOrder, on: NaiveDate) -> OrderColor {
    if is_closed(o) {
        return OrderColor::Unspecified;
    }
    if day(&o.due).is_some_and(|due| on > due) {
        return OrderColor::Red;
    }
    let plan_late = o.plan_filed.is_none() && day(&o.plan_due).is_some_and(|d| on > d);
    if plan_late || state(o) == OrderState::Reported {
        OrderColor::Yellow
    } else {
        OrderColor::Normal
    }
}

/// Closes `o` on `on` by `by`, with how and (by hand) why.
pub fn close(o: &mut v1::SupervisionOrder, on: NaiveDate, how: OrderClosing, by: &str, reason: &str) {
    o.state = OrderState::Closed as i32;
    o.closing = how as i32;
    o.closed = Some(domain::from_date(on));
    o.closed_on_time = day(&o.due).is_some_and(|due| on <= due);
    o.closed_by = by.to_owned();
    o.close_reason = reason.to_owned();
}

/// What a snapshot does to the orders.
#[derive(Debug, Default, PartialEq)]
pub struct SnapshotChanges {
    /// New orders, one per red alert without an open one.
    pub opened: Vec<v1::SupervisionOrder>,
    /// Open orders whose alert no longer holds, closed by data.
    pub closed: Vec<v1::SupervisionOrder>,
    /// Closed orders whose alert returned within two snapshots, open again.
    pub reopened: Vec<v1::SupervisionOrder>,
}

/// What the snapshot of `date` with these `alerts` (every open alert of the
/// day, as the stored report holds them) does to `orders`: only orders opened
/// by `date` take part, so a snapshot taken late for an earlier day does not
/// act on orders opened after it.
pub fn on_snapshot(date: NaiveDate, alerts: &[v1::Alert], orders: &[v1::SupervisionOrder]) -> SnapshotChanges {
    let holding: HashMap<String, &v1::Alert> = alerts.iter().map(|a| (key_of_alert(a), a)).collect();
    let mut changes = SnapshotChanges::default();
    let mut covered = std::collections::HashSet::new();
    for o in orders.iter().filter(|o| day(&o.opened).is_some_and(|d| d <= date)) {
        let key = key_of_order(o);
        if !is_closed(o) {
            covered.insert(key.clone());
            if !holding.contains_key(&key) {
                let mut closed = o.clone();
                let how = if state(o) == OrderState::Reported {
                    OrderClosing::ByData
                } else {
                    OrderClosing::ClearedByData
                };
                close(&mut closed, date, how, SNAPSHOT, "");
                changes.closed.push(closed);
            }
        } else if holding.contains_key(&key) && returns_within(o, date) {
            covered.insert(key.clone());
            let mut again = o.clone();
            again.state = if again.plan_filed.is_some() {
                OrderState::Planned
            } else {
                OrderState::Open
            } as i32;
            again.closing = OrderClosing::Unspecified as i32;
            again.closed = None;
            again.closed_on_time = false;
            again.closed_by.clear();
            again.close_reason.clear();
            again.reopened += 1;
            again.last_reopened = Some(domain::from_date(date));
            changes.reopened.push(again);
        }
    }
    let mut red: Vec<&v1::Alert> = alerts
        .iter()
        .filter(|a| a.color == AlertColor::Red as i32 && !covered.contains(&key_of_alert(a)))
        .collect();
    red.sort_by_key(|a| key_of_alert(a));
    red.dedup_by_key(|a| key_of_alert(a));
    changes.opened = red.into_iter().map(|a| open(a, date, SNAPSHOT)).collect();
    changes
}

/// Whether `date` is within [`REOPEN_WITHIN`] snapshots after the order's
/// closing (a closing by hand counts from the snapshot day before it).
fn returns_within(o: &v1::SupervisionOrder, date: NaiveDate) -> bool {
    let Some(closed) = day(&o.closed) else {
        return false;
    };
    if date <= closed {
        return false;
    }
    let mut snapshot = if is_report_day(closed) {
        closed
    } else {
        previous_report_day(closed)
    };
    for _ in 0..REOPEN_WITHIN {
        snapshot = next_report_day(snapshot);
        if snapshot == date {
            return true;
        }
    }
    false
}

/// Adds the orders to a supervision report of `date` (after `previous`):
/// per unit the orders opened and closed on time in (previous, date] and
/// those overdue on `date`. A unit with orders and no open alert gets a row.
pub fn add_to_report(report: &mut v1::SupervisionReport, orders: &[v1::SupervisionOrder]) {
    let Some(date) = day(&report.date) else {
        return;
    };
    let after = day(&report.previous_date).unwrap_or(NaiveDate::MIN);
    let within = |d: &Option<v1::Date>| day(d).is_some_and(|d| d > after && d <= date);
    let mut rows: HashMap<String, usize> = report
        .units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.responsible_unit.clone(), i))
        .collect();
    for o in orders {
        let opened = within(&o.opened);
        let on_time = is_closed(o) && o.closed_on_time && within(&o.closed);
        let overdue = is_overdue(o, date);
        if !(opened || on_time || overdue) {
            continue;
        }
        let i = *rows.entry(o.responsible_unit.clone()).or_insert_with(|| {
            report.units.push(v1::UnitStanding {
                responsible_unit: o.responsible_unit.clone(),
                ..Default::default()
            });
            report.units.len() - 1
        });
        let u = &mut report.units[i];
        u.orders_opened += i32::from(opened);
        u.orders_closed_on_time += i32::from(on_time);
        u.orders_overdue += i32::from(overdue);
    }
}

/// A unit's on-time rate for ordering: one with nothing due after every rate.
fn on_time(u: &v1::UnitOrderStanding) -> f64 {
    u.on_time_rate.as_ref().and_then(|r| r.value).unwrap_or(f64::INFINITY)
}

/// The day a month's standings are taken as of: its last day, or today
/// while the month runs.
pub fn standings_day(period: &v1::Period, today: NaiveDate) -> NaiveDate {
    domain::period_end(period).min(today)
}

/// Per unit, the month's orders: due, closed on time, overdue and open on
/// `as_of` (after the day, when it is the month's last), with the unit's red alerts of that day; the red list (orders were
/// due, every one closed on time, no red alert) and the black list (an
/// overdue order). `red_alerts` are (unit code, unit name) of each red alert.
pub fn standings(
    period: &v1::Period,
    as_of: NaiveDate,
    orders: &[v1::SupervisionOrder],
    red_alerts: &[(String, String)],
) -> v1::GetUnitStandingsResponse {
    let mut units: BTreeMap<String, v1::UnitOrderStanding> = BTreeMap::new();
    fn entry<'u>(
        units: &'u mut BTreeMap<String, v1::UnitOrderStanding>,
        code: &str,
        name: &str,
    ) -> &'u mut v1::UnitOrderStanding {
        let u = units.entry(code.to_owned()).or_insert_with(|| v1::UnitOrderStanding {
            responsible_unit_code: code.to_owned(),
            ..Default::default()
        });
        if u.responsible_unit.is_empty() {
            u.responsible_unit = name.to_owned();
        }
        u
    }
    let complete = as_of == domain::period_end(period);
    let in_month = |d: NaiveDate| d.year() == period.year && d.month() as i32 == period.month;
    for o in orders.iter().filter(|o| day(&o.opened).is_some_and(|d| d <= as_of)) {
        let u = entry(&mut units, &o.responsible_unit_code, &o.responsible_unit);
        if day(&o.due).is_some_and(in_month) {
            u.due += 1;
            if is_closed(o) && o.closed_on_time && day(&o.closed).is_some_and(|d| d <= as_of) {
                u.closed_on_time += 1;
            }
        }
        // A month that has ended is judged after its last day: an order due
        // that day and still open has missed it.
        let missed = day(&o.due).is_some_and(|due| due < as_of || (complete && due == as_of));
        if open_on(o, as_of) && missed {
            u.overdue += 1;
        }
        if open_on(o, as_of) {
            u.open += 1;
        }
    }
    for (code, name) in red_alerts {
        entry(&mut units, code, name).red_alerts += 1;
    }
    let mut list: Vec<v1::UnitOrderStanding> = units
        .into_values()
        .map(|mut u| {
            u.on_time_rate = Some(rate(u.closed_on_time as i64, u.due as i64));
            u.black_list = u.overdue > 0;
            u.red_list = u.due > 0 && u.closed_on_time == u.due && u.red_alerts == 0 && !u.black_list;
            u
        })
        .collect();
    list.sort_by(|a, b| {
        b.black_list
            .cmp(&a.black_list)
            .then(b.overdue.cmp(&a.overdue))
            .then(on_time(a).total_cmp(&on_time(b)))
            .then(a.responsible_unit_code.cmp(&b.responsible_unit_code))
    });
    v1::GetUnitStandingsResponse {
        period: Some(*period),
        as_of: Some(domain::from_date(as_of)),
        red_list: list
            .iter()
            .filter(|u| u.red_list)
            .map(|u| u.responsible_unit.clone())
            .collect(),
        black_list: list
            .iter()
            .filter(|u| u.black_list)
            .map(|u| u.responsible_unit.clone())
            .collect(),
        units: list,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn alert(subject: &str, color: AlertColor) -> v1::Alert {
        v1::Alert {
            code: v1::AlertCode::FundedNotStarted as i32,
            color: color as i32,
            sector: v1::Sector::Agriculture as i32,
            region_code: "city".into(),
            responsible_unit: "市农业农村局".into(),
            responsible_unit_code: "nyncj".into(),
            subject_code: subject.into(),
            subject_name: "项目".into(),
            ..Default::default()
        }
    }

    #[test]
    fn an_order_is_due_on_the_snapshot_day_a_month_later() {
        assert_eq!(due_for(d(2026, 6, 15)), d(2026, 7, 15));
        assert_eq!(due_for(d(2026, 6, 30)), d(2026, 7, 31));
        assert_eq!(due_for(d(2026, 1, 31)), d(2026, 2, 28));
        assert_eq!(due_for(d(2026, 7, 3)), d(2026, 8, 15));
        assert_eq!(next_report_day(d(2026, 6, 30)), d(2026, 7, 15));
        assert_eq!(next_report_day(d(2026, 7, 15)), d(2026, 7, 31));
    }

    #[test]
    fn a_red_alert_opens_one_order_and_a_cleared_one_closes_it() {
        let a = alert("AG-1", AlertColor::Red);
        let first = on_snapshot(d(2026, 6, 30), &[a.clone(), alert("AG-2", AlertColor::Yellow)], &[]);
        assert_eq!(first.opened.len(), 1, "only the red alert");
        let order = first.opened[0].clone();
        assert_eq!(order.code, order_code(d(2026, 6, 30), &key_of_alert(&a)));
        assert_eq!(
            (day(&order.plan_due), day(&order.due)),
            (Some(d(2026, 7, 3)), Some(d(2026, 7, 31)))
        );
        // Taken again: the open order covers the alert.
        assert_eq!(
            on_snapshot(d(2026, 6, 30), std::slice::from_ref(&a), std::slice::from_ref(&order)),
            SnapshotChanges::default()
        );
        let cleared = on_snapshot(d(2026, 7, 15), &[], std::slice::from_ref(&order));
        let closed = &cleared.closed[0];
        assert_eq!(closed.closing, OrderClosing::ClearedByData as i32);
        assert!(closed.closed_on_time);
        let mut reported = order.clone();
        reported.state = OrderState::Reported as i32;
        let late = on_snapshot(d(2026, 8, 15), &[], &[reported]);
        assert_eq!(late.closed[0].closing, OrderClosing::ByData as i32);
        assert!(!late.closed[0].closed_on_time, "due 07-31, closed 08-15");
    }

    #[test]
    fn a_returning_alert_reopens_within_two_snapshots_only() {
        let a = alert("AG-1", AlertColor::Yellow);
        let mut order = open(&a, d(2026, 6, 30), SNAPSHOT);
        close(&mut order, d(2026, 7, 15), OrderClosing::ClearedByData, SNAPSHOT, "");
        let back = on_snapshot(d(2026, 7, 31), std::slice::from_ref(&a), std::slice::from_ref(&order));
        assert_eq!(back.reopened.len(), 1);
        assert_eq!(back.reopened[0].reopened, 1);
        assert_eq!(state(&back.reopened[0]), OrderState::Open);
        assert!(back.opened.is_empty());
        assert_eq!(
            on_snapshot(d(2026, 8, 15), std::slice::from_ref(&a), std::slice::from_ref(&order))
                .reopened
                .len(),
            1
        );
        let red = alert("AG-1", AlertColor::Red);
        let later = on_snapshot(d(2026, 8, 31), &[red], &[order]);
        assert!(later.reopened.is_empty(), "three snapshots later: a new order");
        assert_eq!(later.opened.len(), 1);
    }

    #[test]
    fn colours_follow_the_plan_the_report_and_the_due_day() {
        let mut o = open(&alert("AG-1", AlertColor::Red), d(2026, 6, 30), SNAPSHOT);
        assert_eq!(colour(&o, d(2026, 7, 2)), OrderColor::Normal);
        assert_eq!(colour(&o, d(2026, 7, 4)), OrderColor::Yellow, "plan late");
        o.plan_filed = Some(domain::from_date(d(2026, 7, 2)));
        o.state = OrderState::Planned as i32;
        assert_eq!(colour(&o, d(2026, 7, 4)), OrderColor::Normal);
        o.state = OrderState::Reported as i32;
        assert_eq!(colour(&o, d(2026, 7, 4)), OrderColor::Yellow, "unverified");
        assert_eq!(colour(&o, d(2026, 8, 1)), OrderColor::Red);
        close(&mut o, d(2026, 8, 15), OrderClosing::ByData, SNAPSHOT, "");
        assert_eq!(colour(&o, d(2026, 8, 20)), OrderColor::Unspecified);
    }

    #[test]
    fn a_report_counts_the_orders_of_its_window() {
        let mut opened = open(&alert("AG-1", AlertColor::Red), d(2026, 6, 30), SNAPSHOT);
        let mut earlier = open(&alert("AG-2", AlertColor::Red), d(2026, 5, 31), SNAPSHOT);
        close(&mut earlier, d(2026, 6, 15), OrderClosing::ClearedByData, SNAPSHOT, "");
        let mut report = v1::SupervisionReport {
            date: Some(domain::from_date(d(2026, 6, 30))),
            previous_date: Some(domain::from_date(d(2026, 6, 15))),
            ..Default::default()
        };
        add_to_report(&mut report, &[opened.clone(), earlier.clone()]);
        assert_eq!(report.units.len(), 1);
        let u = &report.units[0];
        assert_eq!((u.orders_opened, u.orders_closed_on_time, u.orders_overdue), (1, 0, 0));
        // A month later, opened 06-30 and due 07-31: overdue on 08-15.
        opened.responsible_unit = "市水利局".into();
        let mut later = v1::SupervisionReport {
            date: Some(domain::from_date(d(2026, 8, 15))),
            previous_date: Some(domain::from_date(d(2026, 7, 31))),
            ..Default::default()
        };
        add_to_report(&mut later, &[opened, earlier]);
        assert_eq!(later.units.len(), 1);
        assert_eq!(later.units[0].responsible_unit, "市水利局");
        assert_eq!(later.units[0].orders_overdue, 1);
    }

    #[test]
    fn the_month_standings_rank_the_late_units_first() {
        let july = v1::Period { year: 2026, month: 7 };
        let mut kept = open(&alert("AG-1", AlertColor::Red), d(2026, 6, 30), SNAPSHOT);
        close(&mut kept, d(2026, 7, 15), OrderClosing::ClearedByData, SNAPSHOT, "");
        let mut late = open(&alert("AG-2", AlertColor::Red), d(2026, 6, 30), SNAPSHOT);
        late.responsible_unit_code = "slj".into();
        late.responsible_unit = "市水利局".into();
        let s = standings(&july, d(2026, 7, 31), &[kept.clone(), late.clone()], &[]);
        assert_eq!(s.black_list, ["市水利局"]);
        assert_eq!(s.red_list, ["市农业农村局"]);
        assert_eq!(s.units[0].responsible_unit_code, "slj");
        assert_eq!(on_time(&s.units[0]), 0.0);
        assert_eq!(on_time(&s.units[1]), 1.0);
        // A red alert keeps a unit off the red list; no order due: no rate.
        let s = standings(
            &july,
            d(2026, 7, 31),
            &[kept],
            &[
                ("nyncj".into(), "市农业农村局".into()),
                ("gxj".into(), "市工信局".into()),
            ],
        );
        assert!(s.red_list.is_empty());
        let gxj = s.units.iter().find(|u| u.responsible_unit_code == "gxj").expect("gxj");
        assert_eq!((gxj.due, gxj.red_alerts), (0, 1));
        assert_eq!(gxj.on_time_rate.as_ref().map(|r| r.value), Some(None), "not applicable");
    }
}
