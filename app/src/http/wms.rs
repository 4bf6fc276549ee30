//! The warehouse API (`/wms/v1`), used by warehouse systems and HHT devices: receiving,
//! inspection and putaway of inbounds; waves; pick scans; shipping inspection; packing,
//! labels and carrier handover; stock adjustments. A warehouse token reaches only the
//! warehouses it operates; everything else is 404.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, Problem};
use super::extract::{AsWarehouse, Id, Json, QueryParams};
use super::schema::inbounds as inbound_schema;
use super::schema::packages as package_schema;
use super::schema::scans as scan_schema;
use super::schema::shipments as schema;
use super::schema::stock as stock_schema;
use super::schema::waves as wave_schema;
use super::{AppState, List};
use crate::db::{inbounds, packages, scans, shipments, stock, waves};
use crate::domain::access::Scope;
use crate::domain::inbound::InboundStatus;
use crate::domain::shipment::ShipmentStatus;
use crate::domain::values::{InboundId, PackageId, ShipmentId, WaveId};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_inbounds))
        .routes(routes!(receive_inbound))
        .routes(routes!(inspect_inbound))
        .routes(routes!(putaway_inbound))
        .routes(routes!(list_shipments))
        .routes(routes!(get_shipment))
        .routes(routes!(suspend_shipment))
        .routes(routes!(resume_shipment))
        .routes(routes!(accept_request))
        .routes(routes!(refuse_request))
        .routes(routes!(inspect_shipment))
        .routes(routes!(pack_shipment))
        .routes(routes!(issue_label))
        .routes(routes!(create_handover))
        .routes(routes!(create_wave))
        .routes(routes!(get_wave))
        .routes(routes!(record_scan))
        .routes(routes!(adjust_stock))
}

type Result<T> = std::result::Result<T, ApiError>;
type Json200<T> = axum::Json<T>;

#[utoipa::path(get, path = "/wms/v1/inbounds", tag = "warehouse",
    params(("status" = Option<String>, Query), ("cursor" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = List<inbound_schema::Inbound>)))]
async fn list_inbounds(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    q: QueryParams,
) -> Result<Json200<List<inbound_schema::Inbound>>> {
    let page = q.page()?;
    let status = q.filter("status", InboundStatus::parse)?;
    let rows = inbounds::list(&s.db, &scope, status, page.after, page.limit).await?;
    let rows = rows.into_iter().map(inbound_schema::Inbound::from).collect();
    Ok(axum::Json(List::new(rows, page.limit, |i| i.inbound_id.0)))
}

/// Records what arrived: good units into the receiving area, defective and unexpected goods on hold.
#[utoipa::path(post, path = "/wms/v1/inbounds/{inbound_id}/receive", tag = "warehouse", params(("inbound_id" = i64, Path)),
    request_body = inbound_schema::Receipt,
    responses((status = 200, body = inbound_schema::Inbound), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn receive_inbound(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Id(id): Id,
    Json(r): Json<inbound_schema::Receipt>,
) -> Result<Json200<inbound_schema::Inbound>> {
    Ok(axum::Json(inbounds::receive(&s.db, &scope, InboundId(id), &r.lines()).await?.into()))
}

#[utoipa::path(post, path = "/wms/v1/inbounds/{inbound_id}/inspect", tag = "warehouse", params(("inbound_id" = i64, Path)),
    responses((status = 200, body = inbound_schema::Inbound), (status = 409, body = Problem)))]
async fn inspect_inbound(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Id(id): Id,
) -> Result<Json200<inbound_schema::Inbound>> {
    Ok(axum::Json(inbounds::inspect(&s.db, &scope, InboundId(id)).await?.into()))
}

/// Puts received goods on a shelf; the inbound becomes `stocked` and backorders are re-allocated.
#[utoipa::path(post, path = "/wms/v1/inbounds/{inbound_id}/putaway", tag = "warehouse", params(("inbound_id" = i64, Path)),
    request_body = inbound_schema::Putaway,
    responses((status = 200, body = inbound_schema::Inbound), (status = 409, body = Problem)))]
async fn putaway_inbound(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Id(id): Id,
    Json(p): Json<inbound_schema::Putaway>,
) -> Result<Json200<inbound_schema::Inbound>> {
    Ok(axum::Json(inbounds::putaway(&s.db, &scope, InboundId(id), p.location_code.as_deref()).await?.into()))
}

