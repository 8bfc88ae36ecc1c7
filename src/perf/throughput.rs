//! The throughput estimate of a launch, and the block-size search it drives.
//!
//! A batch kernel runs one system (a *run*) per thread. Which block size is
//! fastest depends on more than the threads kept resident (measured on an
//! H200, `docs/reference/gpu-notes.md` §5): a partly empty warp costs a
//! whole warp's issue slots, a multiprocessor with few warps is
//! latency-bound (one more warp is free), at a fixed batch size a partly
//! filled last wave of blocks costs time too, and local memory is fast only
//! while the multiprocessor's data cache holds it, slower from L2 while the
//! L2 holds every SM's resident arrays, and slowest from HBM beyond (the
//! level a wave's local working set lands in). The estimate charges
//! exactly these, with per-device parameters kept as data
//! ([`ThroughputParams`], `[NAME.throughput]` in `models/devices.toml`):
//!
//! ```text
//! hit        = min(1, (cache_bytes_per_sm − shared bytes of the resident blocks)
//!                     ÷ (resident warps × 32 lanes × local bytes per run))
//! in_l2      = min(1, l2_bytes ÷ (the wave's warps on all SMs × 32 lanes × local bytes per run))
//! miss       = in_l2 × local_miss_ns + (1 − in_l2) × hbm_miss_ns            (latency)
//! miss_busy  = in_l2 × local_miss_busy_ns + (1 − in_l2) × hbm_miss_busy_ns  (bandwidth)
//! hit_ns     = the kernel's local_hit_per_shared × shared_access_ns, else local_access_ns
//! latency    = A_s × shared_access_ns + A_l × (hit × hit_ns + (1 − hit) × miss)
//! busy       = (A_s × shared_access_ns + A_l × hit × hit_ns) ÷ saturation_warps
//!              + A_l × (1 − hit) × miss_busy
//! wave time  = max(latency, resident warps per SM × busy)
//!              (A_s, A_l: accesses per run; one warp issues each once, whatever its busy lanes)
//! batch time = full waves × wave time(all resident blocks)
//!            + wave time(blocks of the last, partial wave on its busiest SM)
//! throughput = runs ÷ batch time
//! ```
//!
//! Blocks go to multiprocessors in waves of `blocks per SM × SMs`; the
//! resident blocks per SM come from the driver's rule
//! ([`DeviceProfile::occupancy`]). `docs/throughput.md` derives the model,
//! shows its fit to the measurements and says how to calibrate it.
//!
//! [`search`] tries every block size from 1 to the device's maximum, ranks
//! them by estimated throughput, says why the pick won, and places CuBIE's
//! halving pick ([`DeviceProfile::limit_blocksize`]) in the same ranking.
//!
//! ```
//! use smemplan_perf::occupancy::DeviceProfile;
//! use smemplan_perf::throughput::{self, Workload};
//!
//! let h200 = DeviceProfile::named("h200").unwrap();
//! // 1,580 B of shared memory per run, every word read and written 200 times.
//! let work = Workload {
//!     shared_bytes_per_run: 1580,
//!     shared_accesses: 200.0 * 2.0 * 395.0,
//!     local_accesses: 0.0,
//!     local_bytes_per_run: 0,
//!     register_bytes_per_run: 0,
//!     local_hit_per_shared: None,
//!     registers_per_thread: 0,
//!     runs: 1 << 17,
//! };
//! let search = throughput::search(&h200, &work, 64).unwrap();
//! let best = search.best();
//! // Mostly full warps beat many quarter-full ones.
//! assert!(best.lanes_per_warp > 16.0);
//! assert!(best.runs_per_second >= search.cubie.as_ref().unwrap().estimate.runs_per_second);
//! println!("{}", search.reason);
//! ```

use crate::error::{Error, Result};
use crate::occupancy::{DeviceProfile, Occupancy, ThroughputParams};
use serde::Serialize;

/// What the kernel asks of each run (thread): the estimate's input.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Workload {
    /// Bytes between two runs' slices of a block's shared memory (the padded
    /// stride); a block of `b` threads takes `b ×` this.
    pub shared_bytes_per_run: u64,
    /// 4-byte shared-memory loads and stores per run over the kernel.
    pub shared_accesses: f64,
    /// The same for local memory.
    pub local_accesses: f64,
    /// Bytes per run in local memory (the arrays the cache must hold for
    /// local accesses to hit; 0: none).
    pub local_bytes_per_run: u64,
    /// Of `local_bytes_per_run`, the bytes the compiler may hold in
    /// registers (arrays it indexes only with compile-time indices; 0: none).
    /// The estimate keeps up to the register budget of them in registers
    /// ([`ARRAY_REGISTER_RESERVE`]), free of memory accesses; the rest stay
    /// local.
    pub register_bytes_per_run: u64,
    /// Registers per thread (0: unknown, registers never limit).
    pub registers_per_thread: u64,
    /// Runs in the batch (one per thread).
    pub runs: u64,
    /// What a local access that hits the SM's cache costs in this kernel,
    /// in shared accesses (`None`: the device profile's
    /// `local_access_ns ÷ shared_access_ns`, fitted on the stand-in's
    /// read-modify-write of every word). A kernel model sets it
    /// (`local_hit_per_shared`, `docs/models.md`) where its compiled code
    /// makes thread-private arrays cheaper than that: the compiler may keep
    /// their values in registers between accesses, which it cannot do for
    /// shared memory that other threads see.
    pub local_hit_per_shared: Option<f64>,
}

