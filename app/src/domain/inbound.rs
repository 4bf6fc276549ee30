//! The inbound request (入荷依頼) state machine: `waiting → received → checking → stocked`,
//! with `cancelled` reachable only from `waiting`. A partial receipt keeps the flow but sets
//! the inbound's `halfway` flag.

use super::Error;
use super::values::text_enum;

text_enum!(
    /// Inbound status, named as in OPENLOGI's API.
    InboundStatus {
        Waiting = "waiting",
        Received = "received",
        Checking = "checking",
        Stocked = "stocked",
        Cancelled = "cancelled",
    }
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundAction {
    Receive,
    Inspect,
    Putaway,
    Cancel,
}

impl InboundAction {
    pub fn as_str(self) -> &'static str {
        match self {
            InboundAction::Receive => "receive",
            InboundAction::Inspect => "inspect",
            InboundAction::Putaway => "put away",
            InboundAction::Cancel => "cancel",
        }
    }
}

impl InboundStatus {
    pub fn next(self, action: InboundAction) -> Result<Self, Error> {
        use InboundAction as A;
        use InboundStatus as S;
        match (self, action) {
            (S::Waiting, A::Receive) => Ok(S::Received),
            (S::Received, A::Inspect) => Ok(S::Checking),
            (S::Checking, A::Putaway) => Ok(S::Stocked),
            (S::Waiting, A::Cancel) => Ok(S::Cancelled),
            _ => Err(Error::IllegalTransition {
                entity: "inbound",
                current: self.as_str().to_owned(),
                action: action.as_str(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::InboundAction as A;
    use super::InboundStatus as S;

    #[test]
    fn inbound_walks_in_order_and_cancels_only_while_waiting() {
        assert_eq!(S::Waiting.next(A::Receive).ok(), Some(S::Received));
        assert_eq!(S::Received.next(A::Inspect).ok(), Some(S::Checking));
        assert_eq!(S::Checking.next(A::Putaway).ok(), Some(S::Stocked));
        assert_eq!(S::Waiting.next(A::Cancel).ok(), Some(S::Cancelled));
        assert!(S::Received.next(A::Cancel).is_err());
        assert!(S::Waiting.next(A::Putaway).is_err());
        assert!(S::Stocked.next(A::Receive).is_err());
    }
}
