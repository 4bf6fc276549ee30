//! Waves (picking lists, ピッキングリスト): the allocated shipments due today, released at the
//! warehouse's cut-off (OPENLOGI's same-day cut-off is 12:30 JST) or on demand, and walked in
//! location pick-sequence order. A cut-off wave happens once per warehouse and day.

use super::values::text_enum;

text_enum!(
    /// Why a wave was generated.
    Origin { Cutoff = "cutoff", Manual = "manual" }
);
