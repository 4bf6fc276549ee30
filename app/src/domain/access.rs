//! Who is calling: roles and the principal every request is authorised as.
//!
//! Tenant isolation starts here: a `shipper` principal carries its shipper id and every
//! shipper-facing query filters by it; a `warehouse` principal carries the warehouses it
//! operates.

use serde::{Deserialize, Serialize};

use super::values::{ShipperId, WarehouseId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Shipper,
    Warehouse,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Shipper => "shipper",
            Role::Warehouse => "warehouse",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "shipper" => Some(Role::Shipper),
            "warehouse" => Some(Role::Warehouse),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Shipper { token_id: i64, shipper_id: ShipperId },
    Warehouse { token_id: i64, warehouses: Vec<WarehouseId> },
    Admin { token_id: i64 },
}

impl Principal {
    pub fn role(&self) -> Role {
        match self {
            Principal::Shipper { .. } => Role::Shipper,
            Principal::Warehouse { .. } => Role::Warehouse,
            Principal::Admin { .. } => Role::Admin,
        }
    }

    pub fn token_id(&self) -> i64 {
        match self {
            Principal::Shipper { token_id, .. }
            | Principal::Warehouse { token_id, .. }
            | Principal::Admin { token_id } => *token_id,
        }
    }

    /// A stable string for audit trails and idempotency scoping.
    pub fn key(&self) -> String {
        format!("{}:{}", self.role().as_str(), self.token_id())
    }

    /// Whether this principal may operate the warehouse (admins operate all).
    pub fn operates(&self, warehouse: WarehouseId) -> bool {
        match self {
            Principal::Warehouse { warehouses, .. } => warehouses.contains(&warehouse),
            Principal::Admin { .. } => true,
            Principal::Shipper { .. } => false,
        }
    }
}
