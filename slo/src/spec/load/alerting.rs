//! Checking an SLO's `alerting:` (the default tiers, overridden, disabled or added) and a
//! journey's `composite:`.

use super::*;
use crate::spec::raw::{Ordered, RawAlertExtras};
use crate::spec::{AlertExtras, AlertRoute};

fn plain(raw: Option<Ordered<Text, Text>>) -> BTreeMap<String, String> {
    raw.map(|r| r.0.into_iter().map(|(k, v)| (k.as_str().to_string(), v.as_str().to_string())).collect())
        .unwrap_or_default()
}

/// A Prometheus alert (metric) name.
fn is_alert_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c == ':' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c == ':' || c.is_ascii_alphanumeric())
}

impl Validator<'_> {
    pub(super) fn alerting(
        &mut self,
        raw: Option<RawAlerting>,
        window_len: Option<SignedDuration>,
    ) -> Option<Alerting> {
        let mut tiers: Vec<NamedTier> = window_len.map(crate::spec::default_tiers).unwrap_or_default();
        let Some(raw) = raw else { return Some(Alerting { tiers, no_data: None, route: AlertRoute::default() }) };
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
            let pending = match &over.pending {
                None => existing.and_then(|i| tiers[i].pending),
                Some(p) => self.duration(p),
            };
            match existing {
                Some(i) => {
                    tiers[i].tier = tier;
                    tiers[i].pending = pending;
                }
                None => tiers.push(NamedTier { name: name.as_str().to_string(), tier, pending }),
            }
        }
        let no_data = match &raw.no_data {
            None => None,
            Some(d) if d.as_str() == "disabled" => None,
            Some(d) => self.duration(d),
        };
        let route = AlertRoute {
            name: raw.name.map(|n| {
                if !is_alert_name(n.as_str()) {
                    self.error(&n, format!("alert name `{}` must match [a-zA-Z_:][a-zA-Z0-9_:]*", n.as_str()));
                }
                n.as_str().to_string()
            }),
            labels: self.alert_labels(raw.labels, false),
            annotations: plain(raw.annotations),
            page: self.extras(raw.page),
            ticket: self.extras(raw.ticket),
        };
        ok.then_some(Alerting { tiers, no_data, route })
    }

    fn extras(&mut self, raw: Option<RawAlertExtras>) -> AlertExtras {
        raw.map(|r| AlertExtras { labels: self.alert_labels(r.labels, true), annotations: plain(r.annotations) })
            .unwrap_or_default()
    }

    /// Alert labels: valid names; `severity` only per severity (`page:`/`ticket:`), where it
    /// names the receiver's severity under `--compat sloth`.
    fn alert_labels(&mut self, raw: Option<Ordered<Text, Text>>, severity_allowed: bool) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (k, v) in raw.map(|r| r.0).unwrap_or_default() {
            if !is_label_name(k.as_str()) {
                self.error(&k, format!("`{}` is not a valid label name", k.as_str()));
            }
            let reserved = matches!(k.as_str(), "slo" | "journey" | "service" | "long_window" | "short_window")
                || (k.as_str() == "severity" && !severity_allowed);
            if reserved {
                self.error(&k, format!("label `{}` is set by Kura and cannot be overridden here", k.as_str()));
            }
            out.insert(k.as_str().to_string(), v.as_str().to_string());
        }
        out
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
