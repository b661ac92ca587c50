//! What can be imported: for each kind, the columns a clerk's sheet has
//! (Chinese header, English header, other spellings), which field of which
//! message each fills, how its text is read, and which RPC takes the batch.
//! Items are built with prost-reflect from the same descriptors as the
//! services, so a column maps to a proto field path and nothing else.

use citydash_proto::v1;
use citydash_runtime::auth::AuthedChannel;
use futures::future::BoxFuture;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind as FieldKind, MessageDescriptor, ReflectMessage, Value};
use tonic::Status;

use super::values;

/// How a cell's text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// Free text.
    Text,
    /// Money, to whole yuan (万元/亿元 in the cell or the header).
    Money,
    /// A whole number.
    Int,
    /// A calendar date.
    Date,
    /// A month: 2026-06.
    Period,
    /// 是/否.
    Bool,
    /// A percentage, to basis points.
    Percent,
    /// An enum, by Chinese alias or value name.
    Enum,
    /// A region, by code or name (from the service's catalog).
    Region,
    /// An indicator, by code or Chinese name (from the service's catalog).
    Indicator,
    /// The explanation that confirms every plausibility finding of the row (数据审核说明).
    Confirmation,
}

/// One column of a sheet.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Chinese header, as templates write it.
    pub zh: &'static str,
    /// English header.
    pub en: &'static str,
    /// Other headers clerks use.
    pub aliases: &'static [&'static str],
    /// Field path in the item message (`promotion.signed_date`).
    pub field: &'static str,
    /// How the cell is read.
    pub ty: Ty,
    /// Whether a row must have it.
    pub required: bool,
}

const fn col(zh: &'static str, en: &'static str, field: &'static str, ty: Ty, required: bool) -> Column {
    Column {
        zh,
        en,
        aliases: &[],
        field,
        ty,
        required,
    }
}

const fn alias(c: Column, aliases: &'static [&'static str]) -> Column {
    Column { aliases, ..c }
}

/// Sends one batch request (encoded) and returns the per-item results.
pub type Send = fn(AuthedChannel, Vec<u8>) -> BoxFuture<'static, Result<Vec<v1::WriteResult>, Status>>;

/// An importable kind.
#[derive(Clone, Copy)]
pub struct Kind {
    /// Name on the command line.
    pub name: &'static str,
    /// Chinese name.
    pub zh: &'static str,
    /// Full name of the item message.
    pub item: &'static str,
    /// Full name of the request message.
    pub request: &'static str,
    /// The request's list field.
    pub list: &'static str,
    /// The fields that make an item's key: two rows with the same key in one
    /// file are one record written twice, and the second is refused.
    pub key: &'static [&'static str],
    /// The columns.
    pub columns: &'static [Column],
    /// The RPC.
    pub send: Send,
}

macro_rules! sender {
    ($client:path, $method:ident, $request:ident) => {
        |channel: AuthedChannel, bytes: Vec<u8>| -> BoxFuture<'static, Result<Vec<v1::WriteResult>, Status>> {
            Box::pin(async move {
                let request = v1::$request::decode(bytes.as_slice()).map_err(|e| Status::internal(e.to_string()))?;
                let mut client = <$client>::new(channel);
                Ok(client.$method(request).await?.into_inner().results)
            })
        }
    };
}

use Ty::*;

const REGION: Column = alias(
    col("所属区域", "region", "region_code", Region, true),
    &["区域", "地区", "region_code"],
);
const UNIT: Column = alias(
    col("责任单位", "responsible unit", "responsible_unit", Text, true),
    &["responsible_unit"],
);
const STAGE: Column = alias(col("项目阶段", "stage", "stage", Enum, false), &["阶段"]);
const STAGE_DATE: Column = alias(
    col("阶段日期", "stage date", "stage_date", Date, false),
    &["stage_date", "开工日期"],
);
const IN_STATS: Column = alias(
    col("是否入库", "in statistics", "in_statistics_database", Bool, false),
    &["入库"],
);
const STATS_DATE: Column = alias(
    col("入库日期", "statistics date", "statistics_date", Date, false),
    &["statistics_date"],
);
const EXPLANATION: Column = alias(
    col("审核说明", "explanation", "confirmations", Confirmation, false),
    &["数据说明", "异常说明", "审核意见"],
);
const PERIOD: Column = alias(
    col("报告期", "period", "period", Period, true),
    &["月份", "统计期", "时间"],
);

