//! Channel bodies: registering a channel, the channel as the API shows it (never with its
//! secret), and the events its webhooks left.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::channels as stored;
use crate::domain::channel::{self, ChannelKind, EventStatus, RejectReason};
use crate::domain::values::{
    Carrier, ChannelEventId, ChannelId, ShipmentId, ShipperId, ShopDomain, WarehouseId, WebhookSecret,
};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChannel {
    pub shipper_id: ShipperId,
    /// The warehouse its orders ship from.
    pub warehouse_id: WarehouseId,
    pub kind: ChannelKind,
    /// The shop's platform domain, as Shopify sends it in `X-Shopify-Shop-Domain`.
    pub shop_domain: ShopDomain,
    /// The secret the shop signs webhooks with (for a Shopify app, its client secret).
    /// Omitted: Kura generates one and returns it, once.
    pub webhook_secret: Option<WebhookSecret>,
    /// Default `yamato`.
    pub delivery_carrier: Option<Carrier>,
}

impl From<NewChannel> for channel::NewChannel {
    fn from(n: NewChannel) -> Self {
        Self {
            shipper_id: n.shipper_id,
            warehouse_id: n.warehouse_id,
            kind: n.kind,
            shop_domain: n.shop_domain,
            webhook_secret: n.webhook_secret,
            delivery_carrier: n.delivery_carrier,
        }
    }
}

/// A channel as the API shows it (never with its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Channel {
    #[schema(value_type = i64)]
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

impl From<stored::Channel> for Channel {
    fn from(c: stored::Channel) -> Self {
        Self {
            channel_id: c.channel_id,
            shipper_id: c.shipper_id,
            warehouse_id: c.warehouse_id,
            kind: c.kind,
            shop_domain: c.shop_domain,
            delivery_carrier: c.delivery_carrier,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// One webhook delivery a channel accepted, and what became of it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChannelEvent {
    #[schema(value_type = i64)]
    pub channel_event_id: ChannelEventId,
    #[schema(value_type = i64)]
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

impl From<stored::ChannelEvent> for ChannelEvent {
    fn from(e: stored::ChannelEvent) -> Self {
        Self {
            channel_event_id: e.channel_event_id,
            channel_id: e.channel_id,
            webhook_id: e.webhook_id,
            topic: e.topic,
            external_order_id: e.external_order_id,
            order_name: e.order_name,
            status: e.status,
            reason: e.reason,
            detail: e.detail,
            shipment_id: e.shipment_id,
            order_created_at: e.order_created_at,
            triggered_at: e.triggered_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}
