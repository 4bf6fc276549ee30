//! OpenSLO `SLO` documents: objectives (one Kura SLO each, or a journey's composite), targets,
//! time windows and budgeting methods (see the mapping table in [`super`]).

#[allow(clippy::wildcard_imports)]
use super::*;

impl<'a> Importer<'a> {
    /// One Kura SLO per objective of an SLO document.
    pub(super) fn slo(&self, doc: &Doc<'a>, journey: &str) -> R<Vec<ReadSlo>> {
        let y = self.y();
        let id = doc.name.as_str();
        let at = At::of(doc.name.span());
        let indicator = self.indicator_of(doc)?;
        let (window, calendar_zone) = self.window(doc.spec)?;
        let method = self.budgeting_method(doc.spec)?;
        let alerting = self.alerting(doc)?;
        let min_events_per_hour = match self.annotation(doc.metadata, a::MIN_EVENTS_PER_HOUR)? {
            None => None,
            Some(m) => Some(
                Decimal::from_str(m.as_str()).map_err(|_| self.at(m, format!("`{}` is not a number", m.as_str())))?,
            ),
        };
        let journey_description =
            self.annotation(doc.metadata, a::JOURNEY_DESCRIPTION)?.map(|d| (d.as_str().to_string(), At::of(d.span())));
        let description = doc
            .spec
            .str("description")
            .map_err(&y)?
            .map(|d| d.as_str().trim().to_string())
            .or_else(|| indicator.description.clone())
            .unwrap_or_default();

        let objectives =
            doc.spec.seq("objectives").map_err(&y)?.map(|s| s.iter().collect::<Vec<_>>()).unwrap_or_default();
        let ids = objective_ids(id, &objectives);
        let mut out = Vec::new();
        for (node, slo_id) in objectives.into_iter().zip(ids) {
            let o = Map::of(node, "an objective").map_err(&y)?;
            o.only(&[
                "displayName",
                "op",
                "value",
                "target",
                "targetPercent",
                "timeSliceTarget",
                "timeSliceWindow",
                "indicator",
                "indicatorRef",
                "compositeWeight",
            ])
            .map_err(&y)?;
            if o.get("compositeWeight").is_some() {
                return Err(error(
                    self.file,
                    o.key_at("compositeWeight"),
                    "`compositeWeight` only weighs a composite's objectives",
                ));
            }
            let objective = self.target(o)?;
            let budgeting = self.budgeting(o, method)?;
            let sli = self.sli(&indicator, o)?;
            out.push(ReadSlo {
                slo: Slo {
                    id: slo_id,
                    journey: journey.to_string(),
                    description: description.clone(),
                    objective,
                    window: window.clone(),
                    budgeting,
                    sli,
                    min_events_per_hour,
                    labels: BTreeMap::new(),
                    alerting: alerting.clone(),
                },
                at,
                journey_description: journey_description.clone(),
                calendar_zone: calendar_zone.clone(),
            });
        }
        Ok(out)
    }

