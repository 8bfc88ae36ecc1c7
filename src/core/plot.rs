//! A layout as an SVG picture: time on x, address on y.
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
//!    +-----------+------+--> time
//! ```
//!
//! Pure: a problem and a layout in, SVG text out; no I/O. Invariants:
//! * every live segment of every buffer is one `<rect class="seg">`, with a
//!   `<title>` tooltip giving the buffer's id, offset, size and segment;
//! * a buffer's id is written only when it fits inside its widest segment;
//! * ids are XML-escaped, so any id is safe in the output;
//! * geometry is computed in `f64`, so `u64` times and addresses of any
//!   magnitude scale without overflow;
//! * rectangles are translucent, so an invalid (overlapping) layout shows
//!   its overlaps rather than hiding one buffer under another.

use crate::error::{Error, Result};
use crate::problem::{Layout, Problem};
use std::fmt::Write as _;

/// What to draw besides the buffers.
#[derive(Debug, Clone)]
pub struct PlotOptions {
    /// Heading above the chart (escaped when written).
    pub title: String,
    /// Draws a dashed line at this address (the lower bound on the peak).
    pub lower_bound: Option<u64>,
    /// Draws a solid line at this address (the capacity).
    pub capacity: Option<u64>,
    /// Picture width in pixels.
    pub width: f64,
    /// Picture height in pixels.
    pub height: f64,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions { title: String::new(), lower_bound: None, capacity: None, width: 1000.0, height: 600.0 }
    }
}

/// Font size of every text, in pixels.
pub const FONT: f64 = 11.0;
/// Rough advance of one character of a sans-serif font at [`FONT`], used to
/// decide whether an id fits its rectangle.
pub const CHAR_WIDTH: f64 = FONT * 0.62;
const MARGIN_TOP: f64 = 58.0;
const MARGIN_RIGHT: f64 = 24.0;
const MARGIN_BOTTOM: f64 = 44.0;
/// Headroom above the highest line, as a fraction of it.
const HEADROOM: f64 = 0.06;

