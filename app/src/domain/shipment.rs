//! The shipment (出荷依頼): what a shipper asks for, its state machine, and the rules that
//! decide its status -- backorder or refuse when stock is short, and what may still change
//! once warehouse work has started.
//!
//! ```text
//! backordered ──allocate──▶ waiting ──release──▶ picking ──inspect──▶ picked ──pack──▶ packed ──handover──▶ shipped
//!      │  ▲                   │                    │                    │                  │
//!      └──┴── edit / suspend / cancel ──┘          └──── cancel / modify become requests ───┘
//! ```
//!
//! Shippers edit or cancel directly only in `backordered`, `waiting` and `suspended`; once work
//! has started a cancel or modification is a *request* (`cancel_request`, `modify_request`)
//! the warehouse accepts or refuses, and refusal returns the shipment to the status it had.
//! Callers persist a transition with a compare-and-set on (id, version, status).
//!
//! A new shipment is `waiting` until allocation has run, inside the transaction that creates
//! it: reserved in full it stays `waiting` ([`ShipmentAction::Allocate`]); short, it is
//! backordered when the shipper takes backorders ([`ShipmentAction::Backorder`]) and refused
//! otherwise ([`after_allocation`]).

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::Error;
use super::calendar::WarehouseClock;
use super::error::ShortItem;
use super::values::{
    Carrier, Identifier, ItemCode, Name, Phone, PostalCode, Priority, Quantity, Text, WarehouseId, text_enum,
};

text_enum!(
    /// Shipment status, named as in OPENLOGI's API.
    ShipmentStatus {
        Backordered = "backordered",
        Waiting = "waiting",
        Picking = "picking",
        Picked = "picked",
        Packed = "packed",
        Shipped = "shipped",
        Suspended = "suspended",
        ModifyRequest = "modify_request",
        CancelRequest = "cancel_request",
        Cancelled = "cancelled",
    }
);

/// Something that moves a shipment between statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShipmentAction {
    /// Stock was reserved for every line.
    Allocate,
    /// Stock was short and the shipper allows backorders.
    Backorder,
    /// Released to a wave (picking list).
    Release,
    /// Shipping inspection (出荷検品) found picked = ordered.
    Inspect,
    /// Packages were created for it.
    Pack,
    /// The carrier took its packages.
    Handover,
    /// Put on hold before work starts.
    Suspend,
    /// Taken off hold.
    Resume,
    /// The shipper changed lines or recipient.
    Edit,
    /// The shipper cancelled (direct before work, a request after).
    Cancel,
    /// The shipper asked to change the recipient after work started.
    Modify,
    /// The warehouse accepted a cancel or modify request.
    AcceptRequest,
    /// The warehouse refused a cancel or modify request.
    RefuseRequest,
}

impl ShipmentAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ShipmentAction::Allocate => "allocate",
            ShipmentAction::Backorder => "backorder",
            ShipmentAction::Release => "release to a wave",
            ShipmentAction::Inspect => "inspect",
            ShipmentAction::Pack => "pack",
            ShipmentAction::Handover => "hand over",
            ShipmentAction::Suspend => "suspend",
            ShipmentAction::Resume => "resume",
            ShipmentAction::Edit => "edit",
            ShipmentAction::Cancel => "cancel",
            ShipmentAction::Modify => "modify",
            ShipmentAction::AcceptRequest => "accept the request",
            ShipmentAction::RefuseRequest => "refuse the request",
        }
    }
}

impl ShipmentStatus {
    /// Shippers may edit or delete directly in these statuses.
    pub fn editable(self) -> bool {
        matches!(self, Self::Backordered | Self::Waiting | Self::Suspended)
    }

    /// Warehouse work has started: cancels and modifications become requests.
    pub fn in_progress(self) -> bool {
        matches!(self, Self::Picking | Self::Picked | Self::Packed)
    }

