//! Shared or local, per buffer group: which buffers a kernel should keep in
//! shared memory, chosen jointly with their offsets and the block size to
//! maximise the estimated throughput ([`crate::throughput`]).
//!
//! Shared memory is faster per access but every byte of it per run costs
//! occupancy; local memory costs nothing in occupancy but more per access.
//! The unit of choice is a **buffer group**: a component's buffers move
//! together, except that a buffer holding at least a quarter of its
//! component's bytes moves on its own (a nested alias always moves with its
//! target). Persistent buffers choose between shared and persistent local.
//!
//! ```text
//! split (a set of groups in shared) ──▶ shared pool solved (cached by split)
//!        │                                  │ stride (odd words)
//!        └──▶ accesses to shared / local    ▼
//!                              best block size ──▶ estimated batch time
//! ```
//!
//! Where every local access hits the cache, the estimate factors as
//! `warp time(split) × F(stride(split))`, where `warp time` is linear in the
//! accesses and `F` (batch time in warp times at the best block size) only
//! grows with the stride; cache misses only add time. A split's stride is
//! at least its live bytes at the busiest instant, so `warp time × F(that)`
//! bounds its time from below without solving anything (a split with local
//! buffers is then estimated in full, misses included). With at most
//! [`TierOptions::exhaustive_groups`] groups every split is bounded and only
//! those whose bound beats the best found so far are solved, best bound
//! first (exhaustive branch and bound: the answer is the best split under the
//! search strategy's layouts); beyond that a greedy descent flips one group
//! at a time from the best of the baselines. Splits are solved with a fast
//! strategy ([`TierOptions::search_strategy`]); the chosen split and the
//! baselines are then planned with the caller's strategy. A split is kept
//! only when it is estimated [`SPLIT_MARGIN`] times faster than the best
//! plain layout (the model's own locations, all shared, all local): a
//! smaller gain is within the estimate's own error.
//!
//! ```
//! use smemplan_kernel::model;
//! use smemplan_perf::{occupancy::DeviceProfile, tiers};
//! use smemplan_plan::PlanInput;
//!
//! let instance = model::default_model().unwrap().instantiate(&[]).unwrap();
//! let device = DeviceProfile::named("h200").unwrap();
//! let input = PlanInput::try_from(&instance).unwrap();
//! let choice = tiers::choose(&input, &instance.table, &device, &Default::default()).unwrap();
//! // The chosen split is never estimated slower than the baselines.
//! for baseline in [&choice.own_locations, &choice.all_shared, &choice.all_local] {
//!     assert!(choice.chosen.runs_per_second >= baseline.runs_per_second * 0.999);
//! }
//! ```

use crate::accesses::Counts;
use crate::error::Result;
use crate::occupancy::DeviceProfile;
use crate::throughput::{self, Estimate, Workload};
use serde::Serialize;
use smemplan_kernel::accesses::Weights;
use smemplan_kernel::lifetimes::LifetimeTable;
use smemplan_kernel::Pool;
use smemplan_plan::allocator::{Allocation, SharedLayout};
use smemplan_plan::{plan, PlanInput, PlanOptions, PlanReport};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// A buffer that holds at least this share of its component's bytes forms
/// a group of its own.
const LARGE_SHARE: f64 = 0.25;

/// How much faster than the best plain layout (the model's own locations,
/// all shared, all local) a split must be estimated for [`choose`] to pick
/// it: a smaller estimated gain is within the estimate's own error, and the
/// plain layout needs no split to be right (see
/// [`TierOptions::split_margin`]).
///
/// The value is the estimate's held-out error between layouts of one
/// kernel, as a factor: on an H100 the stand-in's candidates (every layout ×
/// block size of 13 held-out cases) follow the estimate with a log-RMS of
/// 0.19 once each case's common factor is taken out, and `sweep --verify`'s
/// 20 rows with 0.18 (`docs/throughput.md`); e^0.19 ≈ 1.2. A split estimated
/// less than 20 % faster is within one standard error of not being faster.
pub const SPLIT_MARGIN: f64 = 1.2;

/// How [`choose`] runs.
#[derive(Debug, Clone)]
pub struct TierOptions {
    /// Plans the chosen split and the baselines (strategy, time limit).
    pub plan: PlanOptions,
    /// Solves the shared pool of each split tried (a fast strategy).
    pub search_strategy: String,
    /// Registers per thread for the residency rule (0: not counted).
    pub registers_per_thread: u64,
    /// Runs in the batch.
    pub runs: u64,
    /// CuBIE's requested block size (its halving pick is reported).
    pub cubie_requested: u64,
    /// Up to this many groups every split is considered (2^k); beyond it,
    /// a greedy descent.
    pub exhaustive_groups: usize,
    /// The kernel model's access weights ([`crate::accesses`]).
    pub accesses: Weights,
    /// Time the split search may take from the start of [`choose`]; `None`
    /// takes the plans' time limit (`plan.time_limit`). At the deadline the
    /// search stops and keeps the best split found so far, never worse than
    /// the baselines it starts from (own locations, all shared, all local).
    pub search_time_limit: Option<Duration>,
    /// A split is chosen only when its estimated time × this is below the
    /// best plain layout's (default [`SPLIT_MARGIN`]; 1: any gain).
    pub split_margin: f64,
}

impl Default for TierOptions {
    fn default() -> Self {
        TierOptions {
            plan: PlanOptions::default(),
            search_strategy: "greedy-size".to_string(),
            registers_per_thread: 0,
            runs: 4096,
            cubie_requested: 64,
            exhaustive_groups: 16,
            accesses: Weights::default(),
            search_time_limit: None,
            split_margin: SPLIT_MARGIN,
        }
    }
}

