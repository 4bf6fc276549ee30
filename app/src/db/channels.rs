//! EC channels and their events in storage: registering a shop, and turning one Shopify
//! `orders/create` webhook into at most one shipment (the order → shipment mapping itself is
//! `domain::channel::shopify::shipment_request`).
//!
//! [`receive_order`] is one transaction: it claims the webhook id (a row in `channel_event`,
//! unique per channel), then creates the shipment or records the rejection, then writes the
//! outcome on the event. Nothing is acknowledged that is not committed (a handler that answers
//! before it persists loses the order when the commit fails), and a redelivery finds its event
//! and answers the first outcome (Shopify retries a webhook for hours, so duplicates are
//! normal):
//! - Concurrent deliveries of one webhook id queue on the event's unique key; the first
//!   commits, the others see its row and change nothing.
//! - One order under several webhook ids (or a reconciliation) is kept to one shipment by
//!   `channel_order` (unique per channel and external order id) and by the shipment's unique
//!   (shipper, identifier), the identifier being `shopify-<order id>`. The creation runs under
//!   a savepoint: a rejection, or a lost race on either key, rolls back to it and leaves the
//!   event's own row intact.

use jiff::Timestamp;
use rand::Rng;
use sqlx::Row;

use super::shipments::{self, Created};
use super::{Db, Tx, format_timestamp, is_unique_violation, now, stored};
use crate::domain::Error;
use crate::domain::access::Scope;
use crate::domain::channel::shopify;
use crate::domain::channel::{ChannelKind, EventStatus, NewChannel, RejectReason, Rejection};
use crate::domain::values::{
    Carrier, ChannelEventId, ChannelId, ItemCode, ShipmentId, ShipperId, ShopDomain, WarehouseId,
};

/// A channel as stored, without its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub channel_id: ChannelId,
    pub shipper_id: ShipperId,
    /// The warehouse its orders ship from.
    pub warehouse_id: WarehouseId,
    pub kind: ChannelKind,
    pub shop_domain: ShopDomain,
    /// The carrier its shipments go with.
    pub delivery_carrier: Carrier,
    pub created_at: String,
    pub updated_at: String,
}

const CHANNEL_COLUMNS: &str =
    "channel_id, shipper_id, warehouse_id, kind, shop_domain, delivery_carrier, created_at, updated_at, webhook_secret";

fn decode<T>(column: &str, parsed: Option<T>) -> Result<T, Error> {
    parsed.ok_or_else(|| Error::Database(sqlx::Error::Decode(format!("bad {column}").into())))
}

/// The channel and its webhook secret.
fn channel_of(r: &sqlx::any::AnyRow) -> Result<(Channel, String), Error> {
    let channel = Channel {
        channel_id: ChannelId(r.try_get("channel_id")?),
        shipper_id: ShipperId(r.try_get("shipper_id")?),
        warehouse_id: WarehouseId(r.try_get("warehouse_id")?),
        kind: decode("kind", ChannelKind::parse(&r.try_get::<String, _>("kind")?))?,
        shop_domain: stored("shop_domain", ShopDomain::parse(r.try_get::<String, _>("shop_domain")?))?,
        delivery_carrier: decode("delivery_carrier", Carrier::parse(&r.try_get::<String, _>("delivery_carrier")?))?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    };
    Ok((channel, r.try_get("webhook_secret")?))
}

fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Registers a channel; returns it with its webhook secret (the given one or a generated one).
pub async fn create(db: &Db, new: &NewChannel) -> Result<(Channel, String), Error> {
    crate::transaction!(db, |tx| { create_in(tx, new).await }).map_err(|e| {
        // Two registrations of one shop raced: the loser is told it exists.
        if is_unique_violation(&e, "channel_kind_shop_domain_key", "channel.shop_domain") {
            Error::Duplicate { field: "/shop_domain", existing_id: None }
        } else {
            e
        }
    })
}

