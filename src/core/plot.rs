//! A layout as an SVG picture: time on x, address on y; several layouts of
//! the same buffers side by side on one address scale.
//!
//! ```text
//!  address
//!    ^
//!    |- - - - - - - - - - - - - - - - -  capacity        (red, solid)
//!    |        +-----+
//!    |- - - - |  b  | - - - - - - - - -  lower bound     (blue, dashed)
//!    +--------+--+--+---+
//!    |     a     |  | c |   one rectangle per live segment, so the gap
//!    +-----------+  +---+   in c's lifetime shows as empty space
//!    +-----------+------+--> time (instants, or the phases' names)
//! ```
//!
//! Pure: problems and layouts in, SVG text out; no I/O. Invariants:
//! * every live segment of every buffer is one `<rect class="seg">`, with a
//!   `<title>` tooltip giving the buffer's id, offset, size and segment;
//! * a buffer's id is written only when it fits inside its widest segment;
//! * ids are XML-escaped, so any id is safe in the output;
//! * geometry is computed in `f64`, so `u64` times and addresses of any
//!   magnitude scale without overflow;
//! * rectangles are translucent, so an invalid (overlapping) layout shows
//!   its overlaps rather than hiding one buffer under another;
//! * tick labels never overprint: their number follows from their width;
//! * a capacity far above the layout does not flatten it: it is marked at
//!   the top edge instead of drawn to scale ([`FLATTEN`]).

use crate::error::{Error, Result};
use crate::problem::{Layout, Problem};
use std::collections::HashMap;
use std::fmt::Write as _;

/// What to draw besides the buffers.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    /// Heading above the chart (escaped when written).
    pub title: String,
    /// Draws a dashed line at this address (the lower bound on the peak).
    pub lower_bound: Option<u64>,
    /// Draws a solid line at this address (the capacity), or marks it at
    /// the top edge when it would flatten the picture ([`FLATTEN`]).
    pub capacity: Option<u64>,
    /// Picture width in pixels.
    pub width: f64,
    /// Picture height in pixels (more when phase names need room).
    pub height: f64,
    /// Names of the instants (`time_labels[t]` for instant `t`), written
    /// slanted under the time axis at each instant's middle; empty: the
    /// instants' numbers.
    pub time_labels: Vec<String>,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            title: String::new(),
            lower_bound: None,
            capacity: None,
            width: 1000.0,
            height: 600.0,
            time_labels: Vec::new(),
        }
    }
}

/// One layout of a picture: its heading, its buffers and their offsets.
#[derive(Debug, Clone, Copy)]
pub struct Panel<'a> {
    /// Written above the panel (escaped).
    pub heading: &'a str,
    /// The buffers.
    pub problem: &'a Problem,
    /// Their offsets.
    pub layout: &'a Layout,
}

/// Font size of every text, in pixels.
pub const FONT: f64 = 11.0;
/// Rough advance of one character of a sans-serif font at [`FONT`], used to
/// decide whether an id fits its rectangle.
pub const CHAR_WIDTH: f64 = FONT * 0.62;
/// A capacity more than this many times the highest other line (peak,
/// lower bound) is marked at the top edge, not drawn to scale: to scale,
/// every buffer would be a sliver at the bottom.
pub const FLATTEN: u64 = 4;
/// The most tick labels an axis carries.
pub const MAX_TICKS: usize = 10;
const MARGIN_TOP: f64 = 58.0;
const MARGIN_RIGHT: f64 = 24.0;
const MARGIN_BOTTOM: f64 = 44.0;
/// Horizontal space between panels side by side.
const PANEL_GAP: f64 = 28.0;
/// Headroom above the highest line, as a fraction of it.
const HEADROOM: f64 = 0.06;
/// Slant of phase names under the time axis, degrees.
const SLANT: f64 = 35.0;

/// Renders `layout` of `problem` as an SVG document.
///
/// Errors when the layout does not have exactly one offset per buffer.
pub fn svg(problem: &Problem, layout: &Layout, options: &PlotOptions) -> Result<String> {
    svg_panels(&[Panel { heading: "", problem, layout }], options)
}

