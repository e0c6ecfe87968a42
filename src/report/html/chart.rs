//! A bucket's timeline as an inline SVG chart: stacked bars of private / public let
//! through / public denied / internal requests per slot, with the transitions between
//! the VPC endpoint and the internet marked on it.
//!
//! Sizes are bounded: a chart has at most [`MAX_BARS`] bars (adjacent windows are
//! merged, see [`Series`]) and at most [`MAX_MARKS`] transition markers.

use std::io::{self, Write};

use super::{plural, thousands, Esc};
use crate::classify::Class;
use crate::report::series::{Series, Slot};
use crate::report::{BucketReport, Transition};
use crate::time::{duration_name, parse_rfc3339, Zone};

/// Most bars in one chart; more windows are merged into longer slots.
pub const MAX_BARS: usize = 120;
/// Most transitions marked on one chart.
pub const MAX_MARKS: usize = 24;
/// One series of a chart: its CSS class, its legend name and its value in a slot.
pub(super) struct Band {
    /// The CSS class that colours it.
    pub(super) class: &'static str,
    /// Its name in the legend.
    pub(super) name: &'static str,
    /// Its value in a slot.
    pub(super) value: fn(&Slot) -> u64,
}

/// The series of a chart, stacked bottom to top.
pub(super) const BANDS: [Band; 6] = [
    Band {
        class: "private",
        name: "private (VPC endpoint)",
        value: |s| s.private_allowed,
    },
    Band {
        class: "private-denied",
        name: "private, denied (403)",
        value: |s| s.private_denied,
    },
    Band {
        class: "allowed",
        name: "public, let through",
        value: |s| s.public_allowed,
    },
    Band {
        class: "denied",
        name: "public, denied (403)",
        value: |s| s.public_denied,
    },
    Band {
        class: "rejected",
        name: "public, refused before any policy",
        value: |s| s.public_rejected,
    },
    Band {
        class: "internal",
        name: "internal (S3 itself)",
        value: |s| s.internal,
    },
];

// Chart geometry, in SVG user units (the chart scales to the page width).
const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 258.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 40.0;
const PLOT_W: f64 = WIDTH - LEFT - RIGHT;
const PLOT_H: f64 = HEIGHT - TOP - BOTTOM;
/// Baselines of the rows of marker labels above the plot.
const LABEL_ROWS: [f64; 3] = [13.0, 26.0, 39.0];
/// Estimated width of one character of a marker label.
const CHAR_W: f64 = 6.0;

/// Draws the timeline of bucket `b` (the `index`-th on the page) with windows of
/// `interval` seconds.
pub(super) fn chart(
    index: usize,
    b: &BucketReport,
    interval: i64,
    zone: Zone,
    out: &mut dyn Write,
) -> io::Result<()> {
    let series = Series::of(&b.timeline, interval, MAX_BARS);
    if series.slots.is_empty() {
        return Ok(());
    }
    let slot = duration_name(series.slot_seconds);
    writeln!(
        out,
        "<figure class=\"chart\">\n<svg class=\"timeline\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         role=\"img\" aria-labelledby=\"c{}\">\n<title id=\"c{}\">Requests to {} per {slot}, by network</title>",
        index + 1,
        index + 1,
        Esc(&b.bucket)
    )?;
    let top = value_axis(series.max_total(), &slot, out)?;
    let axis = TimeAxis {
        start: series.start,
        end: series.end(),
        zone,
    };
    axis.draw(out)?;
    bars(&series, top, &axis, out)?;
    markers(b, &axis, out)?;
    writeln!(out, "</svg>")?;
    legend(b, &series, interval, &slot, zone, out)
}

/// The value axis with its grid lines, for bars up to `max`; returns the axis' top.
fn value_axis(max: u64, slot: &str, out: &mut dyn Write) -> io::Result<u64> {
    let (step, top) = y_scale(max);
    for v in (0..=top / step).map(|k| k * step) {
        let y = TOP + PLOT_H - v as f64 / top as f64 * PLOT_H;
        writeln!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
             <text class=\"ylab\" x=\"{}\" y=\"{:.1}\">{}</text>",
            LEFT + PLOT_W,
            LEFT - 6.0,
            y + 3.5,
            thousands(v)
        )?;
    }
    writeln!(
        out,
        "<text class=\"ytitle\" transform=\"translate(13 {:.1}) rotate(-90)\">requests per {slot}</text>",
        TOP + PLOT_H / 2.0
    )?;
    Ok(top)
}

