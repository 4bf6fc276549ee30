//! `kura load`: synthetic traffic over every journey of the fulfillment service, open loop.
//!
//! Requests are *scheduled* at a fixed arrival rate, whatever the server does, and each
//! latency is measured from its scheduled start, so queueing shows up in the percentiles
//! instead of being hidden by a closed loop that waits (coordinated omission). Each arrival is
//! one operation drawn from the mix:
//!
//! | mix name          | what one arrival does                                                    |
//! |-------------------|--------------------------------------------------------------------------|
//! | `create-shipment` | a shipper creates a shipment (allocated at once)                          |
//! | `stock-read`      | a shipper reads the stock of an item                                      |
//! | `order-sync`      | the shop sends a signed Shopify `orders/create` webhook                   |
//! | `inbound`         | a shipper announces an inbound                                           |
//! | `warehouse`       | the next warehouse step: hand over, label, pack, inspect, receive, inspect and put away an inbound, scan with an HHT device, or release a wave ([`work`]) |
//! | `hht-scan`        | a scan on a wave prepared before the clock starts (benchmarks)            |
//!
//! Operations are reported under their own names with the journey the service serves them
//! under; a `warehouse` arrival with nothing to do sends nothing. The data (a shipper, items
//! with stock, a channel) is prepared through the admin API first ([`fixture`]).

pub mod fixture;
pub mod work;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use hdrhistogram::Histogram;
use rand::RngExt;
use serde_json::{Value, json};

use crate::api::{Api, CallError};
use fixture::Fixture;
use work::{InboundStage, Step, Work};

/// What to run.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// The service's public URL.
    #[arg(long, env = "KURA_BASE", default_value = "http://127.0.0.1:8080")]
    pub base: String,
    /// An admin token (to prepare the data).
    #[arg(long, env = "KURA_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: String,
    /// Arrivals per second.
    #[arg(long, default_value_t = 20.0)]
    pub rate: f64,
    /// Measured seconds (after the warm-up); 0 runs until Ctrl-C.
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Unmeasured seconds at the same rate first.
    #[arg(long, default_value_t = 2)]
    pub warmup: u64,
    /// The mix, as `name=weight,...` (names in `kura load --help`'s table).
    #[arg(long, default_value = DEFAULT_MIX, value_parser = parse_mix)]
    pub mix: Mix,
    /// HHT devices working a wave in parallel.
    #[arg(long, default_value_t = 4)]
    pub devices: usize,
    /// Items the synthetic shipper stocks.
    #[arg(long, default_value_t = 20)]
    pub items: usize,
    /// Print one JSON line per operation (and a total) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// A label for the JSON lines.
    #[arg(long, default_value = "")]
    pub label: String,
}

/// The default mix: what a warehouse's day looks like, in proportions.
pub const DEFAULT_MIX: &str = "create-shipment=20,stock-read=30,order-sync=10,inbound=4,warehouse=36";

/// An operation of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Operation {
    CreateShipment,
    StockRead,
    OrderSync,
    Inbound,
    Warehouse,
    HhtScan,
}

impl Operation {
    const ALL: [Operation; 6] = [
        Operation::CreateShipment,
        Operation::StockRead,
        Operation::OrderSync,
        Operation::Inbound,
        Operation::Warehouse,
        Operation::HhtScan,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::CreateShipment => "create-shipment",
            Operation::StockRead => "stock-read",
            Operation::OrderSync => "order-sync",
            Operation::Inbound => "inbound",
            Operation::Warehouse => "warehouse",
            Operation::HhtScan => "hht-scan",
        }
    }
}

/// Weighted operations.
#[derive(Debug, Clone, PartialEq)]
pub struct Mix(Vec<(Operation, f64)>);

impl Mix {
    fn draw(&self) -> Operation {
        let total: f64 = self.0.iter().map(|(_, w)| w).sum();
        let mut x = rand::rng().random_range(0.0..total);
        for (op, w) in &self.0 {
            if x < *w {
                return *op;
            }
            x -= w;
        }
        self.0[self.0.len() - 1].0
    }

