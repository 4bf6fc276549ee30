//! Packages (個口) and handover: one parcel, one tracking number, one label; handing every
//! package of a shipment to the carrier is what ships it. The limits of one request and the
//! tracking-number scheme live here.

use super::Error;
use super::values::{Carrier, Grams, WarehouseId};

/// Packages one shipment may be packed into at once.
pub const MAX_PACKAGES: usize = 50;
/// Tracking numbers one handover may name.
pub const MAX_HANDOVER: usize = 1000;

/// The weights of the packages a shipment is packed into: 1 to [`MAX_PACKAGES`].
pub fn check_packages(weights: &[Grams]) -> Result<(), Error> {
    if weights.is_empty() || weights.len() > MAX_PACKAGES {
        return Err(Error::invalid("/packages", format!("must have 1 to {MAX_PACKAGES} packages")));
    }
    Ok(())
}

/// Packages handed to a carrier at a warehouse, by tracking number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHandover {
    pub warehouse_id: WarehouseId,
    pub carrier: Carrier,
    pub tracking_numbers: Vec<String>,
}

impl NewHandover {
    /// 1 to [`MAX_HANDOVER`] tracking numbers.
    pub fn check(&self) -> Result<(), Error> {
        if self.tracking_numbers.is_empty() || self.tracking_numbers.len() > MAX_HANDOVER {
            return Err(Error::invalid("/tracking_numbers", format!("must have 1 to {MAX_HANDOVER} tracking numbers")));
        }
        Ok(())
    }
}

/// A tracking number: the carrier's prefix, ten digits and a mod-7 check digit (the scheme
/// Japanese carriers print; a real integration gets numbers from the carrier's API). `serial`
/// is taken modulo 10^10.
pub fn tracking_number(carrier: Carrier, serial: u64) -> String {
    let body = format!("{}{:010}", carrier.tracking_prefix(), serial % 10_000_000_000);
    let check = body.parse::<u64>().map_or(0, |n| n % 7);
    format!("{body}{check}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tracking_number_is_prefix_ten_digits_and_a_mod_7_check_digit() {
        let tn = tracking_number(Carrier::Yamato, 1_234_567_890);
        assert_eq!(tn, format!("41234567890{}", 41_234_567_890u64 % 7));
        assert_eq!(tracking_number(Carrier::JapanPost, 7).len(), 12);
        assert!(tracking_number(Carrier::Sagawa, u64::MAX).starts_with('5'));
    }

    #[test]
    fn a_shipment_packs_into_one_to_fifty_packages_and_a_handover_names_one_to_a_thousand() {
        let grams = |n: usize| vec![Grams::try_from(100).expect("grams"); n];
        assert!(check_packages(&grams(1)).is_ok() && check_packages(&grams(50)).is_ok());
        assert!(check_packages(&grams(0)).is_err() && check_packages(&grams(51)).is_err());
        let handover = |n: usize| NewHandover {
            warehouse_id: WarehouseId(1),
            carrier: Carrier::Yamato,
            tracking_numbers: vec!["4".into(); n],
        };
        assert!(handover(1).check().is_ok() && handover(1000).check().is_ok());
        assert!(handover(0).check().is_err() && handover(1001).check().is_err());
    }
}
