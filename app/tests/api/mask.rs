//! QA data masking (`fulfillment mask`): after it, no personal value of the original survives
//! anywhere in the database, the schema is the same, the ledger still balances, and the same
//! value masks to the same fake.

use fulfillment::domain::mask::MaskKey;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::{Backend, TestApp, spawn_app};

crate::on_both_backends!(masking_leaves_no_personal_value_anywhere_keeps_the_schema_and_balances_the_ledger);

/// Distinctive personal values, easy to find anywhere in a dump.
const NAME: &str = "蔵井 個人情報";
const PHONE: &str = "03-9876-5432";
const ADDRESS: &str = "秘密区個人町9-9-9";
const BUILDING: &str = "秘密マンション 301";
const POSTAL: &str = "987-6543";
const NEW_NAME: &str = "変更 後子";
const NEW_PHONE: &str = "06-1111-2222";

fn recipient(name: &str, phone: &str) -> Value {
    json!({"name": name, "postal_code": POSTAL, "prefecture": "東京都", "address1": ADDRESS,
           "address2": BUILDING, "phone": phone})
}

async fn masking_leaves_no_personal_value_anywhere_keeps_the_schema_and_balances_the_ledger(backend: Backend) {
    let Some(app) = spawn_app(backend).await else { return };
    let acme = app.shipper_token("acme");
    // Arrange: personal data in a shipment, in another one's pending modification request, in a
    // stored idempotent response, and in the maintenance log.
    let mut body = crate::helpers::shipment_body(app.warehouse_id, "MASK-1", &[("MUG-01", 1)]);
    body["recipient"] = recipient(NAME, PHONE);
    let first = app.send(Method::POST, "/v1/shipments", &acme, Some(body), &[("Idempotency-Key", "mask-1")]).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let mut twin = crate::helpers::shipment_body(app.warehouse_id, "MASK-2", &[("SOAP-3P", 1)]);
    twin["recipient"] = recipient(NAME, PHONE);
    twin["ship_date"] = json!(crate::lifecycle::tokyo_today());
    let second = app.post("/v1/shipments", &acme, twin).await;
    let second_id = second.body["shipment_id"].as_i64().expect("id");
    let wave = app.post("/wms/v1/waves", &app.warehouse_token(), json!({"warehouse_id": app.warehouse_id})).await;
    assert!(wave.status.is_success(), "{wave:?}");
    let modify = app
        .request(
            Method::PATCH,
            &format!("/v1/shipments/{second_id}"),
            &acme,
            Some(json!({"recipient": recipient(NEW_NAME, NEW_PHONE)})),
        )
        .await;
    assert_eq!(modify.body["status"], "modify_request", "{modify:?}");
    let switch = app
        .request(
            Method::PUT,
            "/admin/v1/maintenance",
            &app.admin_token(),
            Some(json!({"enabled": false, "reason": "check"})),
        )
        .await;
    assert!(switch.status.is_success(), "{switch:?}");
    let originals = [NAME, PHONE, ADDRESS, BUILDING, POSTAL, NEW_NAME, NEW_PHONE];
    let before = dump(&app).await;
    for value in originals {
        assert!(before.iter().any(|(_, v)| v.contains(value)), "{value} is in the database before masking");
    }
    let schema_before = schema(&app).await;

    // Act
    let key = MaskKey::parse("the-qa-masking-key-0001").expect("key");
    let report = fulfillment::db::mask::run(&app.db, &key).await.expect("mask");

    // Assert
    assert!(report.shipments >= 2 && report.pending_changes == 1, "{report:?}");
    let after = dump(&app).await;
    for value in originals {
        let found: Vec<_> = after.iter().filter(|(_, v)| v.contains(value)).collect();
        assert!(found.is_empty(), "{value} survived in {found:?}");
    }
    assert_eq!(schema(&app).await, schema_before, "the schema is unchanged");
    app.assert_ledger_balances().await;
    let names: Vec<String> =
        sqlx::query_scalar("select recipient_name from shipment where identifier in ('MASK-1', 'MASK-2')")
            .fetch_all(app.db.reader())
            .await
            .expect("names");
    assert_eq!(names, vec![key.name(NAME), key.name(NAME)], "the same person masks to the same fake");
    let revoked = app.get("/v1/stock", &acme).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED, "production tokens do not work on the copy");
}

/// Every value of every table as text, as (table.column, value); the migrations table aside,
/// whose checksums are binary.
async fn dump(app: &TestApp) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (table, column) in columns(app).await {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("select cast({column} as text) as v from {table}")))
            .fetch_all(app.db.reader())
            .await
            .expect("select");
        for r in rows {
            if let Ok(Some(v)) = r.try_get::<Option<String>, _>("v") {
                out.push((format!("{table}.{column}"), v));
            }
        }
    }
    out
}

async fn columns(app: &TestApp) -> Vec<(String, String)> {
    let sql = match app.db.backend() {
        fulfillment::db::Backend::Sqlite => {
            "select m.name, p.name from sqlite_master m join pragma_table_info(m.name) p \
             where m.type = 'table' and m.name not like 'sqlite_%' and m.name <> '_sqlx_migrations' order by 1, 2"
        }
        fulfillment::db::Backend::Postgres => {
            "select cast(table_name as text), cast(column_name as text) from information_schema.columns \
             where table_schema = 'public' and table_name <> '_sqlx_migrations' order by 1, 2"
        }
    };
    sqlx::query_as::<_, (String, String)>(sql).fetch_all(app.db.reader()).await.expect("columns")
}

/// Every column with its declared type.
async fn schema(app: &TestApp) -> Vec<(String, String, String)> {
    let sql = match app.db.backend() {
        fulfillment::db::Backend::Sqlite => {
            "select m.name, p.name, p.type from sqlite_master m join pragma_table_info(m.name) p \
             where m.type = 'table' order by 1, 2"
        }
        fulfillment::db::Backend::Postgres => {
            "select cast(table_name as text), cast(column_name as text), cast(data_type as text) \
             from information_schema.columns where table_schema = 'public' order by 1, 2"
        }
    };
    sqlx::query_as::<_, (String, String, String)>(sql).fetch_all(app.db.reader()).await.expect("schema")
}
