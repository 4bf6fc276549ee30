//! Open-loop load generator for two journeys of the fulfillment service:
//! `create-shipment` (POST /v1/shipments, with allocation) and `hht-scan` (POST /wms/v1/scans).
//!
//! Requests are *scheduled* at a fixed arrival rate, whatever the server does, and each
//! latency is measured from its scheduled start, so queueing shows up in the percentiles
//! instead of being hidden by a closed loop that waits (coordinated omission). Latencies go
//! into an HDR histogram.
//!
//! It prepares its own data through the admin API (a shipper, 100 items with plenty of stock,
//! and for scans a wave of single-unit shipments) and prints one JSON line of results.
//!
//! ```text
//! cargo run --release -p fulfillment --example load -- \
//!   --base http://127.0.0.1:8080 --admin-token kura_... --journey create-shipment --rate 200 --seconds 20
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use rand::RngExt;
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Journey {
    CreateShipment,
    HhtScan,
}

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    base: String,
    #[arg(long, env = "KURA_ADMIN_TOKEN")]
    admin_token: String,
    #[arg(long, value_enum)]
    journey: Journey,
    /// Arrivals per second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Measured seconds (after warm-up).
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Unmeasured seconds at the same rate first.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// HHT devices working the wave in parallel (hht-scan only).
    #[arg(long, default_value_t = 64)]
    devices: usize,
    /// A label for the output line.
    #[arg(long, default_value = "")]
    label: String,
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, token: &str, body: Value) -> anyhow::Result<Value> {
        let r = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(token).json(&body).send().await?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "{path}: {status} {body}");
        Ok(body)
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, token, body).await
    }
}

fn ean13(body12: u64) -> String {
    let b = format!("{body12:012}");
    let sum: u32 = b.bytes().rev().enumerate().map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 }).sum();
    format!("{b}{}", (10 - sum % 10) % 10)
}

fn tokyo_today() -> String {
    let tz = jiff::tz::TimeZone::get("Asia/Tokyo").expect("Asia/Tokyo is bundled");
    jiff::Timestamp::now().to_zoned_datetime(tz).date().to_string()
}

struct Fixture {
    shipper_token: String,
    warehouse_token: String,
    warehouse_id: i64,
    items: Vec<(String, String)>,
    run: String,
}

