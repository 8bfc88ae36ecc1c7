//! `smemplan plan --tiers auto`: the shared-or-local choice per buffer group
//! ([`smemplan::perf::tiers`]) as a section of the plan report.

use super::output::table;
use anyhow::Result;
use serde::Serialize;
use smemplan::perf::tiers::{Group, TierChoice, TierPlan};
use std::io::Write;

/// One placement in the JSON `tiers` section.
#[derive(Serialize)]
struct PlacementJson<'a> {
    #[serde(flatten)]
    plan: &'a TierPlan,
    /// Best block size under the estimate (`null`: nothing launches).
    block_size: Option<u64>,
    /// Estimated throughput ÷ the chosen split's.
    throughput_ratio: f64,
}

/// The JSON `tiers` section.
#[derive(Serialize)]
pub struct Section<'a> {
    groups: &'a [Group],
    chosen: PlacementJson<'a>,
    own_locations: PlacementJson<'a>,
    all_shared: PlacementJson<'a>,
    all_local: PlacementJson<'a>,
    exhaustive: bool,
    bounded: usize,
    solved: usize,
    cache_hits: usize,
    local_hit_per_shared: f64,
    local_hit_from_model: bool,
}

/// What an estimated rate reads as where the estimate charges no memory
/// time (every access held in registers: the rate is infinite).
pub(super) const NO_MEMORY_TIME: &str = "no memory time";

/// Estimated rate `a` ÷ rate `b` (`None` when `b` is 0). A rate without
/// memory time is infinite: as fast as another such (1), infinitely faster
/// than the rest, and a finite one is 0 of it.
pub(super) fn rate_ratio(a: f64, b: f64) -> Option<f64> {
    match (a.is_finite(), b.is_finite()) {
        (false, false) => Some(1.0),
        _ if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn placement<'a>(plan: &'a TierPlan, chosen: &TierPlan) -> PlacementJson<'a> {
    let ratio = rate_ratio(plan.runs_per_second, chosen.runs_per_second).unwrap_or(0.0);
    PlacementJson { plan, block_size: plan.best.map(|e| e.occupancy.block_size), throughput_ratio: ratio }
}

/// The section for `choice`.
pub fn section(choice: &TierChoice) -> Section<'_> {
    Section {
        groups: &choice.groups,
        chosen: placement(&choice.chosen, &choice.chosen),
        own_locations: placement(&choice.own_locations, &choice.chosen),
        all_shared: placement(&choice.all_shared, &choice.chosen),
        all_local: placement(&choice.all_local, &choice.chosen),
        exhaustive: choice.exhaustive,
        bounded: choice.bounded,
        solved: choice.solved,
        cache_hits: choice.cache_hits,
        local_hit_per_shared: choice.local_hit_per_shared,
        local_hit_from_model: choice.local_hit_from_model,
    }
}

/// The section as text.
pub fn write_text(out: &mut dyn Write, s: &Section) -> Result<()> {
    writeln!(out)?;
    let how = if s.exhaustive { "every split bounded" } else { "greedy descent" };
    writeln!(
        out,
        "shared or local (--tiers auto): {} groups, {how}, {} splits bounded, {} shared pools solved",
        s.groups.len(),
        s.bounded,
        s.solved
    )?;
    // The device's figure is the default and goes unsaid; a model's own
    // changes every local placement's estimate, so the reader is told.
    if s.local_hit_from_model {
        writeln!(
            out,
            "local cache hits cost {} shared accesses each (the model's `local_hit_per_shared`)",
            s.local_hit_per_shared
        )?;
    }
    let placements = [
        ("chosen", &s.chosen),
        ("model's locations", &s.own_locations),
        ("all shared", &s.all_shared),
        ("all local", &s.all_local),
    ];
    // The register column only where the model holds some local bytes there.
    let registers = placements.iter().any(|(_, p)| p.plan.register_bytes > 0);
    let mut header = vec!["placement", "shared B/run", "stride", "local B/thread"];
    if registers {
        header.push("in registers");
    }
    header.extend(["block", "est. runs/s", "vs chosen"]);
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for (name, p) in placements {
        let mut row = vec![
            name.to_string(),
            p.plan.shared_bytes.to_string(),
            p.plan.padded_shared_bytes.to_string(),
            p.plan.local_bytes.to_string(),
        ];
        if registers {
            row.push(p.plan.register_bytes.to_string());
        }
        row.extend([
            p.block_size.map_or("-".into(), |b| b.to_string()),
            if p.plan.runs_per_second.is_finite() {
                format!("{:.4e}", p.plan.runs_per_second)
            } else {
                NO_MEMORY_TIME.into()
            },
            format!("{:.3}", p.throughput_ratio),
        ]);
        rows.push(row);
    }
    let mut right = vec![true; rows[0].len()];
    right[0] = false;
    out.write_all(table(&rows, &right).as_bytes())?;
    let mut rows = vec![["group", "bytes", "accesses", "chosen", "model's"].map(String::from).to_vec()];
    for g in s.groups {
        let place = |p: &TierPlan| if p.shared_groups.contains(&g.name) { "shared" } else { "local" };
        rows.push(vec![
            g.name.clone(),
            g.bytes.to_string(),
            format!("{:.0}", g.accesses),
            place(s.chosen.plan).to_string(),
            place(s.own_locations.plan).to_string(),
        ]);
    }
    out.write_all(table(&rows, &[false, true, true, false, false]).as_bytes())?;
    Ok(())
}
