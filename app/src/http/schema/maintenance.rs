//! Maintenance bodies: a switch of maintenance mode, as the admin API shows it.

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::maintenance as stored;

/// One switch of maintenance mode: who, when, why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MaintenanceEvent {
    pub maintenance_event_id: i64,
    pub enabled: bool,
    pub actor: String,
    pub reason: String,
    pub created_at: String,
}

impl From<stored::MaintenanceEvent> for MaintenanceEvent {
    fn from(e: stored::MaintenanceEvent) -> Self {
        Self {
            maintenance_event_id: e.maintenance_event_id,
            enabled: e.enabled.0,
            actor: e.actor,
            reason: e.reason,
            created_at: e.created_at,
        }
    }
}
