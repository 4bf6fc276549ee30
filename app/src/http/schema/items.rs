//! Item bodies: a new item and the item as the API shows it.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::items as stored;
use crate::domain::item;
use crate::domain::values::{Barcode, Grams, ItemCode, ItemId, Name, Price, SizeClass, TemperatureZone};

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewItem {
    pub code: ItemCode,
    pub name: Name,
    pub barcode: Option<Barcode>,
    pub price: Price,
    pub size_class: SizeClass,
    pub weight_grams: Grams,
    pub temperature_zone: TemperatureZone,
    #[serde(default)]
    pub lot_managed: bool,
}

impl From<NewItem> for item::NewItem {
    fn from(n: NewItem) -> Self {
        Self {
            code: n.code,
            name: n.name,
            barcode: n.barcode,
            price: n.price,
            size_class: n.size_class,
            weight_grams: n.weight_grams,
            temperature_zone: n.temperature_zone,
            lot_managed: n.lot_managed,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Item {
    pub item_id: ItemId,
    pub code: ItemCode,
    pub name: Name,
    pub barcode: Option<Barcode>,
    pub price: Price,
    pub size_class: SizeClass,
    pub weight_grams: Grams,
    pub temperature_zone: TemperatureZone,
    pub lot_managed: bool,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<stored::Item> for Item {
    fn from(i: stored::Item) -> Self {
        Self {
            item_id: i.item_id,
            code: i.code,
            name: i.name,
            barcode: i.barcode,
            price: i.price,
            size_class: i.size_class,
            weight_grams: i.weight_grams,
            temperature_zone: i.temperature_zone,
            lot_managed: i.lot_managed,
            version: i.version,
            created_at: i.created_at,
            updated_at: i.updated_at,
        }
    }
}
