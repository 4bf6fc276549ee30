//! The shipper API (`/v1`): items, inbounds, shipments, stock and billing. Every handler takes
//! `AsShipper`, and every query it makes is filtered by that shipper's scope
//! ([`Scope::Shipper`](crate::domain::access::Scope)): another shipper's ids answer 404,
//! exactly like ids that do not exist.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, Problem};
use super::extract::{AsShipper, Id, Json, QueryParams};
use super::schema::billing as billing_schema;
use super::schema::inbounds as inbound_schema;
use super::schema::items as item_schema;
use super::schema::master;
use super::schema::packages as package_schema;
use super::schema::shipments as schema;
use super::schema::stock as stock_schema;
use super::{AppState, List};
use crate::db::{billing, inbounds, items, packages, shipments, stock, warehouses};
use crate::domain::calendar::{DEFAULT_TIME_ZONE, Month};
use crate::domain::inbound::InboundStatus;
use crate::domain::shipment::ShipmentStatus;
use crate::domain::values::{InboundId, ItemCode, ItemId, ShipmentId};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_warehouses))
        .routes(routes!(create_item, list_items))
        .routes(routes!(get_item))
        .routes(routes!(create_inbound, list_inbounds))
        .routes(routes!(get_inbound))
        .routes(routes!(cancel_inbound))
        .routes(routes!(create_shipment, list_shipments))
        .routes(routes!(get_shipment, edit_shipment, delete_shipment))
        .routes(routes!(cancel_shipment))
        .routes(routes!(shipment_packages))
        .routes(routes!(get_stock))
        .routes(routes!(billing_summary))
}

type Result<T> = std::result::Result<T, ApiError>;
type Created<T> = (StatusCode, axum::Json<T>);

fn created<T>(v: T) -> Created<T> {
    (StatusCode::CREATED, axum::Json(v))
}

/// Warehouses shippers can send inbounds to and ship from.
#[utoipa::path(get, path = "/v1/warehouses", tag = "shipper",
    responses((status = 200, body = Vec<master::Warehouse>), (status = 401, body = Problem)))]
async fn list_warehouses(State(s): State<AppState>, _: AsShipper) -> Result<axum::Json<Vec<master::Warehouse>>> {
    Ok(axum::Json(warehouses::list(&s.db).await?.into_iter().map(master::Warehouse::from).collect()))
}

#[utoipa::path(post, path = "/v1/items", tag = "shipper", request_body = item_schema::NewItem,
    responses((status = 201, body = item_schema::Item), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_item(
    State(s): State<AppState>,
    me: AsShipper,
    Json(new): Json<item_schema::NewItem>,
) -> Result<Created<item_schema::Item>> {
    Ok(created(items::create(&s.db, me.0, &new.into()).await?.into()))
}

#[utoipa::path(get, path = "/v1/items", tag = "shipper",
    params(("cursor" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = List<item_schema::Item>)))]
async fn list_items(
    State(s): State<AppState>,
    me: AsShipper,
    q: QueryParams,
) -> Result<axum::Json<List<item_schema::Item>>> {
    let page = q.page()?;
    let rows = items::list(&s.db, &me.scope(), page.after, page.limit).await?;
    let rows = rows.into_iter().map(item_schema::Item::from).collect();
    Ok(axum::Json(List::new(rows, page.limit, |i| i.item_id.0)))
}

#[utoipa::path(get, path = "/v1/items/{item_id}", tag = "shipper", params(("item_id" = i64, Path)),
    responses((status = 200, body = item_schema::Item), (status = 404, body = Problem)))]
async fn get_item(State(s): State<AppState>, me: AsShipper, Id(id): Id) -> Result<axum::Json<item_schema::Item>> {
    Ok(axum::Json(items::get(&s.db, &me.scope(), ItemId(id)).await?.into()))
}

#[utoipa::path(post, path = "/v1/inbounds", tag = "shipper", request_body = inbound_schema::NewInbound,
    responses((status = 201, body = inbound_schema::Inbound), (status = 422, body = Problem)))]
async fn create_inbound(
    State(s): State<AppState>,
    me: AsShipper,
    Json(new): Json<inbound_schema::NewInbound>,
) -> Result<Created<inbound_schema::Inbound>> {
    Ok(created(inbounds::create(&s.db, me.0, &new.into()).await?.into()))
}

