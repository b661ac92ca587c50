//! The social-welfare sector (民生 / 脱贫攻坚: 乡村振兴局, 民政局, 人社局 …):
//! the shared sector contract plus campaign tasks (百日会战) and look-back
//! rectification items (回头看), each with a responsible unit, a deadline and
//! a status. Livelihood projects (hospital, kindergarten, school) are
//! ordinary projects; employment and social security are indicators.

use citydash_proto::v1::{TaskKind, TaskStatus, WelfareTask};
use citydash_sector::spec::IndicatorSpec;
use citydash_sector::store::Index;
use citydash_sector::validate::Item;

/// The welfare indicator catalog.
pub const CATALOG: &[IndicatorSpec] = &[
    IndicatorSpec::cumulative(
        "welfare.campaign_tasks_done",
        "百日会战任务完成",
        "Campaign tasks done",
        "count",
        "项",
    ),
    IndicatorSpec::cumulative(
        "welfare.rectification_closed",
        "回头看整改销号",
        "Rectifications closed",
        "count",
        "项",
    ),
    IndicatorSpec::cumulative(
        "welfare.new_urban_jobs",
        "城镇新增就业",
        "New urban jobs",
        "person",
        "人",
    ),
    IndicatorSpec::level(
        "welfare.pension_insured",
        "城乡居民养老保险参保",
        "Pension insured",
        "person",
        "人",
    ),
    IndicatorSpec::level(
        "welfare.monitored_households",
        "防返贫监测户",
        "Monitored households",
        "household",
        "户",
    )
    .lower_is_better(),
];

citydash_sector::entity!(
    /// Campaign tasks and rectification items.
    Tasks: WelfareTask in tasks, checked by task
);

fn task(t: &WelfareTask, item: &mut Item<'_>) {
    item.text("title", &t.title);
    item.optional_text("campaign", &t.campaign);
    if let Some(TaskKind::Unspecified) = item.known_enum::<TaskKind>("kind", t.kind) {
        item.add("kind", "必填：百日会战任务或回头看整改事项");
    }
    let open = item.required_date("open_date", t.open_date.as_ref());
    let deadline = item.required_date("deadline", t.deadline.as_ref());
    let done = item.fact_date("done_date", t.done_date.as_ref());
    if let (Some(o), Some(d)) = (open, deadline)
        && d < o
    {
        item.add("deadline", format!("完成期限 {d} 早于开始日期 {o}"));
    }
    match item.known_enum::<TaskStatus>("status", t.status) {
        Some(TaskStatus::Unspecified) => item.add("status", "必填，不能为空"),
        Some(TaskStatus::Done) if t.done_date.is_none() => item.add("done_date", "已完成的任务必须填写完成日期"),
        Some(TaskStatus::Open | TaskStatus::InProgress) if t.done_date.is_some() => {
            item.add("done_date", "只有已完成的任务才填写完成日期")
        }
        _ => {}
    }
    if let (Some(o), Some(d)) = (open, done)
        && d < o
    {
        item.add("done_date", format!("任务不能在开始（{o}）之前完成（{d}）"));
    }
}

citydash_sector::sector_service! {
    /// The social-welfare sector.
    Welfare: Welfare, catalog CATALOG;
    WelfareService, WelfareServiceServer, welfare_service_server;
    Tasks {
        upsert_tasks(UpsertTasksRequest) -> UpsertTasksResponse { tasks };
        list_tasks(ListTasksRequest) -> ListTasksResponse { tasks }
            filter |r| Index { region: r.region_code.clone(), unit: r.responsible_unit.clone(), ..Index::default() };
    }
}