/// Buffers that move between shared and local memory together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// A component's path, or `component/buffer` for a buffer on its own.
    pub name: String,
    /// Its buffers (`component/name`).
    pub buffers: Vec<String>,
    /// Their bytes per run.
    pub bytes: u64,
    /// Their accesses per run ([`crate::accesses`]).
    pub accesses: f64,
}

/// One placement of the groups, planned and estimated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierPlan {
    /// Groups in shared memory (for the model's own locations: those whose
    /// buffers all sit in shared memory).
    pub shared_groups: Vec<String>,
    /// Shared bytes per run.
    pub shared_bytes: u64,
    /// The thread-major stride (odd words).
    pub padded_shared_bytes: u64,
    /// Local bytes per thread (both local pools).
    pub local_bytes: u64,
    /// Of `local_bytes`, those the estimate holds in registers (the model
    /// marks every local buffer as indexed at compile time;
    /// [`Workload::in_registers`]).
    pub register_bytes: u64,
    /// Accesses per run to shared and to local memory.
    pub shared_accesses: f64,
    /// See `shared_accesses`.
    pub local_accesses: f64,
    /// The best block size's estimate (`None`: nothing can launch).
    pub best: Option<Estimate>,
    /// Estimated runs per second (0 when nothing can launch; infinite, in
    /// JSON `null`, when the estimate charges no memory time at all: every
    /// access is held in registers).
    pub runs_per_second: f64,
    /// The best block size (`None`: nothing can launch).
    pub block_size: Option<u64>,
    /// Estimated runs per second ÷ the chosen split's
    /// ([`throughput::rate_ratio`]; 0 where that is undefined).
    pub throughput_ratio: f64,
    /// The plan itself.
    #[serde(skip)]
    pub report: PlanReport,
}

/// What [`choose`] found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierChoice {
    /// The groups, in declaration order.
    pub groups: Vec<Group>,
    /// The split of highest estimated throughput.
    pub chosen: TierPlan,
    /// The locations the kernel model (or CuBIE's dump) gives.
    pub own_locations: TierPlan,
    /// Every group in shared memory.
    pub all_shared: TierPlan,
    /// Every group in local memory.
    pub all_local: TierPlan,
    /// Whether every split was considered (else: greedy descent).
    pub exhaustive: bool,
    /// Splits whose lower bound was computed.
    pub bounded: usize,
    /// Shared pools solved during the search.
    pub solved: usize,
    /// Solutions reused from the cache.
    pub cache_hits: usize,
    /// What a local access that hits the cache cost in these estimates, in
    /// shared accesses: the kernel model's `local_hit_per_shared`, else the
    /// device profile's figure ([`Workload::local_hit_per_shared`]).
    pub local_hit_per_shared: f64,
    /// Whether the kernel model set it.
    pub local_hit_from_model: bool,
}

/// A placement unit for the bound: a buffer with the nested aliases inside
/// it, live over their union.
struct BoundUnit {
    group: usize,
    bytes: u64,
    instants: Vec<[u64; 2]>,
}

struct SplitSearch<'a> {
    input: &'a PlanInput,
    table: &'a LifetimeTable,
    device: &'a DeviceProfile,
    options: &'a TierOptions,
    /// Group of each buffer (`None`: empty, stays where it is).
    group_of: Vec<Option<usize>>,
    /// Per group, live bytes at each instant.
    live: Vec<Vec<u64>>,
    accesses: Vec<f64>,
    /// Groups whose every buffer the kernel indexes only with compile-time
    /// indices (a bit each, [`Weights::in_registers`]).
    in_registers: u64,
    /// Accesses of buffers in no group, by memory (stay put).
    fixed: (f64, f64),
    /// F(stride): batch time in warp times at the best block size.
    factor: HashMap<u64, Option<f64>>,
    /// A lower bound on F that never falls as the stride grows.
    factor_bound: HashMap<u64, Option<f64>>,
    /// Solved splits: mask → padded stride and local bytes per run.
    solved: HashMap<u64, (u64, u64)>,
    cache_hits: usize,
}

