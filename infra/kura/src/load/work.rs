//! Warehouse work as synthetic traffic walks it: release a wave when shipments are waiting,
//! walk its picking list with HHT devices (location → item → quantity, scanning what the
//! server says comes next), inspect each fully picked shipment, pack it, print its label, and
//! hand labelled parcels to the carrier; receive, inspect and put away inbounds.
//!
//! [`Work`] is the shared state; [`Work::next`] hands out the next step to do (highest
//! priority first: finish parcels before starting new picks), and each step's answer is fed
//! back with the `done_*` methods. A step handed out is owned by its request until then, so
//! concurrent requests never work on the same thing.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Handover happens when this many parcels are labelled, or the oldest waited [`HANDOVER_AFTER`].
pub const HANDOVER_BATCH: usize = 8;
pub const HANDOVER_AFTER: Duration = Duration::from_secs(5);

/// One line of a shipment as inspection scans it: what to scan, and how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub scanned: String,
    pub quantity: i64,
}

/// A device's position on the picking list.
#[derive(Debug, Clone)]
pub struct Device {
    pub id: usize,
    pub step: String,
    pub value: String,
    pub event: u64,
    busy: bool,
    done: bool,
}

#[derive(Debug)]
struct Wave {
    wave_id: i64,
    devices: Vec<Device>,
    /// Per shipment: its lines, and how many of its tasks are not yet picked.
    shipments: HashMap<i64, (Vec<Line>, usize)>,
    next_device: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundStage {
    Receive,
    Inspect,
    Putaway,
}

/// An inbound on its way to the shelf.
#[derive(Debug, Clone)]
pub struct Inbound {
    pub inbound_id: i64,
    pub item_code: String,
    pub quantity: i64,
    pub stage: InboundStage,
}

/// The next thing a warehouse worker does.
#[derive(Debug, Clone)]
pub enum Step {
    Handover { carrier: String, tracking_numbers: Vec<String> },
    Label { package_id: i64 },
    Pack { shipment_id: i64 },
    Inspect { shipment_id: i64, lines: Vec<Line> },
    Inbound(Inbound),
    Scan { wave_id: i64, device: Device },
    ReleaseWave,
}

/// The shared state of warehouse work.
#[derive(Debug)]
pub struct Work {
    devices: usize,
    /// Shipments allocated since the last wave was released.
    waiting: u64,
    releasing: bool,
    wave: Option<Wave>,
    picked: VecDeque<(i64, Vec<Line>)>,
    inspected: VecDeque<i64>,
    packed: VecDeque<i64>,
    /// (carrier, tracking number, labelled at)
    labelled: Vec<(String, String, Instant)>,
    inbounds: VecDeque<Inbound>,
}

impl Work {
    pub fn new(devices: usize) -> Work {
        Work {
            devices: devices.max(1),
            waiting: 0,
            releasing: false,
            wave: None,
            picked: VecDeque::new(),
            inspected: VecDeque::new(),
            packed: VecDeque::new(),
            labelled: Vec::new(),
            inbounds: VecDeque::new(),
        }
    }

    /// A shipment was created and allocated: a wave has something to release.
    pub fn shipment_waiting(&mut self) {
        self.waiting += 1;
    }

    pub fn inbound_created(&mut self, inbound: Inbound) {
        self.inbounds.push_back(inbound);
    }

    /// The next step, highest priority first; `None` when there is nothing to do now.
    pub fn next(&mut self, now: Instant) -> Option<Step> {
        if let Some(step) = self.handover(now) {
            return Some(step);
        }
        if let Some(package_id) = self.packed.pop_front() {
            return Some(Step::Label { package_id });
        }
        if let Some(shipment_id) = self.inspected.pop_front() {
            return Some(Step::Pack { shipment_id });
        }
        if let Some((shipment_id, lines)) = self.picked.pop_front() {
            return Some(Step::Inspect { shipment_id, lines });
        }
        if let Some(inbound) = self.inbounds.pop_front() {
            return Some(Step::Inbound(inbound));
        }
        if let Some(wave) = self.wave.as_mut() {
            let n = wave.devices.len();
            for k in 0..n {
                let i = (wave.next_device + k) % n;
                let device = &mut wave.devices[i];
                if !device.busy && !device.done {
                    device.busy = true;
                    device.event += 1;
                    wave.next_device = (i + 1) % n;
                    return Some(Step::Scan { wave_id: wave.wave_id, device: device.clone() });
                }
            }
            return None;
        }
        if self.waiting > 0 && !self.releasing {
            self.releasing = true;
            return Some(Step::ReleaseWave);
        }
        None
    }