/// Registers per thread the compiler keeps for the code itself (addresses,
/// loop counters, temporaries) when local arrays take the rest: the
/// register budget of [`Workload::register_bytes_per_run`] is the device's
/// registers per thread less these, 4 bytes each. On the H100 the
/// compiled Dormand–Prince kernels held 576 B of promotable arrays entirely
/// in registers at n = 16 (128 registers) and spilled 1,272 of 2,304 B at
/// n = 64 (255 registers), where this budget spills 1,412 B
/// (`docs/throughput.md`).
pub const ARRAY_REGISTER_RESERVE: u64 = 32;

impl Workload {
    /// Nanoseconds of one local access that hits the SM's cache
    /// ([`Workload::local_hit_per_shared`], else the profile's figure).
    pub fn local_hit_ns(&self, params: &ThroughputParams) -> f64 {
        self.local_hit_per_shared.map_or(params.local_access_ns, |r| r * params.shared_access_ns)
    }

    /// This workload as the compiler lays it out: the promotable local
    /// bytes up to the register budget held in registers (their share of
    /// the local accesses gone), the rest left in local memory. Where the
    /// arrays overflow the budget the compiler takes every register a
    /// thread may have, which the residency rule then counts.
    pub fn in_registers(&self, device: &DeviceProfile) -> Workload {
        let promotable = self.register_bytes_per_run.min(self.local_bytes_per_run);
        if promotable == 0 {
            return Workload { register_bytes_per_run: 0, ..*self };
        }
        let budget = device.max_registers_per_thread.saturating_sub(ARRAY_REGISTER_RESERVE).saturating_mul(4);
        let held = promotable.min(budget);
        let left = self.local_bytes_per_run - held;
        Workload {
            local_accesses: self.local_accesses * (left as f64 / self.local_bytes_per_run as f64),
            local_bytes_per_run: left,
            register_bytes_per_run: 0,
            registers_per_thread: if promotable > budget {
                self.registers_per_thread.max(device.max_registers_per_thread)
            } else {
                self.registers_per_thread
            },
            ..*self
        }
    }
}

/// The estimate for one block size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Residency on one multiprocessor.
    pub occupancy: Occupancy,
    /// Busy lanes per warp: `block ÷ warps per block`.
    pub lanes_per_warp: f64,
    /// Waves of blocks over the batch (a partial last wave as a fraction).
    pub waves: f64,
    /// Resident warps per SM in the last, partial wave (0 when every wave is
    /// full).
    pub last_wave_warps_per_sm: u64,
    /// One warp's time over the kernel when it runs alone, seconds.
    pub warp_seconds: f64,
    /// The batch time in units of `warp_seconds`: the part of the estimate
    /// that residency, waves and cache misses decide.
    pub warp_times: f64,
    /// Estimated batch time, seconds.
    pub seconds: f64,
    /// Estimated throughput: runs per second.
    pub runs_per_second: f64,
}

/// The time of one warp over the kernel when it runs alone and every
/// local access hits the cache, in seconds: the unit of
/// [`Estimate::warp_times`].
pub fn warp_seconds(params: &ThroughputParams, workload: &Workload) -> f64 {
    (workload.shared_accesses * params.shared_access_ns + workload.local_accesses * workload.local_hit_ns(params))
        * 1e-9
}

/// A lower bound on one warp's time in any wave, for [`warp_times_bound`]:
/// `warp_times_bound × this ≤` the estimated batch time at every block
/// size, for any workload with at least `workload.local_bytes_per_run`
/// local bytes. Its local accesses hit at most as often as with one warp
/// resident and no shared memory, and a miss is charged the smaller of its
/// latency and its busy time × saturation (so that it bounds both the
/// latency-bound and the busy-bound wave).
pub fn warp_seconds_bound(device: &DeviceProfile, workload: &Workload) -> f64 {
    let workload = &workload.in_registers(device);
    let p = &device.throughput;
    // HBM costs at least what L2 does (a profile's rule): L2's figures bound
    // every miss.
    let hit = hit_share(device, workload, 0, 0, 1);
    let miss = p.local_miss_ns.min(p.local_miss_busy_ns * p.saturation_warps);
    (workload.shared_accesses * p.shared_access_ns
        + workload.local_accesses * (hit * workload.local_hit_ns(p) + (1.0 - hit) * miss))
        * 1e-9
}

/// A lower bound on the estimated batch time at any block size and any
/// stride. The busiest SM holds at least `R = runs ÷ SMs` runs; a wave of
/// `w` resident warps (at most 32 busy lanes each, no shared memory taking
/// cache) takes `wave(w)`, which never falls as `w` grows, and serves at
/// most `32 w` of them, so the SM takes at least
/// `min over w of wave(w) × max(1, R ÷ 32 w)`. A wave's L2 working set is at
/// least the busiest SM's own `w` warps (the other SMs may be idle in a last
/// wave), so `wave(w)` takes the L2 share of those alone. Where
/// [`warp_times_bound`] is loose (many warps, each missing the cache; or few
/// runs per SM), this one is not.
pub fn seconds_bound(device: &DeviceProfile, workload: &Workload) -> f64 {
    let workload = &workload.in_registers(device);
    let lanes = device.warp_size.max(1) as f64;
    let per_sm = workload.runs as f64 / device.multiprocessors.max(1) as f64;
    (1..=device.max_warps_per_sm().max(1))
        .map(|w| {
            let levels = Levels { hit: hit_share(device, workload, 0, 0, w), in_l2: l2_share(device, workload, w) };
            let wave = wave_seconds_at(device, workload, levels, w);
            wave * (per_sm / (lanes * w as f64)).max(1.0)
        })
        .fold(f64::INFINITY, f64::min)
}

