//! EC channels: Shopify's `orders/create` webhook (the `order-sync` journey), and the channel
//! events a shipper reads back.
//!
//! * `POST /channels/v1/shopify/{channel_id}/orders` -- an order to ship. No bearer token: the
//!   `X-Shopify-Hmac-Sha256` signature of the raw body under the channel's secret is the
//!   credential.
//! * `GET /v1/channel-events` -- the shipper's channel events, `?status=rejected` for the
//!   orders that need a human.
//!
//! The webhook is checked in this order, and every refusal is a problem document: the
//! signature matches the body under the channel's secret (401 `invalid-signature`, compared in
//! constant time, before anything in the body is believed; an unknown channel id gets the very
//! same answer, after the same work, so nobody can probe which channels exist);
//! `X-Shopify-Triggered-At` is present and within [`DELIVERY_WINDOW`] of now (401
//! `stale-delivery`: a captured delivery cannot be replayed later); `X-Shopify-Topic` is
//! `orders/create` (422 naming the header); `X-Shopify-Shop-Domain` is the channel's shop
//! (403: one app secret signs for every shop that installed the app);
//! `X-Shopify-Webhook-Id` is present (422); the body is an order (400 for broken JSON, 422 for
//! a missing or mistyped field, with its JSON pointer). Then [`channels::receive_order`]
//! handles it in one transaction; a delivery of the same order and trigger time under another
//! webhook id -- a replay inside the window -- answers the first outcome and stores nothing.
//!
//! Decisions:
//! - **Persist, then acknowledge** (an answer sent before the commit loses the order if the
//!   commit fails, and Shopify would not deliver it again). The 200 is sent after the event and
//!   its shipment (or its rejection) are committed together; when the database fails the
//!   answer is a 5xx, so Shopify delivers the webhook again, and maintenance mode's 503 does
//!   the same. A redelivery (same `X-Shopify-Webhook-Id`) answers the first outcome again and
//!   changes nothing; the same order under another webhook id answers `duplicate` with the
//!   existing shipment.
//! - **Business rejections are answered 200.** An order that cannot be shipped as sent (an SKU
//!   the shipper has not registered, an address Kura cannot deliver to, stock short for a
//!   shipper that takes no backorders) fails the same way on every retry. Answering 4xx would
//!   only make Shopify redeliver it for hours and count failures against the subscription,
//!   and the order would still be nowhere a person looks. So the rejection is recorded on the
//!   event (`status: rejected`, `reason`, `detail` naming the field) and acknowledged, and the
//!   shipper finds it in `GET /v1/channel-events?status=rejected`. A rejected order does not
//!   count as existing: a later event for it (another webhook, a reconciliation) tries again.
//! - **Malformed deliveries are 4xx and not recorded**: without a well-formed order there is no
//!   order id to record them under, and only a broken sender produces them.
//! - **Lag** (`order_sync_lag_seconds{channel_kind, journey="order-sync", outcome}`) is
//!   observed once the transaction has committed, from the order's `created_at` (when the
//!   order was placed): to now for `created` and `rejected`; for a `duplicate`, to the moment
//!   its shipment was created, since that is when the order came to exist (a redelivery hours
//!   later of an order synced in seconds is not a slow sync).

use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, Problem};
use super::extract::{self, AsShipper, Id, QueryParams, RawBody};
use super::schema::channels::ChannelEvent;
use super::{AppState, List};
use crate::db::channels::{self, Delivery};
use crate::domain::channel::{ChannelKind, EventStatus, shopify};
use crate::domain::values::ChannelId;
use crate::journeys::ORDER_SYNC;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(shopify_orders)).routes(routes!(list_channel_events))
}

type Result<T> = std::result::Result<T, ApiError>;

pub const HMAC_HEADER: &str = "X-Shopify-Hmac-Sha256";
pub const TOPIC_HEADER: &str = "X-Shopify-Topic";
pub const SHOP_HEADER: &str = "X-Shopify-Shop-Domain";
pub const WEBHOOK_ID_HEADER: &str = "X-Shopify-Webhook-Id";
pub const TRIGGERED_AT_HEADER: &str = "X-Shopify-Triggered-At";

/// How old a delivery may be (by `X-Shopify-Triggered-At`): Shopify retries a failed webhook
/// 8 times over 4 hours, and a retry keeps its trigger time, so 12 hours accepts every retry
/// with room for an outage of ours; an order missed for longer is the reconciliation's to
/// find. A trigger time more than 5 minutes in the future (clock skew) is refused too.
pub const DELIVERY_WINDOW: Duration = Duration::from_secs(12 * 60 * 60);
/// Clock skew tolerated for trigger times in the future.
pub const FUTURE_SKEW: Duration = Duration::from_secs(5 * 60);

/// Signs nothing: the secret an unknown channel id is "verified" against, so that its answer
/// takes the same work as a known channel's wrong signature.
const NO_CHANNEL_SECRET: &str = "kura-no-such-channel-0000000000000000";

/// A header's value, or a 422 naming the header.
fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::Schema { field: name.into(), message: "is required".into() })
}

