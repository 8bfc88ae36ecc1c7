//! A sweep as an SVG picture: three panels over one swept parameter.
//!
//! ```text
//!  shared bytes per thread             one line per series: the model and
//!    ^      ____----- cubie            the other swept values (colour),
//!    | __---   ___--- auto             the strategy and device (dash);
//!    +-----------------------> n       markers only where points are few
//!  shared bytes saved vs CuBIE (%)
//!    ^ ------------------- auto        the optimised strategies only
//!    +-----------------------> n
//!  resident threads per SM             the same series once per device
//!    ^ --.__
//!    |      `--.____
//!    +-----------------------> n
//! ```
//!
//! The x axis is linear when the swept values are more than
//! [`MAX_TICKS`] integers (`n=3..=200`), with round ticks; otherwise it is
//! categorical, the values in the order given and evenly spaced (system
//! sizes like 3, 10, 30, 100, 200 stay readable), labels thinned so they
//! never overprint. Shared bytes and savings do not depend on the device,
//! so those panels draw each series once, with its strategy's first-device
//! line. Every series has its own colour × dash pair ([`Style`]), unique
//! however many there are.
//!
//! A sweep whose lines would hold more than [`POINT_BUDGET`] points is
//! drawn aggregated: per strategy (and device), the median over the other
//! swept values as a line and their minimum to maximum as a band, over at
//! most [`MAX_COLUMNS`] x positions, so a 100,000-row sweep stays a few
//! hundred kilobytes. Everything is drawn inside its panel (the y scale
//! covers every value, and each panel clips its data). Same conventions as
//! [`smemplan_core::plot`], whose [`Frame`] draws each panel's axes: pure
//! text out, ids escaped, `f64` geometry.

use super::{sweep_error, Row, Sweep};
use crate::error::Result;
use smemplan_core::plot::{column_ticks, escape, ticks_at_most, Axes, Frame, XScale, CHAR_WIDTH, FONT, MAX_TICKS};
use std::collections::BTreeMap;
use std::fmt::Write as _;

const WIDTH: f64 = 1000.0;
const PANEL_HEIGHT: f64 = 220.0;
const MARGIN_TOP: f64 = 58.0;
const GAP: f64 = 56.0;
const MARGIN_BOTTOM: f64 = 40.0;
const LEGEND_ROW: f64 = 16.0;
/// Rough advance of one character of the bold 14 px title.
const TITLE_CHAR_WIDTH: f64 = 14.0 * 0.62;
/// Legend entries drawn before the rest are summarised as a count.
const LEGEND_MAX: usize = 24;
/// Headroom above the highest point, as a fraction of it.
const HEADROOM: f64 = 0.08;
/// Series with at most this many points get a marker on each.
pub const MARKER_MAX: usize = 16;
/// Points (over all panels) above which a sweep is drawn aggregated.
pub const POINT_BUDGET: usize = 20_000;
/// Aggregated panels bin the x values into at most this many positions.
pub const MAX_COLUMNS: usize = 400;

/// Ten colours apart at a glance (Tableau 10); later series take hues a
/// golden angle apart.
const COLOURS: [&str; 10] =
    ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
/// Dash patterns apart at a glance; later ones are generated.
const DASHES: [&str; 8] = ["none", "7 3", "2 2", "10 3 2 3", "4 4", "12 3 2 3 2 3", "1 3", "14 6"];

/// How one series is drawn: colour by combination, dash by strategy and
/// device. Distinct keys get distinct styles, for any number of series.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Style {
    /// Stroke colour.
    pub colour: String,
    /// `stroke-dasharray` value.
    pub dash: String,
    /// Marker shape (where markers are drawn): the device's index.
    pub marker: usize,
}

impl Style {
    /// The style of series `colour_index` (its combination) with line
    /// `dash_index` (its strategy and device) and marker `marker`.
    pub fn new(colour_index: usize, dash_index: usize, marker: usize) -> Style {
        Style { colour: colour(colour_index), dash: dash(dash_index), marker }
    }
}

/// The `k`-th colour: [`COLOURS`], then golden-angle hues at three
/// lightnesses (unique for the first 30,000).
fn colour(k: usize) -> String {
    match COLOURS.get(k) {
        Some(c) => c.to_string(),
        None => {
            let j = k - COLOURS.len();
            format!("hsl({:.3},65%,{}%)", (j as f64 * 137.508) % 360.0, 32 + 14 * (j % 3))
        }
    }
}

/// The `k`-th dash pattern: [`DASHES`], then ever longer dash-dot ones.
fn dash(k: usize) -> String {
    match DASHES.get(k) {
        Some(d) => d.to_string(),
        None => format!("{} 3 2 3", 2 * (k - DASHES.len()) + 5),
    }
}

/// The swept parameter a picture uses when none is named: the first one
/// with more than one value, else the first.
pub fn default_x(sweep: &Sweep) -> Option<&str> {
    let varied = |a: &&String| {
        let first = sweep.rows.first().and_then(|r| r.params.get(a.as_str()));
        sweep.rows.iter().any(|r| r.params.get(a.as_str()) != first)
    };
    sweep.axes.iter().find(varied).or(sweep.axes.first()).map(String::as_str)
}

