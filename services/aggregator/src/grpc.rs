//! `citydash.v1.CityService`: the city-wide view for front ends. The current
//! period's overview is served from memory; other reads compute from the
//! read model under a read lock.

use std::pin::Pin;
use std::sync::Arc;

use citydash_proto::v1::{self, city_service_server::CityService};
use citydash_runtime::Error;
use citydash_sector::domain;
use futures::Stream;
use tonic::{Request, Response, Status};

use crate::compute::brief::Language;
use crate::compute::{self, supervision};
use crate::feeds::GrpcSource;
use crate::readstore::ReadStore;
use crate::state::{Aggregator, city_today};

/// The sector services the aggregator follows, by sector, for drill-downs.
pub type Sources = Arc<std::collections::BTreeMap<i32, Arc<GrpcSource>>>;

/// `CityService` over the aggregator state.
pub struct CityGrpc<R> {
    agg: Arc<Aggregator<R>>,
    sources: Sources,
}

impl<R> Clone for CityGrpc<R> {
    fn clone(&self) -> Self {
        Self {
            agg: Arc::clone(&self.agg),
            sources: Arc::clone(&self.sources),
        }
    }
}

impl<R: ReadStore> CityGrpc<R> {
    /// Serves `agg`; drill-downs read live from `sources`.
    pub fn new(agg: Arc<Aggregator<R>>, sources: Sources) -> Self {
        Self { agg, sources }
    }

    /// The aggregator it serves.
    pub fn aggregator(&self) -> &Arc<Aggregator<R>> {
        &self.agg
    }

    /// A requested period checked: `None` (the current one) stays `None`;
    /// an invalid one is refused.
    pub fn checked_period(&self, period: Option<v1::Period>) -> Result<Option<v1::Period>, Status> {
        period.map(|p| self.period(Some(p))).transpose()
    }

    /// The requested period, or the current one; an invalid one is refused.
    fn period(&self, period: Option<v1::Period>) -> Result<v1::Period, Status> {
        match period {
            None => Ok(self.agg.current_period()),
            Some(p) if domain::period_is_valid(&p) => Ok(p),
            Some(p) => Err(Error::invalid("period", format!("{}-{} 不是有效的月份", p.year, p.month)).into()),
        }
    }
}

fn sector_filter(sector: i32) -> Result<Option<i32>, Status> {
    match v1::Sector::try_from(sector) {
        Ok(v1::Sector::Unspecified) => Ok(None),
        Ok(_) => Ok(Some(sector)),
        Err(_) => Err(Error::invalid("sector", format!("未知的部门取值 {sector}")).into()),
    }
}

#[tonic::async_trait]
impl<R: ReadStore> CityService for CityGrpc<R> {
    // GetOverview and WatchOverview are served by `fastpath::FastPath`
    // from the overview encoded once per version; the generated server
    // never routes them here.
    async fn get_overview(
        &self,
        _request: Request<v1::GetOverviewRequest>,
    ) -> Result<Response<v1::GetOverviewResponse>, Status> {
        Err(Status::internal("GetOverview is served by fastpath::FastPath"))
    }

    type WatchOverviewStream = Pin<Box<dyn Stream<Item = Result<v1::WatchOverviewResponse, Status>> + Send + 'static>>;

    async fn watch_overview(
        &self,
        _request: Request<v1::WatchOverviewRequest>,
    ) -> Result<Response<Self::WatchOverviewStream>, Status> {
        Err(Status::internal("WatchOverview is served by fastpath::FastPath"))
    }

    async fn get_funnel(
        &self,
        request: Request<v1::GetFunnelRequest>,
    ) -> Result<Response<v1::GetFunnelResponse>, Status> {
        let req = request.into_inner();
        let period = self.period(req.period)?;
        let sector = sector_filter(req.sector)?;
        let rows = self
            .agg
            .with_model(|m| compute::projects::funnel(m, &period, sector, &req.region_code));
        Ok(Response::new(v1::GetFunnelResponse { rows }))
    }

    async fn list_alerts(
        &self,
        request: Request<v1::ListAlertsRequest>,
    ) -> Result<Response<v1::ListAlertsResponse>, Status> {
        let req = request.into_inner();
        let period = self.period(req.period)?;
        let sector = sector_filter(req.sector)?;
        let filter = compute::alerts::AlertFilter {
            sector,
            region_code: req.region_code,
            responsible_unit: req.responsible_unit,
            color: req.color,
            code: req.code,
        };
        let settings = self.agg.settings();
        let alerts = self
            .agg
            .with_model(|m| compute::alerts::matching(m, settings, compute::as_of(&period), &filter));
        Ok(Response::new(v1::ListAlertsResponse { alerts }))
    }

    async fn get_region_ranking(
        &self,
        request: Request<v1::GetRegionRankingRequest>,
    ) -> Result<Response<v1::GetRegionRankingResponse>, Status> {
        let req = request.into_inner();
        let period = self.period(req.period)?;
        let rankings = self
            .agg
            .with_model(|m| compute::ranking::rankings(m, self.agg.settings(), &period, &req.indicator_code));
        Ok(Response::new(v1::GetRegionRankingResponse { rankings }))
    }