/// Receives Shopify's `orders/create` webhook and makes the order a shipment, exactly once.
/// Answers 200 once the outcome is committed: `created`, `duplicate` (the order already is a
/// shipment; also for a redelivered webhook id) or `rejected` (recorded with its reason, see
/// `GET /v1/channel-events`). A 5xx means nothing was stored: deliver it again.
#[utoipa::path(post, path = "/channels/v1/shopify/{channel_id}/orders", tag = "channel",
    security(("shopify_hmac" = [])),
    params(
        ("channel_id" = i64, Path),
        ("X-Shopify-Hmac-Sha256" = String, Header, description = "base64 HMAC-SHA256 of the raw body under the channel's secret"),
        ("X-Shopify-Topic" = String, Header, description = "must be `orders/create`"),
        ("X-Shopify-Shop-Domain" = String, Header, description = "must be the channel's shop"),
        ("X-Shopify-Webhook-Id" = String, Header, description = "the delivery's id; a redelivery has exactly one effect"),
        ("X-Shopify-Triggered-At" = String, Header, description = "when Shopify triggered the event (RFC 3339); at most 12 hours old"),
    ),
    request_body(content = shopify::Order, content_type = "application/json"),
    responses(
        (status = 200, body = ChannelEvent, description = "the event's outcome, committed"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem, description = "nothing was stored; deliver again"),
    ))]
async fn shopify_orders(
    State(s): State<AppState>,
    Id(id): Id,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<axum::Json<ChannelEvent>> {
    let found = match channels::get_with_secret(&s.db, ChannelKind::Shopify, ChannelId(id)).await {
        Ok(found) => Some(found),
        Err(crate::domain::Error::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let signature = headers.get(HMAC_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let secret = found.as_ref().map_or(NO_CHANNEL_SECRET, |(_, secret)| secret.as_str());
    let verified = shopify::verify(secret, &body, signature);
    let Some((channel, _)) = found.filter(|_| verified) else {
        return Err(ApiError::BadSignature(HMAC_HEADER));
    };
    let triggered_at = fresh_trigger(&headers, jiff::Timestamp::now())?;
    let topic = header(&headers, TOPIC_HEADER)?;
    if topic != shopify::ORDERS_CREATE {
        return Err(ApiError::Schema {
            field: TOPIC_HEADER.into(),
            message: format!("this endpoint takes {} webhooks (got {topic:?})", shopify::ORDERS_CREATE),
        });
    }
    if !header(&headers, SHOP_HEADER)?.eq_ignore_ascii_case(channel.shop_domain.as_str()) {
        return Err(ApiError::WrongShop { header: SHOP_HEADER });
    }
    let webhook_id = header(&headers, WEBHOOK_ID_HEADER)?;
    if webhook_id.len() > 255 {
        return Err(ApiError::Schema { field: WEBHOOK_ID_HEADER.into(), message: "must be at most 255 bytes".into() });
    }
    if !extract::is_json(&headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let order: shopify::Order = extract::parse(&body)?;

    let delivery = Delivery { webhook_id, topic, triggered_at: Some(triggered_at) };
    let handled = channels::receive_order(&s.db, &channel, &delivery, &order).await?;

    // Committed: the order exists (or is recorded as rejected) from now, or since its shipment.
    let existed = handled.existed_since.unwrap_or_else(jiff::Timestamp::now);
    let lag = Duration::try_from(existed.duration_since(order.created_at)).unwrap_or(Duration::ZERO);
    s.order_sync_lag.observe(
        channel.kind.as_str(),
        ORDER_SYNC,
        handled.outcome.as_str(),
        lag,
        telemetry::trace::current_trace_id(),
    );
    tracing::info!(
        channel_id = channel.channel_id.0,
        webhook_id,
        order_id = order.id,
        outcome = handled.outcome.as_str(),
        shipment_id = handled.event.shipment_id.map(|s| s.0),
        reason = handled.event.reason.map(|r| r.as_str()),
        lag_seconds = lag.as_secs_f64(),
        "channel order handled"
    );
    Ok(axum::Json(handled.event.into()))
}

/// The delivery's trigger time, if it is within the window (see [`DELIVERY_WINDOW`]).
fn fresh_trigger(headers: &HeaderMap, now: jiff::Timestamp) -> Result<jiff::Timestamp> {
    let triggered_at = header(headers, TRIGGERED_AT_HEADER)?.parse::<jiff::Timestamp>().map_err(|e| {
        ApiError::Schema { field: TRIGGERED_AT_HEADER.into(), message: format!("must be an RFC 3339 time: {e}") }
    })?;
    let age = now.duration_since(triggered_at);
    let window = jiff::SignedDuration::try_from(DELIVERY_WINDOW).unwrap_or(jiff::SignedDuration::MAX);
    let skew = jiff::SignedDuration::try_from(FUTURE_SKEW).unwrap_or(jiff::SignedDuration::ZERO);
    if age > window || age < -skew {
        return Err(ApiError::StaleDelivery { header: TRIGGERED_AT_HEADER, window_seconds: DELIVERY_WINDOW.as_secs() });
    }
    Ok(triggered_at)
}

/// The shipper's channel events, oldest first: `?status=rejected` lists the orders that could
/// not become shipments, with the reason and the field at fault.
#[utoipa::path(get, path = "/v1/channel-events", tag = "shipper",
    params(
        ("status" = Option<String>, Query, description = "`created`, `duplicate` or `rejected`"),
        ("cursor" = Option<i64>, Query), ("limit" = Option<i64>, Query),
    ),
    responses((status = 200, body = List<ChannelEvent>), (status = 422, body = Problem)))]
async fn list_channel_events(
    State(s): State<AppState>,
    me: AsShipper,
    q: QueryParams,
) -> Result<axum::Json<List<ChannelEvent>>> {
    let page = q.page()?;
    let status = q.filter("status", EventStatus::parse)?;
    let rows = channels::list_events(&s.db, &me.scope(), status, page.after, page.limit).await?;
    let rows = rows.into_iter().map(ChannelEvent::from).collect();
    Ok(axum::Json(List::new(rows, page.limit, |e| e.channel_event_id.0)))
}