#[utoipa::path(get, path = "/v1/inbounds", tag = "shipper",
    params(("status" = Option<String>, Query), ("cursor" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = List<inbound_schema::Inbound>)))]
async fn list_inbounds(
    State(s): State<AppState>,
    me: AsShipper,
    q: QueryParams,
) -> Result<axum::Json<List<inbound_schema::Inbound>>> {
    let page = q.page()?;
    let status = q.filter("status", InboundStatus::parse)?;
    let rows = inbounds::list(&s.db, &me.scope(), status, page.after, page.limit).await?;
    let rows = rows.into_iter().map(inbound_schema::Inbound::from).collect();
    Ok(axum::Json(List::new(rows, page.limit, |i| i.inbound_id.0)))
}

#[utoipa::path(get, path = "/v1/inbounds/{inbound_id}", tag = "shipper", params(("inbound_id" = i64, Path)),
    responses((status = 200, body = inbound_schema::Inbound), (status = 404, body = Problem)))]
async fn get_inbound(
    State(s): State<AppState>,
    me: AsShipper,
    Id(id): Id,
) -> Result<axum::Json<inbound_schema::Inbound>> {
    Ok(axum::Json(inbounds::get(&s.db, &me.scope(), InboundId(id)).await?.into()))
}

/// Cancels an inbound; only while it is `waiting`.
#[utoipa::path(post, path = "/v1/inbounds/{inbound_id}/cancel", tag = "shipper", params(("inbound_id" = i64, Path)),
    responses((status = 200, body = inbound_schema::Inbound), (status = 409, body = Problem)))]
async fn cancel_inbound(
    State(s): State<AppState>,
    me: AsShipper,
    Id(id): Id,
) -> Result<axum::Json<inbound_schema::Inbound>> {
    Ok(axum::Json(inbounds::cancel(&s.db, me.0, InboundId(id)).await?.into()))
}

/// Creates a shipment and allocates stock to it: `waiting` when every line is reserved,
/// `backordered` when stock is short and the shipper allows backorders, otherwise 422 naming
/// the short items. Resubmitting the same identifier with the same content returns the
/// existing shipment (200); with different content it is a 409.
#[utoipa::path(post, path = "/v1/shipments", tag = "shipper", request_body = schema::NewShipment,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = schema::Shipment), (status = 200, body = schema::Shipment, description = "resubmission of an existing shipment"),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_shipment(
    State(s): State<AppState>,
    me: AsShipper,
    Json(new): Json<schema::NewShipment>,
) -> Result<Response> {
    Ok(match shipments::create(&s.db, me.0, &new.into()).await? {
        shipments::Created::New(sh) => created(schema::Shipment::from(sh)).into_response(),
        shipments::Created::Existing(sh) => axum::Json(schema::Shipment::from(sh)).into_response(),
    })
}

#[utoipa::path(get, path = "/v1/shipments", tag = "shipper",
    params(("status" = Option<String>, Query), ("cursor" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = List<schema::Shipment>)))]
async fn list_shipments(
    State(s): State<AppState>,
    me: AsShipper,
    q: QueryParams,
) -> Result<axum::Json<List<schema::Shipment>>> {
    let page = q.page()?;
    let status = q.filter("status", ShipmentStatus::parse)?;
    let rows = shipments::list(&s.db, &me.scope(), status, page.after, page.limit).await?;
    let rows = rows.into_iter().map(schema::Shipment::from).collect();
    Ok(axum::Json(List::new(rows, page.limit, |s| s.shipment_id.0)))
}

#[utoipa::path(get, path = "/v1/shipments/{shipment_id}", tag = "shipper", params(("shipment_id" = i64, Path)),
    responses((status = 200, body = schema::Shipment), (status = 404, body = Problem)))]
async fn get_shipment(State(s): State<AppState>, me: AsShipper, Id(id): Id) -> Result<axum::Json<schema::Shipment>> {
    Ok(axum::Json(shipments::get(&s.db, &me.scope(), ShipmentId(id)).await?.into()))
}