/// Every importable kind.
pub const KINDS: &[Kind] = &[
    Kind {
        name: "projects",
        zh: "项目",
        item: "citydash.v1.Project",
        request: "citydash.v1.UpsertProjectsRequest",
        list: "projects",
        key: &["code"],
        columns: &[
            alias(col("项目编号", "code", "code", Text, true), &["编号", "项目代码"]),
            alias(col("项目名称", "name", "name", Text, true), &["名称"]),
            REGION,
            UNIT,
            alias(
                col(
                    "计划总投资",
                    "planned total investment",
                    "planned_total_investment_yuan",
                    Money,
                    true,
                ),
                &["总投资"],
            ),
            alias(
                col("计划开工日期", "planned start", "planned_start_date", Date, false),
                &["计划开工"],
            ),
            alias(
                col(
                    "计划竣工日期",
                    "planned completion",
                    "planned_completion_date",
                    Date,
                    false,
                ),
                &["计划竣工"],
            ),
            STAGE,
            STAGE_DATE,
            IN_STATS,
            STATS_DATE,
            col("招商签约日期", "contract signed", "promotion.signed_date", Date, false),
            col("投资方", "investor", "promotion.investor", Text, false),
            col(
                "合同投资额",
                "contracted investment",
                "promotion.contracted_investment_yuan",
                Money,
                false,
            ),
        ],
        send: sender!(
            v1::sector_service_client::SectorServiceClient<AuthedChannel>,
            upsert_projects,
            UpsertProjectsRequest
        ),
    },
    Kind {
        name: "progress",
        zh: "月度进度",
        item: "citydash.v1.ProgressReport",
        request: "citydash.v1.ReportProgressRequest",
        list: "reports",
        key: &["project_code", "period"],
        columns: &[
            alias(
                col("项目编号", "project code", "project_code", Text, true),
                &["编号", "项目代码"],
            ),
            PERIOD,
            alias(
                col(
                    "当月完成投资",
                    "investment completed",
                    "investment_completed_yuan",
                    Money,
                    true,
                ),
                &["完成投资", "本月完成投资"],
            ),
            alias(
                col("当月到位资金", "funds arrived", "funds_arrived_yuan", Money, false),
                &["到位资金"],
            ),
            STAGE,
            STAGE_DATE,
            IN_STATS,
            STATS_DATE,
            alias(col("数据状态", "status", "status", Enum, false), &["状态"]),
            alias(col("备注", "note", "note", Text, false), &["说明"]),
            EXPLANATION,
        ],
        send: sender!(
            v1::sector_service_client::SectorServiceClient<AuthedChannel>,
            report_progress,
            ReportProgressRequest
        ),
    },
    Kind {
        name: "indicators",
        zh: "指标",
        item: "citydash.v1.IndicatorValue",
        request: "citydash.v1.ReportIndicatorsRequest",
        list: "values",
        key: &["indicator_code", "region_code", "period"],
        columns: &[
            alias(
                col("指标", "indicator", "indicator_code", Indicator, true),
                &["指标名称", "指标代码"],
            ),
            alias(REGION, &["区域", "地区", "region_code"]),
            PERIOD,
            alias(
                col("累计值", "value", "value", Money, true),
                &["本期累计", "累计", "累计完成", "数值", "完成值"],
            ),
            alias(col("数据状态", "status", "status", Enum, false), &["状态"]),
            alias(
                col("官方增速", "official growth", "official_yoy_growth_bp", Percent, false),
                &["同比增长", "增速"],
            ),
            EXPLANATION,
        ],
        send: sender!(
            v1::sector_service_client::SectorServiceClient<AuthedChannel>,
            report_indicators,
            ReportIndicatorsRequest
        ),
    },
    Kind {
        name: "targets",
        zh: "年度目标",
        item: "citydash.v1.AnnualTarget",
        request: "citydash.v1.SetTargetsRequest",
        list: "targets",
        key: &["indicator_code", "region_code", "year"],
        columns: &[
            alias(
                col("指标", "indicator", "indicator_code", Indicator, true),
                &["指标名称", "指标代码"],
            ),
            REGION,
            alias(col("年度", "year", "year", Int, true), &["年份"]),
            alias(col("目标值", "target", "value", Money, true), &["全年目标", "年度目标"]),
            alias(
                col("责任单位", "responsible unit", "responsible_unit", Text, false),
                &["responsible_unit"],
            ),
        ],
        send: sender!(
            v1::sector_service_client::SectorServiceClient<AuthedChannel>,
            set_targets,
            SetTargetsRequest
        ),
    },
    Kind {
        name: "bases",
        zh: "特色种养殖基地",
        item: "citydash.v1.ProductionBase",
        request: "citydash.v1.UpsertProductionBasesRequest",
        list: "bases",
        key: &["code"],
        columns: &[
            col("基地编号", "code", "code", Text, true),
            col("基地名称", "name", "name", Text, true),
            REGION,
            UNIT,
            alias(col("产品", "product", "product", Text, true), &["品种"]),
            alias(
                col("面积（亩）", "area (mu)", "area_mu", Int, false),
                &["面积", "种植面积"],
            ),
            alias(col("存栏（头）", "head count", "head_count", Int, false), &["存栏"]),
            alias(
                col("产值", "output value", "output_value_yuan", Money, false),
                &["年产值"],
            ),
            col("建立年份", "established", "established_year", Int, false),
        ],
        send: sender!(
            v1::agriculture_service_client::AgricultureServiceClient<AuthedChannel>,
            upsert_production_bases,
            UpsertProductionBasesRequest
        ),
    },
    Kind {
        name: "leading-enterprises",
        zh: "农业龙头企业",
        item: "citydash.v1.LeadingEnterprise",
        request: "citydash.v1.UpsertLeadingEnterprisesRequest",
        list: "enterprises",
        key: &["code"],
        columns: &[
            alias(col("企业编号", "code", "code", Text, true), &["统一社会信用代码"]),
            col("企业名称", "name", "name", Text, true),
            REGION,
            UNIT,
            alias(col("级别", "level", "level", Enum, true), &["认定级别"]),
            col("主要产品", "main products", "main_products", Text, false),
            alias(
                col("年销售收入", "annual revenue", "annual_revenue_yuan", Money, false),
                &["销售收入"],
            ),
            col("认定年份", "recognized", "recognized_year", Int, false),
        ],
        send: sender!(
            v1::agriculture_service_client::AgricultureServiceClient<AuthedChannel>,
            upsert_leading_enterprises,
            UpsertLeadingEnterprisesRequest
        ),
    },
    Kind {
        name: "enterprises",
        zh: "工业企业名录",
        item: "citydash.v1.IndustrialEnterprise",
        request: "citydash.v1.UpsertEnterprisesRequest",
        list: "enterprises",
        key: &["code"],
        columns: &[
            alias(col("企业编号", "code", "code", Text, true), &["统一社会信用代码"]),
            col("企业名称", "name", "name", Text, true),
            REGION,
            UNIT,
            alias(col("行业", "industry", "industry", Text, false), &["所属行业"]),
            alias(col("规模状态", "scale status", "scale_status", Enum, true), &["类型"]),
            col("达规日期", "reached scale", "reached_scale_date", Date, false),
            col("预计达规年份", "expected year", "expected_year", Int, false),
        ],
        send: sender!(
            v1::industry_service_client::IndustryServiceClient<AuthedChannel>,
            upsert_enterprises,
            UpsertEnterprisesRequest
        ),
    },
    Kind {
        name: "enterprise-months",
        zh: "企业月度数据",
        item: "citydash.v1.EnterpriseMonth",
        request: "citydash.v1.ReportEnterpriseMonthsRequest",
        list: "months",
        key: &["enterprise_code", "period"],
        columns: &[
            alias(
                col("企业编号", "enterprise code", "enterprise_code", Text, true),
                &["统一社会信用代码"],
            ),
            PERIOD,
            REGION,
            UNIT,
            alias(
                col("当月主营业务收入", "main revenue", "main_revenue_yuan", Money, true),
                &["主营业务收入"],
            ),
            alias(
                col("当月产值", "output value", "output_value_yuan", Money, false),
                &["工业产值", "产值"],
            ),
        ],
        send: sender!(
            v1::industry_service_client::IndustryServiceClient<AuthedChannel>,
            report_enterprise_months,
            ReportEnterpriseMonthsRequest
        ),
    },
    Kind {
        name: "scenic-areas",
        zh: "景区",
        item: "citydash.v1.ScenicArea",
        request: "citydash.v1.UpsertScenicAreasRequest",
        list: "areas",
        key: &["code"],
        columns: &[
            col("景区编号", "code", "code", Text, true),
            col("景区名称", "name", "name", Text, true),
            REGION,
            UNIT,
            alias(col("当前等级", "level", "level", Enum, true), &["等级"]),
            alias(
                col("创建目标", "target level", "target_level", Enum, false),
                &["目标等级"],
            ),
            col("目标年份", "target year", "target_year", Int, false),
        ],
        send: sender!(
            v1::tourism_service_client::TourismServiceClient<AuthedChannel>,
            upsert_scenic_areas,
            UpsertScenicAreasRequest
        ),
    },
    Kind {
        name: "scenic-months",
        zh: "景区月度数据",
        item: "citydash.v1.ScenicMonth",
        request: "citydash.v1.ReportScenicMonthsRequest",
        list: "months",
        key: &["scenic_area_code", "period"],
        columns: &[
            col("景区编号", "scenic area code", "scenic_area_code", Text, true),
            PERIOD,
            REGION,
            UNIT,
            alias(
                col("当月接待游客（人次）", "visitors", "visitors", Int, true),
                &["接待游客", "游客人次"],
            ),
            alias(
                col("当月收入", "revenue", "revenue_yuan", Money, false),
                &["旅游收入", "收入"],
            ),
        ],
        send: sender!(
            v1::tourism_service_client::TourismServiceClient<AuthedChannel>,
            report_scenic_months,
            ReportScenicMonthsRequest
        ),
    },
    Kind {
        name: "tasks",
        zh: "百日会战与回头看任务",
        item: "citydash.v1.WelfareTask",
        request: "citydash.v1.UpsertTasksRequest",
        list: "tasks",
        key: &["code"],
        columns: &[
            col("任务编号", "code", "code", Text, true),
            alias(col("任务名称", "title", "title", Text, true), &["任务内容"]),
            REGION,
            UNIT,
            alias(col("类型", "kind", "kind", Enum, true), &["任务类型"]),
            col("所属战役", "campaign", "campaign", Text, false),
            col("开始日期", "open date", "open_date", Date, true),
            alias(col("完成期限", "deadline", "deadline", Date, true), &["期限"]),
            alias(col("状态", "status", "status", Enum, true), &["完成状态"]),
            col("完成日期", "done date", "done_date", Date, false),
        ],
        send: sender!(
            v1::welfare_service_client::WelfareServiceClient<AuthedChannel>,
            upsert_tasks,
            UpsertTasksRequest
        ),
    },
];

