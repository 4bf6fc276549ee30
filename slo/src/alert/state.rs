//! One alert's lifecycle: `inactive → pending → firing → resolved`, an enum whose transitions
//! are functions returning `Result`; an illegal transition is an [`IllegalTransition`] naming
//! the state it was attempted from.
//!
//! ```text
//!   inactive ──begin──▶ pending ──fire──▶ firing ──resolve──▶ resolved
//!      ▲                  │                                       │
//!      └──────cancel──────┘            resolved ──begin──▶ pending
//! ```
//!
//! [`step`] decides one cycle from the condition (the tier fires, or the SLO has been without
//! data) and whether the alert may fire without holding ([`Hold`]).

use serde::{Deserialize, Serialize};

/// Where one alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The condition does not hold (the initial state).
    Inactive,
    /// The condition holds; waiting for it to hold one more cycle.
    Pending,
    /// Receivers were (or are being) told.
    Firing,
    /// It fired and has stopped; receivers were told it resolved.
    Resolved,
}

/// A transition that the lifecycle does not allow from `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an alert cannot {transition} from {from}")]
pub struct IllegalTransition {
    pub from: AlertState,
    pub transition: &'static str,
}

impl AlertState {
    pub const ALL: [AlertState; 4] =
        [AlertState::Inactive, AlertState::Pending, AlertState::Firing, AlertState::Resolved];

    /// The name in the database and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<AlertState> {
        AlertState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    fn illegal(self, transition: &'static str) -> IllegalTransition {
        IllegalTransition { from: self, transition }
    }

    /// The condition started to hold: `inactive | resolved → pending`.
    pub fn begin(self) -> Result<AlertState, IllegalTransition> {
        match self {
            AlertState::Inactive | AlertState::Resolved => Ok(AlertState::Pending),
            _ => Err(self.illegal("begin")),
        }
    }

    /// It held long enough: `pending → firing`.
    pub fn fire(self) -> Result<AlertState, IllegalTransition> {
        match self {
            AlertState::Pending => Ok(AlertState::Firing),
            _ => Err(self.illegal("fire")),
        }
    }

    /// It stopped before firing: `pending → inactive` (nobody was told).
    pub fn cancel(self) -> Result<AlertState, IllegalTransition> {
        match self {
            AlertState::Pending => Ok(AlertState::Inactive),
            _ => Err(self.illegal("cancel")),
        }
    }

    /// It stopped after firing: `firing → resolved`.
    pub fn resolve(self) -> Result<AlertState, IllegalTransition> {
        match self {
            AlertState::Firing => Ok(AlertState::Resolved),
            _ => Err(self.illegal("resolve")),
        }
    }
}

impl std::fmt::Display for AlertState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether an alert whose condition holds may fire in the same cycle it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// Fire at once (page tiers: see the `alert` module doc).
    None,
    /// Stay pending for one more cycle in which the condition still holds (ticket tiers).
    OneCycle,
    /// Stay pending until the condition has held this long (the no-data alert).
    Until { ready: bool },
}

/// What one cycle did to one alert: the state it ends in and the transitions taken, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub state: AlertState,
    pub transitions: Vec<(AlertState, AlertState)>,
}

impl Step {
    pub fn fired(&self) -> bool {
        self.transitions.iter().any(|&(_, to)| to == AlertState::Firing)
    }

    pub fn resolved(&self) -> bool {
        self.transitions.iter().any(|&(_, to)| to == AlertState::Resolved)
    }
}