    fn handover(&mut self, now: Instant) -> Option<Step> {
        let oldest = self.labelled.iter().map(|(_, _, at)| *at).min()?;
        if self.labelled.len() < HANDOVER_BATCH && now.duration_since(oldest) < HANDOVER_AFTER {
            return None;
        }
        let carrier = self.labelled[0].0.clone();
        let (batch, rest): (Vec<_>, Vec<_>) = self.labelled.drain(..).partition(|(c, _, _)| *c == carrier);
        self.labelled = rest;
        Some(Step::Handover { carrier, tracking_numbers: batch.into_iter().map(|(_, t, _)| t).collect() })
    }

    /// A wave was released (`wave` is the API's answer), or releasing failed (`None`).
    pub fn done_release(&mut self, wave: Option<&Value>, first_location: &str) {
        self.releasing = false;
        let Some(wave) = wave else { return };
        self.waiting = 0;
        let mut shipments: HashMap<i64, (Vec<Line>, usize)> = HashMap::new();
        for task in wave["picking_list"].as_array().into_iter().flatten() {
            let (Some(shipment), Some(quantity)) = (task["shipment_id"].as_i64(), task["quantity"].as_i64()) else {
                continue;
            };
            let scanned = task["barcode"].as_str().or(task["item_code"].as_str()).unwrap_or_default().to_owned();
            let entry = shipments.entry(shipment).or_default();
            match entry.0.iter_mut().find(|l| l.scanned == scanned) {
                Some(line) => line.quantity += quantity,
                None => entry.0.push(Line { scanned, quantity }),
            }
            entry.1 += 1;
        }
        if shipments.is_empty() {
            return;
        }
        let devices = (0..self.devices)
            .map(|id| Device {
                id,
                step: "location".into(),
                value: first_location.to_owned(),
                event: 0,
                busy: false,
                done: false,
            })
            .collect();
        self.wave = Some(Wave { wave_id: wave["wave_id"].as_i64().unwrap_or(0), devices, shipments, next_device: 0 });
    }

    /// A device's scan was answered (`answer` is the API's response, `None` if it failed).
    pub fn done_scan(&mut self, device: usize, answer: Option<&Value>) {
        let Some(wave) = self.wave.as_mut() else { return };
        let Some(d) = wave.devices.get_mut(device) else { return };
        d.busy = false;
        let Some(r) = answer else { return };
        if let Some(step) = r["expected_step"].as_str() {
            d.step = step.to_owned();
        }
        let next = &r["next_task"];
        d.value = match (r["outcome"].as_str(), d.step.as_str()) {
            (Some("mismatch"), _) => r["expected"].as_str().unwrap_or_default().to_owned(),
            (_, "location") => next["location_code"].as_str().unwrap_or_default().to_owned(),
            (_, "item") => next["barcode"].as_str().or(next["item_code"].as_str()).unwrap_or_default().to_owned(),
            _ => (next["quantity"].as_i64().unwrap_or(1) - next["picked"].as_i64().unwrap_or(0)).to_string(),
        };
        let task = &r["task"];
        let completed = r["outcome"] == "accepted"
            && task["quantity"].as_i64().is_some()
            && task["quantity"] == task["picked"]
            && r["scanned"].as_str().is_some_and(|s| s.parse::<i64>().is_ok());
        if completed && let Some(shipment) = task["shipment_id"].as_i64() {
            let finished = match wave.shipments.get_mut(&shipment) {
                Some((_, left)) => {
                    *left = left.saturating_sub(1);
                    *left == 0
                }
                None => false,
            };
            if finished && let Some((lines, _)) = wave.shipments.remove(&shipment) {
                self.picked.push_back((shipment, lines));
            }
        }
        // No next task: the wave is done for this device (every task is picked or another
        // device holds it).
        if next.is_null() {
            d.done = true;
        }
        if wave.devices.iter().all(|d| d.done) {
            self.wave = None;
        }
    }