/// The time axis of a chart: from `start` to `end`, seconds since the epoch, labelled
/// on `zone`'s clock.
struct TimeAxis {
    start: i64,
    end: i64,
    zone: Zone,
}

impl TimeAxis {
    /// Where `t` is on the plot.
    fn x_of(&self, t: i64) -> f64 {
        let span = (self.end - self.start).max(1) as f64;
        LEFT + (t - self.start) as f64 / span * PLOT_W
    }

    /// Do the start and end fall on the same day?
    fn within_a_day(&self) -> bool {
        self.zone.format(self.start, "%F") == self.zone.format(self.end - 1, "%F")
    }

    /// Draws the ticks, their times (and days) and the axis line.
    fn draw(&self, out: &mut dyn Write) -> io::Result<()> {
        let tick = x_step(self.end - self.start);
        // Ticks on round times of the zone's clock.
        let offset = self.zone.offset(self.start);
        let mut t = (self.start + offset).div_euclid(tick) * tick - offset;
        if t < self.start {
            t += tick;
        }
        let base = TOP + PLOT_H;
        let mut last_day = None;
        while t <= self.end {
            let x = self.x_of(t);
            let (day, time) = (
                self.zone.format(t, "%Y-%m-%d"),
                self.zone.format(t, "%H:%M"),
            );
            write!(
                out,
                "<line class=\"tick\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{base}\" y2=\"{}\"/>",
                base + 5.0
            )?;
            if tick >= 86_400 {
                writeln!(
                    out,
                    "<text class=\"xlab\" x=\"{x:.1}\" y=\"{}\">{day}</text>",
                    base + 17.0
                )?;
            } else {
                write!(
                    out,
                    "<text class=\"xlab\" x=\"{x:.1}\" y=\"{}\">{time}</text>",
                    base + 17.0
                )?;
                if last_day.as_ref() != Some(&day) {
                    write!(
                        out,
                        "<text class=\"xlab day\" x=\"{x:.1}\" y=\"{}\">{day}</text>",
                        base + 31.0
                    )?;
                }
                writeln!(out)?;
            }
            last_day = Some(day);
            let Some(next) = t.checked_add(tick) else {
                break;
            };
            t = next;
        }
        writeln!(
            out,
            "<line class=\"axis\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{base}\" y2=\"{base}\"/>",
            LEFT + PLOT_W
        )
    }
}

/// One stacked group of bars per slot with requests, on a value axis up to `top`.
fn bars(series: &Series, top: u64, axis: &TimeAxis, out: &mut dyn Write) -> io::Result<()> {
    let zone = axis.zone;
    let slot_w = PLOT_W / series.slots.len() as f64;
    let bar_w = (slot_w - (slot_w * 0.1).max(1.0)).max(1.0);
    for (i, s) in series.slots.iter().enumerate() {
        if s.total() == 0 {
            continue;
        }
        let from = series.start + i as i64 * series.slot_seconds;
        let x = LEFT + i as f64 * slot_w + (slot_w - bar_w) / 2.0;
        write!(
            out,
            "<g><title>{} to {} {}: {} private ({} denied), {} public let through, {} public denied, {} public refused before any policy, {} internal</title>",
            zone.format(from, "%Y-%m-%d %H:%M"),
            zone.format(from + series.slot_seconds, "%H:%M"),
            zone.name(),
            thousands(s.private_allowed + s.private_denied),
            thousands(s.private_denied),
            thousands(s.public_allowed),
            thousands(s.public_denied),
            thousands(s.public_rejected),
            thousands(s.internal)
        )?;
        let mut base = TOP + PLOT_H;
        for Band { class, value, .. } in BANDS {
            let v = value(s);
            if v == 0 {
                continue;
            }
            // A lone public request among thousands must still show.
            let h = (v as f64 / top as f64 * PLOT_H).max(1.5);
            base -= h;
            write!(
                out,
                "<rect class=\"bar {class}\" x=\"{x:.1}\" y=\"{base:.1}\" width=\"{bar_w:.1}\" height=\"{h:.1}\"/>"
            )?;
        }
        writeln!(out, "</g>")?;
    }
    Ok(())
}

