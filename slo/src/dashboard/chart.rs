//! Time-series charts as plain inline SVG: no script, no external assets, readable without
//! colour (every line is named in the legend and in its `<title>` tooltip) and described for
//! screen readers (`role="img"`, `<title>` and `<desc>` referenced by `aria-labelledby`).
//!
//! A chart has an x range in time, a y range, polylines ([`Series`]; a missing value breaks the
//! line rather than drawing through it), horizontal reference lines ([`Rule`]: an objective, a
//! tier's threshold), shaded time bands ([`Band`]: maintenance) and vertical marks ([`Mark`]:
//! the hook for deploy annotations).

use std::fmt::Write as _;

use jiff::Timestamp;

use super::html::{Esc, instant_exact};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 236.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 12.0;
/// Room under the plot for the time ticks and the legend.
const BOTTOM: f64 = 44.0;

/// One line on a chart; `None` values are gaps.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    /// A CSS class (`line-budget`, `line-sli`, `line-long`, `line-short`).
    pub class: &'static str,
    pub points: Vec<(Timestamp, Option<f64>)>,
}

/// A horizontal reference line at `value`.
#[derive(Debug, Clone)]
pub struct Rule {
    pub label: String,
    pub class: &'static str,
    pub value: f64,
}

/// A shaded span of time (a maintenance window).
#[derive(Debug, Clone)]
pub struct Band {
    pub label: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// A vertical mark at one instant (a deploy).
#[derive(Debug, Clone)]
pub struct Mark {
    pub label: String,
    pub at: Timestamp,
}

/// One chart.
#[derive(Debug, Clone)]
pub struct Chart {
    /// Unique in the page (for `aria-labelledby`).
    pub id: String,
    pub title: String,
    /// What the chart shows, in words, for `<desc>`.
    pub desc: String,
    pub from: Timestamp,
    pub to: Timestamp,
    pub y_min: f64,
    pub y_max: f64,
    /// Appended to y tick labels (` %`, `×`).
    pub y_unit: &'static str,
    pub series: Vec<Series>,
    pub rules: Vec<Rule>,
    pub bands: Vec<Band>,
    pub marks: Vec<Mark>,
}

impl Chart {
    fn x(&self, t: Timestamp) -> f64 {
        let span = self.to.duration_since(self.from).as_secs_f64().max(1.0);
        let offset = t.duration_since(self.from).as_secs_f64().clamp(0.0, span);
        LEFT + offset / span * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, v: f64) -> f64 {
        let span = (self.y_max - self.y_min).max(f64::EPSILON);
        let v = v.clamp(self.y_min, self.y_max);
        HEIGHT - BOTTOM - (v - self.y_min) / span * (HEIGHT - TOP - BOTTOM)
    }

    /// Writes the `<svg>` element.
    pub fn render(&self, out: &mut String) {
        let id = Esc(&self.id);
        let _ = write!(
            out,
            "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" \
             data-chart=\"{id}\"><title id=\"{id}-title\">{}</title><desc id=\"{id}-desc\">{}</desc>",
            Esc(&self.title),
            Esc(&self.desc)
        );
        let (plot_top, plot_bottom) = (TOP, HEIGHT - BOTTOM);
        for b in &self.bands {
            let (x0, x1) = (self.x(b.start), self.x(b.end));
            if x1 > x0 {
                let _ = write!(
                    out,
                    "<rect class=\"band-maintenance\" x=\"{x0:.1}\" y=\"{plot_top:.1}\" width=\"{:.1}\" height=\"{:.1}\">\
                     <title>{}</title></rect>",
                    x1 - x0,
                    plot_bottom - plot_top,
                    Esc(&b.label)
                );
            }
        }
        self.axes(out);
        for r in &self.rules {
            let y = self.y(r.value);
            let _ = write!(
                out,
                "<line class=\"rule {}\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"><title>{}</title></line>",
                r.class,
                WIDTH - RIGHT,
                Esc(&r.label)
            );
        }
        for m in &self.marks {
            let x = self.x(m.at);
            let _ = write!(
                out,
                "<line class=\"mark\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{plot_top:.1}\" y2=\"{plot_bottom:.1}\"><title>{}</title></line>",
                Esc(&m.label)
            );
        }
        for s in &self.series {
            self.polylines(out, s);
        }
        self.legend(out);
        out.push_str("</svg>");
    }

    fn axes(&self, out: &mut String) {
        let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
        let _ = write!(
            out,
            "<g class=\"axis\"><line x1=\"{x0}\" x2=\"{x0}\" y1=\"{y0}\" y2=\"{y1}\"/><line x1=\"{x0}\" x2=\"{x1}\" y1=\"{y1}\" y2=\"{y1}\"/>"
        );
        for i in 0..=4 {
            let v = self.y_min + (self.y_max - self.y_min) * f64::from(i) / 4.0;
            let y = self.y(v);
            let _ = write!(
                out,
                "<line class=\"grid\" x1=\"{x0}\" x2=\"{x1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
                 <text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}{}</text>",
                x0 - 4.0,
                y + 4.0,
                tick_number(v),
                self.y_unit
            );
        }
        let span = self.to.duration_since(self.from).as_secs_f64();
        let format = if span > 2.0 * 86_400.0 { "%m-%d" } else { "%H:%M" };
        for i in 0..=4 {
            let t = self.from + jiff::SignedDuration::from_secs_f64(span * f64::from(i) / 4.0);
            let x = self.x(t);
            let anchor = match i {
                0 => "start",
                4 => "end",
                _ => "middle",
            };
            let _ = write!(
                out,
                "<text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
                y1 + 16.0,
                t.strftime(format)
            );
        }
        out.push_str("</g>");
    }

