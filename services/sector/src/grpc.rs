//! The gRPC face of the engine: `citydash.v1.SectorService`, the same for
//! every sector. Generated types stop here; each handler validates, calls the
//! engine and maps its error through the runtime's one table.

use std::pin::Pin;

use citydash_proto::v1::{self, sector_service_server::SectorService};
use citydash_runtime::{Error, Identity};
use futures::Stream;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::engine::{Engine, FeedItem};
use crate::plan;
use crate::records;
use crate::store::{Index, Store, StoreError, StoredRecord};

/// `SectorService` over an engine.
pub struct SectorGrpc<S> {
    engine: Engine<S>,
}

impl<S: Store> SectorGrpc<S> {
    /// Serves `engine`.
    pub fn new(engine: Engine<S>) -> Self {
        Self { engine }
    }
}

fn lock_to_proto(l: crate::store::PeriodLock) -> v1::PeriodLock {
    v1::PeriodLock {
        period: Some(v1::Period {
            year: l.year,
            month: l.month,
        }),
        locked_by: l.locked_by,
        reason: l.reason,
        lock_time: Some(records::timestamp(l.locked_at)),
    }
}

impl<S: Store> SectorGrpc<S> {
    /// A page of one record kind, decoded: the items and the next page token.
    async fn page<T>(
        &self,
        kind: &str,
        filter: Index,
        (page_size, page_token): (i32, &str),
        decode: fn(&StoredRecord) -> Result<T, StoreError>,
    ) -> Result<(Vec<T>, String), Status> {
        let page = self.engine.list(kind, filter, page_size, page_token).await?;
        let items = page
            .items
            .iter()
            .map(|r| decode(r).map_err(|e| Status::from(Error::from(e))))
            .collect::<Result<_, _>>()?;
        Ok((items, page.next_page_token))
    }
}

#[tonic::async_trait]
impl<S: Store> SectorService for SectorGrpc<S> {
    #[tracing::instrument(skip_all, fields(items = request.get_ref().projects.len()))]
    async fn upsert_projects(
        &self,
        request: Request<v1::UpsertProjectsRequest>,
    ) -> Result<Response<v1::UpsertProjectsResponse>, Status> {
        let results = self
            .engine
            .handle(Identity::with_message(request), |r| {
                Box::new(plan::UpsertProjects(&r.projects))
            })
            .await?;
        Ok(Response::new(v1::UpsertProjectsResponse { results }))
    }

    #[tracing::instrument(skip_all, fields(items = request.get_ref().reports.len()))]
    async fn report_progress(
        &self,
        request: Request<v1::ReportProgressRequest>,
    ) -> Result<Response<v1::ReportProgressResponse>, Status> {
        let results = self
            .engine
            .handle(Identity::with_message(request), |r| {
                Box::new(plan::ReportProgress(&r.reports))
            })
            .await?;
        Ok(Response::new(v1::ReportProgressResponse { results }))
    }

    #[tracing::instrument(skip_all, fields(items = request.get_ref().values.len()))]
    async fn report_indicators(
        &self,
        request: Request<v1::ReportIndicatorsRequest>,
    ) -> Result<Response<v1::ReportIndicatorsResponse>, Status> {
        let results = self
            .engine
            .handle(Identity::with_message(request), |r| {
                Box::new(plan::ReportIndicators(&r.values))
            })
            .await?;
        Ok(Response::new(v1::ReportIndicatorsResponse { results }))
    }

    #[tracing::instrument(skip_all, fields(items = request.get_ref().targets.len()))]
    async fn set_targets(
        &self,
        request: Request<v1::SetTargetsRequest>,
    ) -> Result<Response<v1::SetTargetsResponse>, Status> {
        let results = self
            .engine
            .handle(Identity::with_message(request), |r| {
                Box::new(plan::SetTargets(&r.targets))
            })
            .await?;
        Ok(Response::new(v1::SetTargetsResponse { results }))
    }

    async fn get_project(
        &self,
        request: Request<v1::GetProjectRequest>,
    ) -> Result<Response<v1::GetProjectResponse>, Status> {
        let project = self.engine.project(&request.get_ref().code).await?;
        Ok(Response::new(v1::GetProjectResponse { project: Some(project) }))
    }

    async fn list_projects(
        &self,
        request: Request<v1::ListProjectsRequest>,
    ) -> Result<Response<v1::ListProjectsResponse>, Status> {
        let req = request.into_inner();
        let stage = match v1::ProjectStage::try_from(req.stage) {
            Ok(v1::ProjectStage::Unspecified) => String::new(),
            Ok(stage) => stage.as_str_name().to_owned(),
            Err(_) => {
                return Err(Error::invalid("stage", format!("unknown value {}", req.stage)).into());
            }
        };
        let filter = Index {
            region: req.region_code,
            unit: req.responsible_unit,
            stage,
            ..Index::default()
        };
        let (projects, next_page_token) = self
            .page(
                records::PROJECT,
                filter,
                (req.page_size, &req.page_token),
                records::project,
            )
            .await?;
        Ok(Response::new(v1::ListProjectsResponse {
            projects,
            next_page_token,
        }))
    }

    async fn list_progress(
        &self,
        request: Request<v1::ListProgressRequest>,
    ) -> Result<Response<v1::ListProgressResponse>, Status> {
        let req = request.into_inner();
        let filter = Index {
            parent: req.project_code,
            year: req.year,
            ..Index::default()
        };
        let (reports, next_page_token) = self
            .page(
                records::PROGRESS,
                filter,
                (req.page_size, &req.page_token),
                records::progress,
            )
            .await?;
        Ok(Response::new(v1::ListProgressResponse {
            reports,
            next_page_token,
        }))
    }