    /// The status after `action`, or the typed refusal the API turns into a 409.
    /// `before_request` is the status saved when a request or suspension began.
    pub fn next(self, action: ShipmentAction, before_request: Option<Self>) -> Result<Self, Error> {
        use ShipmentAction as A;
        use ShipmentStatus as S;
        let next = match (self, action) {
            (S::Backordered | S::Waiting, A::Allocate) => Some(S::Waiting),
            (S::Backordered | S::Waiting, A::Backorder) => Some(S::Backordered),
            (S::Waiting, A::Release) => Some(S::Picking),
            (S::Picking, A::Inspect) => Some(S::Picked),
            (S::Picked, A::Pack) => Some(S::Packed),
            (S::Packed, A::Handover) => Some(S::Shipped),
            (S::Backordered | S::Waiting, A::Suspend) => Some(S::Suspended),
            (S::Suspended, A::Resume) => before_request,
            (s, A::Edit) if s.editable() => Some(s),
            (s, A::Cancel) if s.editable() => Some(S::Cancelled),
            (s, A::Cancel) if s.in_progress() => Some(S::CancelRequest),
            (s, A::Modify) if s.in_progress() => Some(S::ModifyRequest),
            (S::CancelRequest, A::AcceptRequest) => Some(S::Cancelled),
            (S::ModifyRequest, A::AcceptRequest) => before_request,
            (S::CancelRequest | S::ModifyRequest, A::RefuseRequest) => before_request,
            _ => None,
        };
        next.ok_or_else(|| Error::IllegalTransition {
            entity: "shipment",
            current: self.as_str().to_owned(),
            action: action.as_str(),
        })
    }
}

/// Where a shipment goes. Kura ships within Japan: a Japanese postal code, prefecture and
/// telephone number. A value like the ones in `values`, with its JSON form and schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recipient {
    pub name: Name,
    pub postal_code: PostalCode,
    pub prefecture: Name,
    pub address1: Text,
    pub address2: Option<Text>,
    pub phone: Phone,
}

/// One line a shipper asks for: an item and how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewLine)]
pub struct Line {
    pub item_code: ItemCode,
    pub quantity: Quantity,
}

/// The most lines one shipment may have.
pub const MAX_LINES: usize = 200;

/// Lines are 1 to [`MAX_LINES`], each item once; `field` is where they are (`/lines`).
pub fn check_lines(lines: &[Line], field: &str) -> Result<(), Error> {
    if lines.is_empty() {
        return Err(Error::invalid(field, "must have at least one line"));
    }
    if lines.len() > MAX_LINES {
        return Err(Error::invalid(field, format!("must have at most {MAX_LINES} lines")));
    }
    for (i, line) in lines.iter().enumerate() {
        if lines[..i].iter().any(|l| l.item_code == line.item_code) {
            return Err(Error::invalid(format!("{field}/{i}/item_code"), "appears on more than one line"));
        }
    }
    Ok(())
}

/// A shipment as a shipper asks for it, through the API or an EC channel.
///
/// Its JSON form is the request's canonical form: [`NewShipment::fingerprint`] hashes it, and
/// the hash is stored with the shipment, so the fields, their order and their text must not
/// change (a test pins them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewShipment {
    pub identifier: Identifier,
    pub warehouse_id: WarehouseId,
    /// 1 (first) to 100; default [`Priority::DEFAULT`].
    pub allocate_priority: Option<Priority>,
    /// Default: see [`ship_date`].
    pub ship_date: Option<Date>,
    pub recipient: Recipient,
    pub delivery_carrier: Carrier,
    pub gift_wrap: bool,
    pub lines: Vec<Line>,
}

impl NewShipment {
    /// SHA-256 of the canonical JSON, hex: a resubmission with the same fingerprint is a replay
    /// of the first request, with another it is a conflicting duplicate.
    pub fn fingerprint(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        Sha256::digest(&canonical).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The date a new shipment ships on: the one asked for, which must not be in the past of the
/// warehouse's calendar, or by default today before the warehouse's cut-off and tomorrow after.
pub fn ship_date(asked: Option<Date>, clock: &WarehouseClock, now: Timestamp) -> Result<Date, Error> {
    match asked {
        Some(date) if date < clock.local_date(now) => Err(Error::invalid("/ship_date", "must not be in the past")),
        Some(date) => Ok(date),
        None => Ok(clock.default_ship_date(now)),
    }
}

/// Backorder or refuse: what allocating a shipment's lines means for it. Reserved in full, it
/// is allocated; short, it is backordered if the shipper takes backorders, and otherwise
/// refused, naming the short items (the API's 422 `insufficient-stock`).
pub fn after_allocation(reserved: Result<(), Vec<ShortItem>>, allow_backorder: bool) -> Result<ShipmentAction, Error> {
    match reserved {
        Ok(()) => Ok(ShipmentAction::Allocate),
        Err(_) if allow_backorder => Ok(ShipmentAction::Backorder),
        Err(short) => Err(Error::InsufficientStock(short)),
    }
}

/// A shipper's change to a shipment. Stored as the pending change of a `modify_request` until
/// the warehouse answers, so its JSON form is a storage format too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub recipient: Option<Recipient>,
    pub delivery_carrier: Option<Carrier>,
    pub allocate_priority: Option<Priority>,
    pub ship_date: Option<Date>,
    pub gift_wrap: Option<bool>,
    pub lines: Option<Vec<Line>>,
}

impl Change {
    /// Whether it touches what warehouse work depends on: lines, priority, date or options.
    fn touches_work(&self) -> bool {
        self.lines.is_some() || self.allocate_priority.is_some() || self.ship_date.is_some() || self.gift_wrap.is_some()
    }
}

/// How a shipper's change goes ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// Before work starts the change applies at once (new lines are allocated again).
    Apply,
    /// Once work has started it becomes a request the warehouse accepts or refuses: the
    /// shipment moves to `modify_request` and the change waits until then.
    Request(ShipmentStatus),
}