    pub(super) fn composite(&self, doc: &Doc<'a>, journey: &str) -> R<ReadComposite> {
        let y = self.y();
        let at = At::of(doc.name.span());
        for key in ["indicator", "indicatorRef"] {
            if doc.spec.get(key).is_some() {
                let message = "a composite SLO's indicators belong in its objectives, not in `spec`";
                return Err(error(self.file, doc.spec.key_at(key), message));
            }
        }
        if doc.spec.get("alertPolicies").is_some() {
            let why = "Kura alerts on the component SLOs' burn, not on the composite's";
            return Err(unsupported(
                self.file,
                doc.spec.key_at("alertPolicies"),
                "alert policies on a composite SLO",
                why,
            ));
        }
        let objective = match self.annotation(doc.metadata, a::COMPOSITE_OBJECTIVE)? {
            Some(o) => {
                Objective::from_str(o.as_str()).map_err(|e| self.at(o, format!("objective `{}`: {e}", o.as_str())))?
            }
            None => {
                let what = format!("composite SLO `{}` without `{}`", doc.name.as_str(), a::COMPOSITE_OBJECTIVE);
                let why = "a Kura composite has an objective of its own, which OpenSLO v1 has no field for";
                return Err(unsupported(self.file, at, what, why));
            }
        };
        let (window, calendar_zone) = self.window(doc.spec)?;
        let method = self.budgeting_method(doc.spec)?;
        let mut components = Vec::new();
        for node in doc.spec.seq("objectives").map_err(&y)?.map(|s| s.iter().collect::<Vec<_>>()).unwrap_or_default() {
            let o = Map::of(node, "an objective").map_err(&y)?;
            o.only(&[
                "displayName",
                "target",
                "targetPercent",
                "timeSliceTarget",
                "timeSliceWindow",
                "indicator",
                "indicatorRef",
                "compositeWeight",
            ])
            .map_err(&y)?;
            let (slo, slo_at) = match (o.get("indicator"), o.str("indicatorRef").map_err(&y)?) {
                (Some(inline), None) => {
                    let m = Map::of(inline, "`indicator`").map_err(&y)?;
                    let name = Map::of(m.required("metadata").map_err(&y)?, "`metadata`")
                        .map_err(&y)?
                        .required_str("name")
                        .map_err(&y)?;
                    (name.as_str().to_string(), At::of(name.span()))
                }
                (None, Some(r)) => (r.as_str().to_string(), At::of(r.span())),
                _ => {
                    let message = "each objective of a composite SLO has either `indicator` or `indicatorRef`";
                    return Err(error(self.file, o.at(), message));
                }
            };
            let weight = match o.str("compositeWeight").map_err(&y)? {
                None => Decimal::ONE,
                Some(w) => Decimal::from_str(w.as_str())
                    .ok()
                    .filter(|d| *d > Decimal::ZERO)
                    .ok_or_else(|| self.at(w, format!("compositeWeight `{}` is not a positive number", w.as_str())))?,
            };
            let target = self.target(o)?;
            self.budgeting(o, method)?;
            components.push(ReadComponent { slo, at: slo_at, weight, target });
        }
        Ok(ReadComposite {
            id: doc.name.as_str().to_string(),
            at,
            journey: journey.to_string(),
            journey_description: self
                .annotation(doc.metadata, a::JOURNEY_DESCRIPTION)?
                .map(|d| (d.as_str().to_string(), At::of(d.span()))),
            objective,
            window,
            budgeting: method.0,
            components,
            calendar_zone,
        })
    }

    pub(super) fn resolve_composite(&self, draft: &SpecDraft, c: &ReadComposite) -> R<Composite> {
        let mut components = Vec::new();
        for k in &c.components {
            let slo = draft.journeys.iter().flat_map(|j| j.slos.iter()).find(|s| s.id == k.slo).ok_or_else(|| {
                let message = format!(
                    "composite `{}` names `{}`, which is not an SLO of service `{}` (a Kura composite combines \
                     the journey's own SLOs)",
                    c.id, k.slo, draft.service
                );
                error(self.file, k.at, message)
            })?;
            let differs = |what: &str, ours: String, theirs: String| {
                let message =
                    format!("composite `{}` gives `{}` {what} {theirs}, but the SLO itself has {ours}", c.id, k.slo);
                Err(error(self.file, k.at, message))
            };
            if slo.objective != k.target {
                return differs("the objective", slo.objective.to_string(), k.target.to_string());
            }
            if slo.window != c.window {
                return differs("the window", slo.window.to_string(), c.window.to_string());
            }
            let method = match slo.budgeting {
                Budgeting::Occurrences => "Occurrences",
                Budgeting::Timeslices { .. } => "Timeslices",
            };
            if method != c.budgeting {
                return differs("budgeting method", method.to_string(), c.budgeting.to_string());
            }
            components.push(CompositeComponent { slo: k.slo.clone(), weight: k.weight });
        }
        Ok(Composite { id: c.id.clone(), objective: c.objective, components })
    }

    /// `target` or `targetPercent` as a percent objective.
    pub(super) fn target(&self, o: Map<'a>) -> R<Objective> {
        let y = self.y();
        let percent = match (o.str("target").map_err(&y)?, o.str("targetPercent").map_err(&y)?) {
            (Some(t), None) => {
                let d = Decimal::from_str(t.as_str())
                    .map_err(|_| self.at(t, format!("target `{}` is not a number", t.as_str())))?;
                (d * Decimal::ONE_HUNDRED).normalize().to_string()
            }
            (None, Some(p)) => p.as_str().to_string(),
            (Some(_), Some(p)) => return Err(self.at(p, "give `target` or `targetPercent`, not both".into())),
            (None, None) => return Err(error(self.file, o.at(), "an objective needs `target` or `targetPercent`")),
        };
        let at = o.key_at(if o.get("target").is_some() { "target" } else { "targetPercent" });
        Objective::from_str(&percent).map_err(|e| error(self.file, at, format!("objective {percent}%: {e}")))
    }