    fn has(&self, op: Operation) -> bool {
        self.0.iter().any(|(o, _)| *o == op)
    }
}

/// Parses `name=weight,...`.
pub fn parse_mix(text: &str) -> Result<Mix, String> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
        let op = Operation::ALL
            .into_iter()
            .find(|o| o.name() == name.trim())
            .ok_or_else(|| format!("unknown operation {name:?} (known: {})", names()))?;
        let weight: f64 = weight.trim().parse().map_err(|_| format!("{name}: weight {weight:?} is not a number"))?;
        if !(weight.is_finite() && weight > 0.0) {
            return Err(format!("{name}: the weight must be positive"));
        }
        out.push((op, weight));
    }
    if out.is_empty() {
        return Err(format!("the mix is empty (known: {})", names()));
    }
    if out.iter().any(|(o, _)| *o == Operation::HhtScan) && out.len() > 1 {
        return Err("hht-scan (a prepared wave, for benchmarks) runs alone".into());
    }
    Ok(Mix(out))
}

fn names() -> String {
    Operation::ALL.iter().map(|o| o.name()).collect::<Vec<_>>().join(", ")
}

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// 503 `overloaded` or a refused connection: the service protected itself.
    Shed,
    Failed,
}

/// Results per reported operation (`warehouse` arrivals report their own steps).
#[derive(Debug)]
pub struct Stats {
    histogram: Histogram<u64>,
    pub ok: u64,
    pub shed: u64,
    pub failed: u64,
    /// The first failures, to show what went wrong.
    pub errors: Vec<String>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            histogram: Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| unreachable!("valid bounds")),
            ok: 0,
            shed: 0,
            failed: 0,
            errors: Vec::new(),
        }
    }
}

/// Live counters while it runs (for `kura up`'s view).
pub type Board = Arc<Mutex<BTreeMap<&'static str, Stats>>>;

/// The journey the service serves an operation under (`none` for steps that serve none).
pub fn journey_of(operation: &str) -> &'static str {
    match operation {
        "create-shipment" => "create-shipment",
        "stock-read" => "stock-read",
        "order-sync" => "order-sync",
        "release-wave" => "wave-generation",
        "hht-scan" => "hht-scan",
        "label" => "label-issuance",
        "putaway" => "inbound-to-stock",
        _ => "none",
    }
}

struct Run {
    api: Api,
    fixture: Fixture,
    work: Mutex<Work>,
    board: Board,
    warmup_until: Instant,
    counter: std::sync::atomic::AtomicU64,
}

/// Runs `kura load` and prints the report; exit status 1 if any request failed unexpectedly.
pub async fn run(args: LoadArgs) -> anyhow::Result<bool> {
    let board = Board::default();
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    generate(&args, board.clone(), stop).await?;
    let stats = board.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if args.json {
        print!("{}", json_lines(&args, &stats));
    } else {
        print!("{}", table(&stats));
    }
    let failed: u64 = stats.values().map(|s| s.failed).sum();
    for (op, s) in stats.iter() {
        for e in &s.errors {
            eprintln!("{op}: {e}");
        }
    }
    Ok(failed == 0)
}

