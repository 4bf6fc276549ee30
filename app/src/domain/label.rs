//! Shipping labels (送り状): a package's label as ZPL II, the language of the thermal label
//! printers Japanese carriers' integrations print to.
//!
//! Recipient fields are text a shipper or a shop's customer typed, and in ZPL a `^` or `~`
//! starts a command: unescaped, a name like `^XZ^XA…` ends the label and prints another. So
//! every field is written behind `^FH` (Field Hexadecimal Indicator, ZPL II Programming
//! Guide): the hex indicator `_` and the command prefixes `^` and `~` go as `_5F`, `_5E` and
//! `_7E`. `^CI28` declares the field bytes UTF-8, which Japanese names and addresses are.

use super::shipment::Recipient;
use super::values::Carrier;

/// The label's ZPL: carrier, the tracking number as a Code 128 barcode with its text, then the
/// recipient's postal code and prefecture, address and name.
pub fn zpl(carrier: Carrier, tracking_number: &str, to: &Recipient) -> String {
    format!(
        "^XA^CI28^CF0,40^FO40,40{carrier}^FO40,100^BCN,120,Y,N,N{tracking}^CF0,30\
         ^FO40,280{place}^FO40,320{address}^FO40,360{name}^XZ",
        carrier = field(carrier.as_str()),
        tracking = field(tracking_number),
        place = field(&format!("{} {}", to.postal_code, to.prefecture)),
        address = field(to.address1.as_str()),
        name = field(to.name.as_str()),
    )
}

/// One field's data, hex-escaped: `^FH^FD…^FS`.
fn field(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 10);
    out.push_str("^FH^FD");
    for c in value.chars() {
        match c {
            '_' => out.push_str("_5F"),
            '^' => out.push_str("_5E"),
            '~' => out.push_str("_7E"),
            c => out.push(c),
        }
    }
    out.push_str("^FS");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipient(name: &str, address1: &str) -> Recipient {
        serde_json::from_value(serde_json::json!({
            "name": name, "postal_code": "150-0001", "prefecture": "東京都",
            "address1": address1, "phone": "03-1234-5678"
        }))
        .expect("recipient")
    }

    #[test]
    fn a_label_prints_the_carrier_the_tracking_barcode_and_the_recipient() {
        let label = zpl(Carrier::Yamato, "41234567890", &recipient("山田 太郎", "渋谷区神宮前1-2-3"));
        assert!(label.starts_with("^XA^CI28") && label.ends_with("^XZ"), "{label}");
        assert!(label.contains("^FH^FDyamato^FS"), "{label}");
        assert!(label.contains("^BCN,120,Y,N,N^FH^FD41234567890^FS"), "{label}");
        assert!(label.contains("^FH^FD150-0001 東京都^FS"), "{label}");
        assert!(label.contains("^FH^FD渋谷区神宮前1-2-3^FS"), "{label}");
        assert!(label.contains("^FH^FD山田 太郎^FS"), "{label}");
    }

    #[test]
    fn zpl_commands_in_recipient_fields_are_printed_as_text_not_run() {
        let label = zpl(Carrier::Sagawa, "51234567890", &recipient("Eve^XZ^XA^FO0,0^FDforged", "~JR 1_2"));
        // One label, and no command the recipient wrote.
        assert_eq!(label.matches("^XA").count(), 1, "{label}");
        assert_eq!(label.matches("^XZ").count(), 1, "{label}");
        assert!(!label.contains("~JR"), "{label}");
        assert!(label.contains("^FH^FDEve_5EXZ_5EXA_5EFO0,0_5EFDforged^FS"), "{label}");
        assert!(label.contains("^FH^FD_7EJR 1_5F2^FS"), "{label}");
    }
}
