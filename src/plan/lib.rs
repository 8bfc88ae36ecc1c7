//! # smemplan-plan
//!
//! The optimised side of `plan`: declarations + lifetimes → one
//! [`Problem`] per memory pool → a solver → a placement for every buffer.
//!
//! # Pools
//! * **shared**: per-run bytes of the block's dynamic shared memory;
//! * **local**: one per-thread local array, its buffers aliased by lifetime
//!   (CuBIE instead declares one array per buffer);
//! * **persistent_local**: buffers that live for the whole run and stay in
//!   local memory (a pool of its own: nothing in it can alias).
//!
//! A buffer goes to its *effective* pool: for a CuBIE dump, the pool CuBIE
//! actually used (so comparisons are like for like); for declarations, the
//! pool CuBIE's rules give ([`PlanInput::from_decls`]).
//!
//! # Aliases
//! An alias hint asks to share storage with a target (a buffer, or a child's
//! `{child}_shared` region). Its outcome is decided from the lifetimes:
//! * disjoint lifetimes: safe; the solver shares storage wherever it pays;
//! * overlapping lifetimes, hint declared `nested` by the component's class,
//!   both in one pool: the buffer becomes a sub-allocation inside its target
//!   (one unit, lifetime = union) at CuBIE's offset, or at the target's start
//!   when CuBIE did not apply the hint but the buffer fits there, so the
//!   layout is never worse than CuBIE's for that pair;
//! * otherwise: refused, and reported naming both buffers; the buffer keeps
//!   its own storage.
//!
//! ```text
//!  unit "accumulator" (one problem buffer, live over the union):
//!  offset 0            n·w               3n·w
//!         [ stage_base ]
//!         [ accumulator rows 0..2                 ]
//! ```
//!
//! Zero-size buffers take no space (no offset). Offsets respect each
//! buffer's element alignment (its item size), optionally raised to 16.
//!
//! One idea per file: [`input`] (declarations or a dump, in their effective
//! pools), [`alias`] (judging each alias hint from the lifetimes), `units`
//! (buffers grouped into placement units), [`report`] (what a plan says);
//! this file runs them. [`allocator`] turns a plan into host views and the
//! generated CUDA header. [`cubie`] is the other side of every comparison:
//! CuBIE's own layout of the same kernel as a report of the same shape.
#![deny(missing_docs)]

pub mod alias;
pub mod allocator;
pub mod cubie;
pub mod error;
pub mod input;
pub mod report;
mod units;

pub use alias::{AliasOutcome, AliasVerdict};
pub use cubie::{cubie_kernel, cubie_layout, CubieLayout};
pub use input::{PlanBuffer, PlanInput};
pub use report::{PlacedBuffer, PlanReport, PoolReport};
pub use smemplan_kernel::Pool;

use alias::judge_aliases;
pub use error::{Error, Result};
use smemplan_core::problem::{Layout, Problem};
use smemplan_kernel::lifetimes::{self, LifetimeTable};
use smemplan_kernel::model::Kernel;
use smemplan_kernel::registry::dump::Dump;
use smemplan_kernel::registry::Registry;
use smemplan_kernel::BufferDecl;
use smemplan_solve::{self as solve, SolveOptions, Solver};
use std::time::{Duration, Instant};
use units::build_units;

/// How [`plan`] runs.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Strategy name (see [`smemplan_solve::strategies::STRATEGIES`]).
    pub strategy: String,
    /// Align every offset to 16 bytes (vector loads) instead of the item size.
    pub align16: bool,
    /// Total time the solver may spend (all pools together); the default
    /// is [`DEFAULT_TIME_LIMIT`], as on the command line.
    pub time_limit: Option<Duration>,
    /// Worker threads for solvers that race searches (0 = default).
    pub threads: usize,
}

/// The time a plan may take unless told otherwise: the solver's default
/// time limit, here for all pools together.
pub const DEFAULT_TIME_LIMIT: Duration = solve::DEFAULT_TIME_LIMIT;

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            strategy: smemplan_solve::strategies::DEFAULT_STRATEGY.to_string(),
            align16: false,
            time_limit: Some(DEFAULT_TIME_LIMIT),
            threads: 0,
        }
    }
}

