//! Billing: what is billed and at what price. Every billable operation leaves one billing
//! event, unique per (shipper, kind, reference) so a retried request or a re-run job bills
//! once; invoices sum them per shipper and [`Month`](super::calendar::Month) of the
//! warehouse's calendar.

use super::values::text_enum;

/// The currency every price is in.
pub const CURRENCY: &str = "JPY";

text_enum!(
    /// What was billed.
    Kind {
        InboundUnit = "inbound_unit",
        StorageUnitDay = "storage_unit_day",
        ParcelShipped = "parcel_shipped",
        GiftWrap = "option_gift_wrap",
        HoldStockCase = "hold_stock_case",
        CancelAfterPicking = "cancel_after_picking",
    }
);

impl Kind {
    /// List price in yen per unit. A real tariff is per contract; these are the defaults.
    pub fn unit_price(self) -> i64 {
        match self {
            Kind::InboundUnit => 10,
            Kind::StorageUnitDay => 1,
            Kind::ParcelShipped => 350,
            Kind::GiftWrap => 150,
            Kind::HoldStockCase => 500,
            Kind::CancelAfterPicking => 200,
        }
    }

    /// What `quantity` units cost.
    pub fn amount(self, quantity: i64) -> i64 {
        quantity.saturating_mul(self.unit_price())
    }
}

#[cfg(test)]
mod tests {
    use super::Kind;

    #[test]
    fn an_amount_is_units_times_the_list_price() {
        assert_eq!(Kind::ParcelShipped.amount(3), 1050);
        assert_eq!(Kind::StorageUnitDay.amount(0), 0);
        assert_eq!(Kind::InboundUnit.amount(i64::MAX), i64::MAX, "never overflows");
    }
}
