//! `citydash.v1.OrdersService`: the supervision orders over gRPC, each call
//! taken apart for [`crate::orders::Orders`], which knows no gRPC.

use std::sync::Arc;

use citydash_proto::v1::{self, orders_service_server::OrdersService};
use citydash_runtime::Identity;
use citydash_sector::store::Store;
use tonic::{Request, Response, Status};

use crate::orders::Orders;
use crate::readstore::ReadStore;

/// `OrdersService` over the orders.
pub struct OrdersGrpc<S, R>(pub Arc<Orders<S, R>>);

#[tonic::async_trait]
impl<S: Store, R: ReadStore> OrdersService for OrdersGrpc<S, R> {
    async fn list_orders(
        &self,
        request: Request<v1::ListOrdersRequest>,
    ) -> Result<Response<v1::ListOrdersResponse>, Status> {
        Ok(Response::new(self.0.list(request.into_inner()).await?))
    }

    async fn get_order(&self, request: Request<v1::GetOrderRequest>) -> Result<Response<v1::GetOrderResponse>, Status> {
        Ok(Response::new(self.0.get(&request.into_inner().code).await?))
    }

    async fn file_plan(&self, request: Request<v1::FilePlanRequest>) -> Result<Response<v1::FilePlanResponse>, Status> {
        let w = self.0.file_plan(Identity::with_message(request)).await?;
        Ok(Response::new(v1::FilePlanResponse {
            result: w.result,
            order: w.order,
        }))
    }

    async fn report_order(
        &self,
        request: Request<v1::ReportOrderRequest>,
    ) -> Result<Response<v1::ReportOrderResponse>, Status> {
        let w = self.0.report(Identity::with_message(request)).await?;
        Ok(Response::new(v1::ReportOrderResponse {
            result: w.result,
            order: w.order,
        }))
    }

    async fn open_order(
        &self,
        request: Request<v1::OpenOrderRequest>,
    ) -> Result<Response<v1::OpenOrderResponse>, Status> {
        let w = self.0.open(Identity::with_message(request)).await?;
        Ok(Response::new(v1::OpenOrderResponse {
            result: w.result,
            order: w.order,
        }))
    }

    async fn close_order(
        &self,
        request: Request<v1::CloseOrderRequest>,
    ) -> Result<Response<v1::CloseOrderResponse>, Status> {
        let w = self.0.close(Identity::with_message(request)).await?;
        Ok(Response::new(v1::CloseOrderResponse {
            result: w.result,
            order: w.order,
        }))
    }

    async fn take_snapshot(
        &self,
        request: Request<v1::TakeSnapshotRequest>,
    ) -> Result<Response<v1::TakeSnapshotResponse>, Status> {
        let (identity, r) = Identity::with_message(request);
        Ok(Response::new(self.0.take_snapshot(&identity, r.date).await?))
    }

    async fn get_unit_standings(
        &self,
        request: Request<v1::GetUnitStandingsRequest>,
    ) -> Result<Response<v1::GetUnitStandingsResponse>, Status> {
        Ok(Response::new(self.0.standings(request.into_inner().period).await?))
    }
}