    /// Inspection passed (or not: the shipment leaves the flow either way).
    pub fn done_inspect(&mut self, shipment_id: i64, passed: bool) {
        if passed {
            self.inspected.push_back(shipment_id);
        }
    }

    /// Packed: its packages, each with `package_id` and `carrier`.
    pub fn done_pack(&mut self, packages: &Value) {
        for p in packages.as_array().into_iter().flatten() {
            if let Some(id) = p["package_id"].as_i64() {
                self.packed.push_back(id);
            }
        }
    }

    pub fn done_label(&mut self, carrier: &str, tracking_number: &str, now: Instant) {
        self.labelled.push((carrier.to_owned(), tracking_number.to_owned(), now));
    }

    /// An inbound step done: it moves to the next stage, or leaves when stocked.
    pub fn done_inbound(&mut self, mut inbound: Inbound, ok: bool) {
        if !ok {
            return;
        }
        inbound.stage = match inbound.stage {
            InboundStage::Receive => InboundStage::Inspect,
            InboundStage::Inspect => InboundStage::Putaway,
            InboundStage::Putaway => return,
        };
        self.inbounds.push_back(inbound);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_released_wave_is_walked_by_its_devices_and_a_picked_shipment_is_inspected() {
        let mut work = Work::new(1);
        work.shipment_waiting();
        assert!(matches!(work.next(Instant::now()), Some(Step::ReleaseWave)));
        assert!(work.next(Instant::now()).is_none(), "one release at a time");
        work.done_release(
            Some(&json!({"wave_id": 7, "picking_list": [
                {"shipment_id": 1, "quantity": 2, "barcode": "4901234567894", "item_code": "A", "location_code": "A-01-01"}]})),
            "A-01-01",
        );
        let Some(Step::Scan { wave_id: 7, device }) = work.next(Instant::now()) else { panic!("a scan") };
        assert_eq!((device.step.as_str(), device.value.as_str()), ("location", "A-01-01"));
        work.done_scan(0, Some(&json!({"outcome": "accepted", "expected_step": "item", "scanned": "A-01-01",
            "task": {"shipment_id": 1, "quantity": 2, "picked": 0}, "next_task": {"barcode": "4901234567894", "quantity": 2, "picked": 0}})));
        work.next(Instant::now());
        work.done_scan(
            0,
            Some(&json!({"outcome": "accepted", "expected_step": "quantity", "scanned": "4901234567894",
            "task": {"shipment_id": 1, "quantity": 2, "picked": 0}, "next_task": {"quantity": 2, "picked": 0}})),
        );
        let Some(Step::Scan { device, .. }) = work.next(Instant::now()) else { panic!("a scan") };
        assert_eq!(device.value, "2", "the quantity still to pick");
        work.done_scan(
            0,
            Some(&json!({"outcome": "accepted", "expected_step": "location", "scanned": "2",
            "task": {"shipment_id": 1, "quantity": 2, "picked": 2}, "next_task": null})),
        );

        let Some(Step::Inspect { shipment_id: 1, lines }) = work.next(Instant::now()) else { panic!("inspection") };
        assert_eq!(lines, vec![Line { scanned: "4901234567894".into(), quantity: 2 }]);
        assert!(work.next(Instant::now()).is_none(), "the wave is done and nothing waits");
    }

    #[test]
    fn labelled_parcels_are_handed_over_in_batches_per_carrier() {
        let mut work = Work::new(1);
        let t0 = Instant::now();
        for i in 0..HANDOVER_BATCH {
            work.done_label(if i % 2 == 0 { "yamato" } else { "sagawa" }, &format!("T{i}"), t0);
        }
        let Some(Step::Handover { carrier, tracking_numbers }) = work.next(t0) else { panic!("handover") };
        assert_eq!(carrier, "yamato");
        assert_eq!(tracking_numbers.len(), HANDOVER_BATCH / 2);
        assert!(work.next(t0).is_none(), "the rest waits for its batch or its age");
        assert!(matches!(work.next(t0 + HANDOVER_AFTER), Some(Step::Handover { .. })));
    }
}
