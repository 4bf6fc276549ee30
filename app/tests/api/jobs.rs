//! Background jobs are safe to run on every replica and to re-run: the cut-off wave happens
//! once per warehouse and day, storage is billed once per day, the sweep allocates backorders.

use fulfillment::db::{billing, waves};
use fulfillment::domain::values::WarehouseId;
use serde_json::json;

use crate::helpers::{Backend, spawn_app};
use crate::lifecycle::tokyo_today;

crate::on_both_backends!(
    the_cutoff_wave_is_released_once_per_warehouse_and_day,
    storage_is_billed_once_per_warehouse_and_day,
);

async fn the_cutoff_wave_is_released_once_per_warehouse_and_day(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    let mut body = crate::helpers::shipment_body(app.warehouse_id, "CUT-1", &[("MUG-01", 1)]);
    body["ship_date"] = json!(tokyo_today());
    let shipment = app.post("/v1/shipments", &acme, body).await.body["shipment_id"].as_i64().expect("id");
    let warehouse = WarehouseId(app.warehouse_id);

    // Two replicas' jobs reach the cut-off at the same moment.
    let (a, b) = tokio::join!(
        waves::generate(&app.db, warehouse, waves::Origin::Cutoff),
        waves::generate(&app.db, warehouse, waves::Origin::Cutoff)
    );
    let released: Vec<_> = [a.expect("first"), b.expect("second")].into_iter().flatten().collect();

    assert_eq!(released.len(), 1, "exactly one cut-off wave");
    assert_eq!(released[0].shipment_ids, vec![fulfillment::domain::values::ShipmentId(shipment)]);
    assert!(waves::generate(&app.db, warehouse, waves::Origin::Cutoff).await.expect("again").is_none());
    assert_eq!(app.get(&format!("/v1/shipments/{shipment}"), &acme).await.body["status"], "picking");
}

async fn storage_is_billed_once_per_warehouse_and_day(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    let warehouse = WarehouseId(app.warehouse_id);
    let on_hand: i64 = sqlx::query_scalar(
        "select cast(sum(s.on_hand) as bigint) from stock s join item i on i.item_id = s.item_id \
         join shipper sh on sh.shipper_id = i.shipper_id where sh.code = 'acme'",
    )
    .fetch_one(app.db.reader())
    .await
    .expect("on hand");

    let today = tokyo_today().parse().expect("a date");
    billing::bill_storage_day(&app.db, warehouse, today).await.expect("bill");
    billing::bill_storage_day(&app.db, warehouse, today).await.expect("bill again");

    assert_eq!(app.billing(&acme, "storage_unit_day").await, on_hand, "one unit-day per unit, once");
}
