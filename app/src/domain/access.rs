//! Who is calling and what they may see: roles, the principal every request is authorised
//! as, and the [`Scope`] every query filters by.
//!
//! Tenant isolation starts here: a `shipper` principal sees its own items, inbounds,
//! shipments, stock and channel events; a `warehouse` principal the documents of the
//! warehouses it operates; an admin everything. A document outside the caller's scope is
//! indistinguishable from a missing one (404), so ids never leak across tenants.

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

    /// What this principal may see.
    pub fn scope(&self) -> Scope {
        match self {
            Principal::Shipper { shipper_id, .. } => Scope::Shipper(*shipper_id),
            Principal::Warehouse { warehouses, .. } => Scope::Warehouses(warehouses.clone()),
            Principal::Admin { .. } => Scope::All,
        }
    }
}

/// Who may see what: the one answer every query filters by (storage turns it into a `where`
/// condition, see `db::visible`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A shipper's own documents: items, inbounds, shipments, stock, channel events.
    Shipper(ShipperId),
    /// The documents of these warehouses, whoever the shipper (warehouse staff).
    Warehouses(Vec<WarehouseId>),
    /// Everything: admins, and the service's own jobs.
    All,
}

impl Scope {
    /// Whether a document of `shipper` in `warehouse` is visible.
    pub fn allows(&self, shipper: ShipperId, warehouse: WarehouseId) -> bool {
        match self {
            Scope::Shipper(s) => *s == shipper,
            Scope::Warehouses(ws) => ws.contains(&warehouse),
            Scope::All => true,
        }
    }

    /// Whether work in `warehouse` (receiving, waves, scans, packing, handover, stock
    /// corrections) is this scope's to do. Shippers operate no warehouse.
    pub fn operates(&self, warehouse: WarehouseId) -> bool {
        match self {
            Scope::Shipper(_) => false,
            Scope::Warehouses(ws) => ws.contains(&warehouse),
            Scope::All => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACME: ShipperId = ShipperId(1);
    const SAKURA: ShipperId = ShipperId(2);
    const TOKYO: WarehouseId = WarehouseId(10);
    const OSAKA: WarehouseId = WarehouseId(20);

    #[test]
    fn a_shipper_sees_its_own_documents_in_every_warehouse_and_operates_none() {
        let scope = Principal::Shipper { token_id: 1, shipper_id: ACME }.scope();
        assert!(scope.allows(ACME, TOKYO) && scope.allows(ACME, OSAKA));
        assert!(!scope.allows(SAKURA, TOKYO));
        assert!(!scope.operates(TOKYO));
    }

    #[test]
    fn warehouse_staff_see_and_operate_only_their_warehouses_for_every_shipper() {
        let scope = Principal::Warehouse { token_id: 2, warehouses: vec![TOKYO] }.scope();
        assert!(scope.allows(ACME, TOKYO) && scope.allows(SAKURA, TOKYO));
        assert!(!scope.allows(ACME, OSAKA));
        assert!(scope.operates(TOKYO) && !scope.operates(OSAKA));
    }

    #[test]
    fn an_admin_sees_and_operates_everything() {
        let scope = Principal::Admin { token_id: 3 }.scope();
        assert_eq!(scope, Scope::All);
        assert!(scope.allows(SAKURA, OSAKA) && scope.operates(OSAKA));
    }
}