#[utoipa::path(get, path = "/wms/v1/shipments", tag = "warehouse",
    params(("status" = Option<String>, Query), ("cursor" = Option<i64>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = List<schema::Shipment>)))]
async fn list_shipments(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    q: QueryParams,
) -> Result<Json200<List<schema::Shipment>>> {
    let page = q.page()?;
    let status = q.filter("status", ShipmentStatus::parse)?;
    let rows = shipments::list(&s.db, &scope, status, page.after, page.limit).await?;
    let rows = rows.into_iter().map(schema::Shipment::from).collect();
    Ok(axum::Json(List::new(rows, page.limit, |s| s.shipment_id.0)))
}

#[utoipa::path(get, path = "/wms/v1/shipments/{shipment_id}", tag = "warehouse", params(("shipment_id" = i64, Path)),
    responses((status = 200, body = schema::Shipment), (status = 404, body = Problem)))]
async fn get_shipment(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Id(id): Id,
) -> Result<Json200<schema::Shipment>> {
    Ok(axum::Json(shipments::get(&s.db, &scope, ShipmentId(id)).await?.into()))
}

async fn decide(
    s: AppState,
    scope: Scope,
    id: i64,
    d: shipments::WarehouseDecision,
) -> Result<Json200<schema::Shipment>> {
    Ok(axum::Json(shipments::decide(&s.db, &scope, ShipmentId(id), d).await?.into()))
}

/// Puts a shipment on hold before work starts (e.g. an address to confirm).
#[utoipa::path(post, path = "/wms/v1/shipments/{shipment_id}/suspend", tag = "warehouse", params(("shipment_id" = i64, Path)),
    responses((status = 200, body = schema::Shipment), (status = 409, body = Problem)))]
async fn suspend_shipment(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Id(id): Id,
) -> Result<Json200<schema::Shipment>> {
    decide(s, scope, id, shipments::WarehouseDecision::Suspend).await
}

#[utoipa::path(post, path = "/wms/v1/shipments/{shipment_id}/resume", tag = "warehouse", params(("shipment_id" = i64, Path)),
    responses((status = 200, body = schema::Shipment), (status = 409, body = Problem)))]
async fn resume_shipment(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Id(id): Id,
) -> Result<Json200<schema::Shipment>> {
    decide(s, scope, id, shipments::WarehouseDecision::Resume).await
}

/// Accepts a `cancel_request` (picked units go back to their shelves) or a `modify_request`.
#[utoipa::path(post, path = "/wms/v1/shipments/{shipment_id}/accept-request", tag = "warehouse", params(("shipment_id" = i64, Path)),
    responses((status = 200, body = schema::Shipment), (status = 409, body = Problem)))]
async fn accept_request(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Id(id): Id,
) -> Result<Json200<schema::Shipment>> {
    decide(s, scope, id, shipments::WarehouseDecision::AcceptRequest).await
}

/// Refuses a pending request; the shipment returns to the status it had.
#[utoipa::path(post, path = "/wms/v1/shipments/{shipment_id}/refuse-request", tag = "warehouse", params(("shipment_id" = i64, Path)),
    responses((status = 200, body = schema::Shipment), (status = 409, body = Problem)))]
async fn refuse_request(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Id(id): Id,
) -> Result<Json200<schema::Shipment>> {
    decide(s, scope, id, shipments::WarehouseDecision::RefuseRequest).await
}

/// Shipping inspection (出荷検品): counted units must equal ordered and picked; then `picked`.
#[utoipa::path(post, path = "/wms/v1/shipments/{shipment_id}/inspection", tag = "warehouse", params(("shipment_id" = i64, Path)),
    request_body = schema::Inspection,
    responses((status = 200, body = schema::Shipment), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn inspect_shipment(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Id(id): Id,
    Json(i): Json<schema::Inspection>,
) -> Result<Json200<schema::Shipment>> {
    match shipments::inspect(&s.db, &scope, ShipmentId(id), &i.counted()).await? {
        Ok(shipment) => Ok(axum::Json(shipment.into())),
        Err(differences) => Err(ApiError::InspectionMismatch(differences)),
    }
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
struct Packed {
    shipment: schema::Shipment,
    packages: Vec<package_schema::Package>,
}

/// Packs an inspected shipment into packages, one tracking number each; the shipment becomes `packed`.
#[utoipa::path(post, path = "/wms/v1/shipments/{shipment_id}/packages", tag = "warehouse", params(("shipment_id" = i64, Path)),
    request_body = package_schema::NewPackages,
    responses((status = 201, body = Packed), (status = 409, body = Problem)))]