/// Prepares the data and sends traffic until the time is up or `stop` resolves.
pub async fn generate(args: &LoadArgs, board: Board, stop: impl Future<Output = ()>) -> anyhow::Result<()> {
    let api = Api::new(&args.base)?;
    let fixture = fixture::prepare(&api, &args.admin_token, args.items.max(1), fixture::Site::First).await?;
    let total = (args.seconds > 0).then(|| ((args.seconds + args.warmup) as f64 * args.rate).ceil() as u64);
    let run = Arc::new(Run {
        api,
        fixture,
        work: Mutex::new(Work::new(args.devices)),
        board,
        warmup_until: Instant::now() + Duration::from_secs(args.warmup),
        counter: std::sync::atomic::AtomicU64::new(0),
    });
    if args.mix.has(Operation::HhtScan) {
        let tasks = total.unwrap_or(3_000) / 3 + args.devices as u64 * 2;
        prepare_wave(&run, tasks).await?;
    }
    let interval = Duration::from_secs_f64(1.0 / args.rate.max(0.001));
    let start = tokio::time::Instant::now();
    let mut in_flight = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    let mut n: u64 = 0;
    loop {
        if total.is_some_and(|t| n >= t) {
            break;
        }
        let scheduled = start + interval.mul_f64(n as f64);
        tokio::select! {
            () = tokio::time::sleep_until(scheduled) => {}
            () = &mut stop => break,
        }
        let op = args.mix.draw();
        let run = Arc::clone(&run);
        in_flight.spawn(async move { arrival(&run, op, scheduled.into_std()).await });
        n += 1;
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
    Ok(())
}

/// Every operation a smoke test must see succeed.
pub const SMOKE_OPERATIONS: &[&str] = &[
    "create-shipment",
    "stock-read",
    "order-sync",
    "inbound",
    "receive",
    "inspect-inbound",
    "putaway",
    "release-wave",
    "hht-scan",
    "inspect",
    "pack",
    "label",
    "handover",
];

/// `kura smoke`: each operation once, one after another, then the warehouse work they make
/// until none is left: every critical journey exercised end to end, in a warehouse of its own
/// ([`fixture::SMOKE_WAREHOUSE`]). Returns the results per operation.
pub async fn smoke(base: &str, admin_token: &str) -> anyhow::Result<BTreeMap<&'static str, Stats>> {
    let api = Api::new(base)?;
    // Its own warehouse: a smoke test's wave must never release a real shipment.
    let fixture = fixture::prepare(&api, admin_token, 2, fixture::Site::Own).await?;
    let run = Run {
        api,
        fixture,
        work: Mutex::new(Work::new(1)),
        board: Board::default(),
        warmup_until: Instant::now(),
        counter: std::sync::atomic::AtomicU64::new(0),
    };
    for op in [Operation::CreateShipment, Operation::StockRead, Operation::OrderSync, Operation::Inbound] {
        arrival(&run, op, Instant::now()).await;
    }
    // Bounded: a wave of two one- or two-line shipments takes a few dozen steps.
    for _ in 0..500 {
        let step = lock(&run.work).next(Instant::now() + work::HANDOVER_AFTER);
        match step {
            Some(step) => warehouse_step(&run, step, Instant::now()).await,
            None => break,
        }
    }
    let board = std::mem::take(&mut *lock(&run.board));
    Ok(board)
}

/// One arrival: the operation's request(s), measured from the scheduled instant.
async fn arrival(run: &Run, op: Operation, scheduled: Instant) {
    match op {
        Operation::CreateShipment => {
            let n = run.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let r = run.api.post("/v1/shipments", Some(&run.fixture.shipper_token), &shipment(&run.fixture, n)).await;
            if r.is_ok() {
                lock(&run.work).shipment_waiting();
            }
            record(run, "create-shipment", scheduled, &r);
        }
        Operation::StockRead => {
            let item = pick(&run.fixture.items).0.clone();
            let r = run.api.get(&format!("/v1/stock?item_code={item}"), Some(&run.fixture.shipper_token)).await;
            record(run, "stock-read", scheduled, &r);
        }
        Operation::OrderSync => {
            let r = order_webhook(run).await;
            if r.as_ref().is_ok_and(|b| b["status"] == "created") {
                lock(&run.work).shipment_waiting();
            }
            record(run, "order-sync", scheduled, &r);
        }
        Operation::Inbound => {
            let n = run.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let item = pick(&run.fixture.items).0.clone();
            let quantity = rand::rng().random_range(10..=100);
            let body = json!({"identifier": format!("IN-{}-{n}", run.fixture.run), "warehouse_id": run.fixture.warehouse_id,
                              "lines": [{"item_code": item, "quantity": quantity}]});
            let r = run.api.post("/v1/inbounds", Some(&run.fixture.shipper_token), &body).await;
            if let Ok(inbound) = &r
                && let Some(inbound_id) = inbound["inbound_id"].as_i64()
            {
                lock(&run.work).inbound_created(work::Inbound {
                    inbound_id,
                    item_code: item,
                    quantity,
                    stage: InboundStage::Receive,
                });
            }
            record(run, "inbound", scheduled, &r);
        }
        Operation::Warehouse | Operation::HhtScan => {
            let step = lock(&run.work).next(Instant::now());
            if let Some(step) = step {
                warehouse_step(run, step, scheduled).await;
            }
        }
    }
}

