//! Supervision orders (督办单, DOMAIN.md): what the city does about a red
//! alert. Each snapshot opens an order for every red alert without one and
//! closes, by data, the orders whose alert no longer holds; the unit files a
//! plan and reports; only the supervision office closes one by hand. Orders
//! are records of the city engine (versions, audit, idempotency, the change
//! feed); [`crate::compute::orders`] holds every rule as a pure function, [`plan`] the writes,
//! and this file what the API calls.

pub mod plan;
pub mod records;

use std::sync::Arc;

use chrono::NaiveDate;
use citydash_proto::{WriteRequest, v1};
use citydash_runtime::auth::Role;
use citydash_runtime::paging::{MAX_PAGE_SIZE, Page};
use citydash_runtime::{Error, Identity, Principal};
use citydash_sector::store::{Index, Store};
use citydash_sector::{Engine, domain};

use crate::compute::orders as rules;
use crate::compute::{alerts, supervision};
use crate::readstore::ReadStore;
use crate::reports::Reports;
use crate::view::View;
use plan::{Act, OnOrder, OnSnapshot};
pub use records::{KIND, OrderRecords, decode};

/// The answer to a write on one order: its result and the order after it
/// (each RPC sends them in its own response message).
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// The write's result.
    pub result: Option<v1::WriteResult>,
    /// The order after it, with its colour today.
    pub order: Option<v1::SupervisionOrder>,
}

/// Who a snapshot's writes are by.
fn snapshot_writer() -> Identity {
    Identity::Verified(Principal {
        name: rules::SNAPSHOT.to_owned(),
        role: Role::Supervision,
        sectors: Vec::new(),
        regions: Vec::new(),
        units: Vec::new(),
    })
}

/// The supervision orders of one aggregator: the city engine they are
/// records of, the view whose alerts they answer, the reports that are
/// their snapshots.
pub struct Orders<S, R> {
    engine: Engine<S>,
    view: Arc<View<R>>,
    reports: Arc<Reports<R>>,
}

impl<S: Store, R: ReadStore> Orders<S, R> {
    /// The orders kept in `engine`, on the alerts of `view`.
    pub fn new(engine: Engine<S>, view: Arc<View<R>>, reports: Arc<Reports<R>>) -> Arc<Self> {
        Arc::new(Self { engine, view, reports })
    }

    fn today(&self) -> NaiveDate {
        self.view.clock().today()
    }