/// Renders layouts side by side on one address scale (CuBIE's and the
/// optimised layout of the same buffers, say), each with its own time axis
/// over the same instants; the lower bound and capacity are drawn in each.
///
/// Errors when a layout does not have exactly one offset per buffer.
pub fn svg_panels(panels: &[Panel], options: &PlotOptions) -> Result<String> {
    for p in panels {
        if p.layout.offsets.len() != p.problem.len() {
            return Err(Error::Parse {
                source_name: "<layout>".into(),
                line: 0,
                message: format!("{} offsets for {} buffers", p.layout.offsets.len(), p.problem.len()),
            });
        }
    }
    let all = || panels.iter().flat_map(|p| p.problem.buffers());
    let peaks: Vec<u64> = panels.iter().map(|p| p.layout.peak(p.problem)).collect();
    let t_min = all().map(|b| b.lifetime.start).min().unwrap_or(0);
    let t_max = all().map(|b| b.lifetime.end).max().unwrap_or(1).max(t_min.saturating_add(1));
    let drawn = [peaks.iter().copied().max(), options.lower_bound].into_iter().flatten().max().unwrap_or(0);
    // A capacity that would flatten the buffers is marked, not scaled to.
    let capacity_to_scale = options.capacity.filter(|&c| c <= drawn.max(1).saturating_mul(FLATTEN));
    let top = drawn.max(capacity_to_scale.unwrap_or(0)).max(1);
    let a_max = top as f64 * (1.0 + HEADROOM);

    let y_ticks = ticks(0, a_max as u64);
    let label_chars = y_ticks.iter().map(|t| t.to_string().len()).max().unwrap_or(1);
    let left = (label_chars as f64 * CHAR_WIDTH + 18.0).max(48.0);
    let labels = &options.time_labels;
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0) as f64 * CHAR_WIDTH;
    // Slanted names hang below the axis by their length's vertical share.
    let below = if labels.is_empty() { MARGIN_BOTTOM } else { 30.0 + longest * SLANT.to_radians().sin() };
    let height = options.height.max(MARGIN_TOP + below + 120.0);
    let n = panels.len().max(1) as f64;
    let panel_width = ((options.width - left - MARGIN_RIGHT - (n - 1.0) * (PANEL_GAP + left)) / n).max(10.0);

    let mut s = String::new();
    let w = options.width;
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{height}" viewBox="0 0 {w} {height}" font-family="sans-serif" font-size="{FONT}">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{height}" fill="white"/>"#);
    // Side by side, each panel's heading says what it holds.
    let mut facts = match panels {
        [one] => vec![format!("{} buffers", one.problem.len()), format!("peak {} bytes", peaks[0])],
        _ => vec![format!("peaks {} bytes", peaks.iter().map(u64::to_string).collect::<Vec<_>>().join(" and "))],
    };
    facts.extend(options.lower_bound.map(|lb| format!("lower bound {lb}")));
    let subtitle = facts.join(" · ");
    let _ =
        writeln!(s, r#"<text x="{left}" y="18" font-size="14" font-weight="bold">{}</text>"#, escape(&options.title));
    let _ = writeln!(s, r##"<text x="{left}" y="34" fill="#444">{}</text>"##, escape(&subtitle));

    let hues = hue_indices(panels);
    for (k, panel) in panels.iter().enumerate() {
        let frame = Frame {
            left: left + k as f64 * (panel_width + PANEL_GAP + left),
            top: MARGIN_TOP,
            width: panel_width,
            height: (height - MARGIN_TOP - below).max(10.0),
            x_scale: XScale::Linear { min: t_min, span: (t_max - t_min) as f64 },
            y_max: a_max,
        };
        let x_ticks: Vec<(f64, String)> = if labels.is_empty() {
            let max = frame.labels_fitting(t_max.to_string().len().max(t_min.to_string().len()));
            ticks_at_most(t_min, t_max, max).into_iter().map(|t| (frame.x(t), t.to_string())).collect()
        } else {
            // A name at each instant's middle, thinned so slanted names
            // keep a line's height apart.
            let step_px = frame.width / (t_max - t_min) as f64;
            let every = (FONT * 1.4 / SLANT.to_radians().sin() / step_px).ceil().max(1.0) as u64;
            (t_min..t_max)
                .filter(|t| (t - t_min) % every == 0)
                .filter_map(|t| labels.get(usize::try_from(t).ok()?).map(|l| (t, l)))
                .map(|(t, l)| ((frame.x(t) + frame.x(t + 1)) / 2.0, l.clone()))
                .collect()
        };
        frame.axes(
            &mut s,
            &Axes {
                x_ticks: &x_ticks,
                x_slant: if labels.is_empty() { 0.0 } else { SLANT },
                y_ticks: &y_ticks,
                x_title: if labels.is_empty() { "time" } else { "" },
                x_title_below: 34.0,
                y_title: if panel.heading.is_empty() { "address (bytes)" } else { panel.heading },
            },
        );
        buffers(&mut s, &frame, panel, &hues, panels.len() > 1);
        if let Some(lb) = options.lower_bound {
            frame.level(&mut s, Level::LowerBound, lb);
        }
        match options.capacity {
            Some(cap) if capacity_to_scale.is_some() => frame.level(&mut s, Level::Capacity, cap),
            Some(cap) => frame.off_scale(&mut s, cap, drawn),
            None => {}
        }
    }
    s.push_str("</svg>\n");
    Ok(s)
}

/// What gives a buffer its colour: with several panels, the last part of
/// its path (`kernel/loop/state` and `state` are one buffer drawn by two
/// layouts), else its whole id.
fn colour_key(name: &str, several: bool) -> &str {
    if several {
        name.rsplit('/').next().unwrap_or(name)
    } else {
        name
    }
}

/// Each colour key's index in first-seen order over the panels: the
/// golden-angle hue of that index keeps neighbours apart and one buffer
/// one colour in every panel.
fn hue_indices<'a>(panels: &[Panel<'a>]) -> HashMap<&'a str, usize> {
    let several = panels.len() > 1;
    let mut hues = HashMap::new();
    for b in panels.iter().flat_map(|p| p.problem.buffers()) {
        let next = hues.len();
        hues.entry(colour_key(&b.name, several)).or_insert(next);
    }
    hues
}

