//! The writes on supervision orders as planners of the shared engine, so
//! each gets its version, audit row, idempotency and change-feed entry like
//! every record. Each planner authorizes its caller from the order it reads:
//! the unit's side (plan, report) is the order's own agency's; opening and
//! closing by hand is the supervision office's; a snapshot's writes are the
//! aggregator's own.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use citydash_proto::v1::{self, OrderClosing, OrderState, WriteOutcome};
use citydash_runtime::error::reason;
use citydash_runtime::{Error, Principal};
use citydash_sector::plan::{Context, Planned, Planner, Snapshot};
use citydash_sector::store::{Index, RecordWrite};
use prost::Message;

use super::records::{KIND, decode};
use crate::compute::orders::{self as rules, SnapshotChanges};

/// What one write does to one order.
pub enum Act {
    /// The office opens this new order by hand; or why there is none to
    /// open (no such alert today).
    Open(Box<Result<v1::SupervisionOrder, String>>),
    /// The unit files its plan.
    FilePlan(String),
    /// The unit reports; `done`: it says the alert is dealt with.
    Report {
        /// What it did.
        text: String,
        /// Whether it says it is done.
        done: bool,
    },
    /// The office closes it without data.
    Close(String),
}

/// A write on one order, by its code; `others` are the codes of the other
/// orders of the same alert (an order opened by hand must be its only open one).
pub struct OnOrder {
    /// The order's code.
    pub code: String,
    /// What the write does.
    pub act: Act,
    /// Today in the city.
    pub today: NaiveDate,
    /// The codes of the other orders on the same alert.
    pub others: Vec<String>,
}

fn state_error(message: String) -> Error {
    Error::FailedPrecondition {
        reason: reason::ORDER_STATE,
        message,
    }
}

fn required(field: &str, text: &str) -> Result<(), Error> {
    if text.trim().is_empty() {
        Err(Error::invalid(field, "必填，不能为空"))
    } else if text.chars().count() > 4000 {
        Err(Error::invalid(field, "过长（至多 4000 字）"))
    } else {
        Ok(())
    }
}

/// The unit's side: an agency of the order's sector answering for its unit.
fn unit_side(p: &Principal, o: &v1::SupervisionOrder) -> Result<(), Error> {
    let sector = citydash_proto::sectors::of(o.sector).map_or("", |s| s.name);
    if p.answers_for(sector, &o.responsible_unit_code) {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "{}（{}）不是督办单「{}」的责任单位（{}），不能报送整改情况",
            p.name,
            p.role.as_str(),
            o.code,
            o.responsible_unit
        )))
    }
}

/// The supervision office's side.
fn office_side(p: &Principal, what: &str) -> Result<(), Error> {
    if p.supervises() {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "{}（{}）不是督查室，不能{what}",
            p.name,
            p.role.as_str()
        )))
    }
}

/// The filter columns of an order: region, unit, state, alert, due year.
pub fn index(o: &v1::SupervisionOrder) -> Index {
    Index {
        region: o.region_code.clone(),
        unit: o.responsible_unit_code.clone(),
        stage: rules::state(o).as_str_name().to_owned(),
        parent: rules::key_of_order(o),
        year: o.due.map_or(0, |d| d.year),
    }
}

/// The write of `after` over `stored` (the snapshot's version, if any), or
/// nothing when it is unchanged, with its result.
fn write_of(
    index_in_request: usize,
    stored: Option<&citydash_sector::store::StoredRecord>,
    after: &v1::SupervisionOrder,
) -> (Option<RecordWrite>, v1::WriteResult) {
    let mut clean = after.clone();
    clean.meta = None;
    clean.color = 0;
    let payload = clean.encode_to_vec();
    let (outcome, version) = match stored {
        None => (WriteOutcome::Created, 1),
        Some(r) if r.payload == payload => (WriteOutcome::Unchanged, r.version),
        Some(r) => (WriteOutcome::Updated, r.version + 1),
    };
    let result = v1::WriteResult {
        index: index_in_request as i32,
        key: after.code.clone(),
        outcome: outcome as i32,
        version,
    };
    let write = (outcome != WriteOutcome::Unchanged).then(|| RecordWrite {
        kind: KIND.to_owned(),
        key: after.code.clone(),
        index: index(after),
        payload,
        expected_version: stored.map_or(0, |r| r.version),
        before: stored.map(|r| r.payload.clone()),
        created_at: stored.map(|r| r.created_at),
    });
    (write, result)
}

fn planned(writes: Vec<RecordWrite>, results: Vec<v1::WriteResult>) -> Planned {
    let regions: BTreeSet<String> = writes.iter().map(|w| w.index.region.clone()).collect();
    Planned {
        writes,
        results,
        regions,
        periods: BTreeSet::new(),
        indicators: BTreeSet::new(),
    }
}

impl Planner for OnOrder {
    fn keys(&self) -> Vec<(String, String)> {
        std::iter::once(&self.code)
            .chain(&self.others)
            .map(|c| (KIND.to_owned(), c.clone()))
            .collect()
    }

