//! Where a configuration's buffers live: the kernel model's own locations
//! (`--tiers fixed`), or per device the shared-or-local split of highest
//! estimated throughput (`--tiers auto`, through [`smemplan_perf::tiers::choose`]).
//!
//! The split depends on the card (shared bytes cost occupancy, and the
//! cards differ in shared memory and in access costs), so under `auto` each
//! optimised strategy chooses once per kernel instance *and device*, where
//! its fixed layout is planned once per instance. The choice depends on the
//! device only through its figures, so a device whose profile equals an
//! earlier one's but for its name and description (today `h200` and
//! `h100`) reuses that device's choice (`Choices`).
//!
//! ```text
//!  fixed layout (memo) ─────────────────────────┐
//!  tiers::choose ──▶ chosen, all shared, all local ─┴─▶ the fastest on this card
//! ```
//!
//! The search ranks splits by a fast strategy's layouts and then plans the
//! winner with the sweep's strategy, so the planned winner can come out a
//! hair slower than a baseline planned with that strategy. A row therefore
//! reports the fastest of the planned candidates: the chosen split, the
//! model's own locations (the very layout the `fixed` row reports), all
//! shared and all local, preferring them in that order on ties. That makes
//! `auto` never estimated slower than `fixed` by construction, not by the
//! search's luck.
//!
//! CuBIE's rows keep CuBIE's own locations under `auto`: CuBIE's layout
//! rules say where each buffer sits inside the pools its `loc` flags give,
//! not which pool it belongs in, so "CuBIE under a chosen split" would be a
//! layout CuBIE never makes. The `cubie` row stays what CuBIE launches, the
//! reference the optimised rows are measured against.

use super::{sweep_error, StrategyFigures, SweepSpec};
use crate::error::Result;
use serde::{Serialize, Serializer};
use smemplan_kernel::model::Kernel;
use smemplan_perf::occupancy::DeviceProfile;
use smemplan_perf::tiers::{self, TierOptions, TierPlan};
use smemplan_plan::{PlanInput, PlanOptions};
use std::fmt;

/// How the sweep places buffers between shared and local memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Tiers {
    /// Where the kernel model (or CuBIE) puts them.
    #[default]
    Fixed,
    /// Per optimised strategy and device, the split of highest estimated
    /// throughput.
    Auto,
}

impl Tiers {
    /// `fixed` or `auto`.
    pub fn parse(name: &str) -> Result<Tiers> {
        match name {
            "fixed" => Ok(Tiers::Fixed),
            "auto" => Ok(Tiers::Auto),
            _ => Err(sweep_error(format!("unknown tiers mode `{name}` (known: fixed, auto)"))),
        }
    }

    /// The name as [`Tiers::parse`] takes it.
    pub fn name(self) -> &'static str {
        match self {
            Tiers::Fixed => "fixed",
            Tiers::Auto => "auto",
        }
    }
}

impl fmt::Display for Tiers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Tiers {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// How much searching the `auto` placements took, summed over the sweep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TierSearch {
    /// Splits chosen: one per optimised strategy, kernel instance and device.
    pub choices: u64,
    /// Splits whose lower bound was computed.
    pub splits_bounded: u64,
    /// Shared pools solved by the searches.
    pub splits_solved: u64,
    /// Split solutions the searches reused.
    pub cache_hits: u64,
    /// Choices taken from an earlier device of the same kernel instance
    /// with the same figures (not searched, not counted in `choices`).
    pub reused: u64,
}

/// Both searches' counts together.
impl std::ops::Add for TierSearch {
    type Output = TierSearch;

    fn add(self, other: TierSearch) -> TierSearch {
        TierSearch {
            choices: self.choices + other.choices,
            splits_bounded: self.splits_bounded + other.splits_bounded,
            splits_solved: self.splits_solved + other.splits_solved,
            cache_hits: self.cache_hits + other.cache_hits,
            reused: self.reused + other.reused,
        }
    }
}

/// A placement the `auto` row may report: its layout and the groups it
/// keeps in local memory.
#[derive(Clone)]
pub(super) struct Candidate {
    pub layout: StrategyFigures,
    pub local_groups: Vec<String>,
}

/// The placements one `auto` row chooses from.
#[derive(Clone)]
pub(super) struct Candidates {
    /// The search's split.
    pub chosen: Candidate,
    /// The model's own locations: the layout the `fixed` row reports.
    pub own: Candidate,
    /// Every group in shared memory.
    pub all_shared: Candidate,
    /// Every group in local memory.
    pub all_local: Candidate,
}

