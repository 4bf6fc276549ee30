//! Billing bodies: a shipper's monthly summary.

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::billing as stored;
use crate::domain::billing::{CURRENCY, Kind};
use crate::domain::calendar::Month;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SummaryLine {
    pub kind: Kind,
    pub quantity: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    /// `YYYY-MM`.
    #[schema(value_type = String)]
    pub month: Month,
    pub currency: &'static str,
    pub lines: Vec<SummaryLine>,
    pub total: i64,
}

impl From<stored::Summary> for Summary {
    fn from(s: stored::Summary) -> Self {
        Self {
            month: s.month,
            currency: CURRENCY,
            lines: s
                .lines
                .into_iter()
                .map(|l| SummaryLine { kind: l.kind, quantity: l.quantity, amount: l.amount })
                .collect(),
            total: s.total,
        }
    }
}
