//! `fulfillment mask`: turns a copy of a production database into one a QA environment may hold.
//! Run against the copy (never production), with the key from a secret:
//!
//! * **Personal data**, replaced deterministically ([`crate::domain::mask`]): shipment
//!   recipients (name, postal code, street address, building, phone; the prefecture is kept for
//!   shipping rates), recipients inside pending modification requests, and the messages of
//!   channel events rejected for their address (the field named stays, the value goes).
//! * **Shipment request hashes** (a hash of the original request, recipient included) are
//!   rehashed under the key, so equal requests stay equal and nothing of the original is left.
//! * **Credentials of production**: every API token is revoked and its hash replaced (QA issues
//!   its own with `fulfillment seed`), every channel's webhook secret is replaced (production
//!   shops cannot reach QA, and QA cannot impersonate them).
//! * **Stored idempotent responses** (copies of answers, recipients included) are deleted; they
//!   expire within 24 hours anyway.
//! * **People in the audit log**: maintenance actors become stable pseudonyms.
//!
//! Stock, the ledger, billing and every id stay as they are, so the arithmetic still balances
//! and a reproduction can follow the same ids. The schema is untouched.

use serde::Serialize;
use sqlx::Row;

use super::{Db, Tx};
use crate::domain::Error;
use crate::domain::mask::MaskKey;

/// Rows per transaction.
const BATCH: i64 = 500;

/// What a run changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MaskReport {
    pub shipments: u64,
    pub pending_changes: u64,
    pub channel_events: u64,
    pub tokens_revoked: u64,
    pub channel_secrets: u64,
    pub idempotent_responses_deleted: u64,
    pub maintenance_actors: u64,
}

/// Masks the whole database (see the module docs); safe to run twice (the second run masks
/// the fakes again, which are fakes still).
pub async fn run(db: &Db, key: &MaskKey) -> Result<MaskReport, Error> {
    let mut report = MaskReport::default();
    let mut after = 0i64;
    loop {
        let (done, last) = crate::transaction!(db, |tx| { shipments(tx, key, after).await })?;
        report.shipments += done.0;
        report.pending_changes += done.1;
        match last {
            Some(id) => after = id,
            None => break,
        }
    }
    report.channel_events = crate::transaction!(db, |tx| { channel_events(tx, key).await })?;
    let (tokens, secrets, deleted, actors) = crate::transaction!(db, |tx| { credentials_and_logs(tx, key).await })?;
    report.tokens_revoked = tokens;
    report.channel_secrets = secrets;
    report.idempotent_responses_deleted = deleted;
    report.maintenance_actors = actors;
    Ok(report)
}

/// One batch of shipments after `after`: ((shipments, pending changes) masked, the last id).
async fn shipments(tx: &mut Tx, key: &MaskKey, after: i64) -> Result<((u64, u64), Option<i64>), Error> {
    let rows = sqlx::query(
        "select shipment_id, recipient_name, recipient_postal_code, recipient_address1, recipient_address2, \
         recipient_phone, pending_change, request_hash from shipment where shipment_id > $1 \
         order by shipment_id limit $2",
    )
    .bind(after)
    .bind(BATCH)
    .fetch_all(&mut **tx)
    .await?;
    let (mut shipments, mut pending) = (0, 0);
    let mut last = None;
    for r in &rows {
        let id: i64 = r.try_get("shipment_id")?;
        let address2: Option<String> = r.try_get("recipient_address2")?;
        let change: Option<String> = r.try_get("pending_change")?;
        let change = match change {
            Some(text) => {
                let mut value: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| Error::invalid("pending_change", format!("shipment {id}: {e}")))?;
                if let Some(recipient) = value.get_mut("recipient") {
                    key.recipient_json(recipient);
                }
                pending += 1;
                Some(value.to_string())
            }
            None => None,
        };
        let hash: String = r.try_get("request_hash")?;
        sqlx::query(
            "update shipment set recipient_name = $1, recipient_postal_code = $2, recipient_address1 = $3, \
             recipient_address2 = $4, recipient_phone = $5, pending_change = $6, request_hash = $7 \
             where shipment_id = $8",
        )
        .bind(key.name(&r.try_get::<String, _>("recipient_name")?))
        .bind(key.postal_code(&r.try_get::<String, _>("recipient_postal_code")?))
        .bind(key.address1(&r.try_get::<String, _>("recipient_address1")?))
        .bind(address2.map(|a| key.address2(&a)))
        .bind(key.phone(&r.try_get::<String, _>("recipient_phone")?))
        .bind(change)
        .bind(key.text("request_hash", &hash))
        .bind(id)
        .execute(&mut **tx)
        .await?;
        shipments += 1;
        last = Some(id);
    }
    Ok(((shipments, pending), last))
}

/// Channel events rejected for their address: keep the field, drop the value.
async fn channel_events(tx: &mut Tx, key: &MaskKey) -> Result<u64, Error> {
    let rows = sqlx::query(
        "select channel_event_id, detail from channel_event where reason = 'bad_address' and detail is not null",
    )
    .fetch_all(&mut **tx)
    .await?;
    for r in &rows {
        let id: i64 = r.try_get("channel_event_id")?;
        let detail: String = r.try_get("detail")?;
        let field = detail.split_once(": ").map_or("", |(f, _)| f);
        let masked = format!("{field}: {}", key.text("detail", &detail));
        sqlx::query("update channel_event set detail = $1 where channel_event_id = $2")
            .bind(masked)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(rows.len() as u64)
}

/// (tokens revoked, channel secrets replaced, idempotent responses deleted, actors renamed).
async fn credentials_and_logs(tx: &mut Tx, key: &MaskKey) -> Result<(u64, u64, u64, u64), Error> {
    let now = super::now();
    let tokens: Vec<i64> = sqlx::query_scalar("select api_token_id from api_token").fetch_all(&mut **tx).await?;
    for id in &tokens {
        sqlx::query(
            "update api_token set token_hash = $1, revoked_at = coalesce(revoked_at, $2) where api_token_id = $3",
        )
        .bind(key.text("token", &format!("{id}:{}", random_hex())))
        .bind(&now)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    }
    let channels: Vec<i64> = sqlx::query_scalar("select channel_id from channel").fetch_all(&mut **tx).await?;
    for id in &channels {
        sqlx::query("update channel set webhook_secret = $1 where channel_id = $2")
            .bind(format!("qa-{}", random_hex()))
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    let deleted = sqlx::query("delete from idempotency_key").execute(&mut **tx).await?.rows_affected();
    let actors: Vec<String> =
        sqlx::query_scalar("select distinct actor from maintenance_event").fetch_all(&mut **tx).await?;
    for actor in &actors {
        sqlx::query("update maintenance_event set actor = $1 where actor = $2")
            .bind(key.text("actor", actor))
            .bind(actor)
            .execute(&mut **tx)
            .await?;
    }
    Ok((tokens.len() as u64, channels.len() as u64, deleted, actors.len() as u64))
}

/// 128 random bits as hex: a secret nobody knows (tokens and webhook secrets of the copy).
fn random_hex() -> String {
    use rand::Rng;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    platform::signature::hex(&bytes)
}