/// The share of local accesses that hit the multiprocessor's data cache
/// when `warps` warps of `blocks` blocks are resident: what the blocks'
/// shared memory leaves of the cache over the local bytes those warps
/// address. Local memory is interleaved by lane, so a warp's local arrays
/// take a full warp's lines whatever its busy lanes.
fn hit_share(device: &DeviceProfile, workload: &Workload, dynamic: u64, blocks: u64, warps: u64) -> f64 {
    if workload.local_bytes_per_run == 0 || workload.local_accesses == 0.0 {
        return 1.0;
    }
    let shared = blocks.saturating_mul(dynamic.saturating_add(device.reserved_shared_per_block));
    let free = device.throughput.cache_bytes_per_sm.saturating_sub(shared) as f64;
    let footprint = warps as f64 * device.warp_size.max(1) as f64 * workload.local_bytes_per_run as f64;
    (free / footprint).min(1.0)
}

/// The share of local accesses that miss the SM's cache and still find
/// their line in L2, when `gpu_warps` warps are resident on the whole card:
/// what L2 holds of their local arrays (interleaved by lane, a full warp's
/// lines each). The rest goes to HBM.
fn l2_share(device: &DeviceProfile, workload: &Workload, gpu_warps: u64) -> f64 {
    if workload.local_bytes_per_run == 0 {
        return 1.0;
    }
    let footprint = gpu_warps as f64 * device.warp_size.max(1) as f64 * workload.local_bytes_per_run as f64;
    (device.throughput.l2_bytes as f64 / footprint).min(1.0)
}

/// Where a wave's local accesses are served: the share that hits the SM's
/// cache, and of the rest the share L2 holds (the remainder: HBM).
#[derive(Debug, Clone, Copy)]
struct Levels {
    hit: f64,
    in_l2: f64,
}

/// Seconds of one wave with `blocks` blocks of `warps_per_block` warps
/// resident per SM and `gpu_blocks` blocks resident on the whole card: the
/// longer of one warp's latency-bound time and the multiprocessor's busy
/// time for all of them.
fn wave_seconds(
    device: &DeviceProfile,
    workload: &Workload,
    dynamic: u64,
    blocks: u64,
    warps_per_block: u64,
    gpu_blocks: u64,
) -> f64 {
    let warps = blocks * warps_per_block;
    let levels = Levels {
        hit: hit_share(device, workload, dynamic, blocks, warps),
        in_l2: l2_share(device, workload, gpu_blocks.saturating_mul(warps_per_block)),
    };
    wave_seconds_at(device, workload, levels, warps)
}

/// The same for `warps` resident warps per SM whose local accesses are
/// served as `levels` says. A miss costs L2's latency and bandwidth for the
/// share L2 holds and HBM's for the rest.
fn wave_seconds_at(device: &DeviceProfile, workload: &Workload, levels: Levels, warps: u64) -> f64 {
    let p = &device.throughput;
    let (shared, local) = (workload.shared_accesses, workload.local_accesses);
    let Levels { hit, in_l2 } = levels;
    let miss = in_l2 * p.local_miss_ns + (1.0 - in_l2) * p.hbm_miss_ns;
    let miss_busy = in_l2 * p.local_miss_busy_ns + (1.0 - in_l2) * p.hbm_miss_busy_ns;
    let hit_ns = workload.local_hit_ns(p);
    let latency = shared * p.shared_access_ns + local * (hit * hit_ns + (1.0 - hit) * miss);
    let busy =
        (shared * p.shared_access_ns + local * hit * hit_ns) / p.saturation_warps + local * (1.0 - hit) * miss_busy;
    latency.max(warps as f64 * busy) * 1e-9
}