    /// `budgetingMethod`, and where it is written.
    pub(super) fn budgeting_method(&self, spec: Map<'a>) -> R<(&'static str, At)> {
        let m = spec.required_str("budgetingMethod").map_err(self.y())?;
        let at = At::of(m.span());
        match m.as_str() {
            "Occurrences" => Ok(("Occurrences", at)),
            "Timeslices" => Ok(("Timeslices", at)),
            "RatioTimeslices" => Err(unsupported(
                self.file,
                at,
                "`budgetingMethod: RatioTimeslices`",
                "Kura's time slices are good or bad (`Timeslices`), not averaged ratios",
            )),
            other => Err(error(self.file, at, format!("unknown budgetingMethod `{other}` (Occurrences, Timeslices)"))),
        }
    }

    pub(super) fn budgeting(&self, o: Map<'a>, (method, _): (&'static str, At)) -> R<Budgeting> {
        let y = self.y();
        let target = o.str("timeSliceTarget").map_err(&y)?;
        let window = o.str("timeSliceWindow").map_err(&y)?;
        match method {
            "Timeslices" => {
                let (Some(target), Some(window)) = (target, window) else {
                    let message =
                        "`budgetingMethod: Timeslices` needs `timeSliceTarget` and `timeSliceWindow` on each objective";
                    return Err(error(self.file, o.at(), message));
                };
                let fraction = Decimal::from_str(target.as_str())
                    .ok()
                    .filter(|d| *d > Decimal::ZERO && *d <= Decimal::ONE)
                    .ok_or_else(|| {
                        self.at(target, format!("timeSliceTarget `{}` is not in (0, 1]", target.as_str()))
                    })?;
                let percent = (fraction * Decimal::ONE_HUNDRED).normalize().to_string();
                let target = Objective::from_str(&percent)
                    .map_err(|e| self.at(target, format!("timeSliceTarget {percent}%: {e}")))?;
                let slice = match Decimal::from_str(window.as_str()) {
                    // A bare number is minutes (OpenSLO's `timeSliceWindow` note).
                    Ok(minutes) => {
                        let nanos = minutes * Decimal::from(60_000_000_000_i64);
                        let nanos = i64::try_from(nanos.trunc()).ok().filter(|_| nanos.fract().is_zero());
                        nanos.map(SignedDuration::from_nanos).ok_or_else(|| {
                            self.at(
                                window,
                                format!("timeSliceWindow `{}` is not a whole number of nanoseconds", window.as_str()),
                            )
                        })?
                    }
                    Err(_) => self.shorthand(window)?,
                };
                Ok(Budgeting::Timeslices { slice, target })
            }
            _ => {
                if let Some(t) = target.or(window) {
                    let message = format!("`{}` applies only to `budgetingMethod: Timeslices`", t.as_str());
                    return Err(error(self.file, At::of(t.span()), message));
                }
                Ok(Budgeting::Occurrences)
            }
        }
    }

    /// OpenSLO's duration shorthand with a fixed length: `5m`, `1h`, `28d`, `4w`.
    pub(super) fn shorthand(&self, node: &MarkedScalarNode) -> R<SignedDuration> {
        let s = node.as_str();
        let (n, unit) = s.split_at(s.len().saturating_sub(1));
        let n: i64 = n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
            self.at(node, format!("`{s}` is not an OpenSLO duration (a whole number and m, h, d, w, M, Q or Y)"))
        })?;
        let hours = match unit {
            "m" => return Ok(SignedDuration::from_mins(n)),
            "h" => n,
            "d" => 24 * n,
            "w" => 24 * 7 * n,
            "M" | "Q" | "Y" => {
                let why = "months, quarters and years have no fixed length; use a calendar window or days";
                return Err(unsupported(self.file, At::of(node.span()), format!("the rolling duration `{s}`"), why));
            }
            _ => return Err(self.at(node, format!("`{s}` is not an OpenSLO duration (m, h, d, w, M, Q or Y)"))),
        };
        Ok(SignedDuration::from_hours(hours))
    }

    pub(super) fn window(&self, spec: Map<'a>) -> R<(Window, Option<(String, At)>)> {
        let y = self.y();
        let list = spec
            .seq("timeWindow")
            .map_err(&y)?
            .ok_or_else(|| error(self.file, spec.at(), "an SLO needs `timeWindow` (Kura has no default window)"))?;
        if list.len() != 1 {
            return Err(error(self.file, At::of(list.span()), "`timeWindow` has exactly one item"));
        }
        let w = Map::of(&list[0], "a time window").map_err(&y)?;
        w.only(&["duration", "isRolling", "calendar"]).map_err(&y)?;
        let duration = w.required_str("duration").map_err(&y)?;
        let calendar = w.map("calendar", "`calendar`").map_err(&y)?;
        let rolling = w.bool("isRolling").map_err(&y)?.unwrap_or(calendar.is_none());
        match (rolling, calendar) {
            (true, Some(_)) => Err(error(self.file, w.key_at("calendar"), "a rolling window has no `calendar`")),
            (false, None) => Err(error(self.file, w.at(), "a window that is not rolling needs `calendar`")),
            (true, None) => Ok((Window::Rolling(self.shorthand(duration)?), None)),
            (false, Some(c)) => {
                c.only(&["startTime", "timeZone"]).map_err(&y)?;
                let start = c.required_str("startTime").map_err(&y)?;
                let tz = c.required_str("timeZone").map_err(&y)?;
                let zone = TimeZone::get(tz.as_str())
                    .map_err(|_| self.at(tz, format!("unknown time zone `{}` (an IANA name)", tz.as_str())))?;
                let start_time = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", start.as_str())
                    .or_else(|_| start.as_str().parse::<jiff::civil::DateTime>())
                    .map_err(|e| {
                        self.at(start, format!("startTime `{}` is not a date and time: {e}", start.as_str()))
                    })?;
                let midnight = start_time.time() == jiff::civil::Time::midnight();
                let first = start_time.day() == 1;
                let period = match duration.as_str() {
                    "1M" if midnight && first => Some(CalendarPeriod::Month),
                    "1Q" | "3M" if midnight && first && [1, 4, 7, 10].contains(&start_time.month()) => {
                        Some(CalendarPeriod::Quarter)
                    }
                    "1w" | "7d" if midnight && start_time.weekday() == jiff::civil::Weekday::Monday => {
                        Some(CalendarPeriod::Week)
                    }
                    _ => None,
                };
                let Some(period) = period else {
                    let what = format!("the calendar window `{}` from {}", duration.as_str(), start.as_str());
                    let why = "Kura's calendar windows are months (1M from a 1st), quarters (1Q from 1 Jan/Apr/Jul/Oct) \
                               and weeks (1w from a Monday), each from midnight";
                    return Err(unsupported(self.file, At::of(duration.span()), what, why));
                };
                let zone_name = (tz.as_str().to_string(), At::of(tz.span()));
                Ok((Window::Calendar { period, time_zone: zone }, Some(zone_name)))
            }
        }
    }
}