/// The kind called `name`.
pub fn kind(name: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.name == name)
}

/// Chinese spellings of enum values clerks write, by enum value name.
const ENUM_ALIASES: &[(&str, &[&str])] = &[
    ("PROJECT_STAGE_RESERVE", &["储备", "项目储备"]),
    ("PROJECT_STAGE_DECLARED", &["已申报", "申报"]),
    ("PROJECT_STAGE_FUNDED", &["资金已下达", "资金下达", "已下达"]),
    ("PROJECT_STAGE_STARTED", &["已开工", "开工", "在建", "复工"]),
    ("PROJECT_STAGE_SUSPENDED", &["停工", "已停工"]),
    ("PROJECT_STAGE_COMPLETED", &["已竣工", "竣工"]),
    ("PROJECT_STAGE_IN_PRODUCTION", &["已投产", "投产", "竣工投产"]),
    ("VALUE_STATUS_PROVISIONAL", &["初步预计", "预计", "初步"]),
    ("VALUE_STATUS_FINAL", &["正式", "最终", "终审"]),
    ("ENTERPRISE_LEVEL_NATIONAL", &["国家级"]),
    ("ENTERPRISE_LEVEL_PROVINCIAL", &["省级"]),
    ("ENTERPRISE_LEVEL_MUNICIPAL", &["市级"]),
    ("SCALE_STATUS_ABOVE_SCALE", &["规上", "规上企业", "规模以上"]),
    ("SCALE_STATUS_CANDIDATE", &["培育", "达规培育", "后备", "升规培育"]),
    ("SCENIC_LEVEL_NONE", &["未评级", "无"]),
    ("SCENIC_LEVEL_A1", &["1A", "A"]),
    ("SCENIC_LEVEL_A2", &["2A", "AA"]),
    ("SCENIC_LEVEL_A3", &["3A", "AAA"]),
    ("SCENIC_LEVEL_A4", &["4A", "AAAA"]),
    ("SCENIC_LEVEL_A5", &["5A", "AAAAA"]),
    ("TASK_KIND_CAMPAIGN", &["百日会战", "会战任务"]),
    ("TASK_KIND_RECTIFICATION", &["回头看", "整改", "整改事项"]),
    ("TASK_STATUS_OPEN", &["未开始", "待办"]),
    ("TASK_STATUS_IN_PROGRESS", &["进行中", "推进中"]),
    ("TASK_STATUS_DONE", &["已完成", "完成", "已销号"]),
];