    fn authorizes(&self) -> bool {
        true
    }

    fn plan(&self, ctx: &Context<'_>, snapshot: &Snapshot) -> Result<Planned, Error> {
        let stored = snapshot.get(KIND, &self.code);
        let current = stored.map(decode).transpose()?;
        let p = ctx.principal;
        let after = match (&self.act, current) {
            (Act::Open(new), _) => {
                office_side(p, "开具督办单")?;
                let new = new.as_ref().as_ref().map_err(|why| Error::NotFound(why.clone()))?;
                let open = std::iter::once(&self.code)
                    .chain(&self.others)
                    .filter_map(|c| snapshot.get(KIND, c))
                    .map(decode)
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .find(|o| !rules::is_closed(o));
                if let Some(o) = open {
                    return Err(state_error(format!(
                        "该预警已有未销号的督办单「{}」（{}）",
                        o.code, o.responsible_unit
                    )));
                }
                new.clone()
            }
            (_, None) => return Err(Error::NotFound(format!("没有督办单「{}」", self.code))),
            (Act::FilePlan(plan), Some(mut o)) => {
                unit_side(p, &o)?;
                required("plan", plan)?;
                if rules::is_closed(&o) {
                    return Err(state_error(format!("督办单「{}」已销号", o.code)));
                }
                o.plan = plan.trim().to_owned();
                if o.plan_filed.is_none() {
                    o.plan_filed = Some(citydash_sector::domain::from_date(self.today));
                }
                if rules::state(&o) == OrderState::Open {
                    o.state = OrderState::Planned as i32;
                }
                o
            }
            (Act::Report { text, done }, Some(mut o)) => {
                unit_side(p, &o)?;
                required("text", text)?;
                if rules::is_closed(&o) {
                    return Err(state_error(format!("督办单「{}」已销号", o.code)));
                }
                o.reports.push(v1::OrderReport {
                    time: Some(std::time::SystemTime::now().into()),
                    by: p.name.clone(),
                    done: *done,
                    text: text.trim().to_owned(),
                });
                if *done {
                    o.state = OrderState::Reported as i32;
                }
                o
            }
            (Act::Close(why), Some(mut o)) => {
                office_side(p, "人工销号")?;
                required("reason", why)?;
                if rules::is_closed(&o) {
                    return Err(state_error(format!("督办单「{}」已销号", o.code)));
                }
                rules::close(&mut o, self.today, OrderClosing::ByHand, &p.name, why.trim());
                o
            }
        };
        let (write, result) = write_of(0, stored, &after);
        Ok(planned(write.into_iter().collect(), vec![result]))
    }
}

/// A snapshot's writes: the report's alerts against every order.
pub struct OnSnapshot {
    /// The snapshot day.
    pub date: NaiveDate,
    /// Every open alert of the day (the stored report's).
    pub alerts: Vec<v1::Alert>,
    /// Codes of every order, and of every order the snapshot may open.
    pub codes: Vec<String>,
}

impl OnSnapshot {
    /// The snapshot's writes on `orders` (every order as last read).
    pub fn new(date: NaiveDate, alerts: Vec<v1::Alert>, orders: &[v1::SupervisionOrder]) -> Self {
        let mut codes: Vec<String> = orders.iter().map(|o| o.code.clone()).collect();
        codes.extend(
            rules::on_snapshot(date, &alerts, orders)
                .opened
                .into_iter()
                .map(|o| o.code),
        );
        Self { date, alerts, codes }
    }
}

impl Planner for OnSnapshot {
    fn keys(&self) -> Vec<(String, String)> {
        self.codes.iter().map(|c| (KIND.to_owned(), c.clone())).collect()
    }

    fn authorizes(&self) -> bool {
        true
    }

    fn plan(&self, ctx: &Context<'_>, snapshot: &Snapshot) -> Result<Planned, Error> {
        office_side(ctx.principal, "记录督查快照")?;
        let orders = self
            .codes
            .iter()
            .filter_map(|c| snapshot.get(KIND, c))
            .map(decode)
            .collect::<Result<Vec<_>, _>>()?;
        let SnapshotChanges {
            opened,
            closed,
            reopened,
        } = rules::on_snapshot(self.date, &self.alerts, &orders);
        let (mut writes, mut results) = (Vec::new(), Vec::new());
        // An order of the same code already stored (opened by hand today and
        // closed again) is not opened over.
        let opened = opened.into_iter().filter(|o| snapshot.get(KIND, &o.code).is_none());
        let changed: Vec<v1::SupervisionOrder> = opened.chain(closed).chain(reopened).collect();
        for (i, o) in changed.iter().enumerate() {
            let (write, result) = write_of(i, snapshot.get(KIND, &o.code), o);
            writes.extend(write);
            results.push(result);
        }
        Ok(planned(writes, results))
    }
}