pub async fn create_in(tx: &mut Tx, new: &NewChannel) -> Result<(Channel, String), Error> {
    let shipper: Option<i64> = sqlx::query_scalar("select shipper_id from shipper where shipper_id = $1")
        .bind(new.shipper_id.0)
        .fetch_optional(&mut **tx)
        .await?;
    if shipper.is_none() {
        return Err(Error::invalid("/shipper_id", "unknown shipper"));
    }
    super::warehouses::get_in(tx, new.warehouse_id)
        .await
        .map_err(|_| Error::invalid("/warehouse_id", "unknown warehouse"))?;
    let existing: Option<i64> =
        sqlx::query_scalar("select channel_id from channel where kind = $1 and shop_domain = $2")
            .bind(new.kind.as_str())
            .bind(new.shop_domain.as_str())
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(id) = existing {
        return Err(Error::Duplicate { field: "/shop_domain", existing_id: Some(id) });
    }
    let secret = new.webhook_secret.as_ref().map_or_else(generate_secret, |s| s.as_str().to_owned());
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "insert into channel (shipper_id, warehouse_id, kind, shop_domain, webhook_secret, delivery_carrier, \
         created_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7, $7) returning {CHANNEL_COLUMNS}"
    )))
    .bind(new.shipper_id.0)
    .bind(new.warehouse_id.0)
    .bind(new.kind.as_str())
    .bind(new.shop_domain.as_str())
    .bind(&secret)
    .bind(new.delivery_carrier.unwrap_or(Carrier::Yamato).as_str())
    .bind(now())
    .fetch_one(&mut **tx)
    .await?;
    channel_of(&row)
}

/// A channel of `kind` and its webhook secret; any other id is not found.
pub async fn get_with_secret(db: &Db, kind: ChannelKind, id: ChannelId) -> Result<(Channel, String), Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {CHANNEL_COLUMNS} from channel where channel_id = $1 and kind = $2"
    )))
    .bind(id.0)
    .bind(kind.as_str())
    .fetch_optional(db.reader())
    .await?
    .ok_or(Error::NotFound("channel"))?;
    channel_of(&row)
}

/// The channel registered for a shop, with its secret (the demo seed prints it).
pub async fn by_shop_in(tx: &mut Tx, kind: ChannelKind, shop: &str) -> Result<Option<(Channel, String)>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {CHANNEL_COLUMNS} from channel where kind = $1 and shop_domain = $2"
    )))
    .bind(kind.as_str())
    .bind(shop)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(channel_of).transpose()
}

/// One webhook delivery a channel accepted, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelEvent {
    pub channel_event_id: ChannelEventId,
    pub channel_id: ChannelId,
    /// The platform's delivery id (`X-Shopify-Webhook-Id`), unique per channel.
    pub webhook_id: String,
    pub topic: String,
    /// The order's id on the channel.
    pub external_order_id: String,
    /// The order's name on the channel, e.g. `#1001`.
    pub order_name: Option<String>,
    pub status: EventStatus,
    /// Why the order was rejected (`rejected` only).
    pub reason: Option<RejectReason>,
    /// The field at fault and what is wrong with it (`rejected` only).
    pub detail: Option<String>,
    /// The order's shipment (`created` and `duplicate`).
    pub shipment_id: Option<ShipmentId>,
    /// When the order was placed on the channel.
    pub order_created_at: String,
    /// When the channel sent the event (`X-Shopify-Triggered-At`).
    pub triggered_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const EVENT_COLUMNS: &str = "e.channel_event_id, e.channel_id, e.webhook_id, e.topic, e.external_order_id, \
    e.order_name, e.status, e.reason, e.detail, e.shipment_id, e.order_created_at, e.triggered_at, e.created_at, \
    e.updated_at";