/// The first [`MAX_MARKS`] transitions of `b` as markers, labelled where there is room.
fn markers(b: &BucketReport, axis: &TimeAxis, out: &mut dyn Write) -> io::Result<()> {
    let same_day = axis.within_a_day();
    let mut labels = LabelRows::default();
    for (k, tr) in b.transitions.iter().take(MAX_MARKS).enumerate() {
        let Some(at) = parse_rfc3339(&tr.at) else {
            continue;
        };
        let x = axis.x_of(at.clamp(axis.start, axis.end));
        let long = format!("[{}] {}", k + 1, transition_label(tr, same_day, axis.zone));
        let short = format!("[{}]", k + 1);
        let placed = [&long, &short]
            .into_iter()
            .find_map(|text| labels.place(x, text).map(|p| (text, p)));
        let to = if tr.to == Class::Public {
            "to-public"
        } else {
            "to-private"
        };
        let y1 = placed.map_or(TOP, |(_, label)| label.y + 3.0);
        write!(
            out,
            "<g class=\"mark {to}\"><title>{} {}</title><line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{y1}\" y2=\"{}\"/>",
            Esc(&long),
            Esc(&tr.requester),
            TOP + PLOT_H
        )?;
        if let Some((text, label)) = placed {
            write!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"{}\">{}</text>",
                label.x,
                label.y,
                label.anchor,
                Esc(text)
            )?;
        }
        writeln!(out, "</g>")?;
    }
    changes(b, axis, out)
}

/// CloudTrail's changes to the bucket's network path, as dashed markers with the
/// event's name as their tooltip.
fn changes(b: &BucketReport, axis: &TimeAxis, out: &mut dyn Write) -> io::Result<()> {
    for c in b.changes.iter().take(MAX_MARKS) {
        let Some(at) = parse_rfc3339(&c.time) else {
            continue;
        };
        if at < axis.start || at > axis.end {
            continue;
        }
        let x = axis.x_of(at);
        writeln!(
            out,
            "<g class=\"mark change\"><title>{} {} {}</title><line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{TOP}\" y2=\"{}\"/></g>",
            Esc(&c.time),
            Esc(&c.event),
            Esc(c.bucket.as_deref().unwrap_or(&c.endpoints.join(" "))),
            TOP + PLOT_H
        )?;
    }
    Ok(())
}

/// The legend with each band's total, and what a bar is.
fn legend(
    b: &BucketReport,
    series: &Series,
    interval: i64,
    slot: &str,
    zone: Zone,
    out: &mut dyn Write,
) -> io::Result<()> {
    write!(out, "<figcaption><ul class=\"legend\">")?;
    for Band { class, name, value } in BANDS {
        let total: u64 = series.slots.iter().map(value).sum();
        write!(
            out,
            "<li><span class=\"sw {class}\"></span>{name}: <b>{}</b></li>",
            thousands(total)
        )?;
    }
    if !b.transitions.is_empty() {
        write!(
            out,
            "<li><span class=\"sw-line to-public\"></span>to the internet</li>\
             <li><span class=\"sw-line to-private\"></span>back to the endpoint</li>"
        )?;
    }
    if !b.changes.is_empty() {
        write!(
            out,
            "<li><span class=\"sw-line change\"></span>change to the network path (CloudTrail)</li>"
        )?;
    }
    let merged = if series.slot_seconds > interval {
        format!(
            "; adjacent {} windows merged into bars of {slot}",
            duration_name(interval)
        )
    } else {
        String::new()
    };
    writeln!(
        out,
        "</ul><p class=\"note\">Requests per {slot} ({}), {} with requests{merged}. \
         Hatched: let through over the internet; crossed: denied; dotted: refused before a policy; \
         striped: denied through the endpoint.{}</p></figcaption>\n</figure>",
        zone.name(),
        plural(b.timeline.len() as u64, "window"),
        if b.transitions.len() > MAX_MARKS {
            format!(" The first {MAX_MARKS} transitions are marked.")
        } else {
            String::new()
        }
    )
}

