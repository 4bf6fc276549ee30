//! Checking an SLO's `alerting:` (the default tiers, overridden, disabled or added) and a
//! journey's `composite:`.

use super::*;

impl Validator<'_> {
    pub(super) fn alerting(
        &mut self,
        raw: Option<RawAlerting>,
        window_len: Option<SignedDuration>,
    ) -> Option<Alerting> {
        let mut tiers: Vec<NamedTier> = window_len.map(crate::spec::default_tiers).unwrap_or_default();
        let Some(raw) = raw else { return Some(Alerting { tiers, no_data: None }) };
        let mut ok = true;
        for (name, over) in raw.tiers.map(|t| t.0).unwrap_or_default() {
            let existing = tiers.iter().position(|t| t.name == name.as_str());
            if over.enabled.as_ref().is_some_and(|e| !**e) {
                match existing {
                    Some(i) => {
                        tiers.remove(i);
                    }
                    None => self.error(
                        &name,
                        format!("unknown tier `{}` ({})", name.as_str(), math::DEFAULT_TIER_NAMES.join(", ")),
                    ),
                }
                continue;
            }
            let base = existing.map(|i| tiers[i].tier.clone());
            if base.is_none()
                && (over.severity.is_none()
                    || over.long_window.is_none()
                    || over.short_window.is_none()
                    || over.burn_rate.is_none())
            {
                self.error(
                    &name,
                    format!(
                        "tier `{}` is not one of {}: a new tier needs severity, long_window, short_window and burn_rate",
                        name.as_str(),
                        math::DEFAULT_TIER_NAMES.join(", ")
                    ),
                );
                ok = false;
                continue;
            }
            let severity = match &over.severity {
                None => base.as_ref().map(|b| b.severity),
                Some(text) => match text.as_str().parse::<Severity>() {
                    Ok(s) => Some(s),
                    Err(e) => {
                        self.error(text, e.to_string());
                        None
                    }
                },
            };
            let long = over.long_window.as_ref().map_or(base.as_ref().map(|b| b.long_window), |w| self.duration(w));
            let short = over.short_window.as_ref().map_or(base.as_ref().map(|b| b.short_window), |w| self.duration(w));
            let burn = match &over.burn_rate {
                None => base.as_ref().map(|b| b.burn_rate),
                Some(b) => {
                    let d = Decimal::from_str(b.as_str()).ok().filter(|d| *d > Decimal::ZERO);
                    if d.is_none() {
                        self.error(b, format!("burn_rate `{}` is not a positive number", b.as_str()));
                    }
                    d
                }
            };
            let (Some(severity), Some(long_window), Some(short_window), Some(burn_rate)) =
                (severity, long, short, burn)
            else {
                ok = false;
                continue;
            };
            if short_window >= long_window {
                self.error(&name, "the short window must be shorter than the long window");
                ok = false;
                continue;
            }
            let tier = BurnTier { severity, long_window, short_window, burn_rate };
            match existing {
                Some(i) => tiers[i].tier = tier,
                None => tiers.push(NamedTier { name: name.as_str().to_string(), tier }),
            }
        }
        let no_data = match &raw.no_data {
            None => None,
            Some(d) if d.as_str() == "disabled" => None,
            Some(d) => self.duration(d),
        };
        ok.then_some(Alerting { tiers, no_data })
    }

    pub(super) fn composite(
        &mut self,
        raw: RawComposite,
        slos: &[Slo],
        ids: &mut HashMap<String, ()>,
    ) -> Option<Composite> {
        self.name(&raw.id, "composite id");
        if ids.insert(raw.id.as_str().to_string(), ()).is_some() {
            self.error(&raw.id, format!("duplicate SLO id `{}`", raw.id.as_str()));
        }
        let objective = self.objective(&raw.objective);
        if raw.components.is_empty() {
            self.error(&raw.id, "a composite needs at least one component");
        }
        let mut components = Vec::new();
        for c in raw.components {
            if !slos.iter().any(|s| s.id == c.slo.as_str()) {
                self.error(&c.slo, format!("`{}` is not an SLO of this journey", c.slo.as_str()));
            }
            let weight = match &c.weight {
                None => Decimal::ONE,
                Some(w) => match Decimal::from_str(w.as_str()) {
                    Ok(d) if d > Decimal::ZERO => d,
                    _ => {
                        self.error(w, format!("weight `{}` is not a positive number", w.as_str()));
                        Decimal::ONE
                    }
                },
            };
            components.push(CompositeComponent { slo: c.slo.as_str().to_string(), weight });
        }
        Some(Composite { id: raw.id.as_str().to_string(), objective: objective?, components })
    }
}
