//! Alerting's metrics, registered in the controller's registry
//! ([`crate::controller::metrics`]):
//!
//! * `slo_notifications_total{receiver, outcome}` -- delivery attempts, `delivered` (2xx) or
//!   `failed` (retried later);
//! * `slo_notifications_dead_lettered_total{receiver, reason}` -- notifications given up on:
//!   `attempts` (failed every attempt), `unconfigured` (the receiver was removed from the flags),
//!   `unreadable` (a payload this version cannot read); see [`super::outbox`];
//! * `slo_outbox_depth` -- notifications still to send (a growing depth is a receiver outage or
//!   a misconfigured receiver).

use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotificationLabels {
    pub receiver: String,
    pub outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeadLetterLabels {
    pub receiver: String,
    pub reason: &'static str,
}

#[derive(Debug, Clone, Default)]
pub struct AlertMetrics {
    pub notifications: Family<NotificationLabels, Counter>,
    pub dead_lettered: Family<DeadLetterLabels, Counter>,
    pub outbox_depth: Gauge<i64, AtomicI64>,
}

impl AlertMetrics {
    /// Registers these metrics in `registry`.
    pub fn register_in(&self, registry: &mut Registry) {
        registry.register(
            "slo_notifications",
            "Notification delivery attempts by receiver and outcome",
            self.notifications.clone(),
        );
        registry.register(
            "slo_notifications_dead_lettered",
            "Notifications given up on, by receiver and reason",
            self.dead_lettered.clone(),
        );
        registry.register("slo_outbox_depth", "Notifications still to send", self.outbox_depth.clone());
    }

    /// Counts one attempt.
    pub fn attempt(&self, receiver: &str, delivered: bool) {
        let outcome = if delivered { "delivered" } else { "failed" };
        self.notifications.get_or_create(&NotificationLabels { receiver: receiver.into(), outcome }).inc();
    }

    /// Counts one row given up on.
    pub fn dead_lettered(&self, receiver: &str, reason: super::outbox::DeadReason) {
        self.dead_lettered
            .get_or_create(&DeadLetterLabels { receiver: receiver.into(), reason: reason.as_str() })
            .inc();
    }
}