fn event_of(r: &sqlx::any::AnyRow) -> Result<ChannelEvent, Error> {
    let reason: Option<String> = r.try_get("reason")?;
    Ok(ChannelEvent {
        channel_event_id: ChannelEventId(r.try_get("channel_event_id")?),
        channel_id: ChannelId(r.try_get("channel_id")?),
        webhook_id: r.try_get("webhook_id")?,
        topic: r.try_get("topic")?,
        external_order_id: r.try_get("external_order_id")?,
        order_name: r.try_get("order_name")?,
        status: decode("status", EventStatus::parse(&r.try_get::<String, _>("status")?))?,
        reason: reason.map(|r| decode("reason", RejectReason::parse(&r))).transpose()?,
        detail: r.try_get("detail")?,
        shipment_id: r.try_get::<Option<i64>, _>("shipment_id")?.map(ShipmentId),
        order_created_at: r.try_get("order_created_at")?,
        triggered_at: r.try_get("triggered_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

/// The events of the channels `scope` may see (a shipper's own, whichever warehouse they ship
/// from), oldest first, optionally of one status (`?cursor=` is the last id seen).
pub async fn list_events(
    db: &Db,
    scope: &Scope,
    status: Option<EventStatus>,
    after: i64,
    limit: i64,
) -> Result<Vec<ChannelEvent>, Error> {
    let (visible, values) = super::visible(scope, "c.shipper_id", Some("c.warehouse_id"), 4);
    let sql = format!(
        "select {EVENT_COLUMNS} from channel_event e join channel c on c.channel_id = e.channel_id \
         where e.channel_event_id > $1 and ($2 is null or e.status = $2) and {visible} \
         order by e.channel_event_id limit $3"
    );
    let mut q =
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(after).bind(status.map(EventStatus::as_str)).bind(limit);
    for v in values {
        q = q.bind(v);
    }
    q.fetch_all(db.reader()).await?.iter().map(event_of).collect()
}

/// What one delivery did, for the response and the `order_sync_lag_seconds` outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This delivery created the shipment.
    Created,
    /// The order already was a shipment (another webhook id, a redelivery, a reconciliation).
    Duplicate,
    /// The order cannot become a shipment; recorded on the event.
    Rejected,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Duplicate => "duplicate",
            Outcome::Rejected => "rejected",
        }
    }
}

/// The delivery's headers, validated by the handler.
#[derive(Debug, Clone)]
pub struct Delivery<'a> {
    pub webhook_id: &'a str,
    pub topic: &'a str,
    pub triggered_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct Handled {
    /// The event as stored; for a redelivery, as the first delivery left it.
    pub event: ChannelEvent,
    pub outcome: Outcome,
    /// For a duplicate: when the order's shipment was created (the order existed from then on).
    pub existed_since: Option<Timestamp>,
}

/// What the order became inside the savepoint.
#[derive(Debug)]
enum Synced {
    Created(i64),
    Existing { shipment_id: i64, since: Timestamp },
    Rejected(Rejection),
}

/// Handles one `orders/create` delivery in one transaction (see the module doc).
pub async fn receive_order(
    db: &Db,
    channel: &Channel,
    delivery: &Delivery<'_>,
    order: &shopify::Order,
) -> Result<Handled, Error> {
    let external_id = order.id.to_string();
    crate::transaction!(db, |tx| {
        let external_id = external_id.as_str();
        if let Some(triggered_at) = delivery.triggered_at
            && let Some(event) =
                replayed(tx, channel.channel_id.0, external_id, triggered_at, delivery.webhook_id).await?
        {
            // The same Shopify event under another webhook id: a replay (Shopify's own retries
            // keep the id). Answer what the first delivery did; store nothing, retry nothing.
            let outcome = if event.status == EventStatus::Rejected { Outcome::Rejected } else { Outcome::Duplicate };
            let existed_since = match event.shipment_id {
                Some(id) => Some(shipment_created_at(tx, id.0).await?),
                None => None,
            };
            return Ok(Handled { event, outcome, existed_since });
        }
        let ts = now();
        let claimed: Option<i64> = sqlx::query_scalar(
            "insert into channel_event (channel_id, webhook_id, topic, external_order_id, order_name, status, \
             order_created_at, triggered_at, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, 'received', $6, $7, $8, $8) \
             on conflict (channel_id, webhook_id) do nothing returning channel_event_id",
        )
        .bind(channel.channel_id.0)
        .bind(delivery.webhook_id)
        .bind(delivery.topic)
        .bind(external_id)
        .bind(order.name.as_deref())
        .bind(format_timestamp(order.created_at))
        .bind(delivery.triggered_at.map(format_timestamp))
        .bind(&ts)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(event_id) = claimed else {
            // A redelivery: answer what the first delivery did, and change nothing.
            let event = event_by_webhook(tx, channel.channel_id.0, delivery.webhook_id).await?;
            if event.external_order_id != external_id {
                return Err(Error::invalid("X-Shopify-Webhook-Id", "was already used for another order"));
            }
            let outcome = if event.status == EventStatus::Rejected { Outcome::Rejected } else { Outcome::Duplicate };
            let existed_since = match event.shipment_id {
                Some(id) => Some(shipment_created_at(tx, id.0).await?),
                None => None,
            };
            return Ok(Handled { event, outcome, existed_since });
        };
        let synced = sync_order(tx, channel, order).await?;
        let (status, rejection, shipment_id, existed_since) = match synced {
            Synced::Created(id) => (EventStatus::Created, None, Some(id), None),
            Synced::Existing { shipment_id, since } => (EventStatus::Duplicate, None, Some(shipment_id), Some(since)),
            Synced::Rejected(r) => (EventStatus::Rejected, Some(r), None, None),
        };
        sqlx::query(
            "update channel_event set status = $1, reason = $2, detail = $3, shipment_id = $4, updated_at = $5 \
             where channel_event_id = $6",
        )
        .bind(status.as_str())
        .bind(rejection.as_ref().map(|r| r.reason.as_str()))
        .bind(rejection.as_ref().map(|r| r.detail.as_str()))
        .bind(shipment_id)
        .bind(now())
        .bind(event_id)
        .execute(&mut **tx)
        .await?;
        let event = event_by_id(tx, event_id).await?;
        let outcome = match status {
            EventStatus::Created => Outcome::Created,
            EventStatus::Rejected => Outcome::Rejected,
            EventStatus::Duplicate | EventStatus::Received => Outcome::Duplicate,
        };
        Ok(Handled { event, outcome, existed_since })
    })
}

/// The first event for the same order and trigger time under another webhook id, if any.
async fn replayed(
    tx: &mut Tx,
    channel: i64,
    external_id: &str,
    triggered_at: Timestamp,
    webhook_id: &str,
) -> Result<Option<ChannelEvent>, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {EVENT_COLUMNS} from channel_event e where e.channel_id = $1 and e.external_order_id = $2 \
         and e.triggered_at = $3 and e.webhook_id <> $4 order by e.channel_event_id limit 1"
    )))
    .bind(channel)
    .bind(external_id)
    .bind(format_timestamp(triggered_at))
    .bind(webhook_id)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref().map(event_of).transpose()
}

