//! `smemplan plan --tiers auto`: the shared-or-local choice per buffer group
//! ([`smemplan::perf::tiers`]) as a section of the plan report.

use super::output::table;
use anyhow::Result;
use smemplan::perf::tiers::{TierChoice, TierPlan};
use std::io::Write;

/// What an estimated rate reads as where the estimate charges no memory
/// time (every access held in registers: the rate is infinite).
pub(super) const NO_MEMORY_TIME: &str = "no memory time";

/// The section as text.
pub fn write_text(out: &mut dyn Write, s: &TierChoice) -> Result<()> {
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
    let registers = placements.iter().any(|(_, p)| p.register_bytes > 0);
    let mut header = vec!["placement", "shared B/run", "stride", "local B/thread"];
    if registers {
        header.push("in registers");
    }
    header.extend(["block", "est. runs/s", "vs chosen"]);
    let mut rows = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
    for (name, p) in placements {
        let mut row = vec![
            name.to_string(),
            p.shared_bytes.to_string(),
            p.padded_shared_bytes.to_string(),
            p.local_bytes.to_string(),
        ];
        if registers {
            row.push(p.register_bytes.to_string());
        }
        row.extend([
            p.block_size.map_or("-".into(), |b| b.to_string()),
            if p.runs_per_second.is_finite() { format!("{:.4e}", p.runs_per_second) } else { NO_MEMORY_TIME.into() },
            format!("{:.3}", p.throughput_ratio),
        ]);
        rows.push(row);
    }
    let mut right = vec![true; rows[0].len()];
    right[0] = false;
    out.write_all(table(&rows, &right).as_bytes())?;
    let mut rows = vec![["group", "bytes", "accesses", "chosen", "model's"].map(String::from).to_vec()];
    for g in &s.groups {
        let place = |p: &TierPlan| if p.shared_groups.contains(&g.name) { "shared" } else { "local" };
        rows.push(vec![
            g.name.clone(),
            g.bytes.to_string(),
            format!("{:.0}", g.accesses),
            place(&s.chosen).to_string(),
            place(&s.own_locations).to_string(),
        ]);
    }
    out.write_all(table(&rows, &[false, true, true, false, false]).as_bytes())?;
    Ok(())
}
