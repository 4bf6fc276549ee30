//! OpenSLO `AlertPolicy` and `AlertCondition` documents read as Kura burn-rate tiers and the
//! no-data alert (see the mapping table in [`super`]).

#[allow(clippy::wildcard_imports)]
use super::*;

/// A condition read: the tier's name if given, the tier, its pending duration, and where.
pub(super) type Condition = (Option<String>, BurnTier, Option<SignedDuration>, At);

impl<'a> Importer<'a> {
    /// The SLO's burn-rate tiers and no-data alert, from its alert policies.
    pub(super) fn alerting(&self, doc: &Doc<'a>) -> R<Alerting> {
        let y = self.y();
        let mut tiers: Vec<Condition> = Vec::new();
        let mut no_data: Option<SignedDuration> = None;
        for node in doc.spec.seq("alertPolicies").map_err(&y)?.map(|s| s.iter().collect::<Vec<_>>()).unwrap_or_default()
        {
            let item = Map::of(node, "an alert policy").map_err(&y)?;
            let (policy_name, policy) = match item.str("alertPolicyRef").map_err(&y)? {
                Some(r) => {
                    item.only(&["alertPolicyRef"]).map_err(&y)?;
                    let p = self
                        .policies
                        .get(r.as_str())
                        .ok_or_else(|| self.at(r, format!("no AlertPolicy named `{}` in the file", r.as_str())))?;
                    (p.name, p.spec)
                }
                None => {
                    item.only(&["apiVersion", "kind", "metadata", "spec"]).map_err(&y)?;
                    let (name, _) = self.metadata(item.required("metadata").map_err(&y)?, "AlertPolicy")?;
                    (name, Map::of(item.required("spec").map_err(&y)?, "`spec`").map_err(&y)?)
                }
            };
            policy
                .only(&[
                    "description",
                    "alertWhenNoData",
                    "alertWhenResolved",
                    "alertWhenBreaching",
                    "conditions",
                    "notificationTargets",
                ])
                .map_err(&y)?;
            let conditions =
                policy.seq("conditions").map_err(&y)?.map(|s| s.iter().collect::<Vec<_>>()).unwrap_or_default();
            if conditions.len() != 1 {
                let what = format!("AlertPolicy `{}` with {} conditions", policy_name.as_str(), conditions.len());
                let why = "OpenSLO v1 gives a policy exactly one condition, which becomes one Kura tier";
                return Err(unsupported(self.file, policy.key_at("conditions"), what, why));
            }
            let (tier_name, tier, pending, at) = self.condition(conditions[0])?;
            if policy.bool("alertWhenNoData").map_err(&y)? == Some(true) {
                no_data = Some(no_data.map_or(tier.long_window, |d| d.min(tier.long_window)));
            }
            if policy.bool("alertWhenBreaching").map_err(&y)? != Some(false) {
                tiers.push((tier_name, tier, pending, at));
            }
        }
        if let Some(d) = self.annotation(doc.metadata, a::NO_DATA)? {
            no_data = match d.as_str() {
                "disabled" => None,
                text => Some(
                    math::parse_duration(text).map_err(|e| self.at(d, format!("`{text}` is not a duration: {e}")))?,
                ),
            };
        }
        let route = match self.annotation(doc.metadata, a::ALERT_ROUTE)? {
            Some(r) => self.json::<annotations::JsonRoute>(r)?.into_route(),
            None => Default::default(),
        };
        Ok(Alerting { tiers: self.name_tiers(tiers)?, no_data, route })
    }

