//! Stock: the rules for changing it by hand. Every on-hand change is one ledger entry; a
//! correction (`adjust`) may go either way, a customer return only adds. On-hand never goes
//! below what is reserved, nor above [`MAX_ON_HAND`](super::values::MAX_ON_HAND).

use super::Error;
use super::values::{Bucket, ItemId, LedgerKind, Lot, StockDelta, WarehouseId, text_enum};

text_enum!(
    /// Why warehouse staff change stock by hand.
    AdjustmentReason { Adjust = "adjust", Return = "return" }
);

/// A correction or a customer return, by warehouse staff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub warehouse_id: WarehouseId,
    pub location_code: String,
    pub item_id: ItemId,
    pub lot: Lot,
    pub bucket: Bucket,
    pub quantity: StockDelta,
    pub reason: AdjustmentReason,
}

impl Adjustment {
    /// A change is never zero, and a return always adds units.
    pub fn check(&self) -> Result<(), Error> {
        let n = self.quantity.get();
        if n == 0 || (self.reason == AdjustmentReason::Return && n < 0) {
            return Err(Error::invalid("/quantity", "must be non-zero, and positive for a return"));
        }
        Ok(())
    }

    /// The ledger entry it makes.
    pub fn ledger_kind(&self) -> LedgerKind {
        match self.reason {
            AdjustmentReason::Adjust => LedgerKind::Adjust,
            AdjustmentReason::Return => LedgerKind::Return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adjustment(reason: AdjustmentReason, quantity: i64) -> Adjustment {
        Adjustment {
            warehouse_id: WarehouseId(1),
            location_code: "A-01-01".into(),
            item_id: ItemId(1),
            lot: Lot::parse("").expect("no lot"),
            bucket: Bucket::Sellable,
            quantity: StockDelta::try_from(quantity).expect("delta"),
            reason,
        }
    }

    #[test]
    fn a_correction_goes_either_way_and_a_return_only_adds() {
        assert!(adjustment(AdjustmentReason::Adjust, -3).check().is_ok());
        assert!(adjustment(AdjustmentReason::Adjust, 3).check().is_ok());
        assert!(adjustment(AdjustmentReason::Return, 3).check().is_ok());
        assert!(adjustment(AdjustmentReason::Return, -3).check().is_err());
        assert!(adjustment(AdjustmentReason::Adjust, 0).check().is_err());
        assert_eq!(adjustment(AdjustmentReason::Return, 1).ledger_kind(), LedgerKind::Return);
    }
}