/// First-seen order of `key` over `rows`.
fn distinct<'a>(rows: &'a [Row], key: impl Fn(&'a Row) -> String) -> Vec<String> {
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        let k = key(r);
        if seen.insert(k.clone()) {
            out.push(k);
        }
    }
    out
}

/// The model and every swept parameter but `x`.
fn combo(sweep: &Sweep, r: &Row, x: &str) -> String {
    let mut label = vec![r.model.clone()];
    label.extend(sweep.axes.iter().filter(|a| *a != x).filter_map(|a| r.params.get(a).map(|v| format!("{a}={v}"))));
    label.join(" ")
}

/// Where the swept values go along x.
struct XAxis {
    /// The values in first-seen order.
    values: Vec<String>,
    /// Each value's position on the frame's scale: its integer value on a
    /// linear axis, its index on a categorical one.
    keys: Vec<u64>,
    scale: XScale,
}

impl XAxis {
    /// Linear when every value is an integer and there are more than
    /// [`MAX_TICKS`] of them; categorical otherwise.
    fn new(values: Vec<String>) -> XAxis {
        let numbers: Option<Vec<u64>> = values.iter().map(|v| v.parse().ok()).collect();
        match numbers {
            Some(keys) if keys.len() > MAX_TICKS => {
                let (lo, hi) = (*keys.iter().min().unwrap_or(&0), *keys.iter().max().unwrap_or(&1));
                XAxis { values, keys, scale: XScale::Linear { min: lo, span: (hi - lo).max(1) as f64 } }
            }
            _ => XAxis { keys: (0..values.len() as u64).collect(), scale: XScale::Columns(values.len()), values },
        }
    }

    /// The ticks of `frame`: round values on a linear axis, thinned value
    /// labels on a categorical one.
    fn ticks(&self, frame: &Frame) -> Vec<(f64, String)> {
        let chars = self.values.iter().map(|v| v.chars().count()).max().unwrap_or(1);
        match self.scale {
            XScale::Linear { .. } => {
                let (lo, hi) = (*self.keys.iter().min().unwrap_or(&0), *self.keys.iter().max().unwrap_or(&0));
                ticks_at_most(lo, hi, frame.labels_fitting(chars))
                    .into_iter()
                    .map(|t| (frame.x(t), t.to_string()))
                    .collect()
            }
            XScale::Columns(n) => column_ticks(n, frame.width, chars)
                .into_iter()
                .map(|i| (frame.x(i as u64), self.values[i].clone()))
                .collect(),
        }
    }
}

/// One line: its legend words, style and points `(x key, y)`.
struct Series {
    /// The legend's words for it.
    label: String,
    style: Style,
    points: Vec<(u64, f64)>,
}

/// One aggregated line: median and band per x position.
struct Band {
    label: String,
    style: Style,
    /// `(x pixel, min, median, max)`, by x.
    points: Vec<(f64, f64, f64, f64)>,
}

/// What a panel plots of a row.
struct PanelSpec {
    class: &'static str,
    title: String,
    /// Whether the device tells lines apart (else each is drawn once).
    per_device: bool,
    /// Whether `cubie` rows are drawn.
    cubie: bool,
    y: fn(&Row) -> f64,
}

/// The indices that style a row's series.
struct Keys<'a> {
    combos: &'a [String],
    strategies: &'a [String],
    devices: &'a [String],
    x: &'a str,
}

impl Keys<'_> {
    fn index(list: &[String], v: &str) -> usize {
        list.iter().position(|t| t == v).unwrap_or(0)
    }

    /// The dash index of a strategy on a device: strategies vary fastest,
    /// so the first device's lines are the first patterns.
    fn line(&self, strategy: &str, device: Option<&str>) -> usize {
        let d = device.map_or(0, |d| Self::index(self.devices, d));
        Self::index(self.strategies, strategy) + self.strategies.len() * d
    }
}

/// The panel's lines, one per combination, strategy and (with
/// `per_device`) device, in grid order.
fn series(sweep: &Sweep, axis: &XAxis, keys: &Keys, panel: &PanelSpec, combo_of: &[usize]) -> Vec<Series> {
    let position: BTreeMap<&str, u64> = axis.values.iter().map(String::as_str).zip(axis.keys.iter().copied()).collect();
    let mut index: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    let mut lines: Vec<Series> = Vec::new();
    for (r, &c) in sweep.rows.iter().zip(combo_of) {
        if !panel.cubie && r.strategy == "cubie" {
            continue;
        }
        let Some(&at) = r.params.get(keys.x).and_then(|v| position.get(v.as_str())) else {
            continue;
        };
        let device = panel.per_device.then_some(r.device.as_str());
        let line = keys.line(&r.strategy, device);
        let k = *index.entry((c, line)).or_insert_with(|| {
            let mut label = vec![keys.combos[c].as_str()];
            label.extend(device);
            label.push(&r.strategy);
            let marker = device.map_or(0, |d| Keys::index(keys.devices, d));
            lines.push(Series { label: label.join(" "), style: Style::new(c, line, marker), points: Vec::new() });
            lines.len() - 1
        });
        lines[k].points.push((at, (panel.y)(r)));
    }
    // Device-independent panels see each value once per device: the first
    // stays (the sort is stable).
    for l in &mut lines {
        l.points.sort_by_key(|p| p.0);
        l.points.dedup_by_key(|p| p.0);
    }
    lines
}