async fn prepare(api: &Api, admin: &str, items: usize) -> anyhow::Result<Fixture> {
    let run = format!("{:08x}", rand::rng().random::<u32>());
    let shipper = api
        .post(
            "/admin/v1/shippers",
            admin,
            json!({"code": format!("load-{run}"), "name": "Load test", "allow_backorder": true}),
        )
        .await?;
    let shipper_token = api
        .post(
            "/admin/v1/tokens",
            admin,
            json!({"name": "load", "role": "shipper", "shipper_id": shipper["shipper_id"]}),
        )
        .await?["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let list = api.call(reqwest::Method::GET, "/v1/warehouses", &shipper_token, Value::Null).await?;
    let warehouse_id = list[0]["warehouse_id"].as_i64().unwrap_or(1);
    let warehouse_token = api
        .post("/admin/v1/tokens", admin, json!({"name": "load", "role": "warehouse", "warehouse_ids": [warehouse_id]}))
        .await?["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // 12-digit bodies in the in-store range (2xxxxxxxxxxx), unique per run.
    let seed = 200_000_000_000 + u64::from(rand::rng().random::<u32>() % 900_000_000) * 100;
    let mut out = Vec::new();
    for i in 0..items {
        let code = format!("L{run}-{i:03}");
        let barcode = ean13(seed + i as u64);
        let item = api
            .post(
                "/v1/items",
                &shipper_token,
                json!({"code": code, "name": code, "barcode": barcode, "price": 1000,
                  "size_class": "60", "weight_grams": 200, "temperature_zone": "normal"}),
            )
            .await?;
        api.post(
            "/wms/v1/stock/adjustments",
            &warehouse_token,
            json!({"warehouse_id": warehouse_id, "location_code": "A-01-01",
                 "item_id": item["item_id"], "bucket": "sellable", "quantity": 1_000_000, "reason": "adjust"}),
        )
        .await?;
        out.push((code, barcode));
    }
    Ok(Fixture { shipper_token, warehouse_token, warehouse_id, items: out, run })
}

fn shipment(f: &Fixture, n: u64, item: &str, ship_today: bool) -> Value {
    let mut body = json!({
        "identifier": format!("LOAD-{}-{n}", f.run),
        "warehouse_id": f.warehouse_id,
        "delivery_carrier": "yamato",
        "recipient": {"name": "山田 太郎", "postal_code": "150-0001", "prefecture": "東京都",
                      "address1": "渋谷区神宮前1-2-3", "phone": "03-1234-5678"},
        "lines": [{"item_code": item, "quantity": 1}]
    });
    if ship_today {
        body["ship_date"] = json!(tokyo_today());
    }
    body
}

#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    /// 503 `overloaded`: refused at once by the service's concurrency limit.
    shed: AtomicU64,
    failed: AtomicU64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    Shed,
    Failed,
}

fn outcome<T>(r: &anyhow::Result<T>) -> Outcome {
    match r {
        Ok(_) => Outcome::Ok,
        Err(e) if e.to_string().contains("503") => Outcome::Shed,
        Err(_) => Outcome::Failed,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let http = platform::tls::Tls::new(None)?
        .client()
        .pool_max_idle_per_host(1024)
        .timeout(Duration::from_secs(30))
        .build()?;
    let api = Arc::new(Api { http, base: args.base.clone() });
    let fixture = Arc::new(prepare(&api, &args.admin_token, 100).await?);
    let total = ((args.seconds + args.warmup) as f64 * args.rate).ceil() as u64;
    let warmup_n = (args.warmup as f64 * args.rate).ceil() as u64;
    let histogram = Arc::new(Mutex::new(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?));
    let counters = Arc::new(Counters::default());

    // For scans: a wave of single-unit shipments spread over the 100 items; each device walks
    // location -> item -> quantity, scanning what the server's answer says comes next.
    let mut senders = Vec::new();
    let mut workers = Vec::new();
    if let Journey::HhtScan = args.journey {
        let tasks = total / 3 + args.devices as u64 * 2;
        let (item, _) = &fixture.items[0];
        let mut created = 0;
        for chunk in (0..tasks).collect::<Vec<_>>().chunks(64) {
            let futs = chunk
                .iter()
                .map(|n| api.post("/v1/shipments", &fixture.shipper_token, shipment(&fixture, *n, item, true)));
            for r in futures::future::join_all(futs).await {
                r?;
                created += 1;
            }
        }
        let wave =
            api.post("/wms/v1/waves", &fixture.warehouse_token, json!({"warehouse_id": fixture.warehouse_id})).await?;
        let wave_id = wave["wave_id"].as_i64().unwrap_or(0);
        eprintln!("prepared a wave of {created} tasks");
        for d in 0..args.devices {
            let (tx, mut rx) = mpsc::unbounded_channel::<(u64, Instant)>();
            senders.push(tx);
            let (api, f, h, c) = (api.clone(), fixture.clone(), histogram.clone(), counters.clone());
            workers.push(tokio::spawn(async move {
                // The device scans what the server says comes next (as an HHT screen shows it);
                // its very first location is a guess the server may correct with `expected`.
                let (mut step, mut value) = ("location".to_owned(), "A-01-01".to_owned());
                let mut event = 0u64;
                while let Some((n, scheduled)) = rx.recv().await {
                    event += 1;
                    let body = json!({"warehouse_id": f.warehouse_id, "device_id": format!("LOAD-{}-{d}", f.run),
                        "client_event_id": format!("{d}-{event}"), "wave_id": wave_id, "step": step, "value": value});
                    let response = api.post("/wms/v1/scans", &f.warehouse_token, body).await;
                    let ok = outcome(&response);
                    if let Ok(r) = response {
                        let next = &r["next_task"];
                        if let Some(s) = r["expected_step"].as_str() {
                            step = s.to_owned();
                        }
                        value = match (r["outcome"].as_str(), step.as_str()) {
                            (Some("mismatch"), _) => r["expected"].as_str().unwrap_or_default().to_owned(),
                            (_, "location") => next["location_code"].as_str().unwrap_or_default().to_owned(),
                            (_, "item") => {
                                next["barcode"].as_str().or(next["item_code"].as_str()).unwrap_or_default().to_owned()
                            }
                            _ => (next["quantity"].as_i64().unwrap_or(1) - next["picked"].as_i64().unwrap_or(0))
                                .to_string(),
                        };
                    }
                    record(&h, &c, n >= warmup_n, ok, scheduled).await;
                }
            }));
        }
    }

    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let start = Instant::now();
    let mut in_flight = Vec::new();
    for n in 0..total {
        let scheduled = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        match args.journey {
            Journey::CreateShipment => {
                let (api, f, h, c) = (api.clone(), fixture.clone(), histogram.clone(), counters.clone());
                in_flight.push(tokio::spawn(async move {
                    let item = &f.items[(n as usize * 7919) % f.items.len()].0;
                    let ok = outcome(&api.post("/v1/shipments", &f.shipper_token, shipment(&f, n, item, false)).await);
                    record(&h, &c, n >= warmup_n, ok, scheduled).await;
                }));
            }
            Journey::HhtScan => {
                let _ = senders[n as usize % senders.len()].send((n, scheduled));
            }
        }
    }
    let sent_for = start.elapsed();
    for t in in_flight {
        let _ = t.await;
    }
    drop(senders);
    for w in workers {
        let _ = w.await;
    }
    let measured_wall = start.elapsed().as_secs_f64() - args.warmup as f64;
    let h = histogram.lock().await;
    let ok = counters.ok.load(Ordering::Relaxed);
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{}",
        json!({
            "label": args.label, "journey": format!("{:?}", args.journey), "target_rate": args.rate,
            "seconds": args.seconds, "ok": ok, "shed": counters.shed.load(Ordering::Relaxed),
            "failed": counters.failed.load(Ordering::Relaxed),
            "throughput": (ok as f64 / measured_wall.max(0.001) * 10.0).round() / 10.0,
            "schedule_kept": sent_for.as_secs_f64() <= (args.seconds + args.warmup) as f64 + 0.5,
            "p50_ms": ms(0.50), "p90_ms": ms(0.90), "p99_ms": ms(0.99), "max_ms": h.max() as f64 / 1000.0,
        })
    );
    Ok(())
}

async fn record(h: &Mutex<Histogram<u64>>, c: &Counters, measured: bool, outcome: Outcome, scheduled: Instant) {
    if !measured {
        return;
    }
    let micros = scheduled.elapsed().as_micros().min(60_000_000) as u64;
    match outcome {
        Outcome::Ok => {
            c.ok.fetch_add(1, Ordering::Relaxed);
            let _ = h.lock().await.record(micros.max(1));
        }
        Outcome::Shed => {
            c.shed.fetch_add(1, Ordering::Relaxed);
        }
        Outcome::Failed => {
            c.failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}
