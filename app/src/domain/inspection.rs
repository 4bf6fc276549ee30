//! Shipping inspection (出荷検品): before a picked shipment is packed, a worker counts what
//! was picked by scanning each unit's barcode (or, for an item without one, its code). The
//! shipment passes when, for every line, the count equals what was ordered and what was
//! picked, and nothing else was scanned.

use std::collections::HashMap;

use serde::Serialize;

/// A shipment line as picked, with what identifies its item at a scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickedLine {
    pub item_code: String,
    pub barcode: Option<String>,
    pub ordered: i64,
    pub picked: i64,
}

/// A line whose counts disagree, or an item scanned that is not on the shipment (ordered and
/// picked 0). The API lists them in its 422 `inspection-mismatch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    pub item_code: String,
    pub ordered: i64,
    pub picked: i64,
    pub inspected: i64,
}

/// Compares the counted units (`scanned` value, quantity) with the shipment's `lines`; empty
/// means the shipment passes. A scanned value matches a line by its barcode or its item code;
/// counts of the same item add up.
pub fn differences<'a>(lines: &[PickedLine], scanned: impl IntoIterator<Item = (&'a str, i64)>) -> Vec<Difference> {
    let mut counted = HashMap::<String, i64>::new();
    for (value, quantity) in scanned {
        let code = lines
            .iter()
            .find(|l| l.barcode.as_deref() == Some(value) || l.item_code == value)
            .map_or(value, |l| l.item_code.as_str());
        *counted.entry(code.to_owned()).or_default() += quantity;
    }
    let mut differences: Vec<Difference> = lines
        .iter()
        .filter_map(|l| {
            let inspected = counted.remove(&l.item_code).unwrap_or(0);
            (inspected != l.ordered || l.picked != l.ordered).then(|| Difference {
                item_code: l.item_code.clone(),
                ordered: l.ordered,
                picked: l.picked,
                inspected,
            })
        })
        .collect();
    // Anything scanned that is not on the shipment at all, in a stable order.
    let mut strangers: Vec<(String, i64)> = counted.into_iter().collect();
    strangers.sort();
    differences.extend(strangers.into_iter().map(|(item_code, inspected)| Difference {
        item_code,
        ordered: 0,
        picked: 0,
        inspected,
    }));
    differences
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(code: &str, barcode: Option<&str>, ordered: i64, picked: i64) -> PickedLine {
        PickedLine { item_code: code.into(), barcode: barcode.map(Into::into), ordered, picked }
    }

    #[test]
    fn counts_by_barcode_or_code_that_match_ordered_and_picked_pass() {
        let lines = [line("MUG-01", Some("4549292070293"), 3, 3), line("ICE-TEA", None, 1, 1)];
        let scanned = [("4549292070293", 2), ("MUG-01", 1), ("ICE-TEA", 1)];
        assert_eq!(differences(&lines, scanned), vec![]);
    }

    #[test]
    fn a_short_count_a_short_pick_and_a_stranger_are_each_a_difference() {
        let lines = [line("MUG-01", Some("4549292070293"), 3, 3), line("SOAP-3P", None, 2, 1)];
        let scanned = [("4549292070293", 2), ("SOAP-3P", 2), ("4901234567894", 1)];
        assert_eq!(
            differences(&lines, scanned),
            vec![
                Difference { item_code: "MUG-01".into(), ordered: 3, picked: 3, inspected: 2 },
                Difference { item_code: "SOAP-3P".into(), ordered: 2, picked: 1, inspected: 2 },
                Difference { item_code: "4901234567894".into(), ordered: 0, picked: 0, inspected: 1 },
            ]
        );
    }

    #[test]
    fn a_line_nobody_counted_is_a_difference() {
        let lines = [line("MUG-01", None, 1, 1)];
        let none: [(&str, i64); 0] = [];
        assert_eq!(
            differences(&lines, none),
            vec![Difference { item_code: "MUG-01".into(), ordered: 1, picked: 1, inspected: 0 }]
        );
    }
}