/// Ids for an SLO document's objectives: its name for one; suffixed for several.
pub(super) fn objective_ids(name: &str, objectives: &[&Node]) -> Vec<String> {
    if objectives.len() == 1 {
        return vec![name.to_string()];
    }
    let slugs: Vec<Option<String>> = objectives
        .iter()
        .map(|o| {
            let m = Map::of(o, "objective").ok()?;
            let d = m.str("displayName").ok()??;
            let slug: String = d
                .as_str()
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
                .split('-')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("-");
            (!slug.is_empty()).then_some(slug)
        })
        .collect();
    let distinct = slugs.iter().all(Option::is_some) && slugs.iter().enumerate().all(|(i, s)| !slugs[..i].contains(s));
    if distinct {
        slugs.into_iter().map(|s| format!("{name}-{}", s.unwrap_or_default())).collect()
    } else {
        (1..=objectives.len()).map(|i| format!("{name}-{i}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_objectives_are_suffixed_by_their_names_or_their_positions() {
        let a =
            marked_yaml::parse_yaml(0, "o:\n  - displayName: Fast Enough\n  - displayName: Really fast!\n").unwrap();
        let list: Vec<&Node> = a.as_mapping().unwrap().get_sequence("o").unwrap().iter().collect();
        assert_eq!(objective_ids("api", &list), vec!["api-fast-enough", "api-really-fast"]);
        let b = marked_yaml::parse_yaml(0, "o:\n  - target: 0.9\n  - displayName: x\n").unwrap();
        let list: Vec<&Node> = b.as_mapping().unwrap().get_sequence("o").unwrap().iter().collect();
        assert_eq!(objective_ids("api", &list), vec!["api-1", "api-2"]);
    }
}
