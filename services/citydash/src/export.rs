//! `citydash export`: the overview, the alerts, the supervision report, the
//! supervision orders and project lists as XLSX or CSV for the meeting papers (Chinese headers,
//! amounts in 万元), and the brief as Markdown. Everything is read through the
//! public API with the caller's token.

use std::path::PathBuf;

use anyhow::Context as _;
use citydash_proto::v1::{
    self, city_service_client::CityServiceClient, orders_service_client::OrdersServiceClient,
    sector_service_client::SectorServiceClient,
};
use citydash_runtime::auth::AuthedChannel;

use crate::import::values;
pub use citydash_sheets::write::{Out, Table, write};

/// `citydash export`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// What: overview, alerts, supervision, orders (督办单; with --period,
    /// those due that month), whatif (入库推演), projects, brief.
    pub what: String,
    /// Where: .xlsx or .csv (.md for the brief).
    pub out: PathBuf,
    /// The aggregator (or, for projects, the sector service).
    #[arg(long, env = "CITYDASH_URL", default_value = "http://127.0.0.1:50060")]
    pub url: String,
    /// A token (a viewer's is enough).
    #[arg(long, env = "CITYDASH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// The month, as 2026-06; the current period when omitted.
    #[arg(long)]
    pub period: Option<String>,
    /// zh (default) or en, for the brief.
    #[arg(long, default_value = "zh")]
    pub language: String,
    /// For projects: the aggregator whose unit registry names the units
    /// (a project stores its unit's code); codes are written as stored when
    /// it cannot be read.
    #[arg(long, env = "CITYDASH_UNITS_URL", default_value = "http://127.0.0.1:50060")]
    pub units_url: String,
}

/// The registered units, read with the caller's token, or none when the
/// registry cannot be read (the export then shows codes as stored).
async fn registered_units(url: &str, token: Option<&str>) -> citydash_sector::units::Units {
    let read = async {
        let channel = citydash_runtime::client::connect(url, std::time::Duration::from_secs(3)).await?;
        let channel = citydash_runtime::auth::authed(channel, token).map_err(anyhow::Error::msg)?;
        anyhow::Ok(citydash_sector::units::list_all(channel).await?)
    };
    match read.await {
        Ok(units) => citydash_sector::units::Units::new(units),
        Err(e) => {
            tracing::warn!(error = %e, url, "the unit registry could not be read: units are exported as stored");
            citydash_sector::units::Units::default()
        }
    }
}

/// Chinese name of an alert code (enum value).
fn alert_code_zh(code: i32) -> &'static str {
    citydash_aggregator::compute::alerts::code_zh(v1::AlertCode::try_from(code).unwrap_or(v1::AlertCode::Unspecified))
}

fn wan(yuan: i64) -> Out {
    Out::Number(yuan as f64 / 10_000.0)
}

fn opt_percent(v: Option<f64>) -> Out {
    v.map_or(Out::Text("不适用".to_owned()), |v| Out::Number(v * 100.0))
}

fn verdict_zh(v: i32) -> &'static str {
    match v1::Verdict::try_from(v).unwrap_or(v1::Verdict::Unspecified) {
        v1::Verdict::Green => "绿",
        v1::Verdict::Yellow => "黄",
        v1::Verdict::Red => "红",
        _ => "—",
    }
}