    /// Every order as stored.
    pub async fn all(&self) -> Result<Vec<v1::SupervisionOrder>, Error> {
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = self
                .engine
                .list_entities::<OrderRecords>(Index::default(), MAX_PAGE_SIZE as i32, &token)
                .await?;
            out.extend(page.items);
            if page.next_page_token.is_empty() {
                return Ok(out);
            }
            token = page.next_page_token;
        }
    }

    fn coloured(&self, mut o: v1::SupervisionOrder) -> v1::SupervisionOrder {
        o.color = rules::colour(&o, self.today()) as i32;
        o
    }

    /// `ListOrders`: filtered, past due first, then by due day and code.
    pub async fn list(&self, r: v1::ListOrdersRequest) -> Result<v1::ListOrdersResponse, Error> {
        let page = Page::parse(r.page_size, &r.page_token)?;
        if let Some(p) = &r.period
            && !domain::period_is_valid(p)
        {
            return Err(Error::invalid("period", "月份须在 1—12 之间"));
        }
        let today = self.today();
        let mut orders: Vec<v1::SupervisionOrder> = self
            .all()
            .await?
            .into_iter()
            .map(|o| self.coloured(o))
            .filter(|o| r.responsible_unit.is_empty() || o.responsible_unit_code == r.responsible_unit)
            .filter(|o| r.state == 0 || o.state == r.state)
            .filter(|o| r.color == 0 || o.color == r.color)
            .filter(|o| r.sector == 0 || o.sector == r.sector)
            .filter(|o| {
                r.period
                    .is_none_or(|p| o.due.is_some_and(|d| d.year == p.year && d.month == p.month))
            })
            .collect();
        orders.sort_by(|a, b| {
            rules::is_overdue(b, today)
                .cmp(&rules::is_overdue(a, today))
                .then_with(|| rules::is_closed(a).cmp(&rules::is_closed(b)))
                .then_with(|| date_key(&a.due).cmp(&date_key(&b.due)))
                .then_with(|| a.code.cmp(&b.code))
        });
        let total = orders.len() as i32;
        let (orders, next_page_token) = page.slice("orders", orders)?;
        Ok(v1::ListOrdersResponse {
            orders,
            next_page_token,
            total,
        })
    }

    /// `GetOrder`: the order today and every version it had.
    pub async fn get(&self, code: &str) -> Result<v1::GetOrderResponse, Error> {
        if code.trim().is_empty() {
            return Err(Error::invalid("code", "必填，不能为空"));
        }
        let versions = self.engine.store().revisions(KIND, code).await?;
        let history = versions.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        let Some(last) = history.last().cloned() else {
            return Err(Error::NotFound(format!("没有督办单「{code}」")));
        };
        Ok(v1::GetOrderResponse {
            order: Some(self.coloured(last)),
            history,
        })
    }

    /// Runs `act` on the order `code` for `identity`, and answers with the
    /// order after it.
    async fn act<Q: WriteRequest>(
        &self,
        identity: &Identity,
        request: &Q,
        code: String,
        act: Act,
        others: Vec<String>,
    ) -> Result<Written, Error> {
        let planner = OnOrder {
            code: code.clone(),
            act,
            today: self.today(),
            others,
        };
        let results = self.engine.write(identity, request, &planner).await?;
        let order = match self.engine.store().get(KIND, &[code]).await?.first() {
            Some(stored) => Some(self.coloured(decode(stored)?)),
            None => None,
        };
        Ok(Written {
            result: results.into_iter().next(),
            order,
        })
    }

    /// `FilePlan`: the unit's rectification plan.
    pub async fn file_plan(&self, (identity, r): (Identity, v1::FilePlanRequest)) -> Result<Written, Error> {
        let act = Act::FilePlan(r.plan.clone());
        self.act(&identity, &r, r.code.clone(), act, Vec::new()).await
    }

    /// `ReportOrder`: the unit's progress, or that it is done.
    pub async fn report(&self, (identity, r): (Identity, v1::ReportOrderRequest)) -> Result<Written, Error> {
        let act = Act::Report {
            text: r.text.clone(),
            done: r.done,
        };
        self.act(&identity, &r, r.code.clone(), act, Vec::new()).await
    }

    /// `CloseOrder`: the office closes an order by hand, with a reason.
    pub async fn close(&self, (identity, r): (Identity, v1::CloseOrderRequest)) -> Result<Written, Error> {
        let act = Act::Close(r.reason.clone());
        self.act(&identity, &r, r.code.clone(), act, Vec::new()).await
    }

    /// `OpenOrder`: the office opens an order by hand on a current alert.
    pub async fn open(&self, (identity, r): (Identity, v1::OpenOrderRequest)) -> Result<Written, Error> {
        let today = self.today();
        let (code, sector, subject) = (r.alert_code, r.sector, r.subject_code.clone());
        let alert = self
            .view
            .compute(move |model, settings| {
                alerts::on_day(model, settings, today)
                    .into_iter()
                    .find(|a| a.code == code && a.sector == sector && a.subject_code == subject)
            })
            .await?;
        let new = alert.map(|a| rules::open(&a, today, principal_name(&identity)));
        let key = new.as_ref().map(rules::key_of_order);
        let others = self
            .all()
            .await?
            .into_iter()
            .filter(|o| key.as_ref().is_some_and(|k| *k == rules::key_of_order(o)))
            .map(|o| o.code)
            .collect();
        let code = new.as_ref().map(|o| o.code.clone()).unwrap_or_default();
        let act = Act::Open(Box::new(new.ok_or_else(|| {
            format!(
                "今天（{today}）没有该预警：{} / {} / {}",
                v1::AlertCode::try_from(r.alert_code).map_or("?", |c| alerts::code_zh(c)),
                citydash_proto::sectors::of(r.sector).map_or("?", |s| s.name),
                r.subject_code
            )
        })));
        self.act(&identity, &r, code, act, others).await
    }

    /// `TakeSnapshot`: the report of `date` stored and applied to the orders.
    pub async fn take_snapshot(
        &self,
        identity: &Identity,
        date: Option<v1::Date>,
    ) -> Result<v1::TakeSnapshotResponse, Error> {
        self.engine
            .authorize(identity, "citydash.v1.TakeSnapshotRequest", |p| {
                if p.supervises() {
                    Ok(())
                } else {
                    Err(Error::PermissionDenied(format!(
                        "{}（{}）不是督查室，不能记录督查快照",
                        p.name,
                        p.role.as_str()
                    )))
                }
            })
            .await?;
        let date = date
            .as_ref()
            .and_then(domain::to_date)
            .ok_or_else(|| Error::invalid("date", "必填：督查通报日（每月15日或月末）"))?;
        if !supervision::is_report_day(date) {
            return Err(Error::invalid(
                "date",
                format!("{date} 不是每月15日或月末（督查通报日）"),
            ));
        }
        if date > self.today() {
            return Err(Error::invalid("date", format!("{date} 晚于今天")));
        }
        if !self.view.all_feeds_current() {
            return Err(Error::Unavailable(
                "还有部门的数据正在追赶，快照须在全部数据到齐后记录；请稍后重试".to_owned(),
            ));
        }
        let mut report = self.reports.take(date).await?;
        self.apply(&report).await?;
        let day = Some(domain::from_date(date));
        let orders = self.all().await?;
        rules::add_to_report(&mut report, &orders);
        let by_snapshot = |when: &Option<v1::Date>, by: &str| *when == day && by == rules::SNAPSHOT;
        Ok(v1::TakeSnapshotResponse {
            opened: orders
                .iter()
                .filter(|o| by_snapshot(&o.opened, &o.opened_by))
                .map(|o| o.code.clone())
                .collect(),
            closed: orders
                .iter()
                .filter(|o| by_snapshot(&o.closed, &o.closed_by))
                .map(|o| o.code.clone())
                .collect(),
            reopened: orders
                .iter()
                .filter(|o| o.last_reopened == day)
                .map(|o| o.code.clone())
                .collect(),
            report: Some(report),
        })
    }

    /// Applies a stored report to the orders, once: the write's request id
    /// is the day's, so taking it again, here or on another replica,
    /// replays the first answer.
    pub async fn apply(&self, report: &v1::SupervisionReport) -> Result<(), Error> {
        let Some(date) = report.date.as_ref().and_then(domain::to_date) else {
            return Err(Error::Internal("a stored report without its day".to_owned()));
        };
        let orders = self.all().await?;
        let planner = OnSnapshot::new(date, report.alerts.clone(), &orders);
        let request = v1::SnapshotOrdersRequest {
            request_id: format!("snapshot-{date}"),
            date: report.date,
            ..Default::default()
        };
        let results = self.engine.write(&snapshot_writer(), &request, &planner).await?;
        tracing::info!(%date, changed = results.len(), "the snapshot is applied to the supervision orders");
        Ok(())
    }

    /// `GetUnitStandings`: the month's orders per unit, the red and black lists.
    pub async fn standings(&self, period: Option<v1::Period>) -> Result<v1::GetUnitStandingsResponse, Error> {
        let period = period
            .filter(domain::period_is_valid)
            .ok_or_else(|| Error::invalid("period", "必填：年份与 1—12 月"))?;
        let today = self.today();
        let first = NaiveDate::from_ymd_opt(period.year, period.month as u32, 1)
            .ok_or_else(|| Error::invalid("period", "不是有效的月份"))?;
        if first > today {
            return Err(Error::invalid(
                "period",
                format!("{}年{}月晚于今天", period.year, period.month),
            ));
        }
        let as_of = rules::standings_day(&period, today);
        let red = self
            .view
            .compute(move |model, settings| {
                alerts::on_day(model, settings, as_of)
                    .into_iter()
                    .filter(|a| a.color == v1::AlertColor::Red as i32)
                    .map(|a| (a.responsible_unit_code, a.responsible_unit))
                    .collect::<Vec<_>>()
            })
            .await?;
        Ok(rules::standings(&period, as_of, &self.all().await?, &red))
    }
}

fn date_key(d: &Option<v1::Date>) -> (i32, i32, i32) {
    d.map_or((i32::MAX, 0, 0), |d| (d.year, d.month, d.day))
}

fn principal_name(identity: &Identity) -> &str {
    match identity {
        Identity::Verified(p) => &p.name,
        Identity::Unauthenticated(_) => "",
    }
}