    /// One `<polyline>` per unbroken run of values; the newest value gets a dot with its number.
    fn polylines(&self, out: &mut String, s: &Series) {
        let mut run: Vec<(f64, f64)> = Vec::new();
        let flush = |out: &mut String, run: &mut Vec<(f64, f64)>| {
            if run.is_empty() {
                return;
            }
            let points: Vec<String> = run.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = write!(
                out,
                "<polyline class=\"line {}\" data-series=\"{}\" points=\"{}\"><title>{}</title></polyline>",
                s.class,
                Esc(&s.name),
                points.join(" "),
                Esc(&s.name)
            );
            run.clear();
        };
        for (t, v) in &s.points {
            match v.filter(|v| v.is_finite()) {
                Some(v) => run.push((self.x(*t), self.y(v))),
                None => flush(out, &mut run),
            }
        }
        flush(out, &mut run);
        if let Some((t, Some(v))) = s.points.iter().rev().find(|(_, v)| v.is_some_and(f64::is_finite)) {
            let _ = write!(
                out,
                "<circle class=\"dot {}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{}: {}{} at {}</title></circle>",
                s.class,
                self.x(*t),
                self.y(*v),
                Esc(&s.name),
                tick_number(*v),
                self.y_unit,
                instant_exact(*t)
            );
        }
    }

    fn legend(&self, out: &mut String) {
        let mut x = LEFT;
        out.push_str("<g class=\"legend\">");
        let entries = self
            .series
            .iter()
            .map(|s| (s.class, s.name.as_str()))
            .chain(self.rules.iter().map(|r| (r.class, r.label.as_str())));
        for (class, name) in entries {
            let _ = write!(
                out,
                "<line class=\"line {class}\" x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
                 <text class=\"legend-text\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                x + 14.0,
                HEIGHT - 8.0,
                HEIGHT - 8.0,
                x + 18.0,
                HEIGHT - 4.0,
                Esc(name)
            );
            x += 24.0 + 6.5 * name.chars().count() as f64;
        }
        out.push_str("</g>");
    }
}

/// A tick or tooltip number: at most three significant decimals, no trailing zeros.
fn tick_number(v: f64) -> String {
    let s = if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    };
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

/// At most `max` points, evenly thinned, always keeping the newest.
pub fn thin<T: Clone>(points: &[T], max: usize) -> Vec<T> {
    if points.len() <= max || max < 2 {
        return points.to_vec();
    }
    let step = points.len().div_ceil(max - 1);
    let mut out: Vec<T> = points.iter().step_by(step).cloned().collect();
    if !(points.len() - 1).is_multiple_of(step) {
        out.extend(points.last().cloned());
    }
    out
}

#[cfg(test)]
mod tests {
    use jiff::SignedDuration;

    use super::*;

    fn chart(points: Vec<(Timestamp, Option<f64>)>) -> Chart {
        let from: Timestamp = "2026-01-01T00:00:00Z".parse().expect("instant");
        Chart {
            id: "c".into(),
            title: "Budget".into(),
            desc: "Budget <left>".into(),
            from,
            to: from + SignedDuration::from_hours(4),
            y_min: 0.0,
            y_max: 100.0,
            y_unit: " %",
            series: vec![Series { name: "budget".into(), class: "line-budget", points }],
            rules: vec![Rule { label: "objective".into(), class: "rule-objective", value: 50.0 }],
            bands: Vec::new(),
            marks: Vec::new(),
        }
    }

    #[test]
    fn a_gap_in_the_values_breaks_the_line() {
        let t: Timestamp = "2026-01-01T00:00:00Z".parse().expect("instant");
        let h = SignedDuration::from_hours(1);
        let c = chart(vec![(t, Some(100.0)), (t + h, Some(50.0)), (t + h * 2, None), (t + h * 4, Some(0.0))]);

        let mut svg = String::new();
        c.render(&mut svg);

        assert_eq!(svg.matches("<polyline").count(), 2, "{svg}");
        assert!(svg.contains("points=\"56.0,12.0 218.0,102.0\""), "{svg}");
        assert!(svg.contains("<desc id=\"c-desc\">Budget &lt;left&gt;</desc>"));
        assert!(svg.contains("<title>budget: 0 % at 2026-01-01T04:00:00Z</title>"), "{svg}");
    }

    #[test]
    fn thinning_keeps_the_first_and_the_newest_point() {
        let points: Vec<u32> = (0..1000).collect();
        let thinned = thin(&points, 100);
        assert!(thinned.len() <= 101);
        assert_eq!(thinned.first(), Some(&0));
        assert_eq!(thinned.last(), Some(&999));
    }
}