async fn warehouse_step(run: &Run, step: Step, scheduled: Instant) {
    let (f, wh) = (&run.fixture, Some(run.fixture.warehouse_token.as_str()));
    match step {
        Step::ReleaseWave => {
            let r = run.api.post("/wms/v1/waves", wh, &json!({"warehouse_id": f.warehouse_id})).await;
            // Nothing left to release (the cut-off job took it): not a failure, nothing to do.
            let nothing = matches!(&r, Err(e) if e.status() == Some(reqwest::StatusCode::UNPROCESSABLE_ENTITY));
            lock(&run.work).done_release(r.as_ref().ok(), fixture::SHELF);
            if !nothing {
                record(run, "release-wave", scheduled, &r);
            }
        }
        Step::Scan { wave_id, device } => {
            let body = json!({"warehouse_id": f.warehouse_id, "device_id": format!("HHT-{}-{}", f.run, device.id),
                "client_event_id": format!("{}-{}-{}", wave_id, device.id, device.event), "wave_id": wave_id,
                "step": device.step, "value": device.value});
            let r = run.api.post("/wms/v1/scans", wh, &body).await;
            lock(&run.work).done_scan(device.id, r.as_ref().ok());
            record(run, "hht-scan", scheduled, &r);
        }
        Step::Inspect { shipment_id, lines } => {
            let body = json!({"lines": lines.iter().map(|l| json!({"scanned": l.scanned, "quantity": l.quantity})).collect::<Vec<_>>()});
            let r = run.api.post(&format!("/wms/v1/shipments/{shipment_id}/inspection"), wh, &body).await;
            lock(&run.work).done_inspect(shipment_id, r.is_ok());
            record(run, "inspect", scheduled, &r);
        }
        Step::Pack { shipment_id } => {
            let body = json!({"packages": [{"weight_grams": 500}]});
            let r = run.api.post(&format!("/wms/v1/shipments/{shipment_id}/packages"), wh, &body).await;
            if let Ok(packed) = &r {
                lock(&run.work).done_pack(&packed["packages"]);
            }
            record(run, "pack", scheduled, &r);
        }
        Step::Label { package_id } => {
            let r = run.api.post(&format!("/wms/v1/packages/{package_id}/label"), wh, &json!({})).await;
            if let Ok(label) = &r {
                let carrier = label["carrier"].as_str().unwrap_or("yamato");
                let tracking = label["tracking_number"].as_str().unwrap_or_default();
                lock(&run.work).done_label(carrier, tracking, Instant::now());
            }
            record(run, "label", scheduled, &r);
        }
        Step::Handover { carrier, tracking_numbers } => {
            let body =
                json!({"warehouse_id": f.warehouse_id, "carrier": carrier, "tracking_numbers": tracking_numbers});
            let r = run.api.post("/wms/v1/handovers", wh, &body).await;
            record(run, "handover", scheduled, &r);
        }
        Step::Inbound(inbound) => {
            let id = inbound.inbound_id;
            let (name, path, body) = match inbound.stage {
                InboundStage::Receive => (
                    "receive",
                    format!("/wms/v1/inbounds/{id}/receive"),
                    json!({"lines": [{"item_code": inbound.item_code, "received": inbound.quantity}]}),
                ),
                InboundStage::Inspect => ("inspect-inbound", format!("/wms/v1/inbounds/{id}/inspect"), json!({})),
                InboundStage::Putaway => ("putaway", format!("/wms/v1/inbounds/{id}/putaway"), json!({})),
            };
            let r = run.api.post(&path, wh, &body).await;
            lock(&run.work).done_inbound(inbound, r.is_ok());
            record(run, name, scheduled, &r);
        }
    }
}