/// One panel's rectangles and the labels that fit them: with several
/// panels, the colour key where no other buffer of the panel shares it
/// (`state`, not `kernel/loop/state`, so that the panels compare by eye and
/// the label fits), else the id; the tooltip always names the id.
fn buffers(s: &mut String, frame: &Frame, panel: &Panel, hues: &HashMap<&str, usize>, several: bool) {
    let mut keys: HashMap<&str, usize> = HashMap::new();
    for b in panel.problem.buffers() {
        *keys.entry(colour_key(&b.name, several)).or_default() += 1;
    }
    let _ = writeln!(s, r##"<g class="buffers" stroke="#333" stroke-width="0.5" fill-opacity="0.8">"##);
    for (i, (b, &offset)) in panel.problem.buffers().iter().zip(&panel.layout.offsets).enumerate() {
        let key = colour_key(&b.name, several);
        let label = if keys[key] == 1 { key } else { b.name.as_str() };
        let hue = (hues.get(colour_key(&b.name, several)).copied().unwrap_or(i) as f64 * 137.508) % 360.0;
        let y0 = frame.y(offset as f64);
        let y1 = frame.y(offset as f64 + b.size as f64);
        let mut widest: Option<(f64, f64)> = None;
        for seg in b.segments() {
            let (x0, x1) = (frame.x(seg.start), frame.x(seg.end));
            let _ = writeln!(
                s,
                r#"<rect class="seg" x="{x0:.2}" y="{y1:.2}" width="{:.2}" height="{:.2}" fill="{}"><title>{}: offset {offset}, size {}, live [{}, {})</title></rect>"#,
                x1 - x0,
                y0 - y1,
                hsl_hex(hue, 0.55, 0.72),
                escape(&b.name),
                b.size,
                seg.start,
                seg.end
            );
            if widest.is_none_or(|(a, z)| x1 - x0 > z - a) {
                widest = Some((x0, x1));
            }
        }
        if let Some((x0, x1)) = widest {
            let fits = (x1 - x0) >= label.chars().count() as f64 * CHAR_WIDTH + 4.0 && (y0 - y1) >= FONT + 2.0;
            if fits {
                let _ = writeln!(
                    s,
                    r#"<text class="label" x="{:.2}" y="{:.2}" text-anchor="middle" dominant-baseline="central" stroke="none" fill="black">{}</text>"#,
                    (x0 + x1) / 2.0,
                    (y0 + y1) / 2.0,
                    escape(label)
                );
            }
        }
    }
    s.push_str("</g>\n");
}

/// How a [`Frame`] places values along x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum XScale {
    /// Values from `min` on, `span` of them across the width.
    Linear {
        /// The value at the left edge.
        min: u64,
        /// Values across the width (at least 1).
        span: f64,
    },
    /// This many evenly spaced columns; a value is a column's index, drawn
    /// at its centre (half a step from each edge).
    Columns(usize),
}

