//! Masking personal data for QA copies of a production database (`fulfillment mask`).
//!
//! Every personal value is replaced by a fake of the same shape, chosen deterministically by
//! HMAC-SHA256 of the value under a secret key: the same input always gives the same fake, so
//! joins, duplicates and bug reproductions survive, while nobody without the key can build a
//! dictionary from real names back to fakes. Fakes are valid for the field's own rules (a
//! 7-digit postal code, a 10–13 digit phone number), so the masked data passes the API's
//! validation like the real data did.

use platform::signature::hmac_sha256;

/// The shortest key accepted: a short key is a guessable key.
pub const MIN_KEY_LEN: usize = 16;

/// The masking key.
#[derive(Clone)]
pub struct MaskKey(Vec<u8>);

impl std::fmt::Debug for MaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MaskKey(***)")
    }
}

impl MaskKey {
    pub fn parse(key: &str) -> Result<MaskKey, String> {
        if key.chars().count() < MIN_KEY_LEN {
            return Err(format!("the masking key must be at least {MIN_KEY_LEN} characters"));
        }
        Ok(MaskKey(key.as_bytes().to_vec()))
    }

    /// A number from `value` under `kind` (the field), stable for the key.
    fn number(&self, kind: &str, value: &str) -> u64 {
        let digest = hmac_sha256(&self.0, &[kind.as_bytes(), b"\0", value.as_bytes()]);
        u64::from_be_bytes([digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7]])
    }

    /// A person's name: a family and a given name from common ones.
    pub fn name(&self, real: &str) -> String {
        let n = self.number("name", real);
        let family = FAMILY[(n % FAMILY.len() as u64) as usize];
        let given = GIVEN[((n / 64) % GIVEN.len() as u64) as usize];
        format!("{family} {given}")
    }

    /// A postal code of the same shape (`NNN-NNNN`).
    pub fn postal_code(&self, real: &str) -> String {
        let n = self.number("postal_code", real) % 10_000_000;
        format!("{:03}-{:04}", n / 10_000, n % 10_000)
    }

    /// A street address in a town that does not exist.
    pub fn address1(&self, real: &str) -> String {
        let n = self.number("address1", real);
        let town = TOWNS[(n % TOWNS.len() as u64) as usize];
        format!("{town}{}-{}-{}", 1 + (n / 16) % 9, 1 + (n / 256) % 30, 1 + (n / 8192) % 20)
    }

    /// A building and floor.
    pub fn address2(&self, real: &str) -> String {
        let n = self.number("address2", real);
        format!("{}ビル {}F", BUILDINGS[(n % BUILDINGS.len() as u64) as usize], 1 + (n / 16) % 12)
    }

    /// A mobile number (11 digits, hyphenated).
    pub fn phone(&self, real: &str) -> String {
        let n = self.number("phone", real) % 100_000_000;
        format!("090-{:04}-{:04}", n / 10_000, n % 10_000)
    }

    /// An e-mail address at a reserved domain (RFC 2606).
    pub fn email(&self, real: &str) -> String {
        format!("user{:08x}@example.com", self.number("email", real) as u32)
    }

    /// Any other free text that may hold personal data: a stable token.
    pub fn text(&self, kind: &str, real: &str) -> String {
        format!("masked-{:012x}", self.number(kind, real) & 0xffff_ffff_ffff)
    }

    /// A recipient object (`name`, `postal_code`, `address1`, `address2`, `phone`, `email`)
    /// inside JSON, masked in place; other members are left as they are.
    pub fn recipient_json(&self, value: &mut serde_json::Value) {
        let Some(object) = value.as_object_mut() else { return };
        for (member, fake) in [
            ("name", Self::name as fn(&Self, &str) -> String),
            ("postal_code", Self::postal_code),
            ("address1", Self::address1),
            ("address2", Self::address2),
            ("phone", Self::phone),
            ("email", Self::email),
        ] {
            if let Some(serde_json::Value::String(real)) = object.get(member) {
                let masked = fake(self, real);
                object.insert(member.to_owned(), serde_json::Value::String(masked));
            }
        }
    }
}

const FAMILY: &[&str] = &[
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
];
const GIVEN: &[&str] =
    &["花子", "太郎", "陽菜", "蓮", "結衣", "大翔", "美咲", "悠真", "葵", "湊", "さくら", "翔", "凛", "健", "愛", "誠"];
const TOWNS: &[&str] = &["架空町", "見本町", "試験台", "仮名丘", "例示野", "模擬浜", "仮設原", "疑似坂"];
const BUILDINGS: &[&str] = &["見本", "架空", "試験", "仮名"];

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MaskKey {
        MaskKey::parse("a-key-for-the-tests-only").expect("key")
    }

    #[test]
    fn the_same_value_always_masks_to_the_same_fake_and_other_keys_to_others() {
        let (a, b) = (key(), MaskKey::parse("another-key-entirely-000").expect("key"));
        assert_eq!(a.name("山田 太郎"), a.name("山田 太郎"));
        assert_ne!(a.phone("03-1234-5678"), a.phone("03-1234-5679"));
        let differs = ["山田 太郎", "鈴木 一郎", "田中 花子"].iter().any(|n| a.name(n) != b.name(n));
        assert!(differs, "the key matters");
    }

    #[test]
    fn fakes_pass_the_same_validation_as_real_values() {
        use crate::domain::values::{Name, Phone, PostalCode, Text};
        let k = key();
        for real in ["山田 太郎", "150-0001", "渋谷区神宮前1-2-3", "03-1234-5678", "x", "🙂"] {
            assert!(Name::parse(k.name(real)).is_ok());
            assert!(PostalCode::parse(k.postal_code(real)).is_ok(), "{}", k.postal_code(real));
            assert!(Text::parse(k.address1(real)).is_ok());
            assert!(Text::parse(k.address2(real)).is_ok());
            assert!(Phone::parse(k.phone(real)).is_ok(), "{}", k.phone(real));
        }
    }

    #[test]
    fn a_short_key_is_refused_and_never_printed() {
        assert!(MaskKey::parse("short").is_err());
        assert_eq!(format!("{:?}", key()), "MaskKey(***)");
    }

    #[test]
    fn a_recipient_inside_json_is_masked_member_by_member() {
        let k = key();
        let mut v =
            serde_json::json!({"recipient": {"name": "山田 太郎", "phone": "03-1234-5678", "prefecture": "東京都"}});
        k.recipient_json(&mut v["recipient"]);
        assert_eq!(v["recipient"]["name"], k.name("山田 太郎"));
        assert_eq!(v["recipient"]["phone"], k.phone("03-1234-5678"));
        assert_eq!(v["recipient"]["prefecture"], "東京都", "coarse location is kept for shipping rates");
    }
}
