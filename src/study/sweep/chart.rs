//! A sweep as an SVG picture: two panels over one swept parameter.
//!
//! ```text
//!  shared bytes per thread            one line per series: the other swept
//!    ^      ____----- cubie           parameters (and the model): colour =
//!    | __---   ___--- auto            strategy, dash = combination of the
//!                                     other values, marker = device
//!    +-----------------------> n
//!  resident threads per SM            the same series once per device
//!    ^ --.__
//!    |      `--.____
//!    +-----------------------> n
//! ```
//!
//! The x axis is categorical: the swept values in the order given, evenly
//! spaced (system sizes like 3, 10, 30, 100, 200 stay readable). Shared
//! bytes do not depend on the device, so the top panel draws each series
//! once; the bottom panel draws it per device. Every point carries a
//! `<title>` tooltip naming its configuration. Same conventions as
//! [`smemplan_core::plot`], whose [`Frame`] draws each panel's axes: pure
//! text out, ids escaped, `f64` geometry.

use super::{sweep_error, Row, Sweep};
use crate::error::Result;
use smemplan_core::plot::{escape, ticks, Axes, Frame, XScale, CHAR_WIDTH, FONT};
use std::fmt::Write as _;

const WIDTH: f64 = 1000.0;
const PANEL_HEIGHT: f64 = 260.0;
const MARGIN_TOP: f64 = 58.0;
const GAP: f64 = 56.0;
const MARGIN_BOTTOM: f64 = 40.0;
const LEGEND_ROW: f64 = 16.0;
/// Legend entries drawn before the rest are summarised as a count.
const LEGEND_MAX: usize = 24;
/// Headroom above the highest point, as a fraction of it.
const HEADROOM: f64 = 0.08;

/// Strategy colours: CuBIE red and the default strategy blue as in
/// [`smemplan_core::plot`]'s capacity and lower-bound lines, then a few more.
const COLOURS: [&str; 6] = ["#c62828", "#1f5fbf", "#2e7d32", "#8e24aa", "#ef6c00", "#00838f"];
const DASHES: [&str; 6] = ["none", "6 3", "2 3", "10 3 2 3", "1 2", "12 6"];

/// The swept parameter a picture uses when none is named: the first one
/// with more than one value, else the first.
pub fn default_x(sweep: &Sweep) -> Option<&str> {
    let varied = |a: &&String| {
        let first = sweep.rows.first().and_then(|r| r.params.get(a.as_str()));
        sweep.rows.iter().any(|r| r.params.get(a.as_str()) != first)
    };
    sweep.axes.iter().find(varied).or(sweep.axes.first()).map(String::as_str)
}

/// One line: what it shows and its points `(x position, y, tooltip)`.
struct Series {
    /// The model and the other swept parameters (`dirk precision=f64`).
    combo: String,
    strategy: String,
    /// Empty in the shared-bytes panel.
    device: String,
    points: Vec<(usize, u64, String)>,
}