/// A plotting area and its scales: the frame every chart draws its axes
/// and data on (a layout here, a sweep's panels in `smemplan-study`).
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    /// Left edge, pixels.
    pub left: f64,
    /// Top edge, pixels.
    pub top: f64,
    /// Width, pixels.
    pub width: f64,
    /// Height, pixels.
    pub height: f64,
    /// Where x values go.
    pub x_scale: XScale,
    /// The y value at the top edge (0 is at the bottom).
    pub y_max: f64,
}

/// What a frame's axes say.
#[derive(Debug, Clone, Copy)]
pub struct Axes<'a> {
    /// Ticks along x: each one's pixel position and its label (choose them
    /// with [`ticks_at_most`] and [`Frame::labels_fitting`], or
    /// [`column_ticks`], so labels never overprint).
    pub x_ticks: &'a [(f64, String)],
    /// Slant of the x labels in degrees (0: level, centred on the tick;
    /// otherwise ending at it, for long names).
    pub x_slant: f64,
    /// Ticks along y, each with a light grid line across the frame.
    pub y_ticks: &'a [u64],
    /// The x axis's title, centred below the ticks.
    pub x_title: &'a str,
    /// How far below the frame the x title's baseline is, pixels.
    pub x_title_below: f64,
    /// The y axis's title, above the frame's top left corner.
    pub y_title: &'a str,
}

impl Frame {
    /// The x pixel of `v`. A linear scale subtracts in `u64` first: near
    /// 2^64, `f64` cannot tell values apart.
    pub fn x(&self, v: u64) -> f64 {
        match self.x_scale {
            XScale::Linear { min, span } => self.left + v.saturating_sub(min) as f64 / span * self.width,
            XScale::Columns(n) => self.left + (v as f64 + 0.5) / n.max(1) as f64 * self.width,
        }
    }

    /// The y pixel of `v`.
    pub fn y(&self, v: f64) -> f64 {
        self.top + self.height - v / self.y_max * self.height
    }

    /// How many level x labels of up to `chars` characters fit the width
    /// with room between them (at most [`MAX_TICKS`], at least 2).
    pub fn labels_fitting(&self, chars: usize) -> usize {
        let each = chars as f64 * CHAR_WIDTH + 2.0 * CHAR_WIDTH;
        ((self.width / each).floor() as usize).clamp(2, MAX_TICKS)
    }

