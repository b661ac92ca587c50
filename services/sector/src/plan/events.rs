//! A project's dated events: a requested stage move or statistics change,
//! checked against the project's history and applied to it.

use chrono::{Datelike, NaiveDate};
use citydash_proto::v1::{self, ProjectStage, project_event};

use crate::domain::{self};
use crate::validate::Item;

/// A requested stage move or statistics change, checked against the
/// project's history and applied to it.
pub(super) struct EventRequest {
    stage: ProjectStage,
    stage_date: Option<NaiveDate>,
    in_statistics: Option<bool>,
    statistics_date: Option<NaiveDate>,
    /// Latest day an event may carry (a progress report's period end).
    not_after: Option<NaiveDate>,
}

impl EventRequest {
    /// The request of an item: (stage, the date as sent, the date once
    /// checked) and the same for the statistics flag. A date that was sent
    /// but refused (already a violation) asks for no event, so the refusal
    /// is not reported twice as a missing date.
    pub(super) fn new(
        (stage, sent_stage_date, stage_date): (ProjectStage, Option<&v1::Date>, Option<NaiveDate>),
        (in_statistics, sent_statistics_date, statistics_date): (Option<bool>, Option<&v1::Date>, Option<NaiveDate>),
        not_after: Option<NaiveDate>,
    ) -> Self {
        let refused = |sent: Option<&v1::Date>, checked: Option<NaiveDate>| sent.is_some() && checked.is_none();
        Self {
            stage: if refused(sent_stage_date, stage_date) {
                ProjectStage::Unspecified
            } else {
                stage
            },
            stage_date,
            in_statistics: in_statistics.filter(|_| !refused(sent_statistics_date, statistics_date)),
            statistics_date,
            not_after,
        }
    }
}

pub(super) fn has_event(p: &v1::Project, event: &project_event::Event, date: NaiveDate) -> bool {
    p.events
        .iter()
        .any(|e| e.event.as_ref() == Some(event) && e.date.as_ref().and_then(domain::to_date) == Some(date))
}

pub(super) fn insert_event(p: &mut v1::Project, event: project_event::Event, date: NaiveDate) {
    let at = p
        .events
        .iter()
        .position(|e| e.date.as_ref().and_then(domain::to_date).is_some_and(|d| d > date))
        .unwrap_or(p.events.len());
    p.events.insert(
        at,
        v1::ProjectEvent {
            date: Some(domain::from_date(date)),
            event: Some(event),
        },
    );
}

pub(super) fn last_date_of(p: &v1::Project, is_kind: impl Fn(&project_event::Event) -> bool) -> Option<NaiveDate> {
    p.events
        .iter()
        .filter(|e| e.event.as_ref().is_some_and(&is_kind))
        .filter_map(|e| e.date.as_ref().and_then(domain::to_date))
        .max()
}

/// Applies stage and statistics events to `p`, recording violations on
/// `item`; returns the (year, month) of each event added.
pub(super) fn apply_events(item: &mut Item<'_>, p: &mut v1::Project, req: &EventRequest) -> Vec<(i32, i32)> {
    let mut added = Vec::new();
    let current = ProjectStage::try_from(p.stage).unwrap_or(ProjectStage::Reserve);
    let wanted = req.stage;
    if wanted != ProjectStage::Unspecified && wanted != current {
        let event = project_event::Event::Stage(wanted as i32);
        match req.stage_date {
            Some(date) if has_event(p, &event, date) => {}
            None => item.add("stage_date", "阶段变化时必须填写阶段日期"),
            Some(_) if !domain::stage_move_allowed(current, wanted) => item.add(
                "stage",
                format!(
                    "项目阶段不能从「{}」（{}）变为「{}」（{}）",
                    domain::stage_zh(current),
                    current.as_str_name(),
                    domain::stage_zh(wanted),
                    wanted.as_str_name()
                ),
            ),
            Some(date) => {
                let last = last_date_of(p, |e| matches!(e, project_event::Event::Stage(_)));
                if last.is_some_and(|l| date < l) {
                    item.add(
                        "stage_date",
                        format!("{date} 早于项目上一次阶段变化（{}）", last.unwrap_or(date)),
                    );
                } else if req.not_after.is_some_and(|n| date > n) {
                    item.add("stage_date", format!("{date} 晚于本次报告期"));
                } else {
                    insert_event(p, event, date);
                    added.push((date.year(), date.month() as i32));
                    p.stage = wanted as i32;
                    p.stage_date = Some(domain::from_date(date));
                }
            }
        }
    }
    let flag = p.in_statistics_database.unwrap_or(false);
    if let Some(wanted) = req.in_statistics.filter(|w| *w != flag) {
        let event = project_event::Event::InStatisticsDatabase(wanted);
        match req.statistics_date {
            Some(date) if has_event(p, &event, date) => {}
            None => item.add("statistics_date", "入库状态变化时必须填写入库日期"),
            Some(date) => {
                let last = last_date_of(p, |e| matches!(e, project_event::Event::InStatisticsDatabase(_)));
                if last.is_some_and(|l| date < l) {
                    item.add("statistics_date", format!("{date} 早于上一次入库状态变化"));
                } else if req.not_after.is_some_and(|n| date > n) {
                    item.add("statistics_date", format!("{date} 晚于本次报告期"));
                } else {
                    insert_event(p, event, date);
                    added.push((date.year(), date.month() as i32));
                    p.in_statistics_database = Some(wanted);
                    p.statistics_date = Some(domain::from_date(date));
                }
            }
        }
    }
    added
}