/// The estimate for blocks of `block_size` threads; `None` when such a
/// block cannot launch (too many threads, too much shared memory, too many
/// registers) or the workload has no runs.
pub fn estimate(device: &DeviceProfile, workload: &Workload, block_size: u64) -> Result<Option<Estimate>> {
    if block_size == 0 {
        return Err(Error::Device { device: device.name.clone(), message: "a block needs at least one thread".into() });
    }
    if workload.runs == 0 {
        return Ok(None);
    }
    let workload = &workload.in_registers(device);
    let Some(dynamic) = workload.shared_bytes_per_run.checked_mul(block_size.min(workload.runs)) else {
        return Ok(None);
    };
    let occupancy = device.occupancy(block_size, dynamic, workload.registers_per_thread)?;
    if occupancy.active_blocks_per_sm == 0 {
        return Ok(None);
    }
    let sms = device.multiprocessors.max(1);
    let blocks = workload.runs.div_ceil(block_size);
    let per_wave = occupancy.active_blocks_per_sm.saturating_mul(sms);
    let (full, rest) = (blocks / per_wave, blocks % per_wave);
    // The last wave's blocks spread over the SMs; the busiest one decides.
    let last_blocks = rest.div_ceil(sms);
    let wpb = occupancy.warps_per_block;
    let warp = warp_seconds(&device.throughput, workload);
    // A wave in seconds and in warp times; without accesses (nothing to
    // time) the warp times still rank shapes: latency-bound up to saturation.
    let wave = |blocks: u64, gpu_blocks: u64| {
        let seconds = wave_seconds(device, workload, dynamic, blocks, wpb, gpu_blocks);
        let times = if warp > 0.0 {
            seconds / warp
        } else {
            ((blocks * wpb) as f64 / device.throughput.saturation_warps).max(1.0)
        };
        (seconds, times)
    };
    let (wave_s, wave_t) = wave(occupancy.active_blocks_per_sm, per_wave);
    let (mut seconds, mut warp_times) = (full as f64 * wave_s, full as f64 * wave_t);
    if rest > 0 {
        let (s, t) = wave(last_blocks, rest);
        seconds += s;
        warp_times += t;
    }
    Ok(Some(Estimate {
        occupancy,
        lanes_per_warp: block_size as f64 / wpb as f64,
        waves: full as f64 + rest as f64 / per_wave as f64,
        last_wave_warps_per_sm: last_blocks * wpb,
        warp_seconds: warp,
        warp_times,
        seconds,
        runs_per_second: if seconds > 0.0 { workload.runs as f64 / seconds } else { f64::INFINITY },
    }))
}

/// Estimated rate `a` ÷ rate `b` (`None` when `b` is 0). A rate without
/// memory time is infinite ([`Estimate::runs_per_second`]): as fast as
/// another such (1), infinitely faster than the rest, and a finite one is 0
/// of it.
pub fn rate_ratio(a: f64, b: f64) -> Option<f64> {
    match (a.is_finite(), b.is_finite()) {
        (false, false) => Some(1.0),
        _ if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// A lower bound on the best block size's [`Estimate::warp_times`] for
/// `shared_bytes_per_run` that never decreases as the stride grows (`None`:
/// nothing can launch). It takes the waves fractionally: a batch of `N`
/// blocks with `b` resident per SM takes at least `N ÷ (b × SMs)` waves of
/// `max(1, b × warps per block ÷ saturation)` warp times each, which only
/// falls as `b` grows, and `b` only falls as the stride grows. (The exact
/// estimate is not monotone: a partial last wave can make fewer blocks per
/// SM faster.) And every wave takes at least one warp time, so it is also
/// at least the whole number of waves, which only grows with the stride too
/// (this makes it tight for a batch of a few waves). Cache misses only add
/// time, so `warp_times_bound ×` [`warp_seconds`] (or
/// [`warp_seconds_bound`]) bounds the estimated batch time whatever the
/// local bytes. A search over placements prunes with it.
pub fn warp_times_bound(
    device: &DeviceProfile,
    shared_bytes_per_run: u64,
    registers_per_thread: u64,
    runs: u64,
) -> Result<Option<f64>> {
    let sms = device.multiprocessors.max(1) as f64;
    let s = device.throughput.saturation_warps;
    let mut best: Option<f64> = None;
    for block in 1..=device.max_threads_per_block {
        let Some(dynamic) = shared_bytes_per_run.checked_mul(block.min(runs)) else {
            break;
        };
        let o = device.occupancy(block, dynamic, registers_per_thread)?;
        if o.active_blocks_per_sm == 0 {
            continue;
        }
        let blocks = runs.div_ceil(block) as f64;
        let per_wave = o.active_blocks_per_sm as f64 * sms;
        let fractional = blocks / sms * (1.0 / o.active_blocks_per_sm as f64).max(o.warps_per_block as f64 / s);
        // Every wave, the last partial one too, takes at least one warp time.
        let t = fractional.max((blocks / per_wave).ceil());
        best = Some(best.map_or(t, |b: f64| b.min(t)));
    }
    Ok(best)
}

/// CuBIE's halving pick, estimated like every other candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CubiePick {
    /// The block size CuBIE was asked for.
    pub requested: u64,
    /// The estimate at CuBIE's block size.
    pub estimate: Estimate,
    /// 1-based place in the ranking: 1 + the candidates estimated strictly
    /// faster.
    pub rank: usize,
    /// Estimated slowdown against the pick (≥ 1).
    pub slowdown: f64,
}

/// The ranked candidates, the pick and why it won.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockSearch {
    /// Every block size that can launch, fastest first (ties: resident
    /// warps closest to one per scheduler, then fuller warps, then the
    /// smaller block).
    pub ranked: Vec<Estimate>,
    /// CuBIE's pick for the requested block size, `None` when one run alone
    /// exceeds the per-block limit.
    pub cubie: Option<CubiePick>,
    /// Why the pick won, in words.
    pub reason: String,
}

impl BlockSearch {
    /// The pick: the fastest candidate.
    pub fn best(&self) -> &Estimate {
        &self.ranked[0]
    }