/// The panel's lines pooled over combinations: per strategy (and device),
/// the median and range at each of at most [`MAX_COLUMNS`] x positions.
fn bands(sweep: &Sweep, axis: &XAxis, keys: &Keys, panel: &PanelSpec, frame: &Frame) -> Vec<Band> {
    let position: BTreeMap<&str, u64> = axis.values.iter().map(String::as_str).zip(axis.keys.iter().copied()).collect();
    let bin_px = (frame.width / MAX_COLUMNS as f64).max(1.0);
    // (line, x bin) → the x pixels and values that fell in it.
    let mut cells: BTreeMap<(usize, i64), (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut labels: BTreeMap<usize, (String, usize)> = BTreeMap::new();
    for r in &sweep.rows {
        if !panel.cubie && r.strategy == "cubie" {
            continue;
        }
        let Some(&at) = r.params.get(keys.x).and_then(|v| position.get(v.as_str())) else {
            continue;
        };
        let device = panel.per_device.then_some(r.device.as_str());
        let line = keys.line(&r.strategy, device);
        labels.entry(line).or_insert_with(|| {
            let words: Vec<&str> = device.into_iter().chain([r.strategy.as_str()]).collect();
            (words.join(" "), device.map_or(0, |d| Keys::index(keys.devices, d)))
        });
        let px = frame.x(at);
        let cell = cells.entry((line, ((px - frame.left) / bin_px) as i64)).or_default();
        cell.0.push(px);
        cell.1.push((panel.y)(r));
    }
    let mut out: BTreeMap<usize, Band> = BTreeMap::new();
    for ((line, _), (xs, mut ys)) in cells {
        ys.sort_by(f64::total_cmp);
        let x = xs.iter().sum::<f64>() / xs.len() as f64;
        let median = if ys.len() % 2 == 1 { ys[ys.len() / 2] } else { (ys[ys.len() / 2 - 1] + ys[ys.len() / 2]) / 2.0 };
        let (label, marker) = labels[&line].clone();
        // Colour by strategy, dash by device: the combinations are pooled.
        let strategy = line % keys.strategies.len();
        let device = line / keys.strategies.len();
        let band = out.entry(line).or_insert_with(|| Band {
            label,
            style: Style::new(strategy, device, marker),
            points: Vec::new(),
        });
        band.points.push((x, ys[0], median, ys[ys.len() - 1]));
    }
    out.into_values().collect()
}

/// A point's marker: circle, square, diamond, triangle, cross, then again.
fn marker(s: &mut String, shape: usize, cx: f64, cy: f64, colour: &str, tip: &str) {
    let tip = escape(tip);
    let _ = match shape % 5 {
        0 => writeln!(
            s,
            r#"<circle class="point" cx="{cx:.2}" cy="{cy:.2}" r="2.8" fill="{colour}" stroke="none"><title>{tip}</title></circle>"#
        ),
        1 => writeln!(
            s,
            r#"<rect class="point" x="{:.2}" y="{:.2}" width="5" height="5" fill="{colour}" stroke="none"><title>{tip}</title></rect>"#,
            cx - 2.5,
            cy - 2.5
        ),
        2 => writeln!(
            s,
            r#"<path class="point" d="M{cx:.2},{:.2} l3.2,3.2 l-3.2,3.2 l-3.2,-3.2 z" fill="{colour}" stroke="none"><title>{tip}</title></path>"#,
            cy - 3.2
        ),
        3 => writeln!(
            s,
            r#"<path class="point" d="M{cx:.2},{:.2} l3.2,5.6 l-6.4,0 z" fill="{colour}" stroke="none"><title>{tip}</title></path>"#,
            cy - 3.2
        ),
        _ => writeln!(
            s,
            r#"<path class="point" d="M{:.2},{:.2} l6,6 m0,-6 l-6,6" stroke="{colour}" stroke-width="1.6" fill="none"><title>{tip}</title></path>"#,
            cx - 3.0,
            cy - 3.0
        ),
    };
}

/// A y scale covering `0..=top` and some headroom with round ticks, the
/// last at or above it: no point lies above the frame.
fn y_scale(top: f64) -> (Vec<u64>, f64) {
    let top = top.max(1.0) * (1.0 + HEADROOM);
    let mut ticks = ticks_at_most(0, top.ceil() as u64, 7);
    // One more round tick above the data, so the scale ends labelled.
    if let (Some(&last), Some(&step)) = (ticks.last(), ticks.get(1)) {
        if (last as f64) < top {
            ticks.push(last.saturating_add(step));
        }
    }
    let last = ticks.last().copied().unwrap_or(1) as f64;
    (ticks, last.max(top))
}

/// Draws `sweep` along swept parameter `x` (see the module docs).
pub fn svg(sweep: &Sweep, x: &str) -> Result<String> {
    if !sweep.axes.iter().any(|a| a == x) {
        return Err(sweep_error(format!(
            "cannot draw along `{x}`: it is not swept (swept: {})",
            if sweep.axes.is_empty() { "nothing".to_string() } else { sweep.axes.join(", ") }
        )));
    }
    let axis = XAxis::new(distinct(&sweep.rows, |r| r.params.get(x).cloned().unwrap_or_default()));
    let strategies = distinct(&sweep.rows, |r| r.strategy.clone());
    let devices = distinct(&sweep.rows, |r| r.device.clone());
    let combo_labels: Vec<String> = sweep.rows.iter().map(|r| combo(sweep, r, x)).collect();
    let combos = {
        let mut seen = std::collections::HashSet::new();
        combo_labels.iter().filter(|c| seen.insert(c.as_str())).cloned().collect::<Vec<_>>()
    };
    let combo_index: BTreeMap<&str, usize> = combos.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let combo_of: Vec<usize> = combo_labels.iter().map(|c| combo_index[c.as_str()]).collect();
    let models = distinct(&sweep.rows, |r| r.model.clone());
    let keys = Keys { combos: &combos, strategies: &strategies, devices: &devices, x };
    let optimised = strategies.iter().filter(|s| *s != "cubie").count();
    let negative = sweep.rows.iter().filter(|r| r.versus_cubie.shared_bytes_saved < 0).count();

    let panels = [
        PanelSpec {
            class: "panel-shared",
            title: "shared bytes per thread".into(),
            per_device: false,
            cubie: true,
            y: |r| r.shared_bytes as f64,
        },
        PanelSpec {
            class: "panel-saving",
            title: if negative == 0 {
                "shared bytes saved against CuBIE's layout (%)".into()
            } else {
                format!("shared bytes saved against CuBIE's layout (%); {negative} rows hold more, drawn at 0")
            },
            per_device: false,
            cubie: false,
            y: |r| r.versus_cubie.shared_percent_saved.max(0.0),
        },
        PanelSpec {
            class: "panel-threads",
            title: "resident threads per SM (best block size)".into(),
            per_device: true,
            cubie: true,
            y: |r| r.resident_threads as f64,
        },
    ];
    let panels: Vec<&PanelSpec> = panels.iter().filter(|p| p.cubie || optimised > 0).collect();
    let lines: Vec<Vec<Series>> = panels.iter().map(|p| series(sweep, &axis, &keys, p, &combo_of)).collect();
    let points: usize = lines.iter().flatten().map(|l| l.points.len()).sum();
    let aggregate = points > POINT_BUDGET;

    let title = format!("{} — shared memory, saving and residency against {x}", models.join(", "));
    // The title is one line of bold 14 px: too many models for it go to the
    // wrapped facts below, and the title counts them.
    let (title, models_fact) = if title.chars().count() as f64 * TITLE_CHAR_WIDTH <= WIDTH - 94.0 {
        (title, None)
    } else {
        let count = format!("{} models — shared memory, saving and residency against {x}", models.len());
        (count, Some(format!("models {}", models.join(", "))))
    };
    let mut facts: Vec<String> = models_fact.into_iter().collect();
    facts.extend([
        format!("{} configurations", sweep.rows.len()),
        format!("strategies {}", strategies.join(", ")),
        format!("devices {}", devices.join(", ")),
        format!("{} on the Pareto front", sweep.pareto_front.len()),
    ]);
    if aggregate {
        facts.push(format!("{} combinations pooled: median line, min–max band", combos.len()));
    }
    let subtitle = wrap(&facts, ((WIDTH - 94.0) / CHAR_WIDTH) as usize);
    let margin_top = MARGIN_TOP + (subtitle.len() - 1) as f64 * LEGEND_ROW;

    // The body first: the picture's height is known once the legend is.
    let mut s = String::new();
    let _ = writeln!(s, r#"<text x="70" y="18" font-size="14" font-weight="bold">{}</text>"#, escape(&title));
    for (i, line) in subtitle.iter().enumerate() {
        let _ =
            writeln!(s, r##"<text x="70" y="{}" fill="#444">{}</text>"##, 34.0 + i as f64 * LEGEND_ROW, escape(line));
    }
    for (k, (panel, lines)) in panels.iter().zip(&lines).enumerate() {
        let top = margin_top + k as f64 * (PANEL_HEIGHT + GAP);
        let y_top = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).fold(0.0, f64::max);
        let (y_ticks, y_max) = y_scale(y_top);
        let label_chars = y_ticks.iter().map(|t| t.to_string().len()).max().unwrap_or(1);
        let left = (label_chars as f64 * CHAR_WIDTH + 18.0).max(70.0);
        let frame = Frame { left, top, width: WIDTH - left - 24.0, height: PANEL_HEIGHT, x_scale: axis.scale, y_max };
        frame.axes(
            &mut s,
            &Axes {
                x_ticks: &axis.ticks(&frame),
                x_slant: 0.0,
                y_ticks: &y_ticks,
                x_title: x,
                x_title_below: 32.0,
                y_title: &panel.title,
            },
        );
        let clip = frame.clip(&mut s, &format!("clip-{}", panel.class));
        let _ = writeln!(
            s,
            r#"<g class="{}" data-frame="{:.2} {:.2} {:.2} {:.2}" {clip} fill="none" stroke-width="1.6">"#,
            panel.class, frame.left, frame.top, frame.width, frame.height
        );
        if aggregate {
            for band in bands(sweep, &axis, &keys, panel, &frame) {
                draw_band(&mut s, &frame, &band);
            }
        } else {
            for line in lines {
                draw_series(&mut s, &frame, line, x, &axis);
            }
        }
        s.push_str("</g>\n");
    }
    let legend_top = margin_top + panels.len() as f64 * (PANEL_HEIGHT + GAP) - GAP + MARGIN_BOTTOM;
    let height = legend(&mut s, legend_top, &keys, aggregate) + 16.0;
    let mut out = String::with_capacity(s.len() + 300);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="{FONT}">"#
    );
    let _ = writeln!(out, r#"<rect width="{WIDTH}" height="{height}" fill="white"/>"#);
    out.push_str(&s);
    out.push_str("</svg>\n");
    Ok(out)
}

/// `parts` joined by ` · ` into lines of at most `chars` characters (a
/// longer part stands alone).
fn wrap(parts: &[String], chars: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for part in parts {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 3 + part.chars().count() <= chars => {
                line.push_str(" · ");
                line.push_str(part);
            }
            _ => lines.push(part.clone()),
        }
    }
    lines
}

/// One series: a polyline, and a marker with a tooltip per point where
/// points are few.
fn draw_series(s: &mut String, frame: &Frame, line: &Series, x: &str, axis: &XAxis) {
    let Style { colour, dash, marker: shape } = &line.style;
    let path: Vec<String> = line.points.iter().map(|p| format!("{:.1},{:.1}", frame.x(p.0), frame.y(p.1))).collect();
    let _ = writeln!(
        s,
        r#"<polyline class="series" points="{}" stroke="{colour}" stroke-dasharray="{dash}"><title>{}</title></polyline>"#,
        path.join(" "),
        escape(&line.label)
    );
    if line.points.len() <= MARKER_MAX {
        for p in &line.points {
            let value = axis.keys.iter().position(|&k| k == p.0).map_or("", |i| axis.values[i].as_str());
            let tip = format!("{} {x}={value}: {}", line.label, p.1);
            marker(s, *shape, frame.x(p.0), frame.y(p.1), colour, &tip);
        }
    }
}

/// One pooled series: its min–max band and median line.
fn draw_band(s: &mut String, frame: &Frame, band: &Band) {
    let Style { colour, dash, .. } = &band.style;
    let upper = band.points.iter().map(|p| format!("{:.1},{:.1}", p.0, frame.y(p.3)));
    let lower = band.points.iter().rev().map(|p| format!("{:.1},{:.1}", p.0, frame.y(p.1)));
    let outline: Vec<String> = upper.chain(lower).collect();
    let _ = writeln!(
        s,
        r#"<polygon class="band" points="{}" fill="{colour}" fill-opacity="0.15" stroke="none"><title>{}: min–max</title></polygon>"#,
        outline.join(" "),
        escape(&band.label)
    );
    let median: Vec<String> = band.points.iter().map(|p| format!("{:.1},{:.1}", p.0, frame.y(p.2))).collect();
    let _ = writeln!(
        s,
        r#"<polyline class="series" points="{}" stroke="{colour}" stroke-dasharray="{dash}"><title>{}: median</title></polyline>"#,
        median.join(" "),
        escape(&band.label)
    );
}

/// The legend: the line of each strategy and device (wrapped into rows),
/// then (unless pooled) the colour of each combination. Returns the last
/// row's y.
fn legend(s: &mut String, first: f64, keys: &Keys, aggregate: bool) -> f64 {
    let _ = writeln!(s, r#"<g class="legend">"#);
    let mut cursor = 70.0;
    let mut top = first;
    for (d, device) in keys.devices.iter().enumerate() {
        for (k, strategy) in keys.strategies.iter().enumerate() {
            let line = k + keys.strategies.len() * d;
            let text = format!("{strategy} {device}");
            let width = 50.0 + text.chars().count() as f64 * CHAR_WIDTH;
            if cursor > 70.0 && cursor + width > WIDTH - 24.0 {
                cursor = 70.0;
                top += LEGEND_ROW;
            }
            let (stroke, dash) = if aggregate { (colour(k), dash(d)) } else { ("#444".to_string(), self::dash(line)) };
            let _ = writeln!(
                s,
                r#"<line x1="{cursor:.2}" y1="{top:.2}" x2="{:.2}" y2="{top:.2}" stroke="{stroke}" stroke-width="2" stroke-dasharray="{dash}"/>"#,
                cursor + 30.0
            );
            marker(s, d, cursor + 15.0, top, &stroke, device);
            let _ = writeln!(
                s,
                r#"<text x="{:.2}" y="{top:.2}" dominant-baseline="central">{}</text>"#,
                cursor + 36.0,
                escape(&text)
            );
            cursor += width;
        }
    }
    if !aggregate {
        for (i, c) in keys.combos.iter().take(LEGEND_MAX).enumerate() {
            let y = first_combo(top) + i as f64 * LEGEND_ROW;
            let _ = writeln!(
                s,
                r#"<line x1="70" y1="{y:.2}" x2="100" y2="{y:.2}" stroke="{}" stroke-width="3"/>"#,
                colour(i)
            );
            let _ = writeln!(s, r#"<text x="108" y="{y:.2}" dominant-baseline="central">{}</text>"#, escape(c));
        }
        if keys.combos.len() > LEGEND_MAX {
            let y = first_combo(top) + LEGEND_MAX as f64 * LEGEND_ROW;
            let _ = writeln!(
                s,
                r##"<text x="70" y="{y:.2}" dominant-baseline="central" fill="#444">… and {} more (tooltips name every line)</text>"##,
                keys.combos.len() - LEGEND_MAX
            );
        }
        top = first_combo(top) + (keys.combos.len().min(LEGEND_MAX + 1) as f64 - 1.0) * LEGEND_ROW;
    }
    s.push_str("</g>\n");
    top
}

/// The y of the first combination's row below the line rows ending at
/// `top`.
fn first_combo(top: f64) -> f64 {
    top + LEGEND_ROW
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::{run, Axis, SweepSpec, Tiers, VersusCubie};
    use smemplan_kernel::model;
    use smemplan_perf::occupancy::DeviceProfile;
    use std::collections::HashSet;

    fn sweep() -> Sweep {
        let axes = ["n=3,30,100", "algorithm=kvaerno3,kvaerno5"].iter().map(|a| Axis::parse(a).unwrap()).collect();
        let mut spec = SweepSpec::new(vec![model::builtin("dirk").unwrap()], axes).unwrap();
        spec.devices.push(DeviceProfile::named("a100").unwrap());
        run(&spec, &|_| {}).unwrap()
    }

    /// A sweep's shape without solving anything: `models` × n over `ns` ×
    /// `others` values of a second parameter × `devices` × cubie/auto, with
    /// made-up but plausible figures.
    fn synthetic(models: usize, ns: std::ops::RangeInclusive<u64>, others: usize, devices: usize) -> Sweep {
        let mut rows = Vec::new();
        for m in 0..models {
            for n in ns.clone() {
                for o in 0..others {
                    for d in 0..devices {
                        for (k, strategy) in ["cubie", "auto"].iter().enumerate() {
                            let cubie = 40 * n * (m as u64 + 1) + 8 * o as u64 + 100;
                            let shared = cubie - k as u64 * (cubie / 10);
                            let threads = (200_000 / shared).min(2048) * (d as u64 + 1) / devices as u64;
                            rows.push(Row {
                                index: rows.len(),
                                model: format!("model{m}"),
                                params: [("n".to_string(), n.to_string()), ("other".to_string(), format!("v{o}"))]
                                    .into_iter()
                                    .collect(),
                                device: format!("card{d}"),
                                strategy: strategy.to_string(),
                                shared_bytes: shared,
                                padded_shared_bytes: shared + 4,
                                local_bytes: 0,
                                proven_optimal: true,
                                shared_accesses: 1.0,
                                local_accesses: 0.0,
                                fits: true,
                                cubie_block_size: Some(64),
                                cubie_runs_per_second: Some(1e9),
                                best_block_size: Some(64),
                                blocks_per_sm: 1,
                                resident_threads: threads,
                                occupancy: 0.5,
                                estimated_runs_per_second: 1e9,
                                pareto: false,
                                tiers: Tiers::Fixed,
                                local_groups: None,
                                fixed_runs_per_second: None,
                                versus_cubie: VersusCubie {
                                    cubie_layout_shared_bytes: cubie,
                                    shared_bytes_saved: (cubie - shared) as i64,
                                    shared_percent_saved: 100.0 * (cubie - shared) as f64 / cubie as f64,
                                    cubie_layout_block_size: Some(64),
                                    cubie_layout_occupancy: Some(0.5),
                                    cubie_layout_runs_per_second: Some(1e9),
                                    speedup_vs_cubie: Some(1.0),
                                },
                            });
                        }
                    }
                }
            }
        }
        let axes = vec!["n".to_string(), "other".to_string()];
        let mut sw = sweep();
        sw.axes = axes;
        sw.rows = rows;
        sw.pareto_front.clear();
        sw
    }

    /// The number after `name="` in `line`.
    fn attr(line: &str, name: &str) -> Option<f64> {
        line.split(&format!(r#" {name}=""#)).nth(1)?.split('"').next()?.parse().ok()
    }

    /// A panel's frame `[left, top, width, height]` and the points drawn in
    /// it.
    type Drawn = ([f64; 4], Vec<(f64, f64)>);

    /// Every coordinate drawn inside each panel's group, with the group's
    /// frame.
    fn drawn(svg: &str) -> Vec<Drawn> {
        let mut out = Vec::new();
        let mut lines = svg.lines();
        while let Some(l) = lines.next() {
            let Some(frame) = l.split(r#"data-frame=""#).nth(1) else { continue };
            let f: Vec<f64> = frame.split('"').next().unwrap().split(' ').map(|v| v.parse().unwrap()).collect();
            let mut points = Vec::new();
            for l in lines.by_ref().take_while(|l| *l != "</g>") {
                if let Some(list) = l.split(r#"points=""#).nth(1) {
                    for xy in list.split('"').next().unwrap().split(' ') {
                        let (x, y) = xy.split_once(',').unwrap();
                        points.push((x.parse().unwrap(), y.parse().unwrap()));
                    }
                } else if let (Some(x), Some(y)) = (attr(l, "cx"), attr(l, "cy")) {
                    points.push((x, y));
                } else if let (Some(x), Some(y)) = (attr(l, "x"), attr(l, "y")) {
                    points.push((x + 2.5, y + 2.5));
                } else if let Some(d) = l.split(r#" d="M"#).nth(1) {
                    let (x, y) = d.split(' ').next().unwrap().split_once(',').unwrap();
                    points.push((x.parse::<f64>().unwrap(), y.parse::<f64>().unwrap()));
                } else {
                    panic!("unexpected element in a panel: {l}");
                }
            }
            out.push(([f[0], f[1], f[2], f[3]], points));
        }
        out
    }

    fn nothing_outside_a_panel(svg: &str) {
        let panels = drawn(svg);
        assert_eq!(panels.len(), 3);
        for ([l, t, w, h], points) in panels {
            assert!(!points.is_empty());
            // Markers reach 3.2 px beyond their point.
            for (x, y) in points {
                assert!(
                    x >= l - 3.3 && x <= l + w + 3.3 && y >= t - 3.3 && y <= t + h + 3.3,
                    "({x}, {y}) outside {l} {t} {w} {h}"
                );
                assert!(y > 40.0, "a point in the title: ({x}, {y})");
            }
        }
    }

    /// Per axes group: the x labels' `(x, text)` and the number of y
    /// labels.
    fn labels(svg: &str) -> Vec<(Vec<(f64, String)>, usize)> {
        let mut out = Vec::new();
        let mut lines = svg.lines();
        while lines.by_ref().any(|l| l.starts_with(r#"<g class="axes""#)) {
            let group: Vec<&str> = lines.by_ref().take_while(|l| *l != "</g>").collect();
            let text = |l: &&&str| l.starts_with("<text");
            let inner = |l: &str| l.split('>').nth(1).unwrap().split('<').next().unwrap().to_string();
            let mut xs: Vec<(f64, String)> = group
                .iter()
                .filter(text)
                .filter(|l| l.contains(r#"text-anchor="middle""#))
                .map(|l| (attr(l, "x").unwrap(), inner(l)))
                .collect();
            xs.pop(); // the axis title
            let ys = group.iter().filter(text).filter(|l| l.contains(r#"text-anchor="end""#)).count();
            out.push((xs, ys));
        }
        out
    }

    fn few_labels_apart(svg: &str) {
        for (xs, ys) in labels(svg) {
            assert!(!xs.is_empty() && xs.len() <= MAX_TICKS && ys <= MAX_TICKS, "{xs:?} {ys}");
            for pair in xs.windows(2) {
                let room = (pair[0].1.chars().count() + pair[1].1.chars().count()) as f64 * CHAR_WIDTH / 2.0;
                assert!(pair[1].0 - pair[0].0 > room, "overprinted: {pair:?}");
            }
        }
    }

    /// Per panel, each series' (stroke, dash).
    fn styles(svg: &str) -> Vec<Vec<(String, String)>> {
        let text =
            |l: &str, a: &str| l.split(&format!(r#" {a}=""#)).nth(1).unwrap().split('"').next().unwrap().to_string();
        svg.split("data-frame=")
            .skip(1)
            .map(|panel| {
                panel
                    .lines()
                    .take_while(|l| *l != "</g>")
                    .filter(|l| l.starts_with(r#"<polyline class="series""#))
                    .map(|l| (text(l, "stroke"), text(l, "stroke-dasharray")))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn one_line_per_series_and_a_point_per_configuration() {
        let sw = sweep();
        assert_eq!(default_x(&sw), Some("n"));
        let out = svg(&sw, "n").unwrap();
        let count = |needle: &str| out.matches(needle).count();
        // Shared panel: 2 algorithms × 2 strategies; saving panel: × auto
        // only; threads panel: × 2 devices. Three n values each, few
        // enough for markers.
        assert_eq!(count(r#"<polyline class="series""#), 4 + 2 + 8);
        assert_eq!(count(r#"class="point""#), 3 * (4 + 2 + 8) + 4, "and one marker per line in the legend");
        assert!(out.contains("dirk algorithm=kvaerno5 a100 auto n=100: "));
        for class in ["panel-shared", "panel-saving", "panel-threads"] {
            assert!(out.contains(&format!(r#"<g class="{class}""#)), "{class}");
        }
        // The saving panel shows what the rows say.
        let r = &sw.rows[1];
        assert!(out.contains(&format!("dirk algorithm=kvaerno3 auto n=3: {}", r.versus_cubie.shared_percent_saved)));
        // Along the other axis instead: two columns, n in the labels.
        let by_alg = svg(&sw, "algorithm").unwrap();
        assert!(by_alg.contains("dirk n=30 h100 cubie algorithm=kvaerno3: "));
        nothing_outside_a_panel(&out);
        few_labels_apart(&out);
    }

    #[test]
    fn an_unswept_x_is_an_error_naming_it() {
        let e = svg(&sweep(), "precision").unwrap_err().to_string();
        assert!(e.contains("`precision`") && e.contains("swept: n, algorithm"), "{e}");
    }

    /// The acceptance sweep's shape (3 models × n = 3..=200 × 2 precisions
    /// × 2 cards × 2 strategies): under 1 MB, drawn line by line, every
    /// series styled apart, labels few and apart, nothing outside a panel.
    #[test]
    fn two_hundred_values_stay_readable() {
        let sw = synthetic(3, 3..=200, 2, 2);
        assert_eq!(sw.rows.len(), 4752);
        let out = svg(&sw, "n").unwrap();
        assert!(out.len() < 1 << 20, "{} bytes", out.len());
        assert!(!out.contains(r#"class="band""#));
        let per_panel = styles(&out);
        assert_eq!(per_panel.iter().map(Vec::len).collect::<Vec<_>>(), vec![12, 6, 24]);
        for panel in per_panel {
            let unique: HashSet<_> = panel.iter().collect();
            assert_eq!(unique.len(), panel.len(), "{panel:?}");
        }
        // 198 points a line: no markers but the legend's.
        assert_eq!(out.matches(r#"class="point""#).count(), 4);
        nothing_outside_a_panel(&out);
        few_labels_apart(&out);
        assert!(labels(&out)[0].0.iter().any(|(_, t)| t == "100"), "round ticks");
    }

    /// 100,000 rows: pooled into median lines and bands, well under 1 MB.
    #[test]
    fn a_hundred_thousand_rows_are_aggregated_under_a_megabyte() {
        let sw = synthetic(1, 1..=1250, 10, 4);
        assert_eq!(sw.rows.len(), 100_000);
        let out = svg(&sw, "n").unwrap();
        assert!(out.len() < 1 << 20, "{} bytes", out.len());
        // Per strategy (and card): 2 + 1 + 8 bands, each with its median.
        assert_eq!(out.matches(r#"class="band""#).count(), 11);
        assert_eq!(out.matches(r#"<polyline class="series""#).count(), 11);
        assert!(out.contains("10 combinations pooled"));
        nothing_outside_a_panel(&out);
        few_labels_apart(&out);
        for panel in styles(&out) {
            let unique: HashSet<_> = panel.iter().collect();
            assert_eq!(unique.len(), panel.len(), "{panel:?}");
        }
        // A categorical axis of many values thins its labels too.
        let by_other = svg(&synthetic(1, 1..=3, 300, 1), "other").unwrap();
        few_labels_apart(&by_other);
    }

    #[test]
    fn a_title_too_long_for_its_line_counts_the_models() {
        let few = svg(&synthetic(2, 1..=3, 1, 1), "n").unwrap();
        assert!(few.contains(">model0, model1 — shared memory"), "the models named in the title");
        let many = svg(&synthetic(12, 1..=3, 1, 1), "n").unwrap();
        let title = many.lines().find(|l| l.contains("font-weight=\"bold\"")).unwrap();
        assert!(title.contains(">12 models — shared memory"), "{title}");
        assert!(many.contains("models model0, model1, model2"), "the models listed below the title");
    }

    #[test]
    fn styles_stay_unique_for_many_series() {
        let mut seen = HashSet::new();
        for c in 0..2000 {
            for line in 0..40 {
                let st = Style::new(c, line, 0);
                assert!(seen.insert((st.colour, st.dash)), "series {c}, line {line}");
            }
        }
        // The first ten colours and eight dashes are the hand-picked ones.
        assert_eq!(Style::new(1, 1, 0).colour, COLOURS[1]);
        assert_eq!(Style::new(0, 0, 0).dash, "none");
    }
}