/// A wave of single-unit shipments made before the clock starts, for scan-only benchmarks.
async fn prepare_wave(run: &Run, tasks: u64) -> anyhow::Result<()> {
    let (item, _) = &run.fixture.items[0];
    for chunk in (0..tasks).collect::<Vec<_>>().chunks(64) {
        let requests = chunk.iter().map(|n| {
            let mut body = shipment(&run.fixture, 1_000_000_000 + n);
            body["lines"] = json!([{"item_code": item, "quantity": 1}]);
            async move { run.api.post("/v1/shipments", Some(&run.fixture.shipper_token), &body).await }
        });
        for r in futures::future::join_all(requests).await {
            r?;
        }
    }
    let wave = run
        .api
        .post("/wms/v1/waves", Some(&run.fixture.warehouse_token), &json!({"warehouse_id": run.fixture.warehouse_id}))
        .await?;
    lock(&run.work).done_release(Some(&wave), fixture::SHELF);
    Ok(())
}

fn shipment(f: &Fixture, n: u64) -> Value {
    // One or two lines of different items.
    let first = rand::rng().random_range(0..f.items.len());
    let count = if f.items.len() > 1 { rand::rng().random_range(1..=2) } else { 1 };
    let lines: Vec<Value> = (0..count)
        .map(|k| json!({"item_code": f.items[(first + k) % f.items.len()].0, "quantity": rand::rng().random_range(1..=3)}))
        .collect();
    json!({
        "identifier": format!("LOAD-{}-{n}", f.run),
        "warehouse_id": f.warehouse_id,
        "delivery_carrier": "yamato",
        "ship_date": jiff::Timestamp::now().to_zoned_datetime(f.zone.clone()).date().to_string(),
        "recipient": {"name": "山田 太郎", "postal_code": "150-0001", "prefecture": "東京都",
                      "address1": "渋谷区神宮前1-2-3", "phone": "03-1234-5678"},
        "lines": lines,
    })
}

/// A Shopify `orders/create` delivery, signed as the shop signs it.
async fn order_webhook(run: &Run) -> Result<Value, CallError> {
    let f = &run.fixture;
    let order_id = 9_000_000_000_000u64 + rand::rng().random_range(0..1_000_000_000_000u64);
    let (item, _) = pick(&f.items);
    let body = json!({
        "id": order_id, "name": format!("#{}", order_id % 100_000), "created_at": jiff::Timestamp::now().to_string(),
        "email": "taro@example.com",
        "shipping_address": {"name": "山田 太郎", "address1": "神宮前1-2-3", "city": "渋谷区", "province": "東京都",
                             "zip": "150-0001", "country_code": "JP", "phone": "+81 3-1234-5678"},
        "line_items": [{"sku": item, "quantity": rand::rng().random_range(1..=2)}],
    });
    let raw = serde_json::to_vec(&body).unwrap_or_default();
    let signature = base64::engine::general_purpose::STANDARD
        .encode(platform::signature::hmac_sha256(f.webhook_secret.as_bytes(), &[&raw]));
    let path = format!("/channels/v1/shopify/{}/orders", f.channel_id);
    let response = run
        .api
        .http
        .post(format!("{}{path}", run.api.base))
        .header("Content-Type", "application/json")
        .header("X-Shopify-Hmac-Sha256", signature)
        .header("X-Shopify-Topic", "orders/create")
        .header("X-Shopify-Shop-Domain", &f.shop_domain)
        .header("X-Shopify-Webhook-Id", format!("{:032x}", rand::rng().random::<u128>()))
        .header("X-Shopify-Triggered-At", jiff::Timestamp::now().to_string())
        .body(raw)
        .send()
        .await
        .map_err(|e| CallError::Transport {
            method: reqwest::Method::POST,
            path: path.clone(),
            reason: platform::tls::redact(e),
        })?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        Ok(answer)
    } else {
        Err(CallError::Status { method: reqwest::Method::POST, path, status, body: answer })
    }
}