    /// 1-based place of `block_size` in the ranking (1 + the candidates
    /// estimated strictly faster); `None` when it is not a candidate.
    pub fn rank_of(&self, block_size: u64) -> Option<usize> {
        let e = self.ranked.iter().find(|e| e.occupancy.block_size == block_size)?;
        Some(1 + self.ranked.iter().filter(|o| faster(o, e)).count())
    }
}

/// Strictly faster. Equal shapes (warps per wave, waves) give bit-equal
/// times, so ties are exact; with no accesses at all, fewer warp times win.
fn faster(a: &Estimate, b: &Estimate) -> bool {
    (a.seconds, a.warp_times) < (b.seconds, b.warp_times)
}

/// Warp schedulers per multiprocessor: each issues for its own warps, so an
/// SM with fewer resident warps than this leaves schedulers idle. Four on
/// every card since Volta, the H100 and H200 of the profiles included.
pub const SCHEDULERS_PER_SM: u64 = 4;

/// The ranking: faster first; on a tie, resident warps closest to one per
/// scheduler ([`SCHEDULERS_PER_SM`]; in a batch of less than one wave, the
/// warps its busiest SM holds), then fuller warps (they leave issue
/// slots to spare, which the model does not credit either), then the
/// smaller block.
///
/// Tied blocks give the same runs per SM, so more warps means fewer lanes
/// in each. Fewer warps than schedulers leave some idle: on the H100's
/// stand-in runs (`docs/throughput.md`), one or two warps per SM lost to
/// three or four by 4–9 % (dirk n = 45, 80, 100 f64, Dormand–Prince n = 64
/// f64). More warps than schedulers issue the same instructions for fewer
/// lanes each: on the H200's backward Euler n = 48, block 3 (warps of 3
/// lanes) measured 0.949 of the best where block 23 measured 0.998. Among
/// blocks with a warp for every scheduler, fuller warps won by up to 35 %.
pub fn ranking(a: &Estimate, b: &Estimate) -> std::cmp::Ordering {
    // A batch of less than one wave never fills the residency: its busiest
    // SM holds the last wave's warps.
    let warps = |e: &Estimate| {
        if e.waves < 1.0 {
            e.last_wave_warps_per_sm
        } else {
            e.occupancy.active_warps_per_sm
        }
    };
    let off_schedulers = |e: &Estimate| SCHEDULERS_PER_SM.abs_diff(warps(e));
    a.seconds
        .total_cmp(&b.seconds)
        .then(a.warp_times.total_cmp(&b.warp_times))
        .then(off_schedulers(a).cmp(&off_schedulers(b)))
        .then(b.lanes_per_warp.total_cmp(&a.lanes_per_warp))
        .then(a.occupancy.block_size.cmp(&b.occupancy.block_size))
}

/// Ranks every block size from 1 to the device's maximum (see [`search_among`]).
pub fn search(device: &DeviceProfile, workload: &Workload, cubie_requested: u64) -> Result<BlockSearch> {
    search_among(device, workload, 1..=device.max_threads_per_block, cubie_requested)
}

/// The fastest block size from 1 to the device's maximum, without the
/// ranking (what a sweep needs); `None` when no block size can launch.
pub fn best_block_size(device: &DeviceProfile, workload: &Workload) -> Result<Option<Estimate>> {
    let mut best: Option<Estimate> = None;
    for block in 1..=device.max_threads_per_block {
        if let Some(e) = estimate(device, workload, block)? {
            if best.as_ref().is_none_or(|b| ranking(&e, b).is_lt()) {
                best = Some(e);
            }
        }
    }
    Ok(best)
}

/// Ranks `candidates` by estimated throughput, places CuBIE's pick for
/// `cubie_requested` (estimated even when it is not among the candidates)
/// and explains the winner. An error when no candidate can launch.
pub fn search_among(
    device: &DeviceProfile,
    workload: &Workload,
    candidates: impl IntoIterator<Item = u64>,
    cubie_requested: u64,
) -> Result<BlockSearch> {
    let mut ranked = Vec::new();
    for block in candidates {
        if let Some(e) = estimate(device, workload, block)? {
            ranked.push(e);
        }
    }
    ranked.sort_by(ranking);
    let Some(best) = ranked.first().copied() else {
        return Err(Error::Device {
            device: device.name.clone(),
            message: format!(
                "no block size can launch: one run needs {} B of shared memory (per-block limit {} B) and {} registers",
                workload.shared_bytes_per_run, device.max_shared_per_block_optin, workload.registers_per_thread
            ),
        });
    };
    let cubie = match device.limit_blocksize(cubie_requested, workload.shared_bytes_per_run, workload.runs) {
        Ok(limited) => estimate(device, workload, limited.block_size)?.map(|e| CubiePick {
            requested: cubie_requested,
            estimate: e,
            rank: 1 + ranked.iter().filter(|o| faster(o, &e)).count(),
            slowdown: slowdown(&e, &best),
        }),
        Err(_) => None,
    };
    let reason = explain(device, workload, &ranked, cubie.as_ref());
    Ok(BlockSearch { ranked, cubie, reason })
}

/// How much slower `e` is estimated than `best` (≥ 1): the ratio of their
/// times, or where `best` takes no time (no accesses left to time, every
/// array held in registers) of their warp times, the shape ranking that
/// still orders them.
fn slowdown(e: &Estimate, best: &Estimate) -> f64 {
    if best.seconds > 0.0 {
        e.seconds / best.seconds
    } else if e.seconds > 0.0 {
        f64::INFINITY
    } else {
        e.warp_times / best.warp_times
    }
}