    /// One condition (inline or by reference): the tier it makes, and its name if given.
    pub(super) fn condition(&self, node: &'a Node) -> R<Condition> {
        let y = self.y();
        let item = Map::of(node, "a condition").map_err(&y)?;
        let (name, metadata, spec) = match item.str("conditionRef").map_err(&y)? {
            Some(r) => {
                item.only(&["conditionRef"]).map_err(&y)?;
                let c = self
                    .conditions
                    .get(r.as_str())
                    .ok_or_else(|| self.at(r, format!("no AlertCondition named `{}` in the file", r.as_str())))?;
                (c.name, c.metadata, c.spec)
            }
            None => {
                item.only(&["apiVersion", "kind", "metadata", "spec"]).map_err(&y)?;
                let (name, metadata) = self.metadata(item.required("metadata").map_err(&y)?, "AlertCondition")?;
                (name, metadata, Map::of(item.required("spec").map_err(&y)?, "`spec`").map_err(&y)?)
            }
        };
        let at = At::of(name.span());
        spec.only(&["description", "severity", "condition"]).map_err(&y)?;
        let severity = spec.required_str("severity").map_err(&y)?;
        let severity = match severity.as_str().to_ascii_lowercase().parse::<Severity>() {
            Ok(s) => s,
            Err(e) => {
                let what = format!("severity `{}`", e.0);
                return Err(unsupported(self.file, At::of(severity.span()), what, "Kura tiers page or ticket"));
            }
        };
        let c = Map::of(spec.required("condition").map_err(&y)?, "`condition`").map_err(&y)?;
        c.only(&["kind", "op", "threshold", "lookbackWindow", "alertAfter"]).map_err(&y)?;
        if let Some(kind) = c.str("kind").map_err(&y)?
            && kind.as_str() != "burnrate"
        {
            let what = format!("condition kind `{}`", kind.as_str());
            return Err(unsupported(self.file, At::of(kind.span()), what, "Kura alerts on burn rate (`burnrate`)"));
        }
        let op = c.required_str("op").map_err(&y)?;
        if !matches!(op.as_str(), "gt" | "gte") {
            let what = format!("`op: {}` on a burn rate", op.as_str());
            return Err(unsupported(
                self.file,
                At::of(op.span()),
                what,
                "a Kura tier fires when the burn rate is above its threshold (gt)",
            ));
        }
        let threshold = c.required_str("threshold").map_err(&y)?;
        let burn_rate = Decimal::from_str(threshold.as_str()).ok().filter(|d| *d > Decimal::ZERO).ok_or_else(|| {
            self.at(threshold, format!("threshold `{}` is not a positive burn rate", threshold.as_str()))
        })?;
        let long_window = self.shorthand(c.required_str("lookbackWindow").map_err(&y)?)?;
        // `alertAfter` is how long the condition must hold: the tier's pending duration.
        let pending = match c.str("alertAfter").map_err(&y)? {
            None => None,
            Some(after) if matches!(after.as_str(), "0" | "0m" | "0s" | "0h") => None,
            Some(after) => Some(self.shorthand(after)?),
        };
        let short_window = match self.annotation(metadata, a::SHORT_WINDOW)? {
            Some(s) => math::parse_duration(s.as_str())
                .map_err(|e| self.at(s, format!("`{}` is not a duration: {e}", s.as_str())))?,
            // The SRE Workbook pairs each long window with one 1/12 as long.
            None => long_window / 12,
        };
        let name = self.annotation(metadata, a::TIER)?.map(|t| t.as_str().to_string());
        Ok((name, BurnTier { severity, long_window, short_window, burn_rate }, pending, at))
    }

    /// Names untitled tiers `fast-`/`slow-` + severity by falling burn rate; orders them as the
    /// loader does (default names first).
    pub(super) fn name_tiers(&self, tiers: Vec<Condition>) -> R<Vec<NamedTier>> {
        let mut named: Vec<(NamedTier, At)> = Vec::new();
        let mut untitled: Vec<(BurnTier, Option<SignedDuration>, At)> = Vec::new();
        for (name, tier, pending, at) in tiers {
            match name {
                Some(name) => named.push((NamedTier { name, tier, pending }, at)),
                None => untitled.push((tier, pending, at)),
            }
        }
        for severity in [Severity::Page, Severity::Ticket] {
            let word = severity.as_str();
            let mut these: Vec<&(BurnTier, Option<SignedDuration>, At)> =
                untitled.iter().filter(|(t, _, _)| t.severity == severity).collect();
            these.sort_by_key(|t| std::cmp::Reverse(t.0.burn_rate));
            if these.len() > 2 {
                let what = format!("{} {word} conditions without `{}`", these.len(), a::TIER);
                let why = format!(
                    "Kura has two {word} tiers, fast-{word} and slow-{word}; name further ones with `{}`",
                    a::TIER
                );
                return Err(unsupported(self.file, these[2].2, what, &why));
            }
            for ((tier, pending, at), speed) in these.into_iter().zip(["fast", "slow"]) {
                let name = format!("{speed}-{word}");
                named.push((NamedTier { name, tier: tier.clone(), pending: *pending }, *at));
            }
        }
        for (i, (t, at)) in named.iter().enumerate() {
            if named[..i].iter().any(|(u, _)| u.name == t.name) {
                return Err(error(self.file, *at, format!("two alert conditions make tier `{}`", t.name)));
            }
        }
        let names = math::DEFAULT_TIER_NAMES;
        named.sort_by_key(|(t, _)| names.iter().position(|n| *n == t.name).unwrap_or(names.len()));
        Ok(named.into_iter().map(|(t, _)| t).collect())
    }
}
