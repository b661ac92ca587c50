//! The industry sector (工信局/经信局): the shared sector contract plus the
//! register of industrial enterprises, above-scale (规上企业) and candidates
//! approaching the 20,000,000-yuan line (达规升规), with their monthly main
//! revenue and output value. Key industrial projects completing and going
//! into production (竣工投产) are ordinary projects of the shared contract.

use citydash_proto::v1::{EnterpriseMonth, IndustrialEnterprise, ScaleStatus};
use citydash_sector::spec::IndicatorSpec;
use citydash_sector::store::Index;
use citydash_sector::validate::Item;

/// Main revenue a year at which an industrial enterprise is above scale, yuan.
pub const ABOVE_SCALE_REVENUE_YUAN: i64 = 20_000_000;

/// The industry indicator catalog.
pub const CATALOG: &[IndicatorSpec] = &[
    IndicatorSpec::cumulative(
        "industry.above_scale_value_added",
        "规上工业增加值",
        "Above-scale value added",
        "yuan",
        "元",
    ),
    IndicatorSpec::cumulative(
        "industry.above_scale_output",
        "规上工业总产值",
        "Above-scale output",
        "yuan",
        "元",
    ),
    IndicatorSpec::cumulative(
        "industry.main_revenue",
        "规上工业主营业务收入",
        "Above-scale main revenue",
        "yuan",
        "元",
    ),
    IndicatorSpec::level(
        "industry.above_scale_enterprises",
        "规上工业企业",
        "Above-scale enterprises",
        "count",
        "家",
    ),
    IndicatorSpec::cumulative(
        "industry.new_above_scale",
        "新增规上工业企业",
        "New above-scale enterprises",
        "count",
        "家",
    ),
];

citydash_sector::entity!(
    /// The register of industrial enterprises.
    Enterprises: IndustrialEnterprise in enterprises, checked by enterprise
);
citydash_sector::entity!(
    /// Enterprises' monthly revenue and output.
    EnterpriseMonths: EnterpriseMonth in months, monthly enterprise_code of Enterprises, checked by enterprise_month
);

fn enterprise(e: &IndustrialEnterprise, item: &mut Item<'_>) {
    item.text("name", &e.name);
    item.optional_text("industry", &e.industry);
    let reached = item.fact_date("reached_scale_date", e.reached_scale_date.as_ref());
    match item.known_enum::<ScaleStatus>("scale_status", e.scale_status) {
        Some(ScaleStatus::Unspecified) => item.add("scale_status", "必填：规上企业或达规培育企业"),
        Some(ScaleStatus::Candidate) if reached.is_some() => {
            item.add("reached_scale_date", "培育企业尚未达规；已达规请标为规上企业")
        }
        Some(ScaleStatus::AboveScale) if e.expected_year != 0 => {
            item.add("expected_year", "只有培育企业填写预计达规年份")
        }
        _ => {}
    }
    item.optional_year("expected_year", e.expected_year);
}

fn enterprise_month(m: &EnterpriseMonth, item: &mut Item<'_>) {
    item.reported_period("period", m.period.as_ref());
    item.non_negative("main_revenue_yuan", m.main_revenue_yuan);
    item.non_negative("output_value_yuan", m.output_value_yuan);
}

citydash_sector::sector_service! {
    /// The industry sector.
    Industry: Industry, catalog CATALOG;
    IndustryService, IndustryServiceServer, industry_service_server;
    Enterprises {
        upsert_enterprises(UpsertEnterprisesRequest) -> UpsertEnterprisesResponse { enterprises };
        list_enterprises(ListEnterprisesRequest) -> ListEnterprisesResponse { enterprises }
            filter |r| Index { region: r.region_code.clone(), ..Index::default() };
    }
    EnterpriseMonths {
        report_enterprise_months(ReportEnterpriseMonthsRequest) -> ReportEnterpriseMonthsResponse { months };
        list_enterprise_months(ListEnterpriseMonthsRequest) -> ListEnterpriseMonthsResponse { months }
            filter |r| Index { parent: r.enterprise_code.clone(), year: r.year, ..Index::default() };
    }
}
