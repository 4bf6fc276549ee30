//! Journeys: the critical user journeys a service serves, declared once by the service and
//! used as the `journey` label on every metric that belongs to one. The set is closed (a
//! `&'static` table), so label cardinality is bounded by construction.

use std::fmt;

/// A journey name, e.g. `create-shipment`. `none` labels work that serves no journey.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Journey(&'static str);

impl Journey {
    pub const NONE: Journey = Journey("none");

    /// Declares a journey; names are lowercase words joined by `-`.
    pub const fn new(name: &'static str) -> Self {
        Journey(name)
    }

    pub const fn name(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Journey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
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