/// Plans `input`: lifetimes from `table`, one problem per pool, solved by
/// `options.strategy`, every layout checked against the derived lifetimes
/// (a layout the checker rejects is [`smemplan_solve::Error::Rejected`],
/// never [`smemplan_solve::Error::Unsupported`], which callers read as
/// "declined").
pub fn plan(input: &PlanInput, table: &LifetimeTable, options: &PlanOptions) -> Result<PlanReport> {
    plan_with(input, table, options, &*smemplan_solve::strategies::strategy(&options.strategy)?)
}

/// [`plan`] with a solver object instead of `options.strategy`'s (e.g. a
/// [`solve::memo::Memo`] shared by many plans); the report still names
/// `options.strategy`.
pub fn plan_with(
    input: &PlanInput,
    table: &LifetimeTable,
    options: &PlanOptions,
    solver: &dyn Solver,
) -> Result<PlanReport> {
    let started = Instant::now();
    let decls: Vec<BufferDecl> = input.buffers.iter().map(|b| b.decl.clone()).collect();
    let lifetimes = lifetimes::derive(&input.components, &decls, table)?;

    let (outcomes, nested) = judge_aliases(input, table, &lifetimes)?;
    let units = build_units(input, &lifetimes, &nested, options.align16)?;
    let mut offsets: Vec<Option<u64>> = vec![None; input.buffers.len()];
    let mut inside: Vec<Option<String>> = vec![None; input.buffers.len()];
    for m in &nested {
        inside[m.buffer] = Some(input.buffers[m.target].full_name());
    }
    // A limit beyond what the clock can count is no limit.
    let deadline = options.time_limit.and_then(|d| started.checked_add(d));
    let mut pools = Vec::new();
    for pool in Pool::ALL {
        let ids: Vec<usize> = (0..units.len()).filter(|&u| units[u].pool == pool && units[u].bytes > 0).collect();
        let problem = Problem::new(
            ids.iter()
                .map(|&u| {
                    let unit = &units[u];
                    lifetimes::buffer_on(
                        input.buffers[unit.members[0].0].full_name(),
                        unit.bytes,
                        unit.alignment,
                        &unit.segments,
                    )
                })
                .collect(),
            None,
        )?;
        let solve_options =
            SolveOptions { deadline, time_limit: None, threads: options.threads, ..SolveOptions::default() };
        let (peak, lower_bound, optimal, seconds, layout) = if problem.is_empty() {
            (0, 0, true, 0.0, Layout::default())
        } else {
            let solution = solve::run(solver, &problem, &solve_options)?;
            solve::verify(&problem, &solution).map_err(|r| solve::Error::Rejected {
                strategy: solver.name().to_string(),
                reason: format!("{pool} pool: {r}"),
            })?;
            for (k, &u) in ids.iter().enumerate() {
                let base = solution.layout.offsets[k];
                for &(m, within) in &units[u].members {
                    offsets[m] = Some(smemplan_core::error::add(base, within, || "member offset".into())?);
                }
            }
            (solution.peak, solution.lower_bound, solution.is_optimal(), solution.seconds, solution.layout)
        };
        let align = ids.iter().map(|&u| units[u].alignment).max().unwrap_or(1);
        let bytes =
            smemplan_core::arith::align_up(peak, align).ok_or_else(|| Error::overflow(format!("{pool} pool size")))?;
        pools.push(PoolReport { pool, bytes, peak, lower_bound, optimal, units: ids.len(), seconds, problem, layout });
    }
    let placed = input
        .buffers
        .iter()
        .enumerate()
        .map(|(i, b)| {
            Ok(PlacedBuffer {
                component: b.decl.component.clone(),
                name: b.decl.name.clone(),
                pool: b.pool,
                dtype: b.decl.precision,
                elements: b.decl.size,
                bytes: b.bytes()?,
                offset: offsets[i],
                lifetime: lifetimes.buffers[i].iter().map(|s| [s.start, s.end]).collect(),
                inside: inside[i].take(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes_of = |p: Pool| pools.iter().find(|r| r.pool == p).map_or(0, |r| r.bytes);
    let (refused_aliases, aliases): (Vec<_>, Vec<_>) =
        outcomes.into_iter().partition(|o| o.verdict == AliasVerdict::Refused);
    Ok(PlanReport {
        source: input.source.clone(),
        strategy: options.strategy.clone(),
        optimal: pools.iter().all(|p| p.optimal),
        shared_bytes: bytes_of(Pool::Shared),
        local_bytes: bytes_of(Pool::Local),
        persistent_local_bytes: bytes_of(Pool::PersistentLocal),
        pools,
        buffers: placed,
        timeline: lifetimes.timeline,
        unmapped: lifetimes.unmapped,
        unmapped_components: lifetimes.unmapped_components,
        aliases,
        refused_aliases,
    })
}

/// Plans a kernel model's instance with its own lifetime table.
pub fn plan_kernel(kernel: &Kernel, options: &PlanOptions) -> Result<PlanReport> {
    plan(&PlanInput::try_from(kernel)?, &kernel.table, options)
}

/// Plans the kernel under `root` of a registry built by CuBIE's calls
/// ([`PlanInput::from_registry`]) with the built-in CuBIE lifetime table,
/// whose classes and child names the registry's components must use for
/// their buffers to get lifetimes (those it does not map are listed in the
/// report's `unmapped` and `unmapped_components`, live for the whole run).
pub fn plan_registry(registry: &Registry, root: &str, options: &PlanOptions) -> Result<PlanReport> {
    plan(&PlanInput::from_registry(registry, root)?, &LifetimeTable::cubie()?, options)
}

/// Plans a CuBIE dump with the built-in CuBIE lifetime table.
pub fn plan_dump(dump: &Dump, options: &PlanOptions) -> Result<PlanReport> {
    plan(&PlanInput::from_dump(dump)?, &LifetimeTable::cubie()?, options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smemplan_kernel::{ComponentDecl, Location, Precision};

    /// A test component (shared with the submodules' tests).
    pub(super) fn comp(path: &str, class: &str) -> ComponentDecl {
        ComponentDecl { path: path.into(), class: class.into(), precision: Precision::F32 }
    }

    /// A test declaration (shared with the submodules' tests).
    pub(super) fn decl(
        component: &str,
        name: &str,
        size: u64,
        location: Location,
        aliases: Option<&str>,
    ) -> BufferDecl {
        BufferDecl {
            component: component.into(),
            name: name.into(),
            size,
            precision: Precision::F32,
            location,
            persistent: false,
            aliases: aliases.map(str::to_string),
        }
    }

    const TABLE: &str = r#"
[Loop]
phases = ["a", "b", "c"]
buffers = { x = "a", y = "b", z = ["a", "b"], w = "c", v = "all" }
aliases = { z = "nested" }
"#;

    fn run(decls: Vec<BufferDecl>) -> PlanReport {
        let table = LifetimeTable::parse("t.toml", TABLE).unwrap();
        let input = PlanInput::from_decls("t", vec![comp("k", "Loop")], decls, vec![]).unwrap();
        plan(&input, &table, &PlanOptions::default()).unwrap()
    }

    #[test]
    fn disjoint_buffers_share_storage() {
        let r = run(vec![
            decl("k", "x", 10, Location::Shared, None),
            decl("k", "y", 10, Location::Shared, None),
            decl("k", "w", 4, Location::Local, None),
            decl("k", "v", 1, Location::Local, None),
        ]);
        assert_eq!(r.shared_bytes, 40, "x and y alias");
        assert_eq!(r.local_bytes, 20);
        assert!(r.optimal);
        assert!(r.unmapped.is_empty());
    }

    #[test]
    fn alias_verdicts() {
        // y aliases x: disjoint. z aliases y: overlapping, declared nested.
        // w aliases v: overlapping, refused.
        let r = run(vec![
            decl("k", "x", 10, Location::Shared, None),
            decl("k", "y", 10, Location::Shared, Some("x")),
            decl("k", "z", 5, Location::Shared, Some("y")),
            decl("k", "v", 4, Location::Shared, None),
            decl("k", "w", 4, Location::Shared, Some("v")),
            decl("k", "q", 0, Location::Shared, Some("nope")),
        ]);
        let verdict = |name: &str| {
            r.aliases.iter().chain(&r.refused_aliases).find(|o| o.buffer == format!("k/{name}")).unwrap().verdict
        };
        assert_eq!(verdict("y"), AliasVerdict::Disjoint);
        assert_eq!(verdict("z"), AliasVerdict::Nested);
        assert_eq!(verdict("w"), AliasVerdict::Refused);
        assert_eq!(verdict("q"), AliasVerdict::UnknownTarget);
        assert!(r.refused_aliases[0].detail.contains("k/w") && r.refused_aliases[0].detail.contains("k/v"));
        let at = |name: &str| r.buffers.iter().find(|b| b.name == name).unwrap().offset;
        assert_eq!(at("z"), at("y"), "nested at offset 0 inside its target");
        assert_eq!(r.buffers.iter().find(|b| b.name == "q").unwrap().offset, None);
        // At instant a: x, the y+z unit (z inside y) and v; w reuses x's
        // bytes in c.
        assert_eq!(r.shared_bytes, 40 + 40 + 16);
    }

    #[test]
    fn sixteen_byte_alignment() {
        let table = LifetimeTable::parse("t.toml", TABLE).unwrap();
        let input = PlanInput::from_decls(
            "t",
            vec![comp("k", "Loop")],
            vec![decl("k", "v", 1, Location::Shared, None), decl("k", "z", 1, Location::Shared, None)],
            vec![],
        )
        .unwrap();
        let r = plan(&input, &table, &PlanOptions { align16: true, ..PlanOptions::default() }).unwrap();
        assert!(r.buffers.iter().all(|b| b.offset.unwrap() % 16 == 0));
        assert_eq!(r.shared_bytes, 32);
    }

    /// A strategy that puts every buffer at offset 0, so buffers live at
    /// the same time collide.
    struct AllAtZero;

    impl Solver for AllAtZero {
        fn name(&self) -> &'static str {
            "all-at-zero"
        }

        fn solve(
            &self,
            analysis: &smemplan_core::analysis::Analysis,
            _: &SolveOptions,
        ) -> solve::Result<solve::Solution> {
            let problem = analysis.problem();
            Ok(solve::Solution::new(problem, smemplan_core::problem::Layout::new(vec![0; problem.len()]), 0, false))
        }
    }

    #[test]
    fn a_layout_the_checker_rejects_is_an_internal_error_not_a_decline() {
        let table = LifetimeTable::parse("t.toml", TABLE).unwrap();
        let decls = vec![decl("k", "v", 4, Location::Shared, None), decl("k", "x", 4, Location::Shared, None)];
        let input = PlanInput::from_decls("t", vec![comp("k", "Loop")], decls, vec![]).unwrap();
        let e = plan_with(&input, &table, &PlanOptions::default(), &AllAtZero).unwrap_err();
        let Error::Solve(solve::Error::Rejected { strategy, reason }) = &e else { panic!("{e}") };
        assert_eq!(strategy, "all-at-zero");
        assert!(reason.starts_with("shared pool: ") && reason.contains("k/v") && reason.contains("k/x"), "{e}");
    }

    #[test]
    fn nested_aliases_that_form_a_cycle_are_an_error() {
        let table =
            LifetimeTable::parse("t.toml", &TABLE.replace("{ z = \"nested\" }", "{ z = \"nested\", v = \"nested\" }"))
                .unwrap();
        // z (instants a and b) sits inside v (all), and v inside z.
        let decls =
            vec![decl("k", "z", 2, Location::Shared, Some("v")), decl("k", "v", 2, Location::Shared, Some("z"))];
        let input = PlanInput::from_decls("t", vec![comp("k", "Loop")], decls, vec![]).unwrap();
        let e = plan(&input, &table, &PlanOptions::default()).unwrap_err();
        assert_eq!(e, Error::AliasCycle { buffers: vec!["k/z".into(), "k/v".into(), "k/z".into()] });
        assert!(e.to_string().contains("alias hints form a cycle: k/z → k/v → k/z"), "{e}");
    }

    #[test]
    fn every_builtin_model_instantiates_and_plans() {
        use smemplan_kernel::model::{builtin, builtin_names};
        for name in builtin_names() {
            let m = builtin(name).unwrap();
            let algorithms: Vec<String> = m.algorithms().into_iter().map(String::from).collect();
            let runs = if algorithms.is_empty() { vec![None] } else { algorithms.into_iter().map(Some).collect() };
            for alg in runs {
                let sets: Vec<(String, String)> = alg.iter().map(|a| ("algorithm".to_string(), a.clone())).collect();
                let inst = m.instantiate(&sets).unwrap();
                let r = plan_kernel(&inst, &PlanOptions::default()).unwrap();
                assert!(r.unmapped.is_empty(), "{name} {alg:?}: {:?}", r.unmapped);
                assert!(r.refused_aliases.is_empty(), "{name} {alg:?}: {:?}", r.refused_aliases);
            }
        }
    }
}
