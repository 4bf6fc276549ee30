//! The admin API (`/admin/v1`): shippers, warehouses and locations, API tokens, EC channels,
//! and the maintenance switch with its audit log.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::{ApiError, Problem};
use super::extract::{AsAdmin, Id, Json, QueryParams};
use super::schema::channels as channel_schema;
use super::schema::maintenance as maintenance_schema;
use super::schema::master;
use crate::db::{channels, maintenance, tokens, warehouses};
use crate::domain::access::Role;
use crate::domain::calendar::{DEFAULT_CUTOFF, DEFAULT_TIME_ZONE};
use crate::domain::values::{Identifier, LocationKind, Name, ShipperId, Text, WarehouseId};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_shipper))
        .routes(routes!(create_warehouse))
        .routes(routes!(create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(create_channel))
        .routes(routes!(get_maintenance, set_maintenance))
        .routes(routes!(maintenance_events))
}

type Result<T> = std::result::Result<T, ApiError>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewShipper {
    code: Identifier,
    name: Name,
    #[serde(default)]
    allow_backorder: bool,
}

#[utoipa::path(post, path = "/admin/v1/shippers", tag = "admin", request_body = NewShipper,
    responses((status = 201, body = master::Shipper), (status = 409, body = Problem)))]
async fn create_shipper(
    State(s): State<AppState>,
    _: AsAdmin,
    Json(n): Json<NewShipper>,
) -> Result<(StatusCode, axum::Json<master::Shipper>)> {
    let shipper = crate::transaction!(&s.db, |tx| {
        warehouses::create_shipper(tx, n.code.as_str(), n.name.as_str(), n.allow_backorder).await
    })?;
    Ok((StatusCode::CREATED, axum::Json(shipper.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewLocation {
    code: Identifier,
    kind: LocationKind,
    #[serde(default)]
    pick_sequence: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewWarehouse {
    code: Identifier,
    name: Name,
    /// IANA zone; default Asia/Tokyo.
    time_zone: Option<String>,
    /// Local `HH:MM`; default 12:30.
    cutoff_time: Option<String>,
    locations: Vec<NewLocation>,
}

#[utoipa::path(post, path = "/admin/v1/warehouses", tag = "admin", request_body = NewWarehouse,
    responses((status = 201, body = master::Warehouse), (status = 422, body = Problem)))]
async fn create_warehouse(
    State(s): State<AppState>,
    _: AsAdmin,
    Json(n): Json<NewWarehouse>,
) -> Result<(StatusCode, axum::Json<master::Warehouse>)> {
    let locations: Vec<(String, LocationKind, i64)> =
        n.locations.iter().map(|l| (l.code.to_string(), l.kind, l.pick_sequence)).collect();
    let tz = n.time_zone.as_deref().unwrap_or(DEFAULT_TIME_ZONE);
    let cutoff = n.cutoff_time.as_deref().unwrap_or(DEFAULT_CUTOFF);
    let w = crate::transaction!(&s.db, |tx| {
        let locations = &locations;
        let n = &n;
        warehouses::create_warehouse(tx, n.code.as_str(), n.name.as_str(), tz, cutoff, locations).await
    })?;
    Ok((StatusCode::CREATED, axum::Json(w.into())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: Name,
    role: Role,
    shipper_id: Option<ShipperId>,
    #[serde(default)]
    warehouse_ids: Vec<WarehouseId>,
}

#[derive(Debug, Serialize, ToSchema)]
struct IssuedToken {
    token_id: i64,
    /// Shown once; only its hash is stored.
    token: String,
}

#[utoipa::path(post, path = "/admin/v1/tokens", tag = "admin", request_body = NewToken,
    responses((status = 201, body = IssuedToken), (status = 422, body = Problem)))]
async fn create_token(
    State(s): State<AppState>,
    _: AsAdmin,
    Json(n): Json<NewToken>,
) -> Result<(StatusCode, axum::Json<IssuedToken>)> {
    let (token_id, token) = tokens::issue(&s.db, n.name.as_str(), n.role, n.shipper_id, &n.warehouse_ids).await?;
    Ok((StatusCode::CREATED, axum::Json(IssuedToken { token_id, token })))
}

#[utoipa::path(delete, path = "/admin/v1/tokens/{token_id}", tag = "admin", params(("token_id" = i64, Path)),
    responses((status = 204), (status = 404, body = Problem)))]
async fn revoke_token(State(s): State<AppState>, _: AsAdmin, Id(id): Id) -> Result<StatusCode> {
    tokens::revoke(&s.db, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
struct RegisteredChannel {
    #[serde(flatten)]
    channel: channel_schema::Channel,
    /// Where the shop sends its `orders/create` webhooks, below this API's base URL.
    webhook_path: String,
    /// The generated webhook secret, shown once; absent when the request gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_secret: Option<String>,
}

/// Registers an EC channel (a Shopify shop) for a shipper: its orders become that shipper's
/// shipments from `warehouse_id`. One channel per shop.
#[utoipa::path(post, path = "/admin/v1/channels", tag = "admin", request_body = channel_schema::NewChannel,
    responses((status = 201, body = RegisteredChannel), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_channel(
    State(s): State<AppState>,
    _: AsAdmin,
    Json(n): Json<channel_schema::NewChannel>,
) -> Result<(StatusCode, axum::Json<RegisteredChannel>)> {
    let generated = n.webhook_secret.is_none();
    let (channel, secret) = channels::create(&s.db, &n.into()).await?;
    let webhook_path = format!("/channels/v1/{}/{}/orders", channel.kind, channel.channel_id);
    let webhook_secret = generated.then_some(secret);
    let channel = channel.into();
    Ok((StatusCode::CREATED, axum::Json(RegisteredChannel { channel, webhook_path, webhook_secret })))
}

#[derive(Debug, Serialize, ToSchema)]
struct MaintenanceState {
    enabled: bool,
    since: Option<maintenance_schema::MaintenanceEvent>,
}

#[utoipa::path(get, path = "/admin/v1/maintenance", tag = "admin",
    responses((status = 200, body = MaintenanceState)))]
async fn get_maintenance(State(s): State<AppState>, _: AsAdmin) -> Result<axum::Json<MaintenanceState>> {
    let since = maintenance::current(&s.db).await?.map(maintenance_schema::MaintenanceEvent::from);
    Ok(axum::Json(MaintenanceState { enabled: since.as_ref().is_some_and(|e| e.enabled), since }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MaintenanceSwitch {
    enabled: bool,
    reason: Text,
}

/// Turns maintenance mode on or off; writes answer 503 with `Retry-After` while it is on.
#[utoipa::path(put, path = "/admin/v1/maintenance", tag = "admin", request_body = MaintenanceSwitch,
    responses((status = 200, body = maintenance_schema::MaintenanceEvent)))]
async fn set_maintenance(
    State(s): State<AppState>,
    AsAdmin(who): AsAdmin,
    Json(m): Json<MaintenanceSwitch>,
) -> Result<axum::Json<maintenance_schema::MaintenanceEvent>> {
    let event = maintenance::set(&s.db, m.enabled, &format!("api:{}", who.key()), m.reason.as_str()).await?;
    s.maintenance.store(event.enabled.0, Ordering::Relaxed);
    Ok(axum::Json(event.into()))
}

/// Every maintenance switch, newest first (`?cursor=` is the last id seen).
#[utoipa::path(get, path = "/admin/v1/maintenance/events", tag = "admin",
    params(("cursor" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = Vec<maintenance_schema::MaintenanceEvent>)))]
async fn maintenance_events(
    State(s): State<AppState>,
    _: AsAdmin,
    q: QueryParams,
) -> Result<axum::Json<Vec<maintenance_schema::MaintenanceEvent>>> {
    let page = q.page()?;
    let before = q.get("cursor").map(|_| page.after);
    let events = maintenance::events(&s.db, before, page.limit).await?;
    Ok(axum::Json(events.into_iter().map(maintenance_schema::MaintenanceEvent::from).collect()))
}