impl SplitSearch<'_> {
    fn pools(&self, mask: u64) -> PlanInput {
        let mut input = self.input.clone();
        for (b, g) in input.buffers.iter_mut().zip(&self.group_of) {
            if let Some(g) = g {
                b.pool = if mask >> g & 1 == 1 {
                    Pool::Shared
                } else if b.decl.persistent {
                    Pool::PersistentLocal
                } else {
                    Pool::Local
                };
            }
        }
        input
    }

    fn split_accesses(&self, mask: u64) -> (f64, f64) {
        let (mut shared, mut local) = self.fixed;
        for (g, a) in self.accesses.iter().enumerate() {
            if mask >> g & 1 == 1 {
                shared += a;
            } else {
                local += a;
            }
        }
        (shared, local)
    }

    /// The split's accesses with at least `local_bytes` local bytes per
    /// run (no shared stride: the bounds take it separately).
    fn unit(&self, mask: u64, local_bytes: u64) -> Workload {
        let (shared_accesses, local_accesses) = self.split_accesses(mask);
        // Promotable when every local group is (Counts::workload's rule);
        // for a bound, `local_bytes` below the split's own only lowers the
        // estimate (fewer bytes left over, no register-bound residency).
        let local_groups = !mask & ((1u64 << self.accesses.len()) - 1);
        let promotable = local_groups != 0 && local_groups & !self.in_registers == 0;
        Workload {
            shared_bytes_per_run: 0,
            shared_accesses,
            local_accesses,
            local_bytes_per_run: local_bytes,
            register_bytes_per_run: if promotable { local_bytes } else { 0 },
            local_hit_per_shared: self.options.accesses.local_hit_per_shared(),
            registers_per_thread: 0,
            runs: self.options.runs,
        }
    }

    /// F(stride), cached.
    fn factor(&mut self, stride: u64) -> Result<Option<f64>> {
        if let Some(f) = self.factor.get(&stride) {
            return Ok(*f);
        }
        let unit = Workload {
            shared_bytes_per_run: stride,
            shared_accesses: 1.0,
            local_accesses: 0.0,
            local_bytes_per_run: 0,
            register_bytes_per_run: 0,
            local_hit_per_shared: None,
            registers_per_thread: self.options.registers_per_thread,
            runs: self.options.runs,
        };
        let f = throughput::best_block_size(self.device, &unit)?.map(|e| e.warp_times);
        self.factor.insert(stride, f);
        Ok(f)
    }

    /// Live bytes at the busiest instant of the groups in (or, with
    /// `inside` false, out of) `mask`: a lower bound on the split's shared
    /// (local) bytes per run.
    fn peak_bound(&self, mask: u64, inside: bool) -> u64 {
        let instants = self.live.first().map_or(0, Vec::len);
        (0..instants)
            .map(|t| {
                (0..self.live.len()).filter(|g| (mask >> g & 1 == 1) == inside).map(|g| self.live[g][t]).sum::<u64>()
            })
            .max()
            .unwrap_or(0)
    }

    /// Estimated batch time, or infinity when nothing can launch. Without
    /// local accesses it factors as F(stride) × warp time; local misses
    /// depend on the residency, so then every block size is estimated.
    fn time(&mut self, mask: u64, stride: u64, local_bytes: u64) -> Result<f64> {
        let unit = self.unit(mask, local_bytes);
        if unit.local_accesses == 0.0 || local_bytes == 0 {
            let warp = throughput::warp_seconds(&self.device.throughput, &unit);
            return Ok(self.factor(stride)?.map_or(f64::INFINITY, |f| f * warp));
        }
        let workload =
            Workload { shared_bytes_per_run: stride, registers_per_thread: self.options.registers_per_thread, ..unit };
        Ok(throughput::best_block_size(self.device, &workload)?.map_or(f64::INFINITY, |e| e.seconds))
    }

    /// A lower bound on the split's estimated batch time.
    fn bound(&mut self, mask: u64) -> Result<f64> {
        // The stride is padded to whole 4-byte words.
        let stride = self.peak_bound(mask, true).div_ceil(4) * 4;
        let f = match self.factor_bound.get(&stride) {
            Some(f) => *f,
            None => {
                let o = self.options;
                let f = throughput::warp_times_bound(self.device, stride, o.registers_per_thread, o.runs)?;
                self.factor_bound.insert(stride, f);
                f
            }
        };
        // The wave-count bound, and the SM-rate bound where many warps
        // would miss the cache: both hold, so the larger.
        let unit = self.unit(mask, self.peak_bound(mask, false));
        let waves = f.map_or(f64::INFINITY, |f| f * throughput::warp_seconds_bound(self.device, &unit));
        Ok(waves.max(throughput::seconds_bound(self.device, &unit)))
    }

    /// The split's stride and local bytes under the search strategy,
    /// cached by split.
    fn solve(&mut self, mask: u64) -> Result<(u64, u64)> {
        if let Some(&s) = self.solved.get(&mask) {
            self.cache_hits += 1;
            return Ok(s);
        }
        let options = PlanOptions { strategy: self.options.search_strategy.clone(), ..self.options.plan.clone() };
        let report = plan(&self.pools(mask), self.table, &options)?;
        let stride = Allocation::new(&report, SharedLayout::default())?.stride;
        let solved = (stride, report.local_bytes.saturating_add(report.persistent_local_bytes));
        self.solved.insert(mask, solved);
        Ok(solved)
    }

    fn exact_time(&mut self, mask: u64) -> Result<f64> {
        let (stride, local_bytes) = self.solve(mask)?;
        self.time(mask, stride, local_bytes)
    }
}

/// The groups and a search over their splits.
fn prepare<'a>(
    input: &'a PlanInput,
    table: &'a LifetimeTable,
    device: &'a DeviceProfile,
    options: &'a TierOptions,
) -> Result<(Vec<Group>, SplitSearch<'a>)> {
    // Lifetimes and nested aliases from one all-shared plan.
    let mut all_shared_input = input.clone();
    for b in &mut all_shared_input.buffers {
        b.pool = Pool::Shared;
    }
    let fast = PlanOptions { strategy: options.search_strategy.clone(), ..options.plan.clone() };
    let base = plan(&all_shared_input, table, &fast)?;
    let per_buffer: Vec<f64> = base.buffers.iter().map(|b| options.accesses.of_buffer(b, &base.timeline)).collect();
    let (groups, group_of) = form_groups(input, &base, &per_buffer)?;
    if groups.len() >= 64 {
        return Err(smemplan_solve::Error::Unsupported {
            strategy: "tiers".into(),
            reason: format!("{} buffer groups; at most 63 are supported", groups.len()),
        }
        .into());
    }
    let units = units(&base, &group_of);
    let instants = base.timeline.len().max(1);
    let mut live = vec![vec![0u64; instants]; groups.len()];
    for u in &units {
        for seg in &u.instants {
            for t in seg[0]..seg[1].min(instants as u64) {
                live[u.group][t as usize] += u.bytes;
            }
        }
    }
    let mut fixed = (0.0, 0.0);
    for (i, b) in input.buffers.iter().enumerate() {
        if group_of[i].is_none() {
            match b.pool {
                Pool::Shared => fixed.0 += per_buffer[i],
                _ => fixed.1 += per_buffer[i],
            }
        }
    }
    let search = SplitSearch {
        input,
        table,
        device,
        options,
        group_of,
        live,
        accesses: groups.iter().map(|g| g.accesses).collect(),
        in_registers: groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.buffers.iter().all(|b| options.accesses.in_registers(b)))
            .fold(0, |m, (i, _)| m | 1 << i),
        fixed,
        factor: HashMap::new(),
        factor_bound: HashMap::new(),
        solved: HashMap::new(),
        cache_hits: 0,
    };
    Ok((groups, search))
}