/// One cycle of one alert: `holds` is whether its condition holds now.
pub fn step(from: AlertState, holds: bool, hold: Hold) -> Result<Step, IllegalTransition> {
    let mut state = from;
    let mut transitions = Vec::new();
    let mut go = |next: Result<AlertState, IllegalTransition>, state: &mut AlertState| {
        next.map(|to| {
            transitions.push((*state, to));
            *state = to;
        })
    };
    match (from, holds) {
        (AlertState::Inactive | AlertState::Resolved, true) => {
            go(state.begin(), &mut state)?;
            if matches!(hold, Hold::None | Hold::Until { ready: true }) {
                go(state.fire(), &mut state)?;
            }
        }
        (AlertState::Pending, true) => {
            if !matches!(hold, Hold::Until { ready: false }) {
                go(state.fire(), &mut state)?;
            }
        }
        (AlertState::Pending, false) => go(state.cancel(), &mut state)?,
        (AlertState::Firing, false) => go(state.resolve(), &mut state)?,
        (AlertState::Firing, true) | (AlertState::Inactive | AlertState::Resolved, false) => {}
    }
    Ok(Step { state, transitions })
}

#[cfg(test)]
mod tests {
    use super::AlertState::*;
    use super::*;

    #[test]
    fn the_lifecycle_runs_inactive_pending_firing_resolved() {
        let pending = Inactive.begin().expect("begin");
        let firing = pending.fire().expect("fire");
        let resolved = firing.resolve().expect("resolve");
        assert_eq!((pending, firing, resolved), (Pending, Firing, Resolved));
        assert_eq!(resolved.begin(), Ok(Pending), "a resolved alert can start again");
    }

    #[test]
    fn illegal_transitions_are_typed_errors_naming_the_state() {
        assert_eq!(Inactive.fire(), Err(IllegalTransition { from: Inactive, transition: "fire" }));
        assert_eq!(Firing.begin(), Err(IllegalTransition { from: Firing, transition: "begin" }));
        assert_eq!(Pending.resolve(), Err(IllegalTransition { from: Pending, transition: "resolve" }));
        assert_eq!(Resolved.cancel(), Err(IllegalTransition { from: Resolved, transition: "cancel" }));
        assert_eq!(Firing.fire().expect_err("illegal").to_string(), "an alert cannot fire from firing");
    }

    #[test]
    fn a_page_tier_fires_in_the_cycle_its_condition_starts() {
        let s = step(Inactive, true, Hold::None).expect("step");
        assert_eq!(s.state, Firing);
        assert_eq!(s.transitions, vec![(Inactive, Pending), (Pending, Firing)]);
        assert!(s.fired());
    }

    #[test]
    fn a_ticket_tier_is_pending_one_cycle_before_it_fires() {
        let first = step(Inactive, true, Hold::OneCycle).expect("step");
        assert_eq!(first.state, Pending);
        assert!(!first.fired());
        let second = step(first.state, true, Hold::OneCycle).expect("step");
        assert_eq!(second.state, Firing);
        assert!(second.fired());
    }

    #[test]
    fn a_pending_alert_whose_condition_clears_goes_back_to_inactive_without_firing() {
        let s = step(Pending, false, Hold::OneCycle).expect("step");
        assert_eq!(s.state, Inactive);
        assert!(!s.fired() && !s.resolved());
    }

    #[test]
    fn a_firing_alert_resolves_when_its_condition_clears_and_stays_firing_while_it_holds() {
        assert_eq!(step(Firing, true, Hold::None).expect("step").transitions, vec![]);
        let s = step(Firing, false, Hold::None).expect("step");
        assert_eq!(s.state, Resolved);
        assert!(s.resolved());
        assert_eq!(step(Resolved, false, Hold::None).expect("step").state, Resolved);
    }

    #[test]
    fn the_no_data_alert_stays_pending_until_its_duration_has_passed() {
        let s = step(Inactive, true, Hold::Until { ready: false }).expect("step");
        assert_eq!(s.state, Pending);
        assert_eq!(step(Pending, true, Hold::Until { ready: false }).expect("step").state, Pending);
        assert_eq!(step(Pending, true, Hold::Until { ready: true }).expect("step").state, Firing);
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for s in AlertState::ALL {
            assert_eq!(AlertState::parse(s.as_str()), Some(s));
        }
        assert_eq!(AlertState::parse("acknowledged"), None);
    }
}