/// Renders `layout` of `problem` as an SVG document.
///
/// Errors when the layout does not have exactly one offset per buffer.
pub fn svg(problem: &Problem, layout: &Layout, options: &PlotOptions) -> Result<String> {
    if layout.offsets.len() != problem.len() {
        return Err(Error::Parse {
            source_name: "<layout>".into(),
            line: 0,
            message: format!("{} offsets for {} buffers", layout.offsets.len(), problem.len()),
        });
    }
    let peak = layout.peak(problem);
    let buffers = problem.buffers();
    let t_min = buffers.iter().map(|b| b.lifetime.start).min().unwrap_or(0);
    let t_max = buffers.iter().map(|b| b.lifetime.end).max().unwrap_or(1);
    let top = [Some(peak), options.lower_bound, options.capacity].into_iter().flatten().max().unwrap_or(0).max(1);
    let a_max = top as f64 * (1.0 + HEADROOM);

    let x_ticks = ticks(t_min, t_max);
    let y_ticks = ticks(0, a_max as u64);
    let label_chars = y_ticks.iter().map(|t| t.to_string().len()).max().unwrap_or(1);
    let left = (label_chars as f64 * CHAR_WIDTH + 18.0).max(48.0);
    let frame = Frame {
        left,
        top: MARGIN_TOP,
        width: (options.width - left - MARGIN_RIGHT).max(10.0),
        height: (options.height - MARGIN_TOP - MARGIN_BOTTOM).max(10.0),
        x_scale: XScale::Linear { min: t_min, span: (t_max.saturating_sub(t_min)).max(1) as f64 },
        y_max: a_max,
    };

    let mut s = String::new();
    let (w, h) = (options.width, options.height);
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="{FONT}">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let subtitle = format!(
        "{} buffers · peak {peak} bytes{}",
        problem.len(),
        options.lower_bound.map(|lb| format!(" · lower bound {lb}")).unwrap_or_default()
    );
    let _ =
        writeln!(s, r#"<text x="{left}" y="18" font-size="14" font-weight="bold">{}</text>"#, escape(&options.title));
    let _ = writeln!(s, r##"<text x="{left}" y="34" fill="#444">{}</text>"##, escape(&subtitle));

    let x_ticks: Vec<(u64, String)> = x_ticks.into_iter().map(|t| (t, t.to_string())).collect();
    frame.axes(
        &mut s,
        &Axes {
            x_ticks: &x_ticks,
            y_ticks: &y_ticks,
            x_title: "time",
            x_title_below: 34.0,
            y_title: "address (bytes)",
        },
    );
    let _ = writeln!(s, r##"<g class="buffers" stroke="#333" stroke-width="0.5" fill-opacity="0.8">"##);
    for (i, (b, &offset)) in buffers.iter().zip(&layout.offsets).enumerate() {
        let hue = (i as f64 * 137.508) % 360.0;
        let y0 = frame.y(offset as f64);
        let y1 = frame.y(offset as f64 + b.size as f64);
        let mut widest: Option<(f64, f64)> = None;
        for seg in b.segments() {
            let (x0, x1) = (frame.x(seg.start), frame.x(seg.end));
            let _ = writeln!(
                s,
                r#"<rect class="seg" x="{x0:.2}" y="{y1:.2}" width="{:.2}" height="{:.2}" fill="hsl({hue:.0},55%,72%)"><title>{}: offset {offset}, size {}, live [{}, {})</title></rect>"#,
                x1 - x0,
                y0 - y1,
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
            let fits = (x1 - x0) >= b.name.chars().count() as f64 * CHAR_WIDTH + 4.0 && (y0 - y1) >= FONT + 2.0;
            if fits {
                let _ = writeln!(
                    s,
                    r#"<text class="label" x="{:.2}" y="{:.2}" text-anchor="middle" dominant-baseline="central" stroke="none" fill="black">{}</text>"#,
                    (x0 + x1) / 2.0,
                    (y0 + y1) / 2.0,
                    escape(&b.name)
                );
            }
        }
    }
    s.push_str("</g>\n");
    if let Some(lb) = options.lower_bound {
        frame.level(&mut s, Level::LowerBound, lb);
    }
    if let Some(cap) = options.capacity {
        frame.level(&mut s, Level::Capacity, cap);
    }
    s.push_str("</svg>\n");
    Ok(s)
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
    /// Ticks along x: each value (on the frame's x scale) and its label.
    pub x_ticks: &'a [(u64, String)],
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

    /// Draws the frame's box, its ticks and labels and the axes' titles
    /// (labels and titles escaped).
    pub fn axes(&self, s: &mut String, axes: &Axes) {
        let (l, r) = (self.left, self.left + self.width);
        let (t, b) = (self.top, self.top + self.height);
        let _ = writeln!(s, r##"<g class="axes" stroke="#999" stroke-width="1">"##);
        let _ = writeln!(s, r#"<rect x="{l}" y="{t}" width="{}" height="{}" fill="none"/>"#, self.width, self.height);
        for (v, label) in axes.x_ticks {
            let x = self.x(*v);
            let _ = writeln!(s, r#"<line x1="{x:.2}" y1="{b}" x2="{x:.2}" y2="{:.2}"/>"#, b + 5.0);
            let _ = writeln!(
                s,
                r##"<text x="{x:.2}" y="{:.2}" text-anchor="middle" stroke="none" fill="#333">{}</text>"##,
                b + 17.0,
                escape(label)
            );
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
        let _ = writeln!(
            s,
            r#"<text x="{x:.2}" y="{:.2}" text-anchor="{anchor}" fill="{colour}" stroke="white" stroke-width="3" paint-order="stroke">{}</text>"#,
            y - 4.0,
            escape(&label)
        );
    }
}

/// The horizontal reference lines.
#[derive(Clone, Copy)]
enum Level {
    LowerBound,
    Capacity,
}

/// Round tick values (1, 2 or 5 times a power of ten apart) covering
/// `[lo, hi]`, about eight of them.
pub fn ticks(lo: u64, hi: u64) -> Vec<u64> {
    let span = hi.saturating_sub(lo).max(1);
    let raw = span as f64 / 8.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|&s| s >= raw).unwrap_or(10.0 * magnitude);
    let step = (step.round() as u64).max(1);
    let first = lo.div_ceil(step).saturating_mul(step);
    (0..).map_while(|k: u64| first.checked_add(k.checked_mul(step)?).filter(|&v| v <= hi)).collect()
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

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(ticks(0, 100), vec![0, 20, 40, 60, 80, 100]);
        assert_eq!(ticks(3, 9), vec![3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(ticks(5, 5), vec![5]);
        let big = ticks(0, u64::MAX);
        assert!(!big.is_empty() && big.len() <= 11);
    }
}