/// Chooses which buffer groups of `input` live in shared memory, to
/// maximise the estimated throughput on `device` (see the module docs), and
/// plans the choice next to the model's own locations and the all-shared
/// and all-local placements.
pub fn choose(
    input: &PlanInput,
    table: &LifetimeTable,
    device: &DeviceProfile,
    options: &TierOptions,
) -> Result<TierChoice> {
    let started = Instant::now();
    let deadline = options.search_time_limit.or(options.plan.time_limit).and_then(|l| started.checked_add(l));
    let out_of_time = || deadline.is_some_and(|d| Instant::now() >= d);
    let (groups, mut search) = prepare(input, table, device, options)?;
    let k = groups.len();
    let full = if k == 0 { 0 } else { u64::MAX >> (64 - k) };
    let own = own_mask(input, &search.group_of);
    // Splits of equal estimated time are ranked canonically, never by the
    // order the search met them: fewer bytes moved to local memory first,
    // then the lowest mask. Bounds prune only what is strictly slower, so
    // every split that ties the best is ranked.
    let local_bytes = |mask: u64| -> u64 {
        (0..k).filter(|&g| mask >> g & 1 == 0).map(|g| groups[g].bytes).fold(0, u64::saturating_add)
    };
    let better = |t: f64, mask: u64, best: (f64, u64)| {
        t.total_cmp(&best.0).then_with(|| (local_bytes(mask), mask).cmp(&(local_bytes(best.1), best.1))).is_lt()
    };
    let mut best = (f64::INFINITY, 0u64);
    for mask in [own, full, 0] {
        let t = search.exact_time(mask)?;
        if better(t, mask, best) {
            best = (t, mask);
        }
    }
    let plain = best;
    let exhaustive = k <= options.exhaustive_groups;
    let mut bounded = 0;
    if exhaustive {
        let mut order = Vec::with_capacity(1 << k);
        for mask in 0..=full {
            if out_of_time() {
                break;
            }
            order.push((search.bound(mask)?, mask));
            bounded += 1;
        }
        order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (bound, mask) in order {
            if bound > best.0 || out_of_time() {
                break;
            }
            let t = search.exact_time(mask)?;
            if better(t, mask, best) {
                best = (t, mask);
            }
        }
    } else {
        'descent: loop {
            let mut step = best;
            for g in 0..k {
                if out_of_time() {
                    best = step;
                    break 'descent;
                }
                let mask = best.1 ^ (1 << g);
                bounded += 1;
                if search.bound(mask)? <= step.0 {
                    let t = search.exact_time(mask)?;
                    if better(t, mask, step) {
                        step = (t, mask);
                    }
                }
            }
            if step.1 == best.1 {
                break;
            }
            best = step;
        }
    }
    // A split within the estimate's error of the best plain layout is no
    // gain worth its risk: the plain layout stays.
    if plain.0 < options.split_margin * best.0 {
        best = plain;
    }
    let solved = search.solved.len();
    let cache_hits = search.cache_hits;
    let names = |mask: u64| (0..k).filter(|g| mask >> g & 1 == 1).map(|g| groups[g].name.clone()).collect();
    let finish = |pools: PlanInput, mask: u64| -> Result<TierPlan> {
        let report = plan(&pools, table, &options.plan)?;
        tier_plan(report, names(mask), device, options)
    };
    let chosen = finish(search.pools(best.1), best.1)?;
    let chosen_rate = chosen.runs_per_second;
    let against_chosen = |p: TierPlan| TierPlan {
        throughput_ratio: throughput::rate_ratio(p.runs_per_second, chosen_rate).unwrap_or(0.0),
        ..p
    };
    Ok(TierChoice {
        own_locations: against_chosen(finish(input.clone(), own)?),
        all_shared: against_chosen(finish(search.pools(full), full)?),
        all_local: against_chosen(finish(search.pools(0), 0)?),
        chosen: against_chosen(chosen),
        groups,
        exhaustive,
        bounded,
        solved,
        cache_hits,
        local_hit_per_shared: options
            .accesses
            .local_hit_per_shared()
            .unwrap_or(device.throughput.local_access_ns / device.throughput.shared_access_ns),
        local_hit_from_model: options.accesses.local_hit_per_shared().is_some(),
    })
}

/// Groups whose every buffer the input keeps in shared memory.
fn own_mask(input: &PlanInput, group_of: &[Option<usize>]) -> u64 {
    let mut all_shared: BTreeMap<usize, bool> = BTreeMap::new();
    for (b, g) in input.buffers.iter().zip(group_of) {
        if let Some(g) = g {
            *all_shared.entry(*g).or_insert(true) &= b.pool == Pool::Shared;
        }
    }
    all_shared.into_iter().filter(|&(_, s)| s).fold(0, |m, (g, _)| m | 1 << g)
}