async fn event_by_webhook(tx: &mut Tx, channel: i64, webhook_id: &str) -> Result<ChannelEvent, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {EVENT_COLUMNS} from channel_event e where e.channel_id = $1 and e.webhook_id = $2"
    )))
    .bind(channel)
    .bind(webhook_id)
    .fetch_one(&mut **tx)
    .await?;
    event_of(&row)
}

async fn event_by_id(tx: &mut Tx, id: i64) -> Result<ChannelEvent, Error> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "select {EVENT_COLUMNS} from channel_event e where e.channel_event_id = $1"
    )))
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    event_of(&row)
}

fn parse_stored(ts: &str) -> Result<Timestamp, Error> {
    ts.parse().map_err(|e: jiff::Error| Error::Database(sqlx::Error::Decode(e.into())))
}

async fn shipment_created_at(tx: &mut Tx, id: i64) -> Result<Timestamp, Error> {
    let ts: String = sqlx::query_scalar("select created_at from shipment where shipment_id = $1")
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    parse_stored(&ts)
}

/// Creates the order's shipment under a savepoint, or finds it, or says why it cannot be one.
async fn sync_order(tx: &mut Tx, channel: &Channel, order: &shopify::Order) -> Result<Synced, Error> {
    sqlx::query("savepoint channel_order").execute(&mut **tx).await?;
    let attempt = create_order(tx, channel, order).await;
    if !matches!(attempt, Ok(Synced::Created(_) | Synced::Existing { .. })) {
        // Undo a half-made shipment (rows written before allocation came up short), or leave
        // PostgreSQL's aborted state after a lost race; the event row stays.
        sqlx::query("rollback to savepoint channel_order").execute(&mut **tx).await?;
    }
    sqlx::query("release savepoint channel_order").execute(&mut **tx).await?;
    match attempt {
        // Another event of this order (another webhook id, a reconciliation) committed first.
        Err(e)
            if is_unique_violation(&e, shipments::IDENTIFIER_KEY, "shipment.identifier")
                || is_unique_violation(&e, "channel_order_pkey", "channel_order.") =>
        {
            existing_order(tx, channel, order).await?.ok_or(e)
        }
        other => other,
    }
}