async fn pack_shipment(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Id(id): Id,
    Json(p): Json<package_schema::NewPackages>,
) -> Result<(StatusCode, Json200<Packed>)> {
    let (shipment, packages) = packages::pack(&s.db, &scope, ShipmentId(id), &p.weights()).await?;
    let packages = packages.into_iter().map(package_schema::Package::from).collect();
    Ok((StatusCode::CREATED, axum::Json(Packed { shipment: shipment.into(), packages })))
}

/// Issues the package's shipping label; calling again returns the same label.
#[utoipa::path(post, path = "/wms/v1/packages/{package_id}/label", tag = "warehouse", params(("package_id" = i64, Path)),
    responses((status = 200, body = package_schema::Label), (status = 404, body = Problem)))]
async fn issue_label(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Id(id): Id,
) -> Result<Json200<package_schema::Label>> {
    Ok(axum::Json(packages::label(&s.db, &scope, PackageId(id)).await?.into()))
}

/// Hands packages to the carrier; shipments whose packages are all handed over become `shipped`.
#[utoipa::path(post, path = "/wms/v1/handovers", tag = "warehouse", request_body = package_schema::NewHandover,
    responses((status = 201, body = package_schema::Handover), (status = 422, body = Problem)))]
async fn create_handover(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Json(h): Json<package_schema::NewHandover>,
) -> Result<(StatusCode, Json200<package_schema::Handover>)> {
    Ok((StatusCode::CREATED, axum::Json(packages::handover(&s.db, &scope, &h.into()).await?.into())))
}

/// Releases today's allocated shipments as a wave (picking list) now, before the cut-off job does.
#[utoipa::path(post, path = "/wms/v1/waves", tag = "warehouse", request_body = wave_schema::NewWave,
    responses((status = 201, body = wave_schema::Wave), (status = 422, body = Problem)))]
async fn create_wave(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Json(w): Json<wave_schema::NewWave>,
) -> Result<(StatusCode, Json200<wave_schema::Wave>)> {
    if !scope.operates(w.warehouse_id) {
        return Err(crate::domain::Error::NotFound("warehouse").into());
    }
    let wave = waves::generate(&s.db, w.warehouse_id, waves::Origin::Manual)
        .await?
        .ok_or_else(|| ApiError::Internal("manual waves never conflict".into()))?;
    Ok((StatusCode::CREATED, axum::Json(wave.into())))
}

#[utoipa::path(get, path = "/wms/v1/waves/{wave_id}", tag = "warehouse", params(("wave_id" = i64, Path)),
    responses((status = 200, body = wave_schema::Wave), (status = 404, body = Problem)))]
async fn get_wave(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Id(id): Id,
) -> Result<Json200<wave_schema::Wave>> {
    Ok(axum::Json(waves::get(&s.db, &scope, WaveId(id)).await?.into()))
}

/// An HHT pick scan. Retrying with the same `client_event_id` returns the first result.
#[utoipa::path(post, path = "/wms/v1/scans", tag = "warehouse", request_body = scan_schema::Scan,
    responses((status = 200, body = scan_schema::ScanResult), (status = 422, body = Problem)))]
async fn record_scan(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Json(scan): Json<scan_schema::Scan>,
) -> Result<Json200<scan_schema::ScanResult>> {
    Ok(axum::Json(scans::record(&s.db, &scope, &scan.into()).await?.into()))
}

/// A stock correction (`adjust`) or customer return (`return`), written to the ledger.
#[utoipa::path(post, path = "/wms/v1/stock/adjustments", tag = "warehouse", request_body = stock_schema::Adjustment,
    responses((status = 204), (status = 422, body = Problem)))]
async fn adjust_stock(
    State(s): State<AppState>,
    AsWarehouse(scope): AsWarehouse,
    Json(a): Json<stock_schema::Adjustment>,
) -> Result<StatusCode> {
    stock::adjust(&s.db, &scope, &a.into()).await?;
    Ok(StatusCode::NO_CONTENT)
}