fn tier_plan(
    report: PlanReport,
    shared_groups: Vec<String>,
    device: &DeviceProfile,
    options: &TierOptions,
) -> Result<TierPlan> {
    let stride = Allocation::new(&report, SharedLayout::default())?.stride;
    let workload = options.accesses.workload(&report, stride, options.registers_per_thread, options.runs);
    let best = throughput::best_block_size(device, &workload)?;
    Ok(TierPlan {
        shared_groups,
        shared_bytes: report.shared_bytes,
        padded_shared_bytes: stride,
        local_bytes: workload.local_bytes_per_run,
        register_bytes: workload.local_bytes_per_run - workload.in_registers(device).local_bytes_per_run,
        shared_accesses: workload.shared_accesses,
        local_accesses: workload.local_accesses,
        runs_per_second: best.map_or(0.0, |e| e.runs_per_second),
        block_size: best.map(|e| e.occupancy.block_size),
        // Set against the chosen split once it is known.
        throughput_ratio: 0.0,
        best,
        report,
    })
}

/// Groups in declaration order, and each buffer's group (`None` for empty
/// buffers). Nested aliases (`inside` in the all-shared `base` plan) join
/// their target's group.
fn form_groups(input: &PlanInput, base: &PlanReport, per_buffer: &[f64]) -> Result<(Vec<Group>, Vec<Option<usize>>)> {
    let n = input.buffers.len();
    let bytes: Vec<u64> = input.buffers.iter().map(|b| b.bytes()).collect::<smemplan_plan::Result<_>>()?;
    let mut component_bytes: HashMap<&str, u64> = HashMap::new();
    let mut component_count: HashMap<&str, usize> = HashMap::new();
    for (b, &size) in input.buffers.iter().zip(&bytes) {
        if size > 0 {
            *component_bytes.entry(&b.decl.component).or_default() += size;
            *component_count.entry(&b.decl.component).or_default() += 1;
        }
    }
    // Key of each buffer's group before nesting merges them.
    let key: Vec<Option<String>> = input
        .buffers
        .iter()
        .zip(&bytes)
        .map(|(b, &size)| {
            let c = b.decl.component.as_str();
            (size > 0).then(|| {
                let alone = component_count[c] > 1 && size as f64 >= LARGE_SHARE * component_bytes[c] as f64;
                if alone {
                    b.full_name()
                } else {
                    c.to_string()
                }
            })
        })
        .collect();
    // Union-find over buffers: a nested alias joins its target.
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let index: HashMap<String, usize> = input.buffers.iter().enumerate().map(|(i, b)| (b.full_name(), i)).collect();
    let mut first_of_key: HashMap<&str, usize> = HashMap::new();
    for (i, k) in key.iter().enumerate() {
        if let Some(k) = k {
            let f = *first_of_key.entry(k.as_str()).or_insert(i);
            let (a, b) = (root(&mut parent, i), root(&mut parent, f));
            parent[a] = b;
        }
    }
    for (i, b) in base.buffers.iter().enumerate() {
        if let (Some(target), Some(_)) = (&b.inside, &key[i]) {
            if let Some(&t) = index.get(target) {
                if key[t].is_some() {
                    let (a, r) = (root(&mut parent, i), root(&mut parent, t));
                    parent[a] = r;
                }
            }
        }
    }
    let mut groups: Vec<Group> = Vec::new();
    let mut group_of_root: HashMap<usize, usize> = HashMap::new();
    let mut group_of = vec![None; n];
    for i in 0..n {
        let Some(k) = &key[i] else { continue };
        let r = root(&mut parent, i);
        let g = *group_of_root.entry(r).or_insert_with(|| {
            groups.push(Group { name: k.clone(), buffers: Vec::new(), bytes: 0, accesses: 0.0 });
            groups.len() - 1
        });
        groups[g].buffers.push(input.buffers[i].full_name());
        groups[g].bytes += bytes[i];
        groups[g].accesses += per_buffer[i];
        group_of[i] = Some(g);
    }
    Ok((groups, group_of))
}