fn describe(e: &Estimate) -> String {
    let o = &e.occupancy;
    let lanes = if e.lanes_per_warp < 31.5 { format!(" of {:.0} busy lanes", e.lanes_per_warp) } else { String::new() };
    format!(
        "{} block(s) × {} warp(s){lanes} = {} warps, {} threads per SM ({} bound), {:.2} waves",
        o.active_blocks_per_sm, o.warps_per_block, o.active_warps_per_sm, o.active_threads_per_sm, o.limiter, e.waves
    )
}

/// Why the pick won: what it keeps resident, whether that is latency- or
/// issue-bound, and how far the runner-up (with a different residency) and
/// CuBIE's pick fall behind.
fn explain(device: &DeviceProfile, workload: &Workload, ranked: &[Estimate], cubie: Option<&CubiePick>) -> String {
    let best = &ranked[0];
    let s = device.throughput.saturation_warps;
    let bound = if best.occupancy.active_warps_per_sm as f64 <= s {
        format!("at most {s} warps per SM hide each other's latency, so every resident warp is free and the batch time is the waves' count")
    } else {
        format!("above {s} warps per SM the multiprocessor is issue-bound, so each warp costs its full issue slots whatever its busy lanes")
    };
    let time = if best.seconds > 0.0 {
        format!("estimated {:.3} ms for {} runs", best.seconds * 1e3, workload.runs)
    } else {
        format!(
            "no memory accesses left to time for {} runs (those of arrays held in registers are free)",
            workload.runs
        )
    };
    let mut text = format!("block {}: {}; {bound}; {time}", best.occupancy.block_size, describe(best));
    let shape = |e: &Estimate| (e.occupancy.active_warps_per_sm, e.occupancy.active_threads_per_sm);
    if let Some(next) = ranked.iter().find(|e| shape(e) != shape(best) || e.waves != best.waves) {
        text += &format!(
            "; next different shape: block {} ({}), {:.2}× slower",
            next.occupancy.block_size,
            describe(next),
            slowdown(next, best)
        );
    }
    if let Some(c) = cubie {
        let block = c.estimate.occupancy.block_size;
        text += &if c.rank == 1 {
            format!("; CuBIE's halving pick, block {block}, ties with it")
        } else {
            format!("; CuBIE's halving pick: block {block} (rank {}), {:.2}× slower", c.rank, c.slowdown)
        };
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Promotable local arrays are held in registers up to the budget: free
    /// of accesses while they fit, the rest left local with its share of
    /// the accesses and every register taken beyond it.
    #[test]
    fn local_arrays_live_in_registers_up_to_the_budget() {
        let h100 = DeviceProfile::named("h100").unwrap();
        let budget = (h100.max_registers_per_thread - ARRAY_REGISTER_RESERVE) * 4;
        let work = |local: u64, promotable: u64| Workload {
            shared_bytes_per_run: 0,
            shared_accesses: 100.0,
            local_accesses: 1000.0,
            local_bytes_per_run: local,
            register_bytes_per_run: promotable,
            local_hit_per_shared: None,
            registers_per_thread: 0,
            runs: 1 << 14,
        };
        let held = work(576, 576).in_registers(&h100);
        assert_eq!((held.local_accesses, held.local_bytes_per_run, held.registers_per_thread), (0.0, 0, 0));
        let over = work(2 * budget, 2 * budget).in_registers(&h100);
        assert_eq!((over.local_accesses, over.local_bytes_per_run), (500.0, budget));
        assert_eq!(over.registers_per_thread, h100.max_registers_per_thread);
        // Nothing promotable, nothing held.
        assert_eq!(work(576, 0).in_registers(&h100), work(576, 0));
        // The estimate charges what is left: held arrays are faster.
        let at = |w: &Workload| estimate(&h100, w, 64).unwrap().unwrap().seconds;
        assert!(at(&work(576, 576)) < at(&work(576, 0)));
        assert!(at(&work(2 * budget, 2 * budget)) < at(&work(2 * budget, 0)));
    }

    /// A batch of less than one wave: tied blocks go to the one whose
    /// busiest SM holds one warp per scheduler, not to the residency the
    /// batch never fills. 16,384 runs on 132 SMs: blocks of 32 put four
    /// warps on the busiest SM, blocks of 160 five.
    #[test]
    fn a_sub_wave_batch_breaks_ties_on_the_warps_it_holds() {
        let h100 = DeviceProfile::named("h100").unwrap();
        let work = Workload {
            shared_bytes_per_run: 0,
            shared_accesses: 0.0,
            local_accesses: 0.0,
            local_bytes_per_run: 0,
            register_bytes_per_run: 0,
            local_hit_per_shared: None,
            registers_per_thread: 255,
            runs: 1 << 14,
        };
        let at = |b: u64| estimate(&h100, &work, b).unwrap().unwrap();
        let (b32, b160) = (at(32), at(160));
        assert!(b32.waves < 1.0 && b160.waves < 1.0);
        assert_eq!((b32.seconds, b32.warp_times), (b160.seconds, b160.warp_times));
        assert_eq!((b32.last_wave_warps_per_sm, b160.last_wave_warps_per_sm), (4, 5));
        assert!(ranking(&b32, &b160).is_lt());
    }

    fn h100() -> DeviceProfile {
        DeviceProfile::named("h100").unwrap()
    }

    fn work(stride: u64, runs: u64) -> Workload {
        Workload {
            shared_bytes_per_run: stride,
            shared_accesses: 1000.0,
            local_accesses: 0.0,
            local_bytes_per_run: 0,
            register_bytes_per_run: 0,
            local_hit_per_shared: None,
            registers_per_thread: 0,
            runs,
        }
    }

    /// Local arrays are cheap while the cache holds every resident warp's
    /// lines and cost the miss rate beyond: the same accesses in 4 KiB of
    /// local memory per run slow down as more warps share the cache, and
    /// shared memory per block takes cache away.
    #[test]
    fn local_memory_costs_misses_once_the_cache_is_full() {
        let h = h100();
        let local = |local_bytes: u64, stride: u64| Workload {
            shared_bytes_per_run: stride,
            shared_accesses: 0.0,
            local_accesses: 1000.0,
            local_bytes_per_run: local_bytes,
            register_bytes_per_run: 0,
            local_hit_per_shared: None,
            registers_per_thread: 0,
            runs: 1 << 20,
        };
        let per_warp = |w: &Workload, block: u64| {
            let e = estimate(&h, w, block).unwrap().unwrap();
            e.seconds / e.waves / e.occupancy.active_warps_per_sm as f64
        };
        // 64 warps × 32 lanes × 4 B fit in 256 KiB: no misses, as if 0 bytes.
        let small = local(4, 0);
        assert_eq!(estimate(&h, &small, 1024).unwrap(), estimate(&h, &local(0, 0), 1024).unwrap());
        // 4 KiB per run: one warp of 32 fits twice, 64 warps miss mostly.
        let big = local(4096, 0);
        assert!(per_warp(&big, 1024) > 3.0 * per_warp(&small, 1024));
        // Shared memory leaves less cache: more misses at the same residency.
        let with_shared = local(4096, 64);
        assert!(
            estimate(&h, &with_shared, 32).unwrap().unwrap().seconds > estimate(&h, &big, 32).unwrap().unwrap().seconds
        );
        // The bounds hold at every block size; where even one warp's local
        // arrays overflow the cache (32 × 16 KiB), the miss-aware bound is
        // tighter than the all-hit one: half the accesses miss, each at
        // least min(L2 latency, busy × saturation) = 16.6 ns against a
        // 9.9 ns hit on the H100, 1.34× the all-hit time.
        let huge = local(16384, 0);
        let times = warp_times_bound(&h, 0, 0, big.runs).unwrap().unwrap();
        assert!(warp_seconds_bound(&h, &huge) > 1.3 * warp_seconds(&h.throughput, &huge));
        for w in [&big, &huge, &small] {
            let bound = times * warp_seconds_bound(&h, w);
            let rate_bound = seconds_bound(&h, w);
            for block in 1..=1024 {
                let e = estimate(&h, w, block).unwrap().unwrap();
                assert!(e.seconds >= bound * (1.0 - 1e-12), "block {block}: {} < {bound}", e.seconds);
                assert!(e.seconds >= rate_bound * (1.0 - 1e-12), "block {block}: {} < {rate_bound}", e.seconds);
            }
        }
        // The SM-rate bound is the tighter one where many warps miss.
        assert!(seconds_bound(&h, &huge) > times * warp_seconds_bound(&h, &huge));
        // A batch below one wave still takes one warp time.
        assert_eq!(warp_times_bound(&h, 0, 0, 32).unwrap(), Some(1.0));
    }

    /// Local traffic lands in the level its working set fits: past the SM's
    /// cache, L2 while every SM's resident arrays fit in it, HBM beyond. At
    /// the same block size more local bytes never estimate faster, and once
    /// the card's working set is past L2 the time follows the HBM's rate
    /// (the H200's faster HBM gives the faster estimate; all shared, the two
    /// cards tie).
    #[test]
    fn local_memory_lands_in_l2_then_hbm() {
        let (h100, h200) = (h100(), DeviceProfile::named("h200").unwrap());
        let local = |local_bytes: u64, runs: u64| Workload {
            shared_bytes_per_run: 156,
            shared_accesses: 400.0,
            local_accesses: 10_000.0,
            local_bytes_per_run: local_bytes,
            register_bytes_per_run: 0,
            local_hit_per_shared: None,
            registers_per_thread: 0,
            runs,
        };
        for block in [32, 96, 256, 993, 1024] {
            let mut last = 0.0;
            for local_bytes in (0..=8192).step_by(64) {
                let e = estimate(&h100, &local(local_bytes, 1 << 17), block).unwrap().unwrap();
                assert!(e.seconds >= last, "block {block}, {local_bytes} B: {} < {last}", e.seconds);
                last = e.seconds;
            }
        }
        // 2^17 runs × 5,268 B = 690 MB ≫ 50 MB of L2: HBM-bound. Against a
        // batch small enough for L2 (one wave of one block on each busy SM,
        // as at 2^17 runs), the wave takes several times longer.
        let per_run = |d: &DeviceProfile, runs: u64| estimate(d, &local(5268, runs), 993).unwrap().unwrap().seconds;
        let small = (h100.throughput.l2_bytes / 5268 / 993).max(1) * 993;
        assert!(per_run(&h100, 1 << 17) > 2.0 * per_run(&h100, small));
        let ratio = per_run(&h100, 1 << 17) / per_run(&h200, 1 << 17);
        let hbm = h100.throughput.hbm_miss_busy_ns / h200.throughput.hbm_miss_busy_ns;
        assert!(ratio > 0.9 * hbm && ratio <= hbm * (1.0 + 1e-9), "{ratio} vs {hbm}");
        let shared = work(5428, 1 << 17);
        assert_eq!(estimate(&h100, &shared, 21).unwrap(), estimate(&h200, &shared, 21).unwrap());
        // The bounds stay below the estimate in the HBM regime too.
        let w = local(5268, 1 << 17);
        let times = warp_times_bound(&h100, 156, 0, w.runs).unwrap().unwrap();
        for block in 1..=1024 {
            let e = estimate(&h100, &w, block).unwrap().unwrap();
            assert!(e.seconds >= seconds_bound(&h100, &w) * (1.0 - 1e-12), "block {block}");
            assert!(e.seconds >= times * warp_seconds_bound(&h100, &w) * (1.0 - 1e-12), "block {block}");
        }
    }

    /// `docs/reference/gpu-notes.md` §3: at a large footprint, three 32-thread blocks beat one
    /// 64-thread block, and the search never prefers the 64.
    #[test]
    fn more_resident_warps_win_when_latency_bound() {
        let h = h100();
        let w = work(2304, 270_336);
        let e32 = estimate(&h, &w, 32).unwrap().unwrap();
        let e64 = estimate(&h, &w, 64).unwrap().unwrap();
        assert_eq!((e32.occupancy.active_blocks_per_sm, e64.occupancy.active_blocks_per_sm), (3, 1));
        assert!(e32.seconds < e64.seconds);
        let s = search(&h, &w, 64).unwrap();
        assert!(s.rank_of(32).unwrap() < s.rank_of(64).unwrap());
        assert_eq!(s.cubie.as_ref().unwrap().estimate.occupancy.block_size, 64);
        assert!(s.best().seconds <= e32.seconds);
    }

    /// Above the saturation point, warps cost issue slots: 32 full warps beat
    /// 32 one-lane warps by about 32×.
    #[test]
    fn partly_empty_warps_cost_full_warps() {
        let h = h100();
        let w = work(0, 1 << 20);
        let one = estimate(&h, &w, 1).unwrap().unwrap();
        let full = estimate(&h, &w, 64).unwrap().unwrap();
        assert_eq!(one.occupancy.active_warps_per_sm, 32);
        assert_eq!(one.lanes_per_warp, 1.0);
        let ratio = one.seconds / full.seconds;
        assert!(ratio > 15.0, "{ratio}");
    }

    /// A partial last wave costs a whole wave when latency-bound: 1.01 waves
    /// take two wave times.
    #[test]
    fn a_partial_last_wave_costs_time() {
        let h = h100();
        let per_wave = 32 * 32 * h.multiprocessors;
        let whole = estimate(&h, &work(0, per_wave), 32).unwrap().unwrap();
        let over = estimate(&h, &work(0, per_wave + 32), 32).unwrap().unwrap();
        assert_eq!(whole.waves, 1.0);
        assert!(over.waves > 1.0 && over.waves < 1.01);
        assert_eq!(over.last_wave_warps_per_sm, 1);
        assert!(over.seconds > 1.1 * whole.seconds);
    }

    /// The bound never exceeds the estimate and never falls as the stride
    /// grows, even where the estimate does (a partial last wave).
    #[test]
    fn the_warp_times_bound_is_a_monotone_lower_bound() {
        let h = h100();
        let mut last = 0.0;
        for stride in (0..20_000).step_by(97) {
            let w = work(stride, 925 * 32);
            let bound = warp_times_bound(&h, stride, 0, w.runs).unwrap().unwrap();
            let best = best_block_size(&h, &w).unwrap().unwrap();
            assert!(bound <= best.warp_times * (1.0 + 1e-12), "{stride}: {bound} > {}", best.warp_times);
            assert!(bound >= last, "{stride}");
            last = bound;
        }
        assert_eq!(warp_times_bound(&h, 232_449, 0, 10).unwrap(), None);
    }

    #[test]
    fn searches_every_block_size_and_explains() {
        let h = h100();
        let s = search(&h, &work(1580, 1 << 17), 64).unwrap();
        assert_eq!(s.ranked.len(), 147, "1..=147 threads fit 232,448 B at 1,580 B each");
        assert!(s.ranked.windows(2).all(|w| w[0].seconds <= w[1].seconds));
        let b = s.best().occupancy.block_size;
        assert!(
            s.reason.starts_with(&format!("block {b}:")) && s.reason.contains("CuBIE's halving pick"),
            "{}",
            s.reason
        );
        assert_eq!(best_block_size(&h, &work(1580, 1 << 17)).unwrap().unwrap().occupancy.block_size, b);
        let e = search(&h, &work(232_449, 10), 64).unwrap_err();
        assert!(e.to_string().contains("no block size can launch"), "{e}");
        assert!(estimate(&h, &work(4, 10), 0).is_err());
        assert_eq!(estimate(&h, &work(4, 0), 32).unwrap(), None);
    }
}