/// Where a marker's label goes: its anchor point and side.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Label {
    x: f64,
    y: f64,
    anchor: &'static str,
}

/// The rows of marker labels above the plot, filled left to right without overlap.
#[derive(Default)]
struct LabelRows {
    taken: [Vec<(f64, f64)>; LABEL_ROWS.len()],
}

impl LabelRows {
    /// Places `text` next to a marker at `x` (right of it, or left near the edge) in
    /// the first row where it overlaps nothing; `None` when no row has room.
    fn place(&mut self, x: f64, text: &str) -> Option<Label> {
        let w = text.chars().count() as f64 * CHAR_W;
        let (from, to, label_x, anchor) = if x + 3.0 + w <= WIDTH {
            (x + 3.0, x + 3.0 + w, x + 3.0, "start")
        } else {
            (x - 3.0 - w, x - 3.0, x - 3.0, "end")
        };
        let row = self
            .taken
            .iter()
            .position(|r| r.iter().all(|&(a, b)| to + 4.0 < a || b + 4.0 < from))?;
        self.taken[row].push((from, to));
        Some(Label {
            x: label_x,
            y: LABEL_ROWS[row],
            anchor,
        })
    }
}

fn transition_label(tr: &Transition, same_day: bool, zone: Zone) -> String {
    let at = parse_rfc3339(&tr.at)
        .map(|t| zone.format(t, if same_day { "%H:%M" } else { "%m-%d %H:%M" }))
        .unwrap_or_else(|| tr.at.clone());
    match tr.to {
        Class::Public => format!("public traffic starts {at} from {}", tr.remote_ip),
        _ => format!("back on the endpoint {at} from {}", tr.remote_ip),
    }
}

/// The value axis: grid step and top, round numbers with about four steps.
fn y_scale(max: u64) -> (u64, u64) {
    let raw = max.div_ceil(4).max(1);
    let mut magnitude = 1u64;
    while magnitude.saturating_mul(10) <= raw {
        magnitude *= 10;
    }
    let step = [1, 2, 5, 10]
        .into_iter()
        .map(|m| magnitude.saturating_mul(m))
        .find(|&s| s >= raw)
        .unwrap_or(raw);
    (step, max.div_ceil(step).max(1).saturating_mul(step))
}

/// The time axis step: the shortest round step that cuts the span into at most 8.
fn x_step(span: i64) -> i64 {
    const STEPS: [i64; 19] = [
        60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
        1_209_600, 2_592_000, 7_776_000, 15_552_000, 31_536_000,
    ];
    let fits = |s: i64| span / s <= 8;
    STEPS.into_iter().find(|&s| fits(s)).unwrap_or_else(|| {
        let mut s = 31_536_000i64;
        while !fits(s) {
            s = s.saturating_mul(2);
        }
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::html::bytes;

    #[test]
    fn axes_use_round_numbers() {
        assert_eq!(y_scale(13), (5, 15));
        assert_eq!(y_scale(1), (1, 1));
        assert_eq!(y_scale(0), (1, 1));
        assert_eq!(y_scale(98_765), (50_000, 100_000));
        assert!(y_scale(u64::MAX).1 >= u64::MAX / 2);
        assert_eq!(x_step(7200), 900);
        assert_eq!(x_step(3600), 600);
        assert_eq!(x_step(86_400 * 30), 604_800);
        assert!(x_step(i64::MAX) > 0);
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(bytes(725_686), "725.7 kB");
    }

    #[test]
    fn marker_labels_never_overlap() {
        let mut rows = LabelRows::default();
        let long = "x".repeat(40);
        let placed: Vec<Option<Label>> = (0..4).map(|_| rows.place(100.0, &long)).collect();
        let ys: Vec<f64> = placed.iter().flatten().map(|l| l.y).collect();
        assert_eq!(ys, LABEL_ROWS);
        assert_eq!(placed[3], None, "three rows are full");
        assert_eq!(
            rows.place(WIDTH - 10.0, "[9]"),
            Some(Label {
                x: WIDTH - 13.0,
                y: LABEL_ROWS[0],
                anchor: "end"
            }),
            "near the right edge a label goes left of its marker"
        );
    }
}
