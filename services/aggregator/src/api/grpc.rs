//! `citydash.v1.CityService`: the city-wide view for front ends. The current
//! period's overview is served from memory (by `fastpath`); every other
//! read is a computation over the view on a blocking thread.

use std::pin::Pin;
use std::sync::Arc;

use citydash_proto::v1::{self, city_service_server::CityService};
use citydash_runtime::Error;
use citydash_runtime::paging::{MAX_PAGE_SIZE, Page};
use citydash_sector::domain;
use futures::Stream;
use tonic::{Request, Response, Status};

use crate::compute::brief::Language;
use crate::compute::{self, alerts::AlertFilter};
use crate::readstore::ReadStore;
use crate::reports::Reports;
use crate::sources::{CALL_DEADLINE, SectorLinks};
use crate::view::View;

/// `CityService` over the view.
pub struct CityGrpc<R> {
    view: Arc<View<R>>,
    reports: Arc<Reports<R>>,
    sources: SectorLinks,
}

impl<R> Clone for CityGrpc<R> {
    fn clone(&self) -> Self {
        Self {
            view: Arc::clone(&self.view),
            reports: Arc::clone(&self.reports),
            sources: Arc::clone(&self.sources),
        }
    }
}

impl<R: ReadStore> CityGrpc<R> {
    /// Serves `view` and its `reports`; drill-downs read live from `sources`.
    pub fn new(view: Arc<View<R>>, reports: Arc<Reports<R>>, sources: SectorLinks) -> Self {
        Self { view, reports, sources }
    }

    /// The view it serves.
    pub fn view(&self) -> &Arc<View<R>> {
        &self.view
    }

    /// A requested period checked: `None` (the current one) stays `None`;
    /// an invalid one is refused.
    pub fn checked_period(&self, period: Option<v1::Period>) -> Result<Option<v1::Period>, Status> {
        period.map(|p| self.period(Some(p))).transpose()
    }

