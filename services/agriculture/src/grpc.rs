//! `citydash.v1.AgricultureService`: upserts and lists of production bases
//! and leading enterprises, served by the shared entity handlers.

use citydash_proto::v1;
use citydash_proto::v1::agriculture_service_server::{
    AgricultureService, AgricultureServiceServer,
};

use crate::{Bases, Enterprises};
use citydash_sector::Engine;
use citydash_sector::entity::{list_rpc, upsert_rpc};
use citydash_sector::spec::ServiceContext;
use citydash_sector::store::Store;
use tonic::service::RoutesBuilder;
use tonic::{Request, Response, Status};

pub use citydash_proto::v1::agriculture_service_server::SERVICE_NAME;

/// The agriculture bureau's own registers over the sector engine.
pub struct Grpc<S> {
    engine: Engine<S>,
}

/// Adds the service to `routes`.
pub fn add<S: Store>(engine: Engine<S>, ctx: &ServiceContext, routes: &mut RoutesBuilder) {
    routes.add_service(
        ctx.intercept(
            AgricultureServiceServer::new(Grpc { engine })
                .max_decoding_message_size(ctx.limits.max_message_bytes)
                .max_encoding_message_size(ctx.limits.max_message_bytes),
        ),
    );
}

#[tonic::async_trait]
impl<S: Store> AgricultureService for Grpc<S> {
    async fn upsert_production_bases(
        &self,
        request: Request<v1::UpsertProductionBasesRequest>,
    ) -> Result<Response<v1::UpsertProductionBasesResponse>, Status> {
        let results = upsert_rpc::<Bases, _, _>(&self.engine, request, |r| {
            (&r.request_id, r.validate_only, &r.bases)
        })
        .await?;
        Ok(Response::new(v1::UpsertProductionBasesResponse { results }))
    }

    async fn list_production_bases(
        &self,
        request: Request<v1::ListProductionBasesRequest>,
    ) -> Result<Response<v1::ListProductionBasesResponse>, Status> {
        let r = request.get_ref();
        let page =
            list_rpc::<Bases, _>(&self.engine, &r.region_code, r.page_size, &r.page_token).await?;
        Ok(Response::new(v1::ListProductionBasesResponse {
            bases: page.items,
            next_page_token: page.next_page_token,
        }))
    }

    async fn upsert_leading_enterprises(
        &self,
        request: Request<v1::UpsertLeadingEnterprisesRequest>,
    ) -> Result<Response<v1::UpsertLeadingEnterprisesResponse>, Status> {
        let results = upsert_rpc::<Enterprises, _, _>(&self.engine, request, |r| {
            (&r.request_id, r.validate_only, &r.enterprises)
        })
        .await?;
        Ok(Response::new(v1::UpsertLeadingEnterprisesResponse {
            results,
        }))
    }

    async fn list_leading_enterprises(
        &self,
        request: Request<v1::ListLeadingEnterprisesRequest>,
    ) -> Result<Response<v1::ListLeadingEnterprisesResponse>, Status> {
        let r = request.get_ref();
        let page =
            list_rpc::<Enterprises, _>(&self.engine, &r.region_code, r.page_size, &r.page_token)
                .await?;
        Ok(Response::new(v1::ListLeadingEnterprisesResponse {
            enterprises: page.items,
            next_page_token: page.next_page_token,
        }))
    }
}