/// First-seen order of `key` over `rows`.
fn distinct<'a>(rows: &'a [Row], key: impl Fn(&'a Row) -> String) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        let k = key(r);
        if !out.contains(&k) {
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

/// Groups the rows into lines along `x` (one per combination, strategy and,
/// with `per_device`, device), in grid order.
fn series(sweep: &Sweep, x: &str, values: &[String], per_device: bool, y: fn(&Row) -> u64) -> Vec<Series> {
    let mut lines: Vec<Series> = Vec::new();
    for r in &sweep.rows {
        let Some(pos) = r.params.get(x).and_then(|v| values.iter().position(|w| w == v)) else {
            continue;
        };
        let (c, device) = (combo(sweep, r, x), if per_device { r.device.clone() } else { String::new() });
        let k = match lines.iter().position(|l| l.combo == c && l.strategy == r.strategy && l.device == device) {
            Some(k) => k,
            None => {
                lines.push(Series { combo: c, strategy: r.strategy.clone(), device, points: Vec::new() });
                lines.len() - 1
            }
        };
        let line = &mut lines[k];
        if !line.points.iter().any(|p| p.0 == pos) {
            let tip = [line.combo.as_str(), line.device.as_str(), line.strategy.as_str()]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            line.points.push((pos, y(r), format!("{tip} {x}={}: {}", values[pos], y(r))));
        }
    }
    for l in &mut lines {
        l.points.sort_by_key(|p| p.0);
    }
    lines
}

/// A point's marker: a circle, square or diamond per device.
fn marker(s: &mut String, shape: usize, cx: f64, cy: f64, colour: &str, tip: &str) {
    let tip = escape(tip);
    let _ = match shape % 3 {
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
        _ => writeln!(
            s,
            r#"<path class="point" d="M{cx:.2},{:.2} l3.2,3.2 l-3.2,3.2 l-3.2,-3.2 z" fill="{colour}" stroke="none"><title>{tip}</title></path>"#,
            cy - 3.2
        ),
    };
}

/// Draws `sweep` along swept parameter `x` (see the module docs).
pub fn svg(sweep: &Sweep, x: &str) -> Result<String> {
    if !sweep.axes.iter().any(|a| a == x) {
        return Err(sweep_error(format!(
            "cannot draw along `{x}`: it is not swept (swept: {})",
            if sweep.axes.is_empty() { "nothing".to_string() } else { sweep.axes.join(", ") }
        )));
    }
    let values = distinct(&sweep.rows, |r| r.params.get(x).cloned().unwrap_or_default());
    let strategies = distinct(&sweep.rows, |r| r.strategy.clone());
    let devices = distinct(&sweep.rows, |r| r.device.clone());
    let combos = distinct(&sweep.rows, |r| combo(sweep, r, x));
    let models = distinct(&sweep.rows, |r| r.model.clone());
    let colour = |strategy: &str| COLOURS[strategies.iter().position(|t| t == strategy).unwrap_or(0) % COLOURS.len()];
    let dash = |c: &str| DASHES[combos.iter().position(|t| t == c).unwrap_or(0) % DASHES.len()];
    let shape = |d: &str| devices.iter().position(|t| t == d).unwrap_or(0);

    let shown = combos.len().min(LEGEND_MAX);
    let legend_rows = 1 + shown + usize::from(combos.len() > LEGEND_MAX);
    let legend_top = MARGIN_TOP + 2.0 * PANEL_HEIGHT + GAP + MARGIN_BOTTOM;
    let height = legend_top + legend_rows as f64 * LEGEND_ROW + 16.0;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="{FONT}">"#
    );
    let _ = writeln!(s, r#"<rect width="{WIDTH}" height="{height}" fill="white"/>"#);
    let title = format!("{} — shared memory and residency against {x}", models.join(", "));
    let subtitle = format!(
        "{} configurations · strategies {} · devices {} · {} on the Pareto front",
        sweep.rows.len(),
        strategies.join(", "),
        devices.join(", "),
        sweep.pareto_front.len()
    );
    let _ = writeln!(s, r#"<text x="70" y="18" font-size="14" font-weight="bold">{}</text>"#, escape(&title));
    let _ = writeln!(s, r##"<text x="70" y="34" fill="#444">{}</text>"##, escape(&subtitle));

    let panels = [
        (series(sweep, x, &values, false, |r| r.shared_bytes), "shared bytes per thread", "panel-shared"),
        (
            series(sweep, x, &values, true, |r| r.resident_threads),
            "resident threads per SM (best block size)",
            "panel-threads",
        ),
    ];
    for (panel, (lines, what, class)) in panels.iter().enumerate() {
        let top = MARGIN_TOP + panel as f64 * (PANEL_HEIGHT + GAP);
        let y_max = lines.iter().flat_map(|l| l.points.iter().map(|p| p.1)).max().unwrap_or(0).max(1);
        let y_ticks = ticks(0, (y_max as f64 * (1.0 + HEADROOM)) as u64);
        let label_chars = y_ticks.iter().map(|t| t.to_string().len()).max().unwrap_or(1);
        let left = (label_chars as f64 * CHAR_WIDTH + 18.0).max(70.0);
        let frame = Frame {
            left,
            top,
            width: WIDTH - left - 24.0,
            height: PANEL_HEIGHT,
            x_scale: XScale::Columns(values.len()),
            y_max: y_ticks.last().copied().unwrap_or(1).max(1) as f64,
        };
        let x_ticks: Vec<(u64, String)> = values.iter().enumerate().map(|(i, v)| (i as u64, v.clone())).collect();
        frame.axes(
            &mut s,
            &Axes { x_ticks: &x_ticks, y_ticks: &y_ticks, x_title: x, x_title_below: 32.0, y_title: what },
        );
        let _ = writeln!(s, r#"<g class="{class}" fill="none" stroke-width="1.6">"#);
        for line in lines {
            let c = colour(&line.strategy);
            let path: Vec<String> =
                line.points.iter().map(|p| format!("{:.2},{:.2}", frame.x(p.0 as u64), frame.y(p.1 as f64))).collect();
            let label = [line.combo.as_str(), line.device.as_str(), line.strategy.as_str()]
                .iter()
                .filter(|t| !t.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            let _ = writeln!(
                s,
                r#"<polyline class="series" points="{}" stroke="{c}" stroke-dasharray="{}"><title>{}</title></polyline>"#,
                path.join(" "),
                dash(&line.combo),
                escape(&label)
            );
            for p in &line.points {
                marker(
                    &mut s,
                    if line.device.is_empty() { 0 } else { shape(&line.device) },
                    frame.x(p.0 as u64),
                    frame.y(p.1 as f64),
                    c,
                    &p.2,
                );
            }
        }
        s.push_str("</g>\n");
    }

    // Legend: strategies (colour) and devices (marker) on one row, then one
    // row per combination (dash).
    let _ = writeln!(s, r#"<g class="legend">"#);
    let mut cursor = 70.0;
    for st in &strategies {
        let c = colour(st);
        let _ = writeln!(
            s,
            r#"<line x1="{cursor}" y1="{legend_top}" x2="{:.2}" y2="{legend_top}" stroke="{c}" stroke-width="3"/>"#,
            cursor + 24.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.2}" y="{legend_top}" dominant-baseline="central">{}</text>"#,
            cursor + 30.0,
            escape(st)
        );
        cursor += 40.0 + st.chars().count() as f64 * CHAR_WIDTH;
    }
    for d in &devices {
        marker(&mut s, shape(d), cursor + 4.0, legend_top, "#444", d);
        let _ = writeln!(
            s,
            r#"<text x="{:.2}" y="{legend_top}" dominant-baseline="central">{}</text>"#,
            cursor + 12.0,
            escape(d)
        );
        cursor += 24.0 + d.chars().count() as f64 * CHAR_WIDTH;
    }
    for (i, c) in combos.iter().take(LEGEND_MAX).enumerate() {
        let y = legend_top + (i + 1) as f64 * LEGEND_ROW;
        let _ = writeln!(
            s,
            r##"<line x1="70" y1="{y:.2}" x2="100" y2="{y:.2}" stroke="#444" stroke-width="1.6" stroke-dasharray="{}"/>"##,
            dash(c)
        );
        let _ = writeln!(s, r#"<text x="108" y="{y:.2}" dominant-baseline="central">{}</text>"#, escape(c));
    }
    if combos.len() > LEGEND_MAX {
        let y = legend_top + (LEGEND_MAX + 1) as f64 * LEGEND_ROW;
        let _ = writeln!(
            s,
            r##"<text x="70" y="{y:.2}" dominant-baseline="central" fill="#444">… and {} more (tooltips name every line)</text>"##,
            combos.len() - LEGEND_MAX
        );
    }
    s.push_str("</g>\n</svg>\n");
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::{run, Axis, SweepSpec};
    use smemplan_kernel::model;
    use smemplan_perf::occupancy::DeviceProfile;

    fn sweep() -> Sweep {
        let axes = ["n=3,30,100", "algorithm=kvaerno3,kvaerno5"].iter().map(|a| Axis::parse(a).unwrap()).collect();
        let mut spec = SweepSpec::new(vec![model::builtin("dirk").unwrap()], axes).unwrap();
        spec.devices.push(DeviceProfile::named("a100").unwrap());
        run(&spec, &|_| {}).unwrap()
    }

    #[test]
    fn one_line_per_series_and_a_point_per_configuration() {
        let sw = sweep();
        assert_eq!(default_x(&sw), Some("n"));
        let out = svg(&sw, "n").unwrap();
        let count = |needle: &str| out.matches(needle).count();
        // Shared panel: 2 algorithms × 2 strategies; threads panel: × 2
        // devices. Three n values each.
        assert_eq!(count(r#"<polyline class="series""#), 4 + 8);
        assert_eq!(count(r#"class="point""#), 3 * (4 + 8) + 2, "and one marker per device in the legend");
        assert!(out.contains("dirk algorithm=kvaerno5 a100 auto n=100: "));
        assert!(out.contains(r#"<g class="panel-shared""#) && out.contains(r#"<g class="panel-threads""#));
        // Along the other axis instead: two columns, n in the labels.
        let by_alg = svg(&sw, "algorithm").unwrap();
        assert!(by_alg.contains("dirk n=30 h100 cubie algorithm=kvaerno3: "));
    }

    #[test]
    fn an_unswept_x_is_an_error_naming_it() {
        let e = svg(&sweep(), "precision").unwrap_err().to_string();
        assert!(e.contains("`precision`") && e.contains("swept: n, algorithm"), "{e}");
    }
}
