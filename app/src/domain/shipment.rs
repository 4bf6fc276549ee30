//! The shipment (出荷依頼) state machine.
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

use serde::{Deserialize, Serialize};

use super::Error;
use super::values::text_enum;

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

    #[test]
    fn every_status_round_trips_through_text() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(*s));
        }
    }
}