async fn create_order(tx: &mut Tx, channel: &Channel, order: &shopify::Order) -> Result<Synced, Error> {
    if let Some(existing) = existing_order(tx, channel, order).await? {
        return Ok(existing);
    }
    let warehouse = channel.warehouse_id;
    let (new, line_items) = match shopify::shipment_request(order, warehouse, channel.delivery_carrier) {
        Ok(request) => request,
        Err(rejection) => return Ok(Synced::Rejected(rejection)),
    };
    let shipper = channel.shipper_id;
    let codes: Vec<&ItemCode> = new.lines.iter().map(|l| &l.item_code).collect();
    let found = super::items::find_codes(tx, shipper, &codes).await?;
    if let Some((line, i)) = new.lines.iter().zip(&line_items).zip(&found).find_map(|(l, f)| f.is_none().then_some(l)) {
        let field = format!("/line_items/{i}/sku");
        let message = format!("the shipper has no item {}", line.item_code);
        return Ok(Synced::Rejected(Rejection::new(RejectReason::UnknownSku, &field, message)));
    }
    let shipment_id = match shipments::create_in(tx, shipper, &new).await {
        Ok(Created::New(s)) => s.shipment_id.0,
        // Made under the order's identifier since `existing_order` looked: the order exists.
        Ok(Created::Existing(s)) => {
            return Ok(Synced::Existing { shipment_id: s.shipment_id.0, since: parse_stored(&s.created_at)? });
        }
        Err(Error::InsufficientStock(short)) => {
            let items: Vec<String> = short
                .iter()
                .map(|s| format!("{} (ordered {}, available {})", s.item_code, s.requested, s.available))
                .collect();
            let message = format!("out of stock and the shipper takes no backorders: {}", items.join(", "));
            return Ok(Synced::Rejected(Rejection::new(RejectReason::OutOfStock, "/line_items", message)));
        }
        Err(Error::Invalid { field, message }) => {
            return Ok(Synced::Rejected(Rejection::new(RejectReason::InvalidOrder, &field, message)));
        }
        Err(e) => return Err(e),
    };
    sqlx::query(
        "insert into channel_order (channel_id, external_order_id, shipment_id, created_at) values ($1, $2, $3, $4)",
    )
    .bind(channel.channel_id.0)
    .bind(order.id.to_string())
    .bind(shipment_id)
    .bind(now())
    .execute(&mut **tx)
    .await?;
    Ok(Synced::Created(shipment_id))
}

/// The order's shipment if it exists: made from this channel's order, or made under the
/// order's identifier some other way (then it is linked to the order here).
async fn existing_order(tx: &mut Tx, channel: &Channel, order: &shopify::Order) -> Result<Option<Synced>, Error> {
    let linked = sqlx::query(
        "select s.shipment_id, s.created_at from channel_order co join shipment s on s.shipment_id = co.shipment_id \
         where co.channel_id = $1 and co.external_order_id = $2",
    )
    .bind(channel.channel_id.0)
    .bind(order.id.to_string())
    .fetch_optional(&mut **tx)
    .await?;
    let found = match linked {
        Some(row) => row,
        None => {
            let by_identifier =
                sqlx::query("select shipment_id, created_at from shipment where shipper_id = $1 and identifier = $2")
                    .bind(channel.shipper_id.0)
                    .bind(order.identifier())
                    .fetch_optional(&mut **tx)
                    .await?;
            let Some(row) = by_identifier else { return Ok(None) };
            sqlx::query(
                "insert into channel_order (channel_id, external_order_id, shipment_id, created_at) \
                 values ($1, $2, $3, $4) on conflict do nothing",
            )
            .bind(channel.channel_id.0)
            .bind(order.id.to_string())
            .bind(row.try_get::<i64, _>("shipment_id")?)
            .bind(now())
            .execute(&mut **tx)
            .await?;
            row
        }
    };
    Ok(Some(Synced::Existing {
        shipment_id: found.try_get("shipment_id")?,
        since: parse_stored(&found.try_get::<String, _>("created_at")?)?,
    }))
}