    /// The requested period, or the current one; an invalid one is refused.
    fn period(&self, period: Option<v1::Period>) -> Result<v1::Period, Status> {
        match period {
            None => Ok(self.view.current_period()),
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
        let region = req.region_code;
        let rows = self
            .view
            .compute(move |m, _| compute::projects::funnel(m, &period, sector, &region))
            .await?;
        Ok(Response::new(v1::GetFunnelResponse { rows }))
    }

    async fn list_alerts(
        &self,
        request: Request<v1::ListAlertsRequest>,
    ) -> Result<Response<v1::ListAlertsResponse>, Status> {
        let req = request.into_inner();
        let period = self.period(req.period)?;
        let sector = sector_filter(req.sector)?;
        let page = Page::parse_or(req.page_size, &req.page_token, MAX_PAGE_SIZE)?;
        let filter = AlertFilter {
            sector,
            region_code: req.region_code,
            responsible_unit: req.responsible_unit,
            color: req.color,
            code: req.code,
        };
        let alerts = self
            .view
            .compute(move |m, settings| compute::alerts::matching(m, settings, compute::as_of(&period), &filter))
            .await?;
        let total = alerts.len() as i32;
        let (alerts, next_page_token) = page.slice("alerts", alerts)?;
        Ok(Response::new(v1::ListAlertsResponse {
            alerts,
            next_page_token,
            total,
        }))
    }

    async fn get_region_ranking(
        &self,
        request: Request<v1::GetRegionRankingRequest>,
    ) -> Result<Response<v1::GetRegionRankingResponse>, Status> {
        let req = request.into_inner();
        let period = self.period(req.period)?;
        let indicator = req.indicator_code;
        let rankings = self
            .view
            .compute(move |m, settings| compute::ranking::rankings(m, settings, &period, &indicator))
            .await?;
        Ok(Response::new(v1::GetRegionRankingResponse { rankings }))
    }

    async fn get_supervision_report(
        &self,
        request: Request<v1::GetSupervisionReportRequest>,
    ) -> Result<Response<v1::GetSupervisionReportResponse>, Status> {
        let date = match request.into_inner().date {
            None => self.reports.latest_day(),
            Some(d) => domain::to_date(&d).ok_or_else(|| Error::invalid("date", "不是有效日期"))?,
        };
        let report = self.reports.report(date).await?;
        Ok(Response::new(v1::GetSupervisionReportResponse { report: Some(report) }))
    }

    async fn list_supervision_reports(
        &self,
        _request: Request<v1::ListSupervisionReportsRequest>,
    ) -> Result<Response<v1::ListSupervisionReportsResponse>, Status> {
        let dates = self.reports.dates().await?;
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
        let deadline = CALL_DEADLINE;
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
            self.view.read(|m| m.units.name(&p.responsible_unit).to_owned())
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
        let outlook_period = period;
        let indicators = self
            .view
            .compute(move |m, settings| compute::indicators::outlooks(m, settings, &outlook_period))
            .await?;
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
        let answer = self
            .view
            .compute(move |m, settings| compute::whatif::what_if(m, settings, &period))
            .await?;
        Ok(Response::new(answer))
    }

    async fn get_trend(&self, request: Request<v1::GetTrendRequest>) -> Result<Response<v1::GetTrendResponse>, Status> {
        let req = request.into_inner();
        let period = self.period(req.period)?;
        let region = if req.region_code.is_empty() {
            self.view.settings().city_region().to_owned()
        } else {
            req.region_code
        };
        if !self.view.settings().regions.all().iter().any(|r| r.code == region) {
            return Err(Error::invalid("region_code", format!("未知区域「{region}」")).into());
        }
        let indicator = req.indicator_code;
        let trend = self
            .view
            .compute(move |m, _| {
                let (_, def) = m
                    .definition(&indicator)
                    .ok_or_else(|| Error::invalid("indicator_code", format!("未知指标「{indicator}」")))?;
                if def.accumulation != v1::Accumulation::Cumulative as i32 {
                    return Err(Error::invalid(
                        "indicator_code",
                        format!("「{}」不是累计指标：没有全年趋势", def.name_zh),
                    ));
                }
                Ok(compute::outlook::trend(m, def, &region, &period))
            })
            .await??;
        Ok(Response::new(trend))
    }

    async fn get_reporting(
        &self,
        request: Request<v1::GetReportingRequest>,
    ) -> Result<Response<v1::GetReportingResponse>, Status> {
        let req = request.into_inner();
        let period = self.period(req.period)?;
        let sector = sector_filter(req.sector)?;
        let page = Page::parse(req.page_size, &req.page_token)?;
        let today = self.view.clock().today();
        let unit = req.unit;
        let answer = self
            .view
            .compute(move |m, settings| {
                // A unit named by code, registered name or alias; an agency
                // that is not registered by the name its catalog gives.
                let unit = (!unit.is_empty()).then(|| m.units.find(&unit).map_or(unit, |u| u.code.clone()));
                compute::reporting::reporting(m, settings, &period, today, unit.as_deref(), sector)
            })
            .await?;
        let (missing, next_page_token) = page.slice("reporting", answer.missing)?;
        Ok(Response::new(v1::GetReportingResponse {
            period: Some(period),
            as_of: Some(domain::from_date(today)),
            agencies: answer.agencies,
            sectors: answer.sectors,
            total: Some(answer.total),
            overdue_agencies: answer.overdue,
            missing,
            next_page_token,
        }))
    }

    async fn get_brief(&self, request: Request<v1::GetBriefRequest>) -> Result<Response<v1::GetBriefResponse>, Status> {
        let req = request.into_inner();
        let period = self.period(req.period)?;
        let language = match req.language.as_str() {
            "" | "zh" | "zh-CN" => Language::Zh,
            "en" => Language::En,
            other => return Err(Error::invalid("language", format!("「{other}」：请用 zh 或 en")).into()),
        };
        let brief_period = period;
        let today = self.view.clock().today();
        let text = self
            .view
            .compute(move |m, settings| compute::brief::brief(m, settings, &brief_period, language, today))
            .await?;
        Ok(Response::new(v1::GetBriefResponse {
            period: Some(period),
            text,
            language: if language == Language::En { "en" } else { "zh" }.to_owned(),
        }))
    }
}
