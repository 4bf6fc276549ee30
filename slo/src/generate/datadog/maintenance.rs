//! Maintenance windows in Datadog: a `datadog_slo_correction` per SLO and a
//! `datadog_downtime_schedule` per service and window (see [`super`], "Windows, targets and
//! alerts").

use super::*;

pub(super) fn correction(spec: &Spec, slo_name: &str, maintenance: &Maintenance) -> Result<Block, String> {
    let mut block =
        Block::new(format!("resource \"datadog_slo_correction\" \"{slo_name}_{}\"", ident(maintenance.name())));
    block.attr("slo_id", format!("datadog_service_level_objective.{slo_name}.id"));
    block.attr("category", hcl_string("Scheduled Maintenance"));
    block.attr("description", hcl_string(maintenance.name()));
    block.attr("timezone", hcl_string(&spec.time_zone));
    match maintenance {
        Maintenance::Once { start, end, .. } => {
            block.attr("start", start.as_second().to_string());
            block.attr("end", end.as_second().to_string());
        }
        Maintenance::Weekly { name, weekday, start, duration } => {
            let unrepresentable = |why: &str| format!("the weekly maintenance `{name}` ({why})");
            let first = first_occurrence(spec, *weekday, *start).map_err(|e| unrepresentable(&e))?;
            let half_year =
                first.checked_add(jiff::Span::new().weeks(26)).map_err(|e| unrepresentable(&e.to_string()))?;
            if first.offset() != half_year.offset() {
                return Err(unrepresentable(&format!(
                    "{} has daylight saving time and Datadog repeats corrections every 7 × 24h",
                    spec.time_zone
                )));
            }
            if duration.subsec_nanos() != 0 || duration.as_secs() <= 0 {
                return Err(unrepresentable("its duration is not a whole number of seconds"));
            }
            block.attr("start", first.timestamp().as_second().to_string());
            block.attr("duration", duration.as_secs().to_string());
            block.attr("rrule", hcl_string("FREQ=WEEKLY"));
        }
    }
    Ok(block)
}

/// The first `weekday` at `at` on or after 2025-01-01 in the spec's zone: a fixed anchor keeps
/// the output deterministic, and a recurrence from the past covers every later week.
pub(super) fn first_occurrence(spec: &Spec, weekday: Weekday, at: Time) -> Result<ZonedDateTime, String> {
    let zone = TimeZone::get(&spec.time_zone).map_err(|e| e.to_string())?;
    let mut day = Date::constant(2025, 1, 1);
    while day.weekday() != weekday {
        day = day.tomorrow().map_err(|e| e.to_string())?;
    }
    day.to_datetime(at).to_zoned_datetime(zone).map_err(|e| e.to_string())
}

/// A downtime muting the service's generated monitors during one maintenance window, as the
/// Prometheus rules page nobody then. Unlike corrections, downtimes recur in a time zone.
pub(super) fn downtime(spec: &Spec, maintenance: &Maintenance) -> Result<Block, String> {
    let name = format!("{}_{}", ident(&spec.service), ident(maintenance.name()));
    let mut block = Block::new(format!("resource \"datadog_downtime_schedule\" \"{name}\""));
    block.attr("scope", hcl_string("*"));
    block.attr(
        "message",
        hcl_string(&format!(
            "Planned maintenance `{}` of {}: Kura SLO alerts are muted.",
            maintenance.name(),
            spec.service
        )),
    );
    block.attr("display_timezone", hcl_string(&spec.time_zone));
    block.attr("mute_first_recovery_notification", "true");
    block.blank();
    let mut monitors = Block::new("monitor_identifier");
    let tags: BTreeSet<String> = [tag("service", &spec.service)?, MANAGED_BY.to_string()].into();
    monitors.attr("monitor_tags", hcl_list(&tags));
    block.block(monitors);
    match maintenance {
        Maintenance::Once { start, end, .. } => {
            let mut once = Block::new("one_time_schedule");
            once.attr("start", hcl_string(&utc(*start)));
            once.attr("end", hcl_string(&utc(*end)));
            block.block(once);
        }
        Maintenance::Weekly { name, weekday, start, duration } => {
            let unrepresentable = |why: &str| format!("the weekly maintenance `{name}` ({why})");
            let first = first_occurrence(spec, *weekday, *start).map_err(|e| unrepresentable(&e))?;
            let length = whole(*duration, 60)
                .filter(|m| *m >= 1)
                .map(|m| if m % 60 == 0 { format!("{}h", m / 60) } else { format!("{m}m") })
                .ok_or_else(|| unrepresentable("Datadog downtimes last whole minutes"))?;
            let mut recurrence = Block::new("recurrence");
            recurrence.attr("rrule", hcl_string(&format!("FREQ=WEEKLY;BYDAY={}", byday(*weekday))));
            recurrence.attr("start", hcl_string(&first.datetime().strftime("%Y-%m-%dT%H:%M:%S").to_string()));
            recurrence.attr("duration", hcl_string(&length));
            let mut recurring = Block::new("recurring_schedule");
            recurring.attr("timezone", hcl_string(&spec.time_zone));
            recurring.block(recurrence);
            block.block(recurring);
        }
    }
    Ok(block)
}

/// RFC 3339 in UTC, as `one_time_schedule` wants it.
pub(super) fn utc(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The iCalendar (RFC 5545) day of a weekday.
pub(super) fn byday(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Monday => "MO",
        Weekday::Tuesday => "TU",
        Weekday::Wednesday => "WE",
        Weekday::Thursday => "TH",
        Weekday::Friday => "FR",
        Weekday::Saturday => "SA",
        Weekday::Sunday => "SU",
    }
}