fn pick<T>(items: &[T]) -> &T {
    &items[rand::rng().random_range(0..items.len())]
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn record(run: &Run, operation: &'static str, scheduled: Instant, result: &Result<Value, CallError>) {
    if scheduled < run.warmup_until {
        return;
    }
    let outcome = match result {
        Ok(_) => Outcome::Ok,
        Err(e) if e.status() == Some(reqwest::StatusCode::SERVICE_UNAVAILABLE) => Outcome::Shed,
        Err(_) => Outcome::Failed,
    };
    let micros = u64::try_from(scheduled.elapsed().as_micros()).unwrap_or(u64::MAX).clamp(1, 60_000_000);
    let mut board = lock(&run.board);
    let stats = board.entry(operation).or_default();
    match outcome {
        Outcome::Ok => {
            stats.ok += 1;
            let _ = stats.histogram.record(micros);
        }
        Outcome::Shed => stats.shed += 1,
        Outcome::Failed => {
            stats.failed += 1;
            if stats.errors.len() < 3
                && let Err(e) = result
            {
                stats.errors.push(e.to_string());
            }
        }
    }
}

impl Stats {
    /// Latency at quantile `q` in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.histogram.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.histogram.max() as f64 / 1000.0
    }
}

/// The human report: one row per operation.
pub fn table(stats: &BTreeMap<&'static str, Stats>) -> String {
    let mut out = format!(
        "{:<16} {:<17} {:>8} {:>6} {:>6} {:>9} {:>9} {:>9} {:>9}\n",
        "operation", "journey", "ok", "failed", "shed", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    for (op, s) in stats {
        let _ = writeln!(
            out,
            "{op:<16} {:<17} {:>8} {:>6} {:>6} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            journey_of(op),
            s.ok,
            s.failed,
            s.shed,
            s.ms(0.5),
            s.ms(0.9),
            s.ms(0.99),
            s.max_ms()
        );
    }
    out
}

/// The report for scripts: one JSON object per line, per operation, then a total.
pub fn json_lines(args: &LoadArgs, stats: &BTreeMap<&'static str, Stats>) -> String {
    let mut out = String::new();
    let seconds = args.seconds.max(1) as f64;
    let (mut ok, mut failed, mut shed) = (0, 0, 0);
    for (op, s) in stats {
        ok += s.ok;
        failed += s.failed;
        shed += s.shed;
        let line = json!({"label": args.label, "operation": op, "journey": journey_of(op), "target_rate": args.rate,
            "seconds": args.seconds, "ok": s.ok, "failed": s.failed, "shed": s.shed,
            "throughput": (s.ok as f64 / seconds * 10.0).round() / 10.0,
            "p50_ms": s.ms(0.5), "p90_ms": s.ms(0.9), "p99_ms": s.ms(0.99), "max_ms": s.max_ms()});
        let _ = writeln!(out, "{line}");
    }
    let total = json!({"label": args.label, "operation": "total", "target_rate": args.rate, "seconds": args.seconds,
        "ok": ok, "failed": failed, "shed": shed, "throughput": (ok as f64 / seconds * 10.0).round() / 10.0});
    let _ = writeln!(out, "{total}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_names_known_operations_with_positive_weights() {
        let mix = parse_mix(DEFAULT_MIX).expect("the default mix parses");
        assert!(mix.has(Operation::Warehouse));
        assert!(parse_mix("create-shipment").is_ok(), "a weight defaults to 1");
        assert!(parse_mix("teleport=1").unwrap_err().contains("unknown operation"));
        assert!(parse_mix("stock-read=0").is_err());
        assert!(parse_mix("hht-scan=1,stock-read=1").is_err());
    }

    #[test]
    fn every_operation_is_drawn_in_proportion_to_its_weight() {
        let mix = parse_mix("stock-read=3,create-shipment=1").expect("mix");
        let reads = (0..4000).filter(|_| mix.draw() == Operation::StockRead).count();
        assert!((2700..3300).contains(&reads), "{reads} of 4000");
    }
}
