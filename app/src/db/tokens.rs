//! API tokens: generated once, shown once, stored only as a SHA-256 hash, revocable.
//! (A fast hash is right here: tokens carry 192 random bits, so there is nothing to brute-force.)

use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Db, Tx, now};
use crate::domain::Error;
use crate::domain::access::{Principal, Role};
use crate::domain::values::{ShipperId, WarehouseId};

pub fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn generate() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("kura_{hex}")
}

/// Creates a token and returns (id, the token in clear — the only time it exists).
pub async fn create(
    tx: &mut Tx,
    name: &str,
    role: Role,
    shipper: Option<ShipperId>,
    warehouses: &[WarehouseId],
) -> Result<(i64, String), Error> {
    if (role == Role::Shipper) != shipper.is_some() {
        return Err(Error::invalid("/shipper_id", "required for shipper tokens and only for them"));
    }
    if role == Role::Warehouse && warehouses.is_empty() {
        return Err(Error::invalid("/warehouse_ids", "a warehouse token must operate at least one warehouse"));
    }
    let token = generate();
    let id: i64 = sqlx::query_scalar(
        "insert into api_token (token_hash, name, role, shipper_id, created_at) values ($1, $2, $3, $4, $5) \
         returning api_token_id",
    )
    .bind(hash(&token))
    .bind(name)
    .bind(role.as_str())
    .bind(shipper.map(|s| s.0))
    .bind(now())
    .fetch_one(&mut **tx)
    .await?;
    for w in warehouses {
        sqlx::query("insert into api_token_warehouse (api_token_id, warehouse_id) values ($1, $2)")
            .bind(id)
            .bind(w.0)
            .execute(&mut **tx)
            .await?;
    }
    Ok((id, token))
}

/// Issues a token after checking that its shipper and warehouses exist (a 422 naming the
/// field otherwise); returns (id, the token in clear).
pub async fn issue(
    db: &Db,
    name: &str,
    role: Role,
    shipper: Option<ShipperId>,
    warehouses: &[WarehouseId],
) -> Result<(i64, String), Error> {
    crate::transaction!(db, |tx| {
        if let Some(shipper) = shipper {
            let found: Option<i64> = sqlx::query_scalar("select shipper_id from shipper where shipper_id = $1")
                .bind(shipper.0)
                .fetch_optional(&mut **tx)
                .await?;
            if found.is_none() {
                return Err(Error::invalid("/shipper_id", "unknown shipper"));
            }
        }
        for (i, w) in warehouses.iter().enumerate() {
            super::warehouses::get_in(tx, *w)
                .await
                .map_err(|_| Error::invalid(format!("/warehouse_ids/{i}"), "unknown warehouse"))?;
        }
        create(tx, name, role, shipper, warehouses).await
    })
}

/// The principal for a presented token, if it exists and is not revoked.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<Principal>, Error> {
    let Some(row) = sqlx::query(
        "select api_token_id, role, shipper_id from api_token where token_hash = $1 and revoked_at is null",
    )
    .bind(hash(token))
    .fetch_optional(db.reader())
    .await?
    else {
        return Ok(None);
    };
    let token_id: i64 = row.try_get("api_token_id")?;
    let role: String = row.try_get("role")?;
    let shipper: Option<i64> = row.try_get("shipper_id")?;
    Ok(match (Role::parse(&role), shipper) {
        (Some(Role::Shipper), Some(s)) => Some(Principal::Shipper { token_id, shipper_id: ShipperId(s) }),
        (Some(Role::Warehouse), _) => {
            let warehouses: Vec<i64> =
                sqlx::query_scalar("select warehouse_id from api_token_warehouse where api_token_id = $1")
                    .bind(token_id)
                    .fetch_all(db.reader())
                    .await?;
            Some(Principal::Warehouse { token_id, warehouses: warehouses.into_iter().map(WarehouseId).collect() })
        }
        (Some(Role::Admin), _) => Some(Principal::Admin { token_id }),
        _ => None,
    })
}

pub async fn revoke(db: &Db, token_id: i64) -> Result<(), Error> {
    crate::transaction!(db, |tx| {
        let done = sqlx::query("update api_token set revoked_at = $1 where api_token_id = $2 and revoked_at is null")
            .bind(now())
            .bind(token_id)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 { Err(Error::NotFound("token")) } else { Ok(()) }
    })
}