    async fn list_indicator_values(
        &self,
        request: Request<v1::ListIndicatorValuesRequest>,
    ) -> Result<Response<v1::ListIndicatorValuesResponse>, Status> {
        let req = request.into_inner();
        let filter = Index {
            region: req.region_code,
            parent: req.indicator_code,
            year: req.year,
            ..Index::default()
        };
        let (values, next_page_token) = self
            .page(
                records::INDICATOR_VALUE,
                filter,
                (req.page_size, &req.page_token),
                records::indicator_value,
            )
            .await?;
        Ok(Response::new(v1::ListIndicatorValuesResponse {
            values,
            next_page_token,
        }))
    }

    async fn list_targets(
        &self,
        request: Request<v1::ListTargetsRequest>,
    ) -> Result<Response<v1::ListTargetsResponse>, Status> {
        let req = request.into_inner();
        let filter = Index {
            region: req.region_code,
            parent: req.indicator_code,
            year: req.year,
            ..Index::default()
        };
        let (targets, next_page_token) = self
            .page(
                records::TARGET,
                filter,
                (req.page_size, &req.page_token),
                records::target,
            )
            .await?;
        Ok(Response::new(v1::ListTargetsResponse {
            targets,
            next_page_token,
        }))
    }

    async fn list_revisions(
        &self,
        request: Request<v1::ListRevisionsRequest>,
    ) -> Result<Response<v1::ListRevisionsResponse>, Status> {
        let req = request.get_ref();
        let revisions = self.engine.revisions(&req.record_type, &req.key).await?;
        Ok(Response::new(v1::ListRevisionsResponse { revisions }))
    }

    async fn get_catalog(
        &self,
        _request: Request<v1::GetCatalogRequest>,
    ) -> Result<Response<v1::GetCatalogResponse>, Status> {
        Ok(Response::new(self.engine.catalog()))
    }

    async fn lock_period(
        &self,
        request: Request<v1::LockPeriodRequest>,
    ) -> Result<Response<v1::LockPeriodResponse>, Status> {
        let identity = Identity::of(&request);
        let req = request.into_inner();
        let lock = self
            .engine
            .set_lock(
                &identity,
                "citydash.v1.LockPeriodRequest",
                req.period.as_ref(),
                &req.reason,
                true,
            )
            .await?;
        Ok(Response::new(v1::LockPeriodResponse {
            lock: lock.map(lock_to_proto),
        }))
    }

    async fn unlock_period(
        &self,
        request: Request<v1::UnlockPeriodRequest>,
    ) -> Result<Response<v1::UnlockPeriodResponse>, Status> {
        let identity = Identity::of(&request);
        let req = request.into_inner();
        self.engine
            .set_lock(
                &identity,
                "citydash.v1.UnlockPeriodRequest",
                req.period.as_ref(),
                &req.reason,
                false,
            )
            .await?;
        Ok(Response::new(v1::UnlockPeriodResponse {}))
    }

    async fn list_period_locks(
        &self,
        _request: Request<v1::ListPeriodLocksRequest>,
    ) -> Result<Response<v1::ListPeriodLocksResponse>, Status> {
        let locks = self.engine.locks().await?.into_iter().map(lock_to_proto).collect();
        Ok(Response::new(v1::ListPeriodLocksResponse { locks }))
    }

    async fn list_audit(
        &self,
        request: Request<v1::ListAuditRequest>,
    ) -> Result<Response<v1::ListAuditResponse>, Status> {
        let identity = Identity::of(&request);
        let req = request.into_inner();
        let (entries, next_page_token) = self.engine.audit(&identity, req.page_size, &req.page_token).await?;
        Ok(Response::new(v1::ListAuditResponse {
            entries,
            next_page_token,
        }))
    }

    type WatchChangesStream = Pin<Box<dyn Stream<Item = Result<v1::WatchChangesResponse, Status>> + Send + 'static>>;

    async fn watch_changes(
        &self,
        request: Request<v1::WatchChangesRequest>,
    ) -> Result<Response<Self::WatchChangesStream>, Status> {
        let after = request.get_ref().after_sequence;
        if after < 0 {
            return Err(Error::invalid("after_sequence", "must not be negative").into());
        }
        let heartbeat = match request.get_ref().heartbeat_seconds {
            0 => None,
            s if (1..=3600).contains(&s) => Some(std::time::Duration::from_secs(s as u64)),
            s => return Err(Error::invalid("heartbeat_seconds", format!("{s} is not 1..3600")).into()),
        };
        self.engine
            .check_resume(
                after,
                &request.get_ref().source_id,
                request.get_ref().after_change.as_ref(),
            )
            .await?;
        tracing::info!(after, ?heartbeat, "change feed subscriber connected");
        let stream = ReceiverStream::new(self.engine.watch(after, heartbeat)).map(|item| {
            item.map(|item| match item {
                FeedItem::Change(change) => v1::WatchChangesResponse {
                    change: Some(*change),
                    heartbeat: None,
                },
                FeedItem::Heartbeat(last_sequence) => v1::WatchChangesResponse {
                    change: None,
                    heartbeat: Some(v1::FeedHeartbeat {
                        last_sequence,
                        time: Some(records::timestamp(
                            std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .map_or(0, |d| d.as_micros() as i64),
                        )),
                    }),
                },
            })
            .map_err(Status::from)
        });
        Ok(Response::new(Box::pin(stream)))
    }
}
