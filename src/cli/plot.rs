//! `smemplan plot`: draw a solution as SVG.
//!
//! The solution is checked first and every violation printed, as `check`
//! does. A layout that gives each buffer exactly one offset is drawn even
//! when it is invalid (rectangles are translucent, so overlaps show); the
//! exit status is then 1. A solution that misses, repeats or invents
//! buffers cannot be drawn: nothing is written.

use super::check::{load_and_check, Checked};
use super::output::{Inputs, Staged};
use super::Verdict;
use anyhow::{bail, Result};
use smemplan::core::plot::{self, PlotOptions};
use smemplan::{core::bound, Layout, Problem};
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `smemplan plot`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The instance, in MiniMalloc CSV (`-`: standard input).
    #[arg(value_name = "INSTANCE.csv")]
    pub instance: PathBuf,
    /// The solution: CSV with `id` and `offset` columns.
    #[arg(value_name = "SOLUTION.csv")]
    pub solution: PathBuf,
    /// Where to write the picture (replaced atomically).
    #[arg(long, value_name = "OUT.svg")]
    pub svg: PathBuf,
    /// Draw a line at this capacity, in bytes (and check against it); one
    /// far above the layout is marked at the top edge instead, so the
    /// buffers keep the picture's height.
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub capacity: Option<u64>,
}

/// Runs `smemplan plot`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let mut staged =
        Staged::reserve(&[("--svg", &args.svg)], &Inputs::new([args.instance.as_path(), args.solution.as_path()]))?;
    let Checked { problem, offsets, report } = load_and_check(&args.instance, &args.solution, args.capacity, out)?;
    let Some(layout) = one_offset_each(&problem, &offsets) else {
        bail!(
            "`{}` does not give exactly one offset to each buffer of `{}`",
            args.solution.display(),
            args.instance.display()
        );
    };
    let lower_bound = bound::lower_bound(&problem).bytes;
    let options = PlotOptions {
        title: args.solution.display().to_string(),
        lower_bound: Some(lower_bound),
        capacity: args.capacity,
        ..PlotOptions::default()
    };
    staged.write(&args.svg, &plot::svg(&problem, &layout, &options)?)?;
    staged.commit()?;
    writeln!(out, "picture written to {}", args.svg.display())?;
    let top = layout.peak(&problem).max(lower_bound).max(1);
    if let Some(cap) = args.capacity.filter(|&c| c > top.saturating_mul(plot::FLATTEN)) {
        writeln!(
            out,
            "note: capacity {cap} is more than {}× the layout's peak and lower bound: marked at the picture's top edge, not drawn to scale",
            plot::FLATTEN
        )?;
    }
    Ok(if report.is_valid() { Verdict::Done } else { Verdict::Rejected })
}

/// The layout, when every buffer of `problem` has exactly one row and no
/// row names an unknown buffer.
fn one_offset_each(problem: &Problem, offsets: &[(String, u64, usize)]) -> Option<Layout> {
    let index: HashMap<&str, usize> = problem.buffers().iter().enumerate().map(|(i, b)| (b.name.as_str(), i)).collect();
    let mut placed: Vec<Option<u64>> = vec![None; problem.len()];
    for (id, offset, _) in offsets {
        let slot = &mut placed[*index.get(id.as_str())?];
        if slot.replace(*offset).is_some() {
            return None;
        }
    }
    placed.into_iter().collect::<Option<Vec<u64>>>().map(Layout::new)
}
