//! The inbound request (入荷依頼): what a shipper announces, its state machine
//! (`waiting → received → checking → stocked`, with `cancelled` reachable only from
//! `waiting`), and the rules for what arrives. A partial receipt keeps the flow but sets the
//! inbound's `halfway` flag.

use jiff::civil::Date;

use super::Error;
use super::values::{Count, Identifier, ItemCode, Lot, Quantity, WarehouseId, text_enum};

/// An inbound as a shipper announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInbound {
    pub identifier: Identifier,
    pub warehouse_id: WarehouseId,
    pub arrival_date: Option<Date>,
    pub lines: Vec<NewInboundLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInboundLine {
    pub item_code: ItemCode,
    pub quantity: Quantity,
    pub lot: Option<Lot>,
    /// For lot-managed items; allocation is first-expiry-first-out.
    pub expires_on: Option<Date>,
}

/// The most lines one inbound may have.
pub const MAX_LINES: usize = 500;

impl NewInbound {
    /// 1 to [`MAX_LINES`] lines.
    pub fn check(&self) -> Result<(), Error> {
        if self.lines.is_empty() || self.lines.len() > MAX_LINES {
            return Err(Error::invalid("/lines", format!("must have 1 to {MAX_LINES} lines")));
        }
        Ok(())
    }
}

impl NewInboundLine {
    /// A lot-managed item is allocated first-expiry-first-out, so it must arrive with a lot and
    /// an expiry date; `i` is the line's index.
    pub fn check_lot(&self, i: usize, lot_managed: bool) -> Result<(), Error> {
        let no_lot = self.lot.as_ref().is_none_or(|l| l.as_str().is_empty());
        if lot_managed && (no_lot || self.expires_on.is_none()) {
            return Err(Error::invalid(format!("/lines/{i}/lot"), "a lot-managed item needs a lot and an expiry date"));
        }
        Ok(())
    }
}

/// What arrived of one item and lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedLine {
    pub item_code: ItemCode,
    pub lot: Option<Lot>,
    pub received: Count,
    pub defective: Count,
}

impl ReceivedLine {
    /// Units booked (sellable, on hold): good units of an announced line are sellable and
    /// defective ones go on hold; goods the inbound did not announce are unknown goods, all on
    /// hold.
    pub fn booked(&self, announced: bool) -> (i64, i64) {
        let (received, defective) = (self.received.get(), self.defective.get());
        if announced { (received, defective) } else { (0, received + defective) }
    }
}

text_enum!(
    /// Inbound status, named as in OPENLOGI's API.
    InboundStatus {
        Waiting = "waiting",
        Received = "received",
        Checking = "checking",
        Stocked = "stocked",
        Cancelled = "cancelled",
    }
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundAction {
    Receive,
    Inspect,
    Putaway,
    Cancel,
}

impl InboundAction {
    pub fn as_str(self) -> &'static str {
        match self {
            InboundAction::Receive => "receive",
            InboundAction::Inspect => "inspect",
            InboundAction::Putaway => "put away",
            InboundAction::Cancel => "cancel",
        }
    }
}

impl InboundStatus {
    pub fn next(self, action: InboundAction) -> Result<Self, Error> {
        use InboundAction as A;
        use InboundStatus as S;
        match (self, action) {
            (S::Waiting, A::Receive) => Ok(S::Received),
            (S::Received, A::Inspect) => Ok(S::Checking),
            (S::Checking, A::Putaway) => Ok(S::Stocked),
            (S::Waiting, A::Cancel) => Ok(S::Cancelled),
            _ => Err(Error::IllegalTransition {
                entity: "inbound",
                current: self.as_str().to_owned(),
                action: action.as_str(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::InboundAction as A;
    use super::InboundStatus as S;
    use super::*;

    fn line(lot: &str, expires_on: Option<Date>) -> NewInboundLine {
        NewInboundLine {
            item_code: ItemCode::parse("TEA-01").expect("code"),
            quantity: Quantity::try_from(1).expect("quantity"),
            lot: Some(Lot::parse(lot).expect("lot")),
            expires_on,
        }
    }

    #[test]
    fn a_lot_managed_item_arrives_with_a_lot_and_an_expiry_date() {
        let expiry = Some(jiff::civil::date(2027, 3, 31));
        assert!(line("L-1", expiry).check_lot(0, true).is_ok());
        assert!(line("", None).check_lot(0, false).is_ok());
        let no_expiry = line("L-1", None).check_lot(2, true);
        assert!(matches!(no_expiry, Err(Error::Invalid { ref field, .. }) if field == "/lines/2/lot"));
        assert!(line("", expiry).check_lot(0, true).is_err());
    }

    #[test]
    fn announced_goods_are_sellable_unless_defective_and_unannounced_ones_all_go_on_hold() {
        let arrived = ReceivedLine {
            item_code: ItemCode::parse("TEA-01").expect("code"),
            lot: None,
            received: Count::try_from(8).expect("count"),
            defective: Count::try_from(2).expect("count"),
        };
        assert_eq!(arrived.booked(true), (8, 2));
        assert_eq!(arrived.booked(false), (0, 10));
    }

    #[test]
    fn inbound_walks_in_order_and_cancels_only_while_waiting() {
        assert_eq!(S::Waiting.next(A::Receive).ok(), Some(S::Received));
        assert_eq!(S::Received.next(A::Inspect).ok(), Some(S::Checking));
        assert_eq!(S::Checking.next(A::Putaway).ok(), Some(S::Stocked));
        assert_eq!(S::Waiting.next(A::Cancel).ok(), Some(S::Cancelled));
        assert!(S::Received.next(A::Cancel).is_err());
        assert!(S::Waiting.next(A::Putaway).is_err());
        assert!(S::Stocked.next(A::Receive).is_err());
    }
}