fn date_text(d: Option<&v1::Date>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

/// The overview as a table: one row per indicator, with its year-end
/// outlook (the landing at last year's seasonal pace, else at a straight
/// pace).
pub fn overview_table(o: &v1::Overview) -> Table {
    let mut rows = Vec::new();
    let sectors = o.sectors.iter().flat_map(|s| s.indicators.iter());
    for s in o.city_indicators.iter().chain(sectors) {
        let d = s.definition.clone().unwrap_or_default();
        let money = d.unit == "yuan";
        let amount = |v: Option<i64>| match v {
            None => Out::Text("数据缺失".to_owned()),
            Some(v) if money => wan(v),
            Some(v) => Out::Int(v),
        };
        rows.push(vec![
            Out::Text(d.name_zh.clone()),
            Out::Text(if money { "万元".to_owned() } else { d.unit_zh.clone() }),
            amount(s.actual),
            amount(s.target),
            opt_percent(s.official_yoy_growth.or(s.yoy_growth.as_ref().and_then(|r| r.value))),
            opt_percent(s.completion.as_ref().and_then(|r| r.value)),
            Out::Number(s.time_progress * 100.0),
            s.gap_pp.map_or(Out::Text("不适用".to_owned()), Out::Number),
            Out::Text(verdict_zh(s.verdict).to_owned()),
            Out::Text(s.responsible_unit.clone()),
        ]);
        // The year-end outlook (全年落点), where the indicator has one.
        let o = s.outlook;
        let none = || Out::Text("不适用".to_owned());
        let row = rows.last_mut().expect("just pushed");
        row.extend(match o {
            None => vec![none(), none(), none(), none(), none(), none(), none()],
            Some(o) => vec![
                amount(Some(o.remaining.max(0))),
                o.required_monthly.map_or_else(none, |r| amount(Some(r))),
                opt_percent(o.required_growth),
                opt_percent(o.growth_so_far),
                amount(Some(o.seasonal_landing.unwrap_or(o.linear_landing))),
                opt_percent(o.seasonal_share.or(o.linear_share).and_then(|r| r.value)),
                Out::Text(outlook_zh(o.verdict).to_owned()),
            ],
        });
    }
    Table {
        name: "指标完成情况".to_owned(),
        headers: [
            "指标",
            "单位",
            "本期累计",
            "全年目标",
            "同比增长(%)",
            "完成率(%)",
            "时序进度(%)",
            "进度差(百分点)",
            "研判",
            "责任单位",
            "尚需完成",
            "月均需完成",
            "需比上年同期增长(%)",
            "累计增长(%)",
            "预计全年完成",
            "预计占目标(%)",
            "全年落点",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        header_notes: Vec::new(),
    }
}

fn outlook_zh(v: i32) -> &'static str {
    match v1::OutlookVerdict::try_from(v).unwrap_or(v1::OutlookVerdict::Unspecified) {
        v1::OutlookVerdict::OnTrack => "可完成",
        v1::OutlookVerdict::Stretch => "需加压",
        v1::OutlookVerdict::AtRisk => "难完成",
        _ => "—",
    }
}

/// Alerts as a table.
pub fn alerts_table(alerts: &[v1::Alert]) -> Table {
    let rows = alerts
        .iter()
        .map(|a| {
            vec![
                Out::Text(
                    if a.color == v1::AlertColor::Red as i32 {
                        "红"
                    } else {
                        "黄"
                    }
                    .to_owned(),
                ),
                Out::Text(alert_code_zh(a.code).to_owned()),
                Out::Text(citydash_aggregator::compute::sector_zh(a.sector).to_owned()),
                Out::Text(a.region_code.clone()),
                Out::Text(a.responsible_unit.clone()),
                Out::Text(a.subject_code.clone()),
                Out::Text(a.subject_name.clone()),
                Out::Text(a.detail_zh.clone()),
                Out::Text(date_text(a.since.as_ref())),
                Out::Text(date_text(a.red_since.as_ref())),
            ]
        })
        .collect();
    Table {
        name: "滞后预警".to_owned(),
        headers: [
            "颜色",
            "类型",
            "行业",
            "地区",
            "责任单位",
            "编号",
            "名称",
            "说明",
            "起始日期",
            "转红日期",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        header_notes: Vec::new(),
    }
}

/// The statistics what-if as a table, marked as a projection in its name:
/// the three cases, then every started qualifying project outside the
/// database with what it lacks.
pub fn what_if_table(w: &v1::GetStatisticsWhatIfResponse) -> Table {
    let case = |name: &str, c: Option<v1::WhatIfCase>| {
        let c = c.unwrap_or_default();
        vec![
            Out::Text(name.to_owned()),
            Out::Text(String::new()),
            Out::Text(String::new()),
            Out::Int(i64::from(c.added_projects)),
            wan(c.counted_yuan),
            opt_percent(c.completion.as_ref().and_then(|r| r.value)),
            c.gap_pp.map_or(Out::Text("不适用".to_owned()), Out::Number),
            Out::Text(verdict_zh(c.verdict).to_owned()),
            Out::Text(String::new()),
        ]
    };
    let mut rows = vec![
        case("现状（已入库）", w.now),
        case("已具备条件的项目入库", w.with_ready),
        case("全部未入库项目入库", w.with_all),
    ];
    for p in &w.projects {
        let missing: Vec<&str> = p.missing.iter().map(|d| d.name_zh.as_str()).collect();
        rows.push(vec![
            Out::Text(p.code.clone()),
            Out::Text(p.name.clone()),
            Out::Text(p.responsible_unit.clone()),
            Out::Int(i64::from(p.waiting_days)),
            wan(p.invested_yuan),
            Out::Text(if p.ready {
                "已具备".to_owned()
            } else {
                "未具备".to_owned()
            }),
            Out::Text(String::new()),
            Out::Text(String::new()),
            Out::Text(missing.join("、")),
        ]);
    }
    Table {
        name: "入库推演（推演数据，非统计数）".to_owned(),
        headers: [
            "情形/项目编号",
            "项目名称",
            "责任单位",
            "项目数/已开工天数",
            "投资（万元）",
            "完成率(%)/入库条件",
            "进度差(百分点)",
            "研判",
            "缺少资料",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        header_notes: Vec::new(),
    }
}

/// The supervision report as a table.
pub fn supervision_table(r: &v1::SupervisionReport) -> Table {
    let rows = r
        .units
        .iter()
        .map(|u| {
            vec![
                Out::Int(i64::from(u.rank)),
                Out::Text(u.responsible_unit.clone()),
                Out::Int(i64::from(u.open)),
                Out::Int(i64::from(u.red)),
                Out::Int(i64::from(u.new_since_last)),
                Out::Int(i64::from(u.cleared_since_last)),
                Out::Int(i64::from(u.orders_opened)),
                Out::Int(i64::from(u.orders_closed_on_time)),
                Out::Int(i64::from(u.orders_overdue)),
            ]
        })
        .collect();
    Table {
        name: format!("督查通报{}", date_text(r.date.as_ref())),
        headers: [
            "排名",
            "责任单位",
            "未销号预警",
            "其中红色",
            "新增",
            "销号",
            "新开督办单",
            "督办单按期销号",
            "督办单逾期",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        header_notes: Vec::new(),
    }
}

/// The Chinese name of an order's state.
fn order_state_zh(o: &v1::SupervisionOrder) -> &'static str {
    match v1::OrderState::try_from(o.state).unwrap_or(v1::OrderState::Unspecified) {
        v1::OrderState::Open => "待整改",
        v1::OrderState::Planned => "整改中",
        v1::OrderState::Reported => "已报告待核验",
        v1::OrderState::Closed => {
            match v1::OrderClosing::try_from(o.closing).unwrap_or(v1::OrderClosing::Unspecified) {
                v1::OrderClosing::ByData => "数据核验销号",
                v1::OrderClosing::ClearedByData => "数据自动销号",
                v1::OrderClosing::ByHand => "人工销号",
                v1::OrderClosing::Unspecified => "已销号",
            }
        }
        v1::OrderState::Unspecified => "",
    }
}

/// The Chinese name of an order's colour today.
fn order_colour_zh(c: i32) -> &'static str {
    match v1::OrderColor::try_from(c).unwrap_or(v1::OrderColor::Unspecified) {
        v1::OrderColor::Red => "红",
        v1::OrderColor::Yellow => "黄",
        v1::OrderColor::Normal => "正常",
        v1::OrderColor::Unspecified => "",
    }
}

/// Supervision orders as a table, as `ListOrders` orders them (past due first).
pub fn orders_table(orders: &[v1::SupervisionOrder]) -> Table {
    let rows = orders
        .iter()
        .map(|o| {
            let rule = alert_code_zh(o.alert_code);
            vec![
                Out::Text(o.code.clone()),
                Out::Text(order_colour_zh(o.color).to_owned()),
                Out::Text(order_state_zh(o).to_owned()),
                Out::Text(o.responsible_unit.clone()),
                Out::Text(rule.to_owned()),
                Out::Text(format!("{} {}", o.subject_code, o.subject_name)),
                Out::Text(date_text(o.opened.as_ref())),
                Out::Text(date_text(o.plan_due.as_ref())),
                Out::Text(date_text(o.due.as_ref())),
                Out::Text(o.plan.clone()),
                Out::Text(date_text(o.closed.as_ref())),
                Out::Text(if o.closed.is_none() {
                    String::new()
                } else if o.closed_on_time {
                    "是".to_owned()
                } else {
                    "否".to_owned()
                }),
                Out::Text(o.close_reason.clone()),
            ]
        })
        .collect();
    Table {
        name: "督办单".to_owned(),
        headers: [
            "编号",
            "颜色",
            "状态",
            "责任单位",
            "预警类型",
            "督办事项",
            "开具日期",
            "方案报送期限",
            "办结期限",
            "整改方案",
            "销号日期",
            "按期销号",
            "人工销号理由",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        header_notes: Vec::new(),
    }
}

/// Projects as a table.
pub fn projects_table(projects: &[v1::Project], units: &citydash_sector::units::Units) -> Table {
    let rows = projects
        .iter()
        .map(|p| {
            let stage = v1::ProjectStage::try_from(p.stage).unwrap_or(v1::ProjectStage::Unspecified);
            vec![
                Out::Text(p.code.clone()),
                Out::Text(p.name.clone()),
                Out::Text(p.region_code.clone()),
                Out::Text(units.name(&p.responsible_unit).to_owned()),
                wan(p.planned_total_investment_yuan),
                Out::Text(citydash_sector::domain::stage_zh(stage).to_owned()),
                Out::Text(
                    if p.in_statistics_database.unwrap_or(false) {
                        "是"
                    } else {
                        "否"
                    }
                    .to_owned(),
                ),
                Out::Text(date_text(p.planned_start_date.as_ref())),
            ]
        })
        .collect();
    Table {
        name: "项目清单".to_owned(),
        headers: [
            "项目编号",
            "项目名称",
            "所属区域",
            "责任单位",
            "计划总投资(万元)",
            "项目阶段",
            "是否入库",
            "计划开工日期",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
        header_notes: Vec::new(),
    }
}

/// Runs an export.
pub async fn run(args: &ExportArgs, channel: AuthedChannel) -> anyhow::Result<()> {
    let period = args
        .period
        .as_deref()
        .map(values::period)
        .transpose()
        .map_err(anyhow::Error::msg)?
        .map(|(year, month)| v1::Period { year, month });
    let mut city = CityServiceClient::new(channel.clone());
    match args.what.as_str() {
        "overview" => {
            let o = city
                .get_overview(v1::GetOverviewRequest { period })
                .await?
                .into_inner()
                .overview
                .unwrap_or_default();
            write(&overview_table(&o), &args.out)
        }
        "alerts" => {
            // Every page: a large city's list is longer than one answer.
            let mut alerts = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = city
                    .list_alerts(v1::ListAlertsRequest {
                        period,
                        page_token,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                alerts.extend(page.alerts);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            write(&alerts_table(&alerts), &args.out)
        }
        "whatif" => {
            let w = city
                .get_statistics_what_if(v1::GetStatisticsWhatIfRequest { period })
                .await?
                .into_inner();
            write(&what_if_table(&w), &args.out)
        }
        "supervision" => {
            let date = period.map(|p| citydash_sector::domain::from_date(citydash_sector::domain::period_end(&p)));
            let report = city
                .get_supervision_report(v1::GetSupervisionReportRequest { date })
                .await?
                .into_inner()
                .report
                .unwrap_or_default();
            write(&supervision_table(&report), &args.out)
        }
        "orders" => {
            let mut orders = OrdersServiceClient::new(channel);
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = orders
                    .list_orders(v1::ListOrdersRequest {
                        period,
                        page_size: 1000,
                        page_token,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                all.extend(page.orders);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            write(&orders_table(&all), &args.out)
        }
        "projects" => {
            let mut sector = SectorServiceClient::new(channel);
            let mut all = Vec::new();
            let mut page_token = String::new();
            loop {
                let page = sector
                    .list_projects(v1::ListProjectsRequest {
                        page_size: 1000,
                        page_token,
                        ..Default::default()
                    })
                    .await?
                    .into_inner();
                all.extend(page.projects);
                if page.next_page_token.is_empty() {
                    break;
                }
                page_token = page.next_page_token;
            }
            let units = registered_units(&args.units_url, args.token.as_deref()).await;
            write(&projects_table(&all, &units), &args.out)
        }
        "brief" => {
            let brief = city
                .get_brief(v1::GetBriefRequest {
                    period,
                    language: args.language.clone(),
                })
                .await?
                .into_inner();
            let p = brief.period.unwrap_or_default();
            let title = if brief.language == "en" {
                format!("# Economic briefing, January–{} {}\n\n", p.month, p.year)
            } else {
                format!("# {}年1—{}月经济运行情况\n\n", p.year, p.month)
            };
            std::fs::write(&args.out, format!("{title}{}\n", brief.text))
                .with_context(|| format!("writing {}", args.out.display()))
        }
        other => {
            anyhow::bail!("unknown export {other:?}: overview, alerts, supervision, orders, whatif, projects or brief")
        }
    }
}