/// Placement units of the all-shared `base` plan: nested aliases inside
/// their targets (at their planned distance), live over the union.
fn units(base: &PlanReport, group_of: &[Option<usize>]) -> Vec<BoundUnit> {
    let index: HashMap<String, usize> =
        base.buffers.iter().enumerate().map(|(i, b)| (format!("{}/{}", b.component, b.name), i)).collect();
    let mut units: Vec<BoundUnit> = Vec::new();
    let mut unit_of: HashMap<usize, usize> = HashMap::new();
    // Roots first, so that members find their unit.
    let root_of = |mut i: usize| {
        let mut hops = 0;
        while let Some(t) = base.buffers[i].inside.as_ref().and_then(|t| index.get(t)) {
            i = *t;
            hops += 1;
            if hops > base.buffers.len() {
                break;
            }
        }
        i
    };
    for (i, b) in base.buffers.iter().enumerate() {
        let Some(g) = group_of[i] else { continue };
        if b.bytes == 0 {
            continue;
        }
        let r = root_of(i);
        let within = b.offset.unwrap_or(0).saturating_sub(base.buffers[r].offset.unwrap_or(0));
        let u = *unit_of.entry(r).or_insert_with(|| {
            units.push(BoundUnit { group: g, bytes: 0, instants: Vec::new() });
            units.len() - 1
        });
        units[u].bytes = units[u].bytes.max(within + b.bytes);
        units[u].instants.extend(b.lifetime.iter().copied());
    }
    for u in &mut units {
        u.instants.sort_unstable();
        let mut merged: Vec<[u64; 2]> = Vec::new();
        for s in u.instants.drain(..) {
            match merged.last_mut() {
                Some(last) if s[0] <= last[1] => last[1] = last[1].max(s[1]),
                _ => merged.push(s),
            }
        }
        u.instants = merged;
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;
    use smemplan_kernel::model;

    fn instance(sets: &[(&str, &str)]) -> model::Kernel {
        let sets: Vec<(String, String)> = sets.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        model::default_model().unwrap().instantiate(&sets).unwrap()
    }

    fn quick() -> TierOptions {
        TierOptions {
            plan: PlanOptions { strategy: "greedy-size".into(), ..PlanOptions::default() },
            runs: 1 << 17,
            ..TierOptions::default()
        }
    }

    /// [`quick`] keeping any split estimated faster (no margin): the tests
    /// of the search itself compare its answer with the best of every split.
    fn any_gain() -> TierOptions {
        TierOptions { split_margin: 1.0, ..quick() }
    }

    /// The best time over every split of `k` groups, checking that each
    /// split's bound is no more than its time.
    fn best_checking_bounds(search: &mut SplitSearch, k: usize, what: &str) -> f64 {
        let mut best = f64::INFINITY;
        for mask in 0..1u64 << k {
            let bound = search.bound(mask).unwrap();
            let t = search.exact_time(mask).unwrap();
            assert!(bound <= t * (1.0 + 1e-12), "{what}, split {mask:b}: bound {bound} > {t}");
            best = best.min(t);
        }
        best
    }

    /// Branch and bound finds the same best split as trying every split.
    #[test]
    fn branch_and_bound_matches_every_split() {
        // At n = 3 with the n = 100 system's Jacobian sizes: a kernel whose
        // groups differ enough in size for the bound to prune (with the
        // sizes a 3-state system derives, every split is about as fast).
        for sets in [&[("n", "3"), ("lu_nnz", "495"), ("jac_cache", "315")][..], &[("n", "100")]] {
            let n = sets[0].1;
            let inst = instance(sets);
            let input = PlanInput::try_from(&inst).unwrap();
            let h200 = DeviceProfile::named("h200").unwrap();
            let options = any_gain();
            let choice = choose(&input, &inst.table, &h200, &options).unwrap();
            assert!(choice.exhaustive);
            let (groups, mut search) = prepare(&input, &inst.table, &h200, &options).unwrap();
            assert_eq!(groups, choice.groups);
            let k = groups.len();
            assert!((2..=16).contains(&k), "{k} groups");
            let best = best_checking_bounds(&mut search, k, &format!("n = {n}"));
            assert!(choice.solved < 1 << k, "n = {n}: the bound pruned nothing");
            let chosen = 1.0 / choice.chosen.runs_per_second * options.runs as f64;
            assert!((chosen - best).abs() <= 1e-9 * best, "n = {n}: chose {chosen}, best {best}");
        }
    }

    /// Where the kernel holds some groups' arrays in registers (every
    /// other group, then all of them), the bound still never exceeds a
    /// split's time, the search still finds the best split, and with every
    /// group promotable all local is estimated at least as fast as the
    /// same layout without registers.
    #[test]
    fn the_bound_holds_where_local_arrays_live_in_registers() {
        let inst = instance(&[("n", "3"), ("lu_nnz", "495"), ("jac_cache", "315")]);
        let input = PlanInput::try_from(&inst).unwrap();
        let h100 = DeviceProfile::named("h100").unwrap();
        let plain = any_gain();
        let (groups, _) = prepare(&input, &inst.table, &h100, &plain).unwrap();
        let k = groups.len();
        // A kernel's own local hit cost (`local_hit_per_shared`) goes
        // through the bounds as through the estimate.
        for (every, hit) in [(2, None), (1, None), (2, Some(0.3)), (1, Some(0.3))] {
            let mut options = any_gain();
            for g in groups.iter().step_by(every) {
                for b in &g.buffers {
                    options.accesses.set_in_registers(b);
                }
            }
            if let Some(cost) = hit {
                options.accesses.set_local_hit_per_shared(cost);
            }
            let what = format!("every {every}, hit {hit:?}");
            let choice = choose(&input, &inst.table, &h100, &options).unwrap();
            let (_, mut search) = prepare(&input, &inst.table, &h100, &options).unwrap();
            assert_eq!(search.in_registers.count_ones() as usize, k.div_ceil(every));
            let best = best_checking_bounds(&mut search, k, &what);
            let chosen = 1.0 / choice.chosen.runs_per_second * options.runs as f64;
            assert!((chosen - best).abs() <= 1e-9 * best, "{what}: chose {chosen}, best {best}");
            if every == 1 && hit.is_none() {
                let without = choose(&input, &inst.table, &h100, &plain).unwrap();
                assert!(choice.all_local.runs_per_second > without.all_local.runs_per_second);
            }
            if every == 2 && hit.is_some() {
                let mut dear = options.clone();
                dear.accesses
                    .set_local_hit_per_shared(h100.throughput.local_access_ns / h100.throughput.shared_access_ns);
                let at_device = choose(&input, &inst.table, &h100, &dear).unwrap();
                assert!(choice.all_local.runs_per_second > at_device.all_local.runs_per_second, "{what}");
            }
        }
    }

    #[test]
    fn the_choice_is_never_estimated_worse_than_the_baselines() {
        let inst = instance(&[]);
        let input = PlanInput::try_from(&inst).unwrap();
        for device in ["h100", "a100"] {
            let d = DeviceProfile::named(device).unwrap();
            for exhaustive_groups in [16, 0] {
                let c = choose(&input, &inst.table, &d, &TierOptions { exhaustive_groups, ..quick() }).unwrap();
                assert_eq!(c.exhaustive, exhaustive_groups > 0);
                for b in [&c.own_locations, &c.all_shared, &c.all_local] {
                    assert!(c.chosen.runs_per_second >= b.runs_per_second, "{device}");
                }
                assert_eq!(c.all_local.shared_bytes, 0);
                assert_eq!(c.all_shared.local_bytes, 0);
                assert_eq!(c.all_shared.shared_groups.len(), c.groups.len());
                // Every buffer with bytes is in exactly one group.
                let grouped: usize = c.groups.iter().map(|g| g.buffers.len()).sum();
                let nonempty = input.buffers.iter().filter(|b| b.bytes().unwrap() > 0).count();
                assert_eq!(grouped, nonempty);
            }
        }
    }

    /// The split search stops at its deadline with the best split found so
    /// far: with no time at all, the best baseline, never estimated slower
    /// than the model's own locations; and within the contract's slack.
    #[test]
    fn the_search_stops_at_its_deadline() {
        let inst = instance(&[("n", "100")]);
        let input = PlanInput::try_from(&inst).unwrap();
        let h200 = DeviceProfile::named("h200").unwrap();
        for exhaustive_groups in [16, 0] {
            let unbounded = choose(&input, &inst.table, &h200, &TierOptions { exhaustive_groups, ..quick() }).unwrap();
            let limit = Duration::ZERO;
            let options = TierOptions { exhaustive_groups, search_time_limit: Some(limit), ..quick() };
            let started = Instant::now();
            let c = choose(&input, &inst.table, &h200, &options).unwrap();
            let took = started.elapsed();
            assert_eq!(c.bounded, 0, "the search went on past its deadline");
            assert!(c.solved <= unbounded.solved);
            for b in [&c.own_locations, &c.all_shared, &c.all_local] {
                assert!(c.chosen.runs_per_second >= b.runs_per_second);
            }
            assert!(unbounded.chosen.runs_per_second >= c.chosen.runs_per_second);
            // The contract's slack (T + 10 % + 100 ms), ten times over.
            let slack = limit + limit / 10 + Duration::from_millis(100);
            assert!(took <= slack * 10, "{took:?}");
        }
    }

    /// The default model at n = 100 with 2^17 runs (`docs/reference/gpu-notes.md`
    /// §6, an H100): all local, 690 MB of local arrays land in HBM, far past
    /// the 50 MB L2, and measured 2.43× slower than all shared; the split
    /// the L2-only estimate chose (156 B shared, block 993) measured 2.41×
    /// slower. The estimate now charges that traffic at the HBM's rate: it
    /// puts all local within 25 % of the measured ratio, the old split
    /// behind all shared, and chooses all shared or a small split.
    #[test]
    fn the_default_model_charges_local_memory_at_the_hbm_rate() {
        let h100 = DeviceProfile::named("h100").unwrap();
        for precision in ["f32", "f64"] {
            let inst = instance(&[("n", "100"), ("precision", precision)]);
            let input = PlanInput::try_from(&inst).unwrap();
            let options = quick();
            let c = choose(&input, &inst.table, &h100, &options).unwrap();
            let slower = c.all_shared.runs_per_second / c.all_local.runs_per_second;
            if precision == "f32" {
                assert!((2.43 / 1.25..=2.43 * 1.25).contains(&slower), "all local {slower}× slower");
            }
            assert!(slower > 1.0, "{precision}: all local {slower}× slower");
            let total: u64 = c.groups.iter().map(|g| g.bytes).sum();
            assert!(c.chosen.local_bytes * 10 <= total, "{precision}: {} B local of {total}", c.chosen.local_bytes);
            let (groups, mut search) = prepare(&input, &inst.table, &h100, &options).unwrap();
            let mask_of = |names: &[&str]| {
                groups
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| names.contains(&g.name.as_str()))
                    .fold(0, |m, (i, _)| m | 1 << i)
            };
            let old = mask_of(&["kernel/loop", "kernel/loop/controller"]);
            let all_shared = search.exact_time(u64::MAX >> (64 - groups.len())).unwrap();
            let old = search.exact_time(old).unwrap() / all_shared;
            if precision == "f32" {
                assert!((2.41 / 1.25..=2.41 * 1.25).contains(&old), "the old split {old}× slower");
            }
            assert!(old > 1.0, "{precision}: the old split {old}× slower");
        }
    }

    /// The reported split is the canonical best over every split (equal
    /// time → fewer bytes moved to local memory → lowest mask), whatever
    /// the bounds pruned and the order the search met splits in: on both
    /// cards, both precisions, in the HBM regime where bounds are loosest.
    #[test]
    fn the_reported_split_does_not_depend_on_the_search() {
        let inst32 = instance(&[("n", "100")]);
        let inst64 = instance(&[("n", "100"), ("precision", "f64")]);
        for inst in [&inst32, &inst64] {
            let input = PlanInput::try_from(inst).unwrap();
            for device in ["h100", "h200"] {
                let d = DeviceProfile::named(device).unwrap();
                let options = any_gain();
                let choice = choose(&input, &inst.table, &d, &options).unwrap();
                let (groups, mut search) = prepare(&input, &inst.table, &d, &options).unwrap();
                let k = groups.len();
                let local = |m: u64| (0..k).filter(|&g| m >> g & 1 == 0).map(|g| groups[g].bytes).sum::<u64>();
                // Every split, in descending mask order (the search goes by bound).
                let times: Vec<(f64, u64)> = (0..1u64 << k).rev().map(|m| (search.exact_time(m).unwrap(), m)).collect();
                let best = times
                    .iter()
                    .min_by(|a, b| a.0.total_cmp(&b.0).then((local(a.1), a.1).cmp(&(local(b.1), b.1))))
                    .unwrap()
                    .1;
                let names: Vec<String> =
                    (0..k).filter(|g| best >> g & 1 == 1).map(|g| groups[g].name.clone()).collect();
                assert_eq!(choice.chosen.shared_groups, names, "{device}");
            }
        }
    }

    /// Large buffers move alone; a nested alias moves with its target.
    #[test]
    fn groups_split_large_buffers_and_keep_nested_aliases_together() {
        let inst = instance(&[]);
        let input = PlanInput::try_from(&inst).unwrap();
        let c = choose(&input, &inst.table, &DeviceProfile::named("h100").unwrap(), &quick()).unwrap();
        let group_of = |name: &str| c.groups.iter().position(|g| g.buffers.iter().any(|b| b == name));
        let acc = group_of("kernel/loop/algorithm/accumulator").unwrap();
        assert_eq!(group_of("kernel/loop/algorithm/stage_base"), Some(acc));
        assert!(c.groups.iter().any(|g| g.buffers.len() == 1 && g.name.contains('/')));
    }
    /// Among splits of equal estimated time the choice is canonical: the
    /// fewest bytes in local memory, then the lowest mask, whatever order
    /// the search met them in. With no accesses at all, many splits tie.
    #[test]
    fn ties_break_canonically() {
        for n in ["3", "100"] {
            let inst = instance(&[("n", n)]);
            let input = PlanInput::try_from(&inst).unwrap();
            let h100 = DeviceProfile::named("h100").unwrap();
            let mut silent = Weights::default();
            for b in &input.buffers {
                silent.set(&b.full_name(), vec![("all".into(), 0)]);
            }
            let mut ties_seen = false;
            for accesses in [Weights::default(), silent] {
                let options = TierOptions { accesses, ..any_gain() };
                let choice = choose(&input, &inst.table, &h100, &options).unwrap();
                let (groups, mut search) = prepare(&input, &inst.table, &h100, &options).unwrap();
                let k = groups.len();
                let local = |mask: u64| (0..k).filter(|&g| mask >> g & 1 == 0).map(|g| groups[g].bytes).sum::<u64>();
                let times: Vec<f64> = (0..1u64 << k).map(|m| search.exact_time(m).unwrap()).collect();
                let best = times.iter().copied().fold(f64::INFINITY, f64::min);
                let canonical = (0..1u64 << k).filter(|&m| times[m as usize] == best).min_by_key(|&m| (local(m), m));
                let canonical = canonical.unwrap();
                ties_seen |= times.iter().filter(|&&t| t == best).count() > 1;
                let names: Vec<String> =
                    (0..k).filter(|g| canonical >> g & 1 == 1).map(|g| groups[g].name.clone()).collect();
                assert_eq!(choice.chosen.shared_groups, names, "n = {n}");
            }
            assert!(ties_seen, "n = {n}: no two splits tied; the test checks no tie-break");
        }
    }

    /// A split is chosen only when it is estimated [`SPLIT_MARGIN`] times
    /// faster than the best plain layout; otherwise that plain layout (the
    /// same plan the search found best among the three) stays. On the H100
    /// the default model's small splits, 1.09x by the estimate, measured
    /// 0.82-0.85x of all shared (docs/results/gpu-h100.md): they are within
    /// the margin and no longer chosen.
    #[test]
    fn a_split_must_beat_the_plain_layouts_by_the_margin() {
        let mut rejected = 0;
        for (n, device) in [("3", "h100"), ("30", "h100"), ("100", "h100"), ("100", "h200")] {
            let inst = instance(&[("n", n)]);
            let input = PlanInput::try_from(&inst).unwrap();
            let d = DeviceProfile::named(device).unwrap();
            let free = choose(&input, &inst.table, &d, &any_gain()).unwrap();
            let kept = choose(&input, &inst.table, &d, &quick()).unwrap();
            let plain = [&free.own_locations, &free.all_shared, &free.all_local]
                .into_iter()
                .max_by(|a, b| a.runs_per_second.total_cmp(&b.runs_per_second))
                .unwrap();
            let gain = free.chosen.runs_per_second / plain.runs_per_second;
            if gain > SPLIT_MARGIN {
                assert_eq!(kept.chosen, free.chosen, "n = {n}, {device}: a {gain:.2}x split was dropped");
            } else {
                // The best plain layout, planned like the baselines.
                let same = [&kept.own_locations, &kept.all_shared, &kept.all_local].into_iter().any(|p| {
                    p.shared_groups == kept.chosen.shared_groups && p.runs_per_second == kept.chosen.runs_per_second
                });
                assert!(same, "n = {n}, {device}: chose {:?}", kept.chosen.shared_groups);
                assert!((kept.chosen.runs_per_second - plain.runs_per_second).abs() <= 1e-9 * plain.runs_per_second);
                rejected += usize::from(free.chosen.shared_groups != kept.chosen.shared_groups);
            }
        }
        assert!(rejected > 0, "no split was within the margin; the test checks nothing");
    }
}
