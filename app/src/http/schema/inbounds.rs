//! Inbound bodies: an announced inbound, the inbound as the API shows it, a receipt and a
//! putaway.

use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::inbounds as stored;
use crate::domain::inbound::{self, InboundStatus};
use crate::domain::values::{Count, Identifier, InboundId, ItemCode, ItemId, Lot, Quantity, WarehouseId};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInboundLine {
    pub item_code: ItemCode,
    pub quantity: Quantity,
    pub lot: Option<Lot>,
    /// Expiry date (YYYY-MM-DD) for lot-managed items; allocation is first-expiry-first-out.
    #[serde(default, deserialize_with = "super::date::optional")]
    #[schema(value_type = Option<String>, format = Date)]
    pub expires_on: Option<Date>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInbound {
    pub identifier: Identifier,
    pub warehouse_id: WarehouseId,
    #[serde(default, deserialize_with = "super::date::optional")]
    #[schema(value_type = Option<String>, format = Date)]
    pub arrival_date: Option<Date>,
    pub lines: Vec<NewInboundLine>,
}

impl From<NewInbound> for inbound::NewInbound {
    fn from(n: NewInbound) -> Self {
        Self {
            identifier: n.identifier,
            warehouse_id: n.warehouse_id,
            arrival_date: n.arrival_date,
            lines: n
                .lines
                .into_iter()
                .map(|l| inbound::NewInboundLine {
                    item_code: l.item_code,
                    quantity: l.quantity,
                    lot: l.lot,
                    expires_on: l.expires_on,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InboundLine {
    pub item_id: ItemId,
    pub item_code: ItemCode,
    #[schema(value_type = String)]
    pub lot: Lot,
    #[schema(value_type = Option<String>, format = Date)]
    pub expires_on: Option<Date>,
    pub requested: i64,
    pub received: i64,
    pub defective: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Inbound {
    pub inbound_id: InboundId,
    pub identifier: Identifier,
    pub warehouse_id: WarehouseId,
    pub status: InboundStatus,
    /// Fewer units arrived than were requested.
    pub halfway: bool,
    #[schema(value_type = Option<String>, format = Date)]
    pub arrival_date: Option<Date>,
    pub lines: Vec<InboundLine>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<stored::Inbound> for Inbound {
    fn from(i: stored::Inbound) -> Self {
        Self {
            inbound_id: i.inbound_id,
            identifier: i.identifier,
            warehouse_id: i.warehouse_id,
            status: i.status,
            halfway: i.halfway,
            arrival_date: i.arrival_date,
            lines: i
                .lines
                .into_iter()
                .map(|l| InboundLine {
                    item_id: l.item_id,
                    item_code: l.item_code,
                    lot: l.lot,
                    expires_on: l.expires_on,
                    requested: l.requested,
                    received: l.received,
                    defective: l.defective,
                })
                .collect(),
            version: i.version,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    pub lines: Vec<ReceivedLine>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceivedLine {
    pub item_code: ItemCode,
    pub lot: Option<Lot>,
    pub received: Count,
    #[serde(default = "zero")]
    #[schema(value_type = i64)]
    pub defective: Count,
}

fn zero() -> Count {
    Count::try_from(0).unwrap_or_else(|_| unreachable!("0 is a valid count"))
}

impl Receipt {
    /// The received lines, as the domain reads them.
    pub fn lines(self) -> Vec<inbound::ReceivedLine> {
        self.lines
            .into_iter()
            .map(|l| inbound::ReceivedLine {
                item_code: l.item_code,
                lot: l.lot,
                received: l.received,
                defective: l.defective,
            })
            .collect()
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Putaway {
    /// Shelf location for the goods; default the warehouse's first stock location.
    pub location_code: Option<String>,
}