/// One kernel instance's choices so far, by strategy and device, and the
/// searches' effort.
#[derive(Default)]
pub(super) struct Choices<'a> {
    made: Vec<(&'a str, &'a DeviceProfile, Candidates)>,
    pub search: TierSearch,
}

impl<'a> Choices<'a> {
    /// [`candidates`] for `strategy` on `device`, or the candidates of an
    /// earlier device with the same figures.
    pub fn candidates(
        &mut self,
        spec: &SweepSpec,
        instance: &Kernel,
        device: &'a DeviceProfile,
        strategy: &'a str,
        fixed: &StrategyFigures,
    ) -> Result<Candidates> {
        if let Some((_, _, c)) = self.made.iter().find(|(s, d, _)| *s == strategy && same_figures(d, device)) {
            self.search.reused += 1;
            return Ok(c.clone());
        }
        let (c, search) = candidates(spec, instance, &PlanInput::try_from(instance)?, device, strategy, fixed)?;
        self.search = self.search + search;
        self.made.push((strategy, device, c.clone()));
        Ok(c)
    }
}

/// Whether two profiles differ at most in name and description: every
/// figure the residency rule and the estimate read is in the rest.
fn same_figures(a: &DeviceProfile, b: &DeviceProfile) -> bool {
    let bare = |d: &DeviceProfile| DeviceProfile { name: String::new(), description: String::new(), ..d.clone() };
    bare(a) == bare(b)
}

/// The candidates for one optimised strategy's `auto` row on `device`.
fn candidates(
    spec: &SweepSpec,
    instance: &Kernel,
    input: &PlanInput,
    device: &DeviceProfile,
    strategy: &str,
    fixed: &StrategyFigures,
) -> Result<(Candidates, TierSearch)> {
    let options = TierOptions {
        // The chosen split and the three baselines are four plans: they
        // share the time one fixed plan may take, as under `plan --tiers`.
        plan: PlanOptions {
            strategy: strategy.to_string(),
            time_limit: Some(spec.time_limit / 4),
            threads: 1,
            ..PlanOptions::default()
        },
        // The split search gets the configuration's whole limit, as the
        // plans together do: a quarter would cut the search on a loaded
        // machine where a default sweep has always finished it.
        search_time_limit: Some(spec.time_limit),
        registers_per_thread: spec.registers_per_thread,
        runs: spec.runs,
        cubie_requested: spec.requested_block_size,
        accesses: instance.accesses.clone(),
        ..TierOptions::default()
    };
    let choice = tiers::choose(input, &instance.table, device, &options)?;
    let local = |p: &TierPlan| -> Vec<String> {
        choice.groups.iter().filter(|g| !p.shared_groups.contains(&g.name)).map(|g| g.name.clone()).collect()
    };
    let candidate = |p: &TierPlan| -> Result<Candidate> {
        Ok(Candidate {
            layout: StrategyFigures::of(instance, &p.report, p.padded_shared_bytes)?,
            local_groups: local(p),
        })
    };
    let candidates = Candidates {
        chosen: candidate(&choice.chosen)?,
        // The sweep's own plan of these locations (through its memo, with
        // the full time limit), so that the row compares with exactly what
        // `fixed` reports.
        own: Candidate { layout: fixed.clone(), local_groups: local(&choice.own_locations) },
        all_shared: candidate(&choice.all_shared)?,
        all_local: candidate(&choice.all_local)?,
    };
    let search = TierSearch {
        choices: 1,
        splits_bounded: choice.bounded as u64,
        splits_solved: choice.solved as u64,
        cache_hits: choice.cache_hits as u64,
        reused: 0,
    };
    Ok((candidates, search))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_name_themselves() {
        for t in [Tiers::Fixed, Tiers::Auto] {
            assert_eq!(Tiers::parse(t.name()).unwrap(), t);
        }
        assert_eq!(Tiers::default(), Tiers::Fixed);
        let e = Tiers::parse("both").unwrap_err().to_string();
        assert!(e.contains("unknown tiers mode `both` (known: fixed, auto)"), "{e}");
    }

    #[test]
    fn profiles_match_on_figures_not_names() {
        let h100 = DeviceProfile::named("h100").unwrap();
        let renamed = DeviceProfile { name: "x".into(), description: "y".into(), ..h100.clone() };
        assert!(same_figures(&h100, &renamed));
        let mut slower = h100.clone();
        slower.throughput.local_access_ns *= 2.0;
        assert!(!same_figures(&h100, &slower));
        assert!(!same_figures(&h100, &DeviceProfile::named("a100").unwrap()));
    }
}
