//! A sector's own gRPC service: the `sector_service!` declaration that
//! generates a sector's `SectorSpec` marker and its service over the engine,
//! and the list helper its handlers call. The layer above the entities and
//! the engine, as `grpc` is for the shared contract.

use tonic::Status;

use crate::engine::{Engine, Page};
use crate::entity::SectorEntity;
use crate::store::{Index, Store};

/// Serves a list RPC of a sector entity: items of `E` matching `filter`, a
/// page at a time.
pub async fn list_rpc<E: SectorEntity, S: Store>(
    engine: &Engine<S>,
    filter: Index,
    page_size: i32,
    page_token: &str,
) -> Result<Page<E::Message>, Status> {
    Ok(engine.list_entities::<E>(filter, page_size, page_token).await?)
}

/// Declares a whole sector service: the [`SectorSpec`](crate::spec::SectorSpec)
/// marker type (its sector, whose row of `citydash_proto::sectors` gives its
/// name, default port and agency, and its catalog), and the sector's own
/// gRPC service over the engine with, for each entity, an upsert handler
/// (`request_id`, `validate_only` and the item list) and a list handler (with
/// a filter built from the request). A sector crate declares its RPCs; it
/// writes no handler and no wiring code.
///
/// ```ignore
/// citydash_sector::sector_service! {
///     /// The agriculture sector.
///     Agriculture: Agriculture, catalog CATALOG;
///     AgricultureService, AgricultureServiceServer, agriculture_service_server;
///     Bases {
///         upsert_production_bases(UpsertProductionBasesRequest) -> UpsertProductionBasesResponse { bases };
///         list_production_bases(ListProductionBasesRequest) -> ListProductionBasesResponse { bases }
///             filter |r| Index { region: r.region_code.clone(), ..Index::default() };
///     }
/// }
/// ```
#[macro_export]
macro_rules! sector_service {
    (
        $(#[$doc:meta])*
        $spec:ident : $sector:ident, catalog $catalog:path;
        $service:ident, $server:ident, $module:ident;
        $(
            $entity:ty {
                $upsert:ident($ureq:ident) -> $uresp:ident { $items:ident };
                $list:ident($lreq:ident) -> $lresp:ident { $listed:ident }
                    filter |$r:ident| $filter:expr;
            }
        )+
    ) => {
        $(#[$doc])*
        pub struct $spec;

        impl $crate::spec::SectorSpec for $spec {
            const SECTOR: $crate::proto::v1::Sector = $crate::proto::v1::Sector::$sector;
            const CATALOG: &'static [$crate::spec::IndicatorSpec] = $catalog;

            fn entity_types() -> Vec<$crate::EntityType> {
                vec![$($crate::EntityType::of::<$entity>()),+]
            }

            fn add_own_service<S: $crate::store::Store>(
                engine: $crate::Engine<S>,
                ctx: &$crate::spec::ServiceContext,
                routes: &mut $crate::__tonic::service::RoutesBuilder,
            ) -> &'static str {
                routes.add_service(
                    $crate::proto::v1::$module::$server::new(Grpc { engine })
                        .max_decoding_message_size(ctx.limits.max_message_bytes)
                        .max_encoding_message_size(ctx.limits.max_message_bytes),
                );
                $crate::proto::v1::$module::SERVICE_NAME
            }
        }

        /// The sector's own registers over the sector engine.
        pub struct Grpc<S> {
            engine: $crate::Engine<S>,
        }

        #[$crate::__tonic::async_trait]
        impl<S: $crate::store::Store> $crate::proto::v1::$module::$service for Grpc<S> {
            $(
                async fn $upsert(
                    &self,
                    request: $crate::__tonic::Request<$crate::proto::v1::$ureq>,
                ) -> Result<$crate::__tonic::Response<$crate::proto::v1::$uresp>, $crate::__tonic::Status> {
                    let results = self
                        .engine
                        .handle($crate::__Identity::with_message(request), |r| Box::new($crate::plan::UpsertEntities::<$entity> { items: &r.$items }))
                        .await?;
                    Ok($crate::__tonic::Response::new($crate::proto::v1::$uresp { results }))
                }

                async fn $list(
                    &self,
                    request: $crate::__tonic::Request<$crate::proto::v1::$lreq>,
                ) -> Result<$crate::__tonic::Response<$crate::proto::v1::$lresp>, $crate::__tonic::Status> {
                    let $r = request.get_ref();
                    #[allow(clippy::needless_update)]
                    let filter: $crate::store::Index = $filter;
                    let page = $crate::service::list_rpc::<$entity, _>(&self.engine, filter, $r.page_size, &$r.page_token).await?;
                    Ok($crate::__tonic::Response::new($crate::proto::v1::$lresp {
                        $listed: page.items,
                        next_page_token: page.next_page_token,
                    }))
                }
            )+
        }
    };
}