    async fn get_supervision_report(
        &self,
        request: Request<v1::GetSupervisionReportRequest>,
    ) -> Result<Response<v1::GetSupervisionReportResponse>, Status> {
        let date = match request.into_inner().date {
            None => supervision::report_day_on_or_before(city_today()),
            Some(d) => domain::to_date(&d).ok_or_else(|| Error::invalid("date", "不是有效日期"))?,
        };
        let report = self.agg.supervision_report(date).await?;
        Ok(Response::new(v1::GetSupervisionReportResponse { report: Some(report) }))
    }

    async fn list_supervision_reports(
        &self,
        _request: Request<v1::ListSupervisionReportsRequest>,
    ) -> Result<Response<v1::ListSupervisionReportsResponse>, Status> {
        let dates = self.agg.report_dates().await?;
        Ok(Response::new(v1::ListSupervisionReportsResponse { dates }))
    }

    async fn get_sector_project(
        &self,
        request: Request<v1::GetSectorProjectRequest>,
    ) -> Result<Response<v1::GetSectorProjectResponse>, Status> {
        let req = request.into_inner();
        let source = self
            .sources
            .get(&req.sector)
            .ok_or_else(|| Error::invalid("sector", "汇总服务不跟踪该部门的项目"))?;
        let mut client = source.client()?;
        let deadline = std::time::Duration::from_secs(5);
        let mut get = tonic::Request::new(v1::GetProjectRequest { code: req.code.clone() });
        get.set_timeout(deadline);
        let project = client.get_project(get).await?.into_inner().project;
        let mut progress = Vec::new();
        let mut page_token = String::new();
        loop {
            let mut list = tonic::Request::new(v1::ListProgressRequest {
                page_size: 1000,
                page_token,
                project_code: req.code.clone(),
                year: 0,
            });
            list.set_timeout(deadline);
            let page = client.list_progress(list).await?.into_inner();
            progress.extend(page.reports);
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        let responsible_unit_name = project.as_ref().map_or_else(String::new, |p| {
            self.agg.with_model(|m| m.units.name(&p.responsible_unit).to_owned())
        });
        Ok(Response::new(v1::GetSectorProjectResponse {
            project,
            progress,
            responsible_unit_name,
        }))
    }

    async fn get_outlook(
        &self,
        request: Request<v1::GetOutlookRequest>,
    ) -> Result<Response<v1::GetOutlookResponse>, Status> {
        let period = self.period(request.into_inner().period)?;
        let indicators = self
            .agg
            .with_model(|m| compute::indicators::outlooks(m, self.agg.settings(), &period));
        Ok(Response::new(v1::GetOutlookResponse {
            period: Some(period),
            indicators,
        }))
    }

    async fn get_statistics_what_if(
        &self,
        request: Request<v1::GetStatisticsWhatIfRequest>,
    ) -> Result<Response<v1::GetStatisticsWhatIfResponse>, Status> {
        let period = self.period(request.into_inner().period)?;
        Ok(Response::new(self.agg.with_model(|m| {
            compute::whatif::what_if(m, self.agg.settings(), &period)
        })))
    }

    async fn get_trend(&self, request: Request<v1::GetTrendRequest>) -> Result<Response<v1::GetTrendResponse>, Status> {
        let req = request.into_inner();
        let period = self.period(req.period)?;
        let region = if req.region_code.is_empty() {
            self.agg.settings().city_region().to_owned()
        } else {
            req.region_code
        };
        if !self.agg.settings().regions.all().iter().any(|r| r.code == region) {
            return Err(Error::invalid("region_code", format!("未知区域「{region}」")).into());
        }
        let trend = self.agg.with_model(|m| {
            let (_, def) = m
                .definition(&req.indicator_code)
                .ok_or_else(|| Error::invalid("indicator_code", format!("未知指标「{}」", req.indicator_code)))?;
            if def.accumulation != v1::Accumulation::Cumulative as i32 {
                return Err(Error::invalid(
                    "indicator_code",
                    format!("「{}」不是累计指标：没有全年趋势", def.name_zh),
                ));
            }
            Ok(compute::outlook::trend(m, def, &region, &period))
        })?;
        Ok(Response::new(trend))
    }

    async fn get_brief(&self, request: Request<v1::GetBriefRequest>) -> Result<Response<v1::GetBriefResponse>, Status> {
        let req = request.into_inner();
        let period = self.period(req.period)?;
        let language = match req.language.as_str() {
            "" | "zh" | "zh-CN" => Language::Zh,
            "en" => Language::En,
            other => return Err(Error::invalid("language", format!("「{other}」：请用 zh 或 en")).into()),
        };
        let text = self
            .agg
            .with_model(|m| compute::brief::brief(m, self.agg.settings(), &period, language));
        Ok(Response::new(v1::GetBriefResponse {
            period: Some(period),
            text,
            language: if language == Language::En { "en" } else { "zh" }.to_owned(),
        }))
    }
}