    /// Defines a clip path of the frame's area named `id` and returns the
    /// attribute that applies it: data drawn under it stays inside.
    pub fn clip(&self, s: &mut String, id: &str) -> String {
        let _ = writeln!(
            s,
            r#"<clipPath id="{id}"><rect x="{:.2}" y="{:.2}" width="{:.2}" height="{:.2}"/></clipPath>"#,
            self.left, self.top, self.width, self.height
        );
        format!(r#"clip-path="url(#{id})""#)
    }

    /// Draws the frame's box, its ticks and labels and the axes' titles
    /// (labels and titles escaped).
    pub fn axes(&self, s: &mut String, axes: &Axes) {
        let (l, r) = (self.left, self.left + self.width);
        let (t, b) = (self.top, self.top + self.height);
        let _ = writeln!(s, r##"<g class="axes" stroke="#999" stroke-width="1">"##);
        let _ = writeln!(s, r#"<rect x="{l}" y="{t}" width="{}" height="{}" fill="none"/>"#, self.width, self.height);
        for (x, label) in axes.x_ticks {
            let _ = writeln!(s, r#"<line x1="{x:.2}" y1="{b}" x2="{x:.2}" y2="{:.2}"/>"#, b + 5.0);
            let y = b + 17.0;
            let _ = if axes.x_slant == 0.0 {
                writeln!(
                    s,
                    r##"<text x="{x:.2}" y="{y:.2}" text-anchor="middle" stroke="none" fill="#333">{}</text>"##,
                    escape(label)
                )
            } else {
                writeln!(
                    s,
                    r##"<text x="{x:.2}" y="{y:.2}" text-anchor="end" transform="rotate(-{} {x:.2} {y:.2})" stroke="none" fill="#333">{}</text>"##,
                    axes.x_slant,
                    escape(label)
                )
            };
        }
        for &v in axes.y_ticks {
            let y = self.y(v as f64);
            let _ = writeln!(s, r##"<line x1="{l}" y1="{y:.2}" x2="{r}" y2="{y:.2}" stroke="#eee"/>"##);
            let _ = writeln!(s, r#"<line x1="{:.2}" y1="{y:.2}" x2="{l}" y2="{y:.2}"/>"#, l - 5.0);
            let _ = writeln!(
                s,
                r##"<text x="{:.2}" y="{y:.2}" text-anchor="end" dominant-baseline="central" stroke="none" fill="#333">{v}</text>"##,
                l - 8.0
            );
        }
        let _ = writeln!(
            s,
            r##"<text x="{:.2}" y="{:.2}" text-anchor="middle" stroke="none" fill="#333">{}</text>"##,
            (l + r) / 2.0,
            b + axes.x_title_below,
            escape(axes.x_title)
        );
        let _ = writeln!(
            s,
            r##"<text x="{l}" y="{:.2}" stroke="none" fill="#333">{}</text>"##,
            t - 6.0,
            escape(axes.y_title)
        );
        s.push_str("</g>\n");
    }

    /// A horizontal line across the plot at `address`, labelled at the left
    /// end (lower bound) or the right end (capacity), so two lines at the
    /// same height keep readable labels.
    fn level(&self, s: &mut String, level: Level, address: u64) {
        let (class, name, colour, dash, right) = match level {
            Level::LowerBound => ("lower-bound", "lower bound", "#1f5fbf", "6 4", false),
            Level::Capacity => ("capacity", "capacity", "#c62828", "none", true),
        };
        let label = format!("{name} {address}");
        let y = self.y(address as f64);
        let (l, r) = (self.left, self.left + self.width);
        let _ = writeln!(
            s,
            r#"<line class="{class}" x1="{l}" y1="{y:.2}" x2="{r}" y2="{y:.2}" stroke="{colour}" stroke-width="1.5" stroke-dasharray="{dash}"/>"#
        );
        let (x, anchor) = if right { (r - 4.0, "end") } else { (l + 4.0, "start") };
        haloed_text(s, (x, y - 4.0), anchor, colour, &escape(&label));
    }
}

impl Frame {
    /// Marks a capacity too far above `drawn` to draw to scale: an arrow
    /// and its value at the top right edge, inside the frame.
    fn off_scale(&self, s: &mut String, capacity: u64, drawn: u64) {
        let (r, t) = (self.left + self.width, self.top);
        let times = capacity / drawn.max(1);
        let _ = writeln!(
            s,
            r##"<path class="capacity-off-scale" d="M{:.2},{:.2} l0,-8 l-4,4 m4,-4 l4,4" stroke="#c62828" stroke-width="1.5" fill="none"/>"##,
            r - 8.0,
            t + 14.0
        );
        let label = format!("capacity {capacity} (off scale: {times}× the top line)");
        haloed_text(s, (r - 16.0, t + 12.0), "end", "#c62828", &label);
    }
}

/// `text` (escaped already) in `colour` over a white halo that keeps it
/// readable across rectangles and lines. The halo is a text of its own
/// drawn first, not `paint-order`, which SVG 1.1 renderers (cairo, rsvg,
/// most converters to PDF) ignore, painting the halo over the letters.
fn haloed_text(s: &mut String, (x, y): (f64, f64), anchor: &str, colour: &str, text: &str) {
    for (fill, stroke) in [("white", r#" stroke="white" stroke-width="3""#), (colour, "")] {
        let _ =
            writeln!(s, r#"<text x="{x:.2}" y="{y:.2}" text-anchor="{anchor}" fill="{fill}"{stroke}>{text}</text>"#);
    }
}

/// `hsl(hue, saturation, lightness)` (degrees, fractions) as `#rrggbb`:
/// SVG 1.1 renderers know no `hsl()` and paint such a fill black.
fn hsl_hex(hue: f64, saturation: f64, lightness: f64) -> String {
    let c = (1.0 - (2.0 * lightness - 1.0).abs()) * saturation;
    let h = hue.rem_euclid(360.0) / 60.0;
    let x = c * (1.0 - (h % 2.0 - 1.0).abs());
    let (r, g, b) = match h as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = lightness - c / 2.0;
    let byte = |v: f64| ((v + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b))
}

/// The horizontal reference lines.
#[derive(Clone, Copy)]
enum Level {
    LowerBound,
    Capacity,
}

/// Round tick values (1, 2 or 5 times a power of ten apart) in
/// `[lo, hi]`, at most nine of them.
pub fn ticks(lo: u64, hi: u64) -> Vec<u64> {
    ticks_at_most(lo, hi, 9)
}

/// Round tick values in `[lo, hi]`, the finest of 1, 2 or 5 times a power
/// of ten apart that gives at most `max` of them (at least one tick).
pub fn ticks_at_most(lo: u64, hi: u64, max: usize) -> Vec<u64> {
    let span = hi.saturating_sub(lo);
    let step = nice_steps().find(|&step| span / step < max.max(1) as u64).unwrap_or(u64::MAX);
    let first = lo.div_ceil(step).saturating_mul(step);
    (0..).map_while(|k: u64| first.checked_add(k.checked_mul(step)?).filter(|&v| v <= hi)).take(max.max(1)).collect()
}

/// 1, 2, 5, 10, 20, 50, … up to the largest that fits in `u64`.
fn nice_steps() -> impl Iterator<Item = u64> {
    std::iter::successors(Some(1u64), |&m| m.checked_mul(10))
        .flat_map(|m| [1u64, 2, 5].into_iter().filter_map(move |k| k.checked_mul(m)))
}

/// Which of `n` evenly spaced columns of `width` pixels get a label, when
/// the longest label has `chars` characters: every k-th from the first,
/// k the smallest of 1, 2, 5, 10, 20, … that keeps at most [`MAX_TICKS`]
/// labels and room between neighbours.
pub fn column_ticks(n: usize, width: f64, chars: usize) -> Vec<usize> {
    let column = width / n.max(1) as f64;
    let need = chars as f64 * CHAR_WIDTH + 2.0 * CHAR_WIDTH;
    let k = nice_steps()
        .map(|k| usize::try_from(k).unwrap_or(usize::MAX))
        .find(|&k| k >= n || (n.div_ceil(k) <= MAX_TICKS && k as f64 * column >= need))
        .unwrap_or(n.max(1));
    (0..n).step_by(k).collect()
}

/// Escapes text for XML content and attribute values. Control characters,
/// which XML 1.0 does not allow even as references, are shown as `\u{…}`.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if c.is_control() || c == '\u{fffe}' || c == '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::{Buffer, Interval};

    fn problem() -> Problem {
        Problem::new(
            vec![
                Buffer::new("a", 0, 4, 4),
                Buffer::new("b", 3, 6, 4),
                Buffer::new("c<&>", 4, 8, 4).with_gaps(vec![Interval::new(6, 7)]),
            ],
            None,
        )
        .unwrap()
    }

    #[test]
    fn hsl_colours_are_written_as_hex() {
        // Reference values: Python's colorsys.hls_to_rgb, rounded.
        assert_eq!(hsl_hex(0.0, 0.55, 0.72), "#df9090");
        assert_eq!(hsl_hex(120.0, 1.0, 0.5), "#00ff00");
        assert_eq!(hsl_hex(240.0, 1.0, 0.25), "#000080");
        assert_eq!(hsl_hex(275.0, 0.55, 0.72), "#be90df");
        assert_eq!(hsl_hex(360.0, 0.0, 1.0), "#ffffff");
    }

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    #[test]
    fn one_rectangle_per_live_segment() {
        let p = problem();
        let out = svg(&p, &Layout::new(vec![0, 4, 0]), &PlotOptions::default()).unwrap();
        // a and b have one segment each, c two (its gap splits it).
        assert_eq!(count(&out, r#"<rect class="seg""#), 4);
        assert!(out.contains("live [4, 6)") && out.contains("live [7, 8)"));
    }

    #[test]
    fn ids_are_escaped() {
        let p = problem();
        let out = svg(&p, &Layout::new(vec![0, 4, 0]), &PlotOptions::default()).unwrap();
        assert!(!out.contains("c<&>"));
        assert!(out.contains("c&lt;&amp;&gt;"));
    }

    #[test]
    fn control_characters_never_reach_the_xml() {
        let p = Problem::new(vec![Buffer::new("a\u{1}\0\n", 0, 4, 4)], None).unwrap();
        let options = PlotOptions { title: "t\u{1b}[31m".into(), ..PlotOptions::default() };
        let out = svg(&p, &Layout::new(vec![0]), &options).unwrap();
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(out.contains(r"a\u{1}\u{0}\u{a}") && out.contains(r"t\u{1b}[31m"), "{out}");
    }

    #[test]
    fn labels_only_where_they_fit() {
        let p = Problem::new(
            vec![Buffer::new("wide", 0, 100, 50), Buffer::new("a-very-long-name-for-a-sliver", 0, 1, 50)],
            None,
        )
        .unwrap();
        let out = svg(&p, &Layout::new(vec![0, 50]), &PlotOptions::default()).unwrap();
        assert_eq!(count(&out, r#"class="label""#), 1);
        assert!(out.contains(">wide</text>"));
    }

    #[test]
    fn lines_at_lower_bound_and_capacity() {
        let p = problem();
        let opts = PlotOptions { lower_bound: Some(8), capacity: Some(16), ..PlotOptions::default() };
        let out = svg(&p, &Layout::new(vec![0, 4, 0]), &opts).unwrap();
        assert!(out.contains(r#"class="lower-bound""#) && out.contains("lower bound 8"));
        assert!(out.contains(r#"class="capacity""#) && out.contains("capacity 16"));
        let none = svg(&p, &Layout::new(vec![0, 4, 0]), &PlotOptions::default()).unwrap();
        assert!(!none.contains(r#"class="capacity""#) && !none.contains(r#"class="lower-bound""#));
    }

    #[test]
    fn higher_addresses_are_drawn_higher() {
        let p = Problem::new(vec![Buffer::new("lo", 0, 2, 4), Buffer::new("hi", 0, 2, 4)], None).unwrap();
        let out = svg(&p, &Layout::new(vec![0, 4]), &PlotOptions::default()).unwrap();
        let ys: Vec<f64> = out
            .lines()
            .filter(|l| l.starts_with(r#"<rect class="seg""#))
            .map(|l| l.split(r#" y=""#).nth(1).unwrap().split('"').next().unwrap().parse().unwrap())
            .collect();
        // SVG y grows downwards: the buffer at offset 4 has the smaller y.
        assert!(ys[1] < ys[0], "{ys:?}");
    }

    #[test]
    fn wrong_offset_count_is_an_error() {
        let p = problem();
        let err = svg(&p, &Layout::new(vec![0, 4]), &PlotOptions::default()).unwrap_err();
        assert!(err.to_string().contains("2 offsets for 3 buffers"));
    }

    #[test]
    fn huge_values_do_not_overflow() {
        let p = Problem::new(vec![Buffer::new("x", u64::MAX - 10, u64::MAX, 1 << 40)], None).unwrap();
        let out = svg(&p, &Layout::new(vec![u64::MAX - (1 << 41)]), &PlotOptions::default()).unwrap();
        assert!(!out.contains("NaN") && !out.contains("inf"));
        let seg = out.lines().find(|l| l.starts_with(r#"<rect class="seg""#)).unwrap();
        let width: f64 = seg.split(r#" width=""#).nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
        assert!(width > 500.0, "the one segment spans the whole time axis: {seg}");
    }

    /// Numbers in attribute `name` of the lines starting with `prefix`.
    fn attr(svg: &str, prefix: &str, name: &str) -> Vec<f64> {
        svg.lines()
            .filter(|l| l.starts_with(prefix))
            .map(|l| l.split(&format!(r#" {name}=""#)).nth(1).unwrap().split('"').next().unwrap().parse().unwrap())
            .collect()
    }

    #[test]
    fn a_capacity_that_would_flatten_the_layout_is_marked_at_the_edge() {
        let p = Problem::new(vec![Buffer::new("a", 0, 2, 8), Buffer::new("b", 1, 3, 4)], None).unwrap();
        let layout = Layout::new(vec![0, 8]);
        let far = PlotOptions { capacity: Some(1 << 20), ..PlotOptions::default() };
        let out = svg(&p, &layout, &far).unwrap();
        assert!(!out.contains(r#"class="capacity""#) && out.contains(r#"class="capacity-off-scale""#));
        assert!(out.contains("capacity 1048576 (off scale: 87381× the top line)"), "{out}");
        // The buffers keep most of the height.
        let heights = attr(&out, r#"<rect class="seg""#, "height");
        assert!(heights.iter().sum::<f64>() > 300.0, "{heights:?}");
        // A capacity near the peak is drawn to scale.
        let near = PlotOptions { capacity: Some(40), ..PlotOptions::default() };
        let out = svg(&p, &layout, &near).unwrap();
        assert!(out.contains(r#"class="capacity""#) && !out.contains("off-scale"));
    }

    #[test]
    fn panels_side_by_side_share_the_address_scale_and_name_the_phases() {
        let p = problem();
        let (a, b) = (Layout::new(vec![0, 4, 0]), Layout::new(vec![0, 4, 8]));
        let phases: Vec<String> = (0..8).map(|t| format!("phase{t}")).collect();
        let options = PlotOptions { time_labels: phases, ..PlotOptions::default() };
        let panels = [
            Panel { heading: "left side", problem: &p, layout: &a },
            Panel { heading: "right side", problem: &p, layout: &b },
        ];
        let out = svg_panels(&panels, &options).unwrap();
        assert!(out.contains(">left side</text>") && out.contains(">right side</text>"));
        assert!((0..8).all(|t| out.contains(&format!(">phase{t}</text>"))), "{out}");
        assert!(!out.contains(">time</text>"));
        assert_eq!(count(&out, r#"<rect class="seg""#), 8);
        // One scale: the same buffer at the same offset has the same y and
        // height on both sides; the right side starts right of the left.
        let ys = attr(&out, r#"<rect class="seg""#, "y");
        let xs = attr(&out, r#"<rect class="seg""#, "x");
        assert_eq!(ys[0], ys[4]);
        assert!(xs[4] > xs[3] + 100.0, "{xs:?}");
        // One buffer, one colour on both sides; neighbours differ.
        let fills: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with(r#"<rect class="seg""#))
            .map(|l| l.split(r#"fill=""#).nth(1).unwrap().split('"').next().unwrap())
            .collect();
        assert_eq!(fills[..4], fills[4..]);
        assert!(fills[0] != fills[1] && fills[1] != fills[2]);
        assert!(out.contains("peaks 8 and 12 bytes"), "{out}");
    }

    #[test]
    fn tick_labels_are_few_and_round() {
        for (lo, hi) in [(0, 7), (3, 200), (0, 99_999), (0, 1 << 40), (0, u64::MAX), (17, 17)] {
            for max in [2, 5, 10] {
                let t = ticks_at_most(lo, hi, max);
                assert!(!t.is_empty() && t.len() <= max, "{lo}..{hi} at most {max}: {t:?}");
                assert!(t.windows(2).all(|w| w[0] < w[1]) && t[0] >= lo && *t.last().unwrap() <= hi);
            }
        }
        assert_eq!(ticks_at_most(3, 200, 10), vec![20, 40, 60, 80, 100, 120, 140, 160, 180, 200]);
        // A layout over huge times keeps its long labels apart.
        let p = Problem::new(vec![Buffer::new("x", 0, u64::MAX / 3, 4)], None).unwrap();
        let out = svg(&p, &Layout::new(vec![0]), &PlotOptions::default()).unwrap();
        let xs = attr(&out, r#"<text x=""#, "x");
        let labels: Vec<f64> = xs.into_iter().filter(|&x| x > 40.0).collect();
        assert!(labels.len() <= MAX_TICKS + 3, "{labels:?}");
    }

    #[test]
    fn column_labels_thin_out() {
        assert_eq!(column_ticks(5, 900.0, 3), vec![0, 1, 2, 3, 4]);
        for n in [1, 10, 11, 198, 1250, 100_000] {
            let t = column_ticks(n, 900.0, 4);
            assert!(!t.is_empty() && t.len() <= MAX_TICKS, "{n}: {}", t.len());
            let gap = t.get(1).map_or(900.0, |&k| k as f64 * 900.0 / n as f64);
            assert!(gap >= 4.0 * CHAR_WIDTH, "{n}: labels {gap} px apart");
        }
    }

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0, 100), vec![0, 20, 40, 60, 80, 100]);
        assert_eq!(ticks(3, 9), vec![3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(ticks(5, 5), vec![5]);
        let big = ticks(0, u64::MAX);
        assert!(!big.is_empty() && big.len() <= 11);
    }
}
