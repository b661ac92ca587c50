//! `citydash.v1.NotificationsService`: the units' destinations, the delivery
//! log and the destinations' health over gRPC, each call handed to
//! [`crate::notify::Notifier`], which knows no gRPC.

use std::sync::Arc;

use citydash_proto::v1::{self, notifications_service_server::NotificationsService};
use citydash_runtime::Identity;
use citydash_sector::store::Store;
use tonic::{Request, Response, Status};

use crate::notify::Notifier;
use crate::notify::outbox::Outbox;
use crate::readstore::ReadStore;

/// `NotificationsService` over the notifier.
pub struct NotificationsGrpc<S, R>(pub Arc<Notifier<S, R>>);

#[tonic::async_trait]
impl<S: Store, R: ReadStore + Outbox> NotificationsService for NotificationsGrpc<S, R> {
    async fn set_destinations(
        &self,
        request: Request<v1::SetDestinationsRequest>,
    ) -> Result<Response<v1::SetDestinationsResponse>, Status> {
        let (identity, r) = Identity::with_message(request);
        Ok(Response::new(self.0.set_destinations(&identity, r).await?))
    }

    async fn list_destinations(
        &self,
        request: Request<v1::ListDestinationsRequest>,
    ) -> Result<Response<v1::ListDestinationsResponse>, Status> {
        let (identity, r) = Identity::with_message(request);
        Ok(Response::new(self.0.list_destinations(&identity, r).await?))
    }

    async fn list_deliveries(
        &self,
        request: Request<v1::ListDeliveriesRequest>,
    ) -> Result<Response<v1::ListDeliveriesResponse>, Status> {
        let (identity, r) = Identity::with_message(request);
        Ok(Response::new(self.0.deliveries(&identity, r).await?))
    }

    async fn get_notification_health(
        &self,
        _request: Request<v1::GetNotificationHealthRequest>,
    ) -> Result<Response<v1::GetNotificationHealthResponse>, Status> {
        Ok(Response::new(self.0.health().await?))
    }
}