impl ShipmentStatus {
    /// What may change, and how: anything before work starts; afterwards only the recipient
    /// and the carrier, by request.
    pub fn edit(self, change: &Change) -> Result<Edit, Error> {
        if self.in_progress() {
            if change.touches_work() {
                return Err(Error::IllegalTransition {
                    entity: "shipment",
                    current: self.as_str().to_owned(),
                    action: "change lines, priority, date or options",
                });
            }
            return self.next(ShipmentAction::Modify, None).map(Edit::Request);
        }
        self.next(ShipmentAction::Edit, None).map(|_| Edit::Apply)
    }
}

#[cfg(test)]
mod tests {
    use super::ShipmentAction as A;
    use super::ShipmentStatus as S;
    use super::*;

    #[test]
    fn the_happy_path_walks_from_waiting_to_shipped() {
        let mut s = S::Waiting;
        for a in [A::Release, A::Inspect, A::Pack, A::Handover] {
            s = s.next(a, None).expect("legal");
        }
        assert_eq!(s, S::Shipped);
    }

    #[test]
    fn cancel_is_direct_before_work_and_a_request_after() {
        assert_eq!(S::Waiting.next(A::Cancel, None).ok(), Some(S::Cancelled));
        assert_eq!(S::Backordered.next(A::Cancel, None).ok(), Some(S::Cancelled));
        assert_eq!(S::Picking.next(A::Cancel, None).ok(), Some(S::CancelRequest));
        assert_eq!(S::Packed.next(A::Cancel, None).ok(), Some(S::CancelRequest));
        assert!(S::Shipped.next(A::Cancel, None).is_err());
        assert!(S::Cancelled.next(A::Cancel, None).is_err());
    }

    #[test]
    fn a_refused_request_returns_to_where_it_was() {
        assert_eq!(S::CancelRequest.next(A::RefuseRequest, Some(S::Picked)).ok(), Some(S::Picked));
        assert_eq!(S::ModifyRequest.next(A::AcceptRequest, Some(S::Packed)).ok(), Some(S::Packed));
    }

    #[test]
    fn illegal_transitions_name_the_current_status() {
        let err = S::Shipped.next(A::Edit, None).expect_err("illegal");
        assert!(matches!(err, Error::IllegalTransition { ref current, .. } if current == "shipped"), "{err:?}");
    }

    fn recipient() -> Recipient {
        serde_json::from_value(serde_json::json!({
            "name": "山田 太郎", "postal_code": "150-0001", "prefecture": "東京都",
            "address1": "渋谷区神宮前1-2-3", "phone": "03-1234-5678"
        }))
        .expect("recipient")
    }

    fn line(code: &str, quantity: i64) -> Line {
        Line {
            item_code: ItemCode::parse(code).expect("code"),
            quantity: Quantity::try_from(quantity).expect("quantity"),
        }
    }

    #[test]
    fn a_requests_canonical_form_and_fingerprint_never_change() {
        // Fingerprints are stored with every shipment: this form is what they were computed over.
        let new = NewShipment {
            identifier: Identifier::parse("A-1").expect("identifier"),
            warehouse_id: WarehouseId(1),
            allocate_priority: None,
            ship_date: Some(jiff::civil::date(2026, 12, 1)),
            recipient: recipient(),
            delivery_carrier: Carrier::Yamato,
            gift_wrap: false,
            lines: vec![line("MUG-01", 2)],
        };
        assert_eq!(
            serde_json::to_string(&new).expect("json"),
            r#"{"identifier":"A-1","warehouse_id":1,"allocate_priority":null,"ship_date":"2026-12-01","recipient":{"name":"山田 太郎","postal_code":"150-0001","prefecture":"東京都","address1":"渋谷区神宮前1-2-3","address2":null,"phone":"03-1234-5678"},"delivery_carrier":"yamato","gift_wrap":false,"lines":[{"item_code":"MUG-01","quantity":2}]}"#
        );
        assert_eq!(new.fingerprint(), "d6654a073ae6df9e415bbfc15e0082e8de8f90058ec31777ab954c7e8da24651");
    }

