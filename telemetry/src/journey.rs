//! Journeys: the critical user journeys a service serves, declared once by the service and
//! used as the `journey` label on every metric that belongs to one. The set is closed (a
//! `&'static` table), so label cardinality is bounded by construction.

use std::fmt;
use std::time::Duration;

/// A journey name, e.g. `create-shipment`, and the latency past which its requests count as
/// slow (their traces are always kept, see [`crate::sampling`]). `none` labels work that
/// serves no journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Journey {
    name: &'static str,
    slow_after: Option<Duration>,
}

impl Journey {
    pub const NONE: Journey = Journey { name: "none", slow_after: None };

    /// Declares a journey; names are lowercase words joined by `-`.
    pub const fn new(name: &'static str) -> Self {
        Journey { name, slow_after: None }
    }

    /// The same journey, whose requests are slow past `threshold` (its latency SLO's).
    pub const fn slow_after(self, threshold: Duration) -> Self {
        Journey { name: self.name, slow_after: Some(threshold) }
    }

    pub const fn name(self) -> &'static str {
        self.name
    }

    /// The latency past which a request of this journey is slow, if it has one.
    pub const fn slow_threshold(self) -> Option<Duration> {
        self.slow_after
    }
}

impl fmt::Display for Journey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// Which journey each route (method + route template) serves: one row per route, in one place.
#[derive(Debug, Clone, Copy)]
pub struct RouteJourneys(pub &'static [(&'static str, &'static str, Journey)]);

impl RouteJourneys {
    /// The journey of `method route`, or [`Journey::NONE`].
    pub fn journey(&self, method: &str, route: &str) -> Journey {
        self.0.iter().find(|(m, r, _)| *m == method && *r == route).map_or(Journey::NONE, |(_, _, j)| *j)
    }
}
