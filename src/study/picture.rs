//! `plan --svg`'s picture: CuBIE's shared layout and the optimised shared
//! pool side by side, on one address scale and the model's phase names.
//!
//! ```text
//!  CuBIE 0.17.0: 5488 B       optimised (auto): 5424 B
//!   ^ +---------+              ^   +-----+
//!   | |  a  |b  |              |   |  b  |
//!   +-+---------+--> phases    +---+-----+-----> phases
//!     init predict …             init predict …
//! ```
//!
//! The optimised side is the problem the solver was given (one rectangle
//! per placement unit, a nested alias inside its target's) at the offsets it
//! chose; CuBIE's side is every shared buffer at CuBIE's offset, on the
//! optimised side's timeline (an alias CuBIE nests overlaps its target).
//! The command line and the Python binding both draw it from here.

use crate::compare::CubieSide;
use crate::error::Result;
use smemplan_core::plot::{self, Panel, PlotOptions};
use smemplan_core::{Buffer, Interval, Layout, Problem};
use smemplan_kernel::Pool;
use smemplan_plan::PlanReport;
use std::collections::BTreeMap;

/// The picture of CuBIE's side beside `report`'s shared pool (a plan with
/// no shared pool draws an empty side).
pub fn plan_svg(cubie: &CubieSide, report: &PlanReport) -> Result<String> {
    let (cubie_problem, cubie_layout) = cubie_shared(cubie)?;
    let empty = (Problem::new(Vec::new(), None)?, Layout::new(Vec::new()));
    let pool = report.pool(Pool::Shared);
    let (problem, layout) = pool.map_or((&empty.0, &empty.1), |p| (&p.problem, &p.layout));
    let left = format!(
        "CuBIE 0.17.0: {}",
        bytes(cubie.shared_bytes, cubie.local_bytes.saturating_add(cubie.persistent_local_bytes))
    );
    let local = report.local_bytes.saturating_add(report.persistent_local_bytes);
    let right = format!("optimised ({}): {}", report.strategy, bytes(report.shared_bytes, local));
    let panels = [
        Panel { heading: &left, problem: &cubie_problem, layout: &cubie_layout },
        Panel { heading: &right, problem, layout },
    ];
    let options = PlotOptions {
        title: format!("{} — shared memory per run, CuBIE's layout and the optimised one", report.source),
        // A bound of 0 (nothing left in shared memory) is a line on the axis.
        lower_bound: pool.map(|p| p.lower_bound).filter(|&b| b > 0),
        width: 1400.0,
        time_labels: report.timeline.iter().map(|t| phase_name(t).to_string()).collect(),
        ..PlotOptions::default()
    };
    Ok(plot::svg_panels(&panels, &options)?)
}

/// A panel's heading figures: the shared bytes drawn, and the local bytes
/// that are not (an all-local plan would otherwise be an unexplained empty
/// panel).
fn bytes(shared: u64, local: u64) -> String {
    match local {
        0 => format!("{shared} shared bytes per run"),
        _ => format!("{shared} shared bytes per run, {local} local bytes per thread (not drawn)"),
    }
}

/// The innermost phase of a timeline label (`kernel/loop:all > … >
/// kernel/loop/algorithm:stages.setup` → `stages.setup`): the nesting is
/// in the order of the instants, the name is what tells them apart.
pub fn phase_name(label: &str) -> &str {
    let last = label.rsplit(" > ").next().unwrap_or(label);
    last.rsplit(':').next().unwrap_or(last)
}

/// CuBIE's shared buffers as a problem and its offsets as a layout (a
/// buffer of no bytes or never live has nothing to draw; a name two
/// components share is qualified by the component).
fn cubie_shared(cubie: &CubieSide) -> Result<(Problem, Layout)> {
    let shared: Vec<_> = cubie
        .buffers
        .iter()
        .filter(|b| b.pool == Pool::Shared && b.bytes > 0 && !b.lifetime.is_empty())
        .filter_map(|b| Some((b, b.offset?)))
        .collect();
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (b, _) in &shared {
        *names.entry(b.name.as_str()).or_default() += 1;
    }
    let buffers = shared
        .iter()
        .map(|(b, _)| {
            let name = if names[b.name.as_str()] > 1 { format!("{}/{}", b.component, b.name) } else { b.name.clone() };
            let (start, end) = (b.lifetime[0][0], b.lifetime[b.lifetime.len() - 1][1]);
            let gaps = b.lifetime.windows(2).map(|w| Interval::new(w[0][1], w[1][0])).collect();
            Buffer::new(name, start, end, b.bytes).with_gaps(gaps)
        })
        .collect();
    Ok((Problem::new(buffers, None)?, Layout::new(shared.iter().map(|(_, o)| *o).collect())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_names_are_the_innermost_phase() {
        assert_eq!(phase_name("kernel/loop:all > kernel/loop:init"), "init");
        assert_eq!(phase_name("a:x > b/c:stages.setup"), "stages.setup");
        assert_eq!(phase_name("plain"), "plain");
    }
}