    #[test]
    fn lines_are_one_to_two_hundred_and_name_each_item_once() {
        assert!(check_lines(&[line("A", 1)], "/lines").is_ok());
        assert!(matches!(check_lines(&[], "/lines"), Err(Error::Invalid { ref field, .. }) if field == "/lines"));
        let twice = check_lines(&[line("A", 1), line("B", 1), line("A", 2)], "/lines");
        assert!(matches!(twice, Err(Error::Invalid { ref field, .. }) if field == "/lines/2/item_code"), "{twice:?}");
        let many: Vec<Line> = (0..=MAX_LINES).map(|i| line(&format!("SKU-{i}"), 1)).collect();
        assert!(check_lines(&many, "/lines").is_err());
    }

    #[test]
    fn a_shipment_ships_on_the_day_asked_for_or_by_the_cutoff_but_never_in_the_past() {
        let clock = WarehouseClock::new("Asia/Tokyo", "12:30").expect("clock");
        let morning: Timestamp = "2026-11-25T01:00:00Z".parse().expect("ts"); // 10:00 JST
        let afternoon: Timestamp = "2026-11-25T05:00:00Z".parse().expect("ts"); // 14:00 JST
        assert_eq!(ship_date(None, &clock, morning).ok(), Some(jiff::civil::date(2026, 11, 25)));
        assert_eq!(ship_date(None, &clock, afternoon).ok(), Some(jiff::civil::date(2026, 11, 26)));
        let later = jiff::civil::date(2026, 12, 24);
        assert_eq!(ship_date(Some(later), &clock, morning).ok(), Some(later));
        let past = ship_date(Some(jiff::civil::date(2026, 11, 24)), &clock, morning);
        assert!(matches!(past, Err(Error::Invalid { ref field, .. }) if field == "/ship_date"), "{past:?}");
    }

    #[test]
    fn short_stock_backorders_for_shippers_who_take_backorders_and_is_refused_for_the_others() {
        let short = || vec![ShortItem { item_code: "MUG-01".into(), requested: 5, available: 2 }];
        assert_eq!(after_allocation(Ok(()), false).ok(), Some(A::Allocate));
        assert_eq!(after_allocation(Err(short()), true).ok(), Some(A::Backorder));
        let refused = after_allocation(Err(short()), false);
        assert!(matches!(refused, Err(Error::InsufficientStock(ref s)) if *s == short()), "{refused:?}");
        // A new shipment starts waiting; either way the state machine says where it goes.
        assert_eq!(S::Waiting.next(A::Backorder, None).ok(), Some(S::Backordered));
        assert_eq!(S::Waiting.next(A::Allocate, None).ok(), Some(S::Waiting));
    }

    #[test]
    fn before_work_anything_changes_and_after_it_only_recipient_and_carrier_by_request() {
        let address = Change { recipient: Some(recipient()), ..Change::default() };
        let lines = Change { lines: Some(vec![line("A", 1)]), ..Change::default() };
        for s in [S::Backordered, S::Waiting, S::Suspended] {
            assert_eq!(s.edit(&lines).ok(), Some(Edit::Apply), "{s}");
        }
        for s in [S::Picking, S::Picked, S::Packed] {
            assert_eq!(s.edit(&address).ok(), Some(Edit::Request(S::ModifyRequest)), "{s}");
            let refused = s.edit(&lines);
            assert!(matches!(refused, Err(Error::IllegalTransition { ref current, .. }) if current == s.as_str()));
        }
        for touches in [
            Change { gift_wrap: Some(true), ..Change::default() },
            Change { ship_date: Some(jiff::civil::date(2026, 12, 1)), ..Change::default() },
            Change { allocate_priority: Some(Priority::try_from(1).expect("priority")), ..Change::default() },
        ] {
            assert!(S::Picking.edit(&touches).is_err(), "{touches:?}");
        }
        assert!(S::Shipped.edit(&address).is_err());
        assert!(S::Cancelled.edit(&Change::default()).is_err());
    }

    #[test]
    fn a_stored_change_keeps_the_form_it_was_stored_in() {
        let stored = r#"{"recipient":{"name":"x","postal_code":"150-0001","prefecture":"y","address1":"z","address2":null,"phone":"03-1234-5678"},"delivery_carrier":null,"allocate_priority":null,"ship_date":null,"gift_wrap":null,"lines":null}"#;
        let change: Change = serde_json::from_str(stored).expect("a stored change");
        assert_eq!(serde_json::to_string(&change).expect("json"), stored);
    }

    #[test]
    fn every_status_round_trips_through_text() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(*s));
        }
    }
}