/// The descriptors of every citydash message.
pub fn pool() -> &'static DescriptorPool {
    citydash_proto::descriptor_pool()
}

/// A message descriptor by full name.
pub fn message(name: &str) -> MessageDescriptor {
    pool().get_message_by_name(name).expect("a citydash message")
}

/// Regions and indicators a service knows, to read names as codes.
#[derive(Debug, Default, Clone)]
pub struct Lookup {
    /// (code, Chinese name, English name).
    pub regions: Vec<(String, String, String)>,
    /// (code, Chinese name, unit).
    pub indicators: Vec<(String, String, String)>,
}

impl Lookup {
    /// From a service's catalog.
    pub fn from_catalog(c: &v1::GetCatalogResponse) -> Self {
        Self {
            regions: c
                .regions
                .iter()
                .map(|r| (r.code.clone(), r.name_zh.clone(), r.name_en.clone()))
                .collect(),
            indicators: c
                .indicators
                .iter()
                .map(|d| (d.code.clone(), d.name_zh.clone(), d.unit.clone()))
                .collect(),
        }
    }
}

/// Reads a cell for `column` into a protobuf value of field `field_kind`.
/// `unit` is a money unit taken from the header (万元, 亿元) for bare numbers.
/// A refusal is in Chinese and shows the cell as the clerk typed it, in the
/// sheet's own unit.
pub fn read(column: &Column, text: &str, unit: &str, field_kind: &FieldKind, lookup: &Lookup) -> Result<Value, String> {
    let t = values::normalize(text);
    let with_unit = |t: &str| {
        if !unit.is_empty() && t.chars().last().is_some_and(|c| c.is_ascii_digit()) {
            format!("{t}{unit}")
        } else {
            t.to_owned()
        }
    };
    let in_unit = if unit.is_empty() {
        String::new()
    } else {
        format!("（{unit}）")
    };
    let not_negative = |v: i64| {
        if v < 0 {
            Err(format!("「{text}」{in_unit}不能为负数"))
        } else {
            Ok(v)
        }
    };
    Ok(match column.ty {
        // A line break typed in a cell (Alt+Enter) or a tab is a space: the
        // service refuses control characters in every text.
        Text => Value::String(
            t.split(['\r', '\n', '\t'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        Money => Value::I64(not_negative(values::money(&with_unit(&t))?)?),
        Int => {
            let n = not_negative(values::integer(&t)?)?;
            match field_kind {
                FieldKind::Int32 => Value::I32(i32::try_from(n).map_err(|_| format!("「{text}」超出范围"))?),
                _ => Value::I64(n),
            }
        }
        Percent => Value::I32(values::basis_points(&t)?),
        Bool => Value::Bool(values::yes_no(&t)?),
        Date => {
            let d = values::date(&t)?;
            let mut m = DynamicMessage::new(message("citydash.v1.Date"));
            m.set_field_by_name("year", Value::I32(chrono::Datelike::year(&d)));
            m.set_field_by_name("month", Value::I32(chrono::Datelike::month(&d) as i32));
            m.set_field_by_name("day", Value::I32(chrono::Datelike::day(&d) as i32));
            Value::Message(m)
        }
        Period => {
            let (y, mo) = values::period(&t)?;
            let mut m = DynamicMessage::new(message("citydash.v1.Period"));
            m.set_field_by_name("year", Value::I32(y));
            m.set_field_by_name("month", Value::I32(mo));
            Value::Message(m)
        }
        Enum => {
            let FieldKind::Enum(e) = field_kind else {
                return Err("不是枚举列".to_owned());
            };
            let upper = t.to_uppercase().replace([' ', '-'], "_");
            let by_alias = ENUM_ALIASES
                .iter()
                .find(|(_, aliases)| aliases.iter().any(|a| a.eq_ignore_ascii_case(&t)))
                .map(|(name, _)| *name);
            let value = e
                .values()
                .find(|v| Some(v.name()) == by_alias || v.name() == upper || v.name().ends_with(&format!("_{upper}")));
            match value {
                Some(v) if v.number() != 0 => Value::EnumNumber(v.number()),
                _ => {
                    let choices: Vec<&str> = ENUM_ALIASES
                        .iter()
                        .filter(|(name, _)| e.get_value_by_name(name).is_some())
                        .map(|(_, aliases)| aliases[0])
                        .collect();
                    return Err(format!("「{text}」不是可选值，请填写：{}", choices.join("、")));
                }
            }
        }
        Region => {
            let found = lookup
                .regions
                .iter()
                .find(|(code, zh, en)| *code == t || *zh == t || en.eq_ignore_ascii_case(&t));
            // Unknown: pass it on; the service refuses it with the closest names.
            Value::String(found.map_or(t, |(code, _, _)| code.clone()))
        }
        Confirmation => Value::List(vec![Value::Message(confirmation(&t))]),
        Indicator => {
            let found = lookup.indicators.iter().find(|(code, zh, _)| *code == t || *zh == t);
            Value::String(found.map_or(t, |(code, _, _)| code.clone()))
        }
    })
}

/// A confirmation of every plausibility finding of an item, with `explanation`.
pub fn confirmation(explanation: &str) -> DynamicMessage {
    let mut m = DynamicMessage::new(message("citydash.v1.PlausibilityConfirmation"));
    m.set_field_by_name("explanation", Value::String(explanation.to_owned()));
    m
}

/// Sets `value` at the dotted `path` of `msg`, creating nested messages.
pub fn set_path(msg: &mut DynamicMessage, path: &str, value: Value) -> Result<(), String> {
    match path.split_once('.') {
        None => {
            msg.descriptor()
                .get_field_by_name(path)
                .ok_or_else(|| format!("没有字段 {path}"))?;
            msg.set_field_by_name(path, value);
            Ok(())
        }
        Some((head, rest)) => {
            let field = msg
                .descriptor()
                .get_field_by_name(head)
                .ok_or_else(|| format!("没有字段 {head}"))?;
            match msg.get_field_mut(&field) {
                Value::Message(inner) => set_path(inner, rest, value),
                _ => Err(format!("{head} 不是消息字段")),
            }
        }
    }
}

/// The value at the dotted `path` of `msg`, if set.
pub fn get_path(msg: &DynamicMessage, path: &str) -> Option<Value> {
    match path.split_once('.') {
        None => msg.get_field_by_name(path).map(std::borrow::Cow::into_owned),
        Some((head, rest)) => match msg.get_field_by_name(head)?.as_ref() {
            Value::Message(inner) => get_path(inner, rest),
            _ => None,
        },
    }
}

/// The protobuf kind of the field at `path` of `desc`.
pub fn field_kind(desc: &MessageDescriptor, path: &str) -> Option<FieldKind> {
    match path.split_once('.') {
        None => desc.get_field_by_name(path).map(|f| f.kind()),
        Some((head, rest)) => match desc.get_field_by_name(head)?.kind() {
            FieldKind::Message(inner) => field_kind(&inner, rest),
            _ => None,
        },
    }
}

/// The encoded batch request of `kind` with `items`, changing only the
/// fields in `mask` (the columns the file has): a column the file lacks
/// keeps every stored value, a blank cell of a column it has clears one.
pub fn request(
    kind: &Kind,
    request_id: &str,
    validate_only: bool,
    items: Vec<DynamicMessage>,
    mask: &[&str],
) -> Vec<u8> {
    let mut req = DynamicMessage::new(message(kind.request));
    req.set_field_by_name("request_id", Value::String(request_id.to_owned()));
    req.set_field_by_name("validate_only", Value::Bool(validate_only));
    let mut paths = DynamicMessage::new(message("google.protobuf.FieldMask"));
    paths.set_field_by_name(
        "paths",
        Value::List(mask.iter().map(|p| Value::String((*p).to_owned())).collect()),
    );
    req.set_field_by_name("update_mask", Value::Message(paths));
    req.set_field_by_name(kind.list, Value::List(items.into_iter().map(Value::Message).collect()));
    req.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_names_a_field_of_its_message() {
        for k in KINDS {
            let desc = message(k.item);
            for c in k.columns {
                assert!(field_kind(&desc, c.field).is_some(), "{} {}", k.name, c.field);
            }
            let req = message(k.request);
            assert!(req.get_field_by_name(k.list).is_some(), "{}", k.name);
        }
        for (name, _) in ENUM_ALIASES {
            assert!(
                pool().all_enums().any(|e| e.get_value_by_name(name).is_some()),
                "{name}"
            );
        }
    }
}