/// Edits a shipment. In `backordered`/`waiting`/`suspended` the change applies (new lines are
/// re-allocated); once picking started only recipient and carrier may change, as a `modify_request`.
#[utoipa::path(patch, path = "/v1/shipments/{shipment_id}", tag = "shipper", params(("shipment_id" = i64, Path)),
    request_body = schema::ShipmentEdit,
    responses((status = 200, body = schema::Shipment), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn edit_shipment(
    State(s): State<AppState>,
    me: AsShipper,
    Id(id): Id,
    Json(edit): Json<schema::ShipmentEdit>,
) -> Result<axum::Json<schema::Shipment>> {
    Ok(axum::Json(shipments::edit(&s.db, me.0, ShipmentId(id), &edit.into()).await?.into()))
}

/// Deletes (cancels) a shipment before warehouse work starts; afterwards use `POST .../cancel`.
#[utoipa::path(delete, path = "/v1/shipments/{shipment_id}", tag = "shipper", params(("shipment_id" = i64, Path)),
    responses((status = 200, body = schema::Shipment), (status = 409, body = Problem)))]
async fn delete_shipment(State(s): State<AppState>, me: AsShipper, Id(id): Id) -> Result<axum::Json<schema::Shipment>> {
    Ok(axum::Json(shipments::cancel(&s.db, me.0, ShipmentId(id), true).await?.into()))
}

/// Cancels a shipment: directly before work starts, as a `cancel_request` the warehouse
/// accepts or refuses after.
#[utoipa::path(post, path = "/v1/shipments/{shipment_id}/cancel", tag = "shipper", params(("shipment_id" = i64, Path)),
    responses((status = 200, body = schema::Shipment), (status = 409, body = Problem)))]
async fn cancel_shipment(State(s): State<AppState>, me: AsShipper, Id(id): Id) -> Result<axum::Json<schema::Shipment>> {
    Ok(axum::Json(shipments::cancel(&s.db, me.0, ShipmentId(id), false).await?.into()))
}

/// The shipment's packages and tracking numbers.
#[utoipa::path(get, path = "/v1/shipments/{shipment_id}/packages", tag = "shipper", params(("shipment_id" = i64, Path)),
    responses((status = 200, body = Vec<package_schema::Package>), (status = 404, body = Problem)))]
async fn shipment_packages(
    State(s): State<AppState>,
    me: AsShipper,
    Id(id): Id,
) -> Result<axum::Json<Vec<package_schema::Package>>> {
    let rows = packages::list_for_shipment(&s.db, &me.scope(), ShipmentId(id)).await?;
    Ok(axum::Json(rows.into_iter().map(package_schema::Package::from).collect()))
}

/// Stock per item and warehouse: `available = quantity - shipping - reserved`.
#[utoipa::path(get, path = "/v1/stock", tag = "shipper", params(("item_code" = Option<String>, Query)),
    responses((status = 200, body = Vec<stock_schema::StockSummary>)))]
async fn get_stock(
    State(s): State<AppState>,
    me: AsShipper,
    q: QueryParams,
) -> Result<axum::Json<Vec<stock_schema::StockSummary>>> {
    let code = q
        .get("item_code")
        .map(|c| ItemCode::parse(c).map_err(|m| ApiError::Schema { field: "item_code".into(), message: m }))
        .transpose()?;
    let rows = stock::summary(&s.db, &me.scope(), code.as_ref()).await?;
    Ok(axum::Json(rows.into_iter().map(stock_schema::StockSummary::from).collect()))
}

/// Charges for one month (`?month=YYYY-MM`, default the current month in Tokyo).
#[utoipa::path(get, path = "/v1/billing/summary", tag = "shipper", params(("month" = Option<String>, Query)),
    responses((status = 200, body = billing_schema::Summary), (status = 422, body = Problem)))]
async fn billing_summary(
    State(s): State<AppState>,
    me: AsShipper,
    q: QueryParams,
) -> Result<axum::Json<billing_schema::Summary>> {
    let month = match q.get("month") {
        Some(m) => Month::parse(m).map_err(|message| ApiError::Schema { field: "month".into(), message })?,
        None => {
            let tz = jiff::tz::TimeZone::get(DEFAULT_TIME_ZONE).unwrap_or(jiff::tz::TimeZone::UTC);
            Month::of(jiff::Timestamp::now().to_zoned_datetime(tz).date())
        }
    };
    Ok(axum::Json(billing::summary(&s.db, me.0, month).await?.into()))
}
