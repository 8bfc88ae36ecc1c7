//! Device profiles, CuBIE's block-size rule, and the driver's occupancy rule.
//!
//! Profiles are data (`models/devices.toml`, embedded in the binary): a
//! device is added by adding a table there. Two questions are answered from
//! them:
//!
//! * **CuBIE 0.17.0's `limit_blocksize`** ([`DeviceProfile::limit_blocksize`]):
//!   starting from the requested block size, halve while the block's
//!   dynamic shared memory, `padded bytes per run × min(runs, block)`,
//!   exceeds the opt-in per-block limit, down to 1 (warning once it falls
//!   below a warp); a run that alone exceeds the limit is an error. The
//!   block's dynamic shared memory is that product, at least 4 bytes.
//! * **How many blocks stay resident per multiprocessor**
//!   ([`DeviceProfile::occupancy`]), as CUDA's occupancy calculator
//!   (`cuda_occupancy.h`, what `cudaOccupancyMaxActiveBlocksPerMultiprocessor`
//!   answers) computes it:
//!
//!   ```text
//!   warps/block   = ⌈block / warp size⌉
//!   regs/warp     = roundup(registers per thread × warp size, allocation unit)
//!   blocks/SM = min( max blocks per SM,
//!                    ⌊max warps per SM / warps per block⌋,
//!                    ⌊shared per SM / roundup(dynamic + reserved per block, unit)⌋,
//!                    ⌊⌊registers per SM / sub-partitions / regs per warp⌋ × sub-partitions
//!                      / warps per block⌋ )
//!   ```
//!
//!   Which block size to launch is the throughput estimate's question
//!   ([`crate::throughput`]), not the occupancy's.
//!
//! ```
//! use smemplan_perf::occupancy::{DeviceProfile, Limiter};
//!
//! let h200 = DeviceProfile::named("h200").unwrap();
//! // 64 threads with 100 KiB of dynamic shared memory and 12 registers each.
//! let o = h200.occupancy(64, 100 * 1024, 12).unwrap();
//! assert_eq!((o.active_blocks_per_sm, o.active_warps_per_sm), (2, 4));
//! assert_eq!(o.limiter, Limiter::SharedMemory);
//! assert_eq!(o.occupancy, 4.0 / 64.0);
//! ```

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use smemplan_core::error::line_of;
use std::collections::BTreeMap;
use std::fmt;

const BUILTIN_NAME: &str = "models/devices.toml";
const BUILTIN: &str = include_str!("../../models/devices.toml");

/// CuBIE's warning when the block falls below a warp.
pub const BELOW_WARP_WARNING: &str =
    "Per-run shared memory exceeds the device's per-block limit at one warp per block; \
     block size is reduced below warp width. Performance will degrade. Consider moving buffers to local memory.";

/// The throughput estimate's parameters for one device (`[NAME.throughput]`
/// in `models/devices.toml`; [`crate::throughput`] explains the model).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThroughputParams {
    /// One 4-byte shared-memory load or store by one warp that runs alone
    /// (latency-bound), nanoseconds.
    pub shared_access_ns: f64,
    /// The same for local memory (per-thread arrays) when it hits in the
    /// multiprocessor's data cache (or the compiler keeps it in registers),
    /// nanoseconds.
    pub local_access_ns: f64,
    /// Resident warps per multiprocessor that hide latency fully; more warps
    /// share the multiprocessor's issue slots.
    pub saturation_warps: f64,
    /// The multiprocessor's unified data cache (L1 and shared memory
    /// together), bytes: what shared memory leaves of it caches local
    /// memory.
    pub cache_bytes_per_sm: u64,
    /// A local access of a warp running alone that misses the cache
    /// (served by L2), nanoseconds; at least `local_access_ns`.
    pub local_miss_ns: f64,
    /// The multiprocessor's busy time per missing local access of a warp
    /// (its share of the L2 bandwidth), nanoseconds; at least
    /// `local_access_ns ÷ saturation_warps`.
    pub local_miss_busy_ns: f64,
    /// The L2 cache, bytes: it holds the local arrays of every SM's
    /// resident warps up to this size; local accesses that miss both the
    /// SM's cache and L2 are served by the device memory (HBM).
    pub l2_bytes: u64,
    /// A local access that misses L2 too (served by HBM), latency of a warp
    /// alone, nanoseconds; at least `local_miss_ns`.
    pub hbm_miss_ns: f64,
    /// The multiprocessor's busy time per local access of a warp served by
    /// HBM: its share of the HBM bandwidth, `32 lanes × 4 B × SMs ÷ bytes
    /// per second` at the sustained rate; at least `local_miss_busy_ns`.
    pub hbm_miss_busy_ns: f64,
}

impl ThroughputParams {
    /// The first parameter that breaks the estimate's rules, and why (a
    /// device table is refused with it): every rate positive, a local miss
    /// no cheaper than a hit and an HBM access no cheaper than an L2 one, in
    /// latency and in busy time (the tier search's lower bounds, which
    /// charge the cheapest level, and the estimate's monotonicity in local
    /// bytes rely on it).
    pub fn violation(&self) -> Option<(&'static str, &'static str)> {
        for (key, value) in [
            ("shared_access_ns", self.shared_access_ns),
            ("local_access_ns", self.local_access_ns),
            ("saturation_warps", self.saturation_warps),
            ("local_miss_ns", self.local_miss_ns),
            ("local_miss_busy_ns", self.local_miss_busy_ns),
            ("hbm_miss_ns", self.hbm_miss_ns),
            ("hbm_miss_busy_ns", self.hbm_miss_busy_ns),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Some((key, "must be a positive number"));
            }
        }
        if self.local_miss_ns < self.local_access_ns {
            return Some(("local_miss_ns", "cannot be below local_access_ns"));
        }
        if self.local_miss_busy_ns < self.local_access_ns / self.saturation_warps {
            return Some(("local_miss_busy_ns", "cannot be below local_access_ns ÷ saturation_warps"));
        }
        if self.hbm_miss_ns < self.local_miss_ns {
            return Some(("hbm_miss_ns", "cannot be below local_miss_ns (HBM is no faster than L2)"));
        }
        if self.hbm_miss_busy_ns < self.local_miss_busy_ns {
            return Some(("hbm_miss_busy_ns", "cannot be below local_miss_busy_ns (HBM is no faster than L2)"));
        }
        None
    }
}

/// The limits a CUDA driver reports for a card (its device attributes):
/// the facts a profile shares with the card it describes, so that a lab can
/// read them from the driver into the same record and compare the two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeviceLimits {
    /// Streaming multiprocessors on the card.
    pub multiprocessors: u64,
    /// Opt-in dynamic shared memory limit per block, bytes.
    pub max_shared_per_block_optin: u64,
    /// Shared memory per multiprocessor, bytes.
    pub shared_per_sm: u64,
    /// Shared memory reserved by the driver per resident block, bytes.
    pub reserved_shared_per_block: u64,
    /// Resident threads per multiprocessor.
    pub max_threads_per_sm: u64,
    /// Resident blocks per multiprocessor.
    pub max_blocks_per_sm: u64,
    /// Threads per block.
    pub max_threads_per_block: u64,
    /// 32-bit registers per multiprocessor.
    pub registers_per_sm: u64,
    /// Threads per warp.
    pub warp_size: u64,
}

impl DeviceLimits {
    /// Every limit as `(name, value)`, named as in `models/devices.toml`.
    pub fn named(&self) -> [(&'static str, u64); 9] {
        [
            ("multiprocessors", self.multiprocessors),
            ("max_shared_per_block_optin", self.max_shared_per_block_optin),
            ("shared_per_sm", self.shared_per_sm),
            ("reserved_shared_per_block", self.reserved_shared_per_block),
            ("max_threads_per_sm", self.max_threads_per_sm),
            ("max_blocks_per_sm", self.max_blocks_per_sm),
            ("max_threads_per_block", self.max_threads_per_block),
            ("registers_per_sm", self.registers_per_sm),
            ("warp_size", self.warp_size),
        ]
    }
}

/// One device's limits (see `models/devices.toml` for each key's meaning).
/// The driver's facts are in [`DeviceLimits`], read through the profile
/// (`profile.warp_size`) as if they were its own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceProfile {
    /// The table name, e.g. `h100`.
    pub name: String,
    /// Free text.
    pub description: String,
    /// What the driver reports for such a card.
    pub limits: DeviceLimits,
    /// Registers one thread may use.
    pub max_registers_per_thread: u64,
    /// Registers are granted per warp in multiples of this.
    pub register_allocation_unit: u64,
    /// The register file is split evenly between this many sub-partitions,
    /// each holding whole warps.
    pub register_sub_partitions: u64,
    /// Shared memory is granted per block in multiples of this.
    pub shared_allocation_unit: u64,
    /// The throughput estimate's parameters.
    pub throughput: ThroughputParams,
}

impl std::ops::Deref for DeviceProfile {
    type Target = DeviceLimits;

    fn deref(&self) -> &DeviceLimits {
        &self.limits
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    description: String,
    multiprocessors: u64,
    max_shared_per_block_optin: u64,
    shared_per_sm: u64,
    reserved_shared_per_block: u64,
    max_threads_per_sm: u64,
    max_blocks_per_sm: u64,
    max_threads_per_block: u64,
    registers_per_sm: u64,
    #[serde(default = "max_registers")]
    max_registers_per_thread: u64,
    warp_size: u64,
    #[serde(default = "one")]
    register_allocation_unit: u64,
    #[serde(default = "one")]
    register_sub_partitions: u64,
    #[serde(default = "one")]
    shared_allocation_unit: u64,
    throughput: ThroughputParams,
}

fn one() -> u64 {
    1
}

/// Every CUDA architecture since compute capability 3.5.
fn max_registers() -> u64 {
    255
}

/// What bounds the resident blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limiter {
    /// The block has more threads than a block may have.
    BlockSize,
    /// The per-multiprocessor block count.
    Blocks,
    /// The per-multiprocessor warp count.
    Warps,
    /// Shared memory (including a block that exceeds the opt-in limit).
    SharedMemory,
    /// Registers (including a thread that needs more than a thread may have).
    Registers,
}

impl Limiter {
    /// The name used in reports and JSON (`shared_memory`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Limiter::BlockSize => "block_size",
            Limiter::Blocks => "blocks",
            Limiter::Warps => "warps",
            Limiter::SharedMemory => "shared_memory",
            Limiter::Registers => "registers",
        }
    }
}

impl fmt::Display for Limiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Residency of one launch configuration on one multiprocessor.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Occupancy {
    /// Threads per block.
    pub block_size: u64,
    /// Dynamic shared bytes per block.
    pub dynamic_shared_bytes: u64,
    /// Registers per thread the answer assumes (0: not counted).
    pub registers_per_thread: u64,
    /// `⌈block_size / warp size⌉`: a partly filled warp occupies a whole
    /// warp slot.
    pub warps_per_block: u64,
    /// Resident blocks per multiprocessor (0: the block cannot launch).
    pub active_blocks_per_sm: u64,
    /// `active_blocks_per_sm × warps_per_block`.
    pub active_warps_per_sm: u64,
    /// `active_blocks_per_sm × block_size`.
    pub active_threads_per_sm: u64,
    /// Active warps ÷ the most warps a multiprocessor holds.
    pub occupancy: f64,
    /// The binding limit (the first, in declaration order, on ties).
    pub limiter: Limiter,
}

/// One launch's occupancy as `smemplan occupancy --json` (and Python's
/// `smemplan.occupancy`) reports it: the launch, its [`Occupancy`], and
/// the device's figures the report names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OccupancyReport {
    /// The device profile's name.
    pub device: String,
    /// The device profile's description.
    pub description: String,
    /// Threads per block.
    pub block_size: u64,
    /// Dynamic shared bytes per block.
    pub smem_per_block: u64,
    /// Registers per thread (0: not counted).
    pub registers: u64,
    /// See [`Occupancy::active_blocks_per_sm`].
    pub active_blocks_per_sm: u64,
    /// See [`Occupancy::active_warps_per_sm`].
    pub active_warps_per_sm: u64,
    /// See [`Occupancy::active_threads_per_sm`].
    pub active_threads_per_sm: u64,
    /// The most warps a multiprocessor holds.
    pub max_warps_per_sm: u64,
    /// See [`Occupancy::occupancy`].
    pub occupancy: f64,
    /// See [`Occupancy::limiter`].
    pub limiter: Limiter,
    /// Warps per block (a partly filled warp counts whole).
    pub warps_per_block: u64,
    /// Resident threads over the whole card.
    pub active_threads: u64,
    /// The card's multiprocessors.
    pub multiprocessors: u64,
}

/// CuBIE's launch shape for a requested block size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitedBlock {
    /// Threads per block after halving.
    pub block_size: u64,
    /// `padded × min(runs, block_size)`, at least 4.
    pub dynamic_shared_bytes: u64,
    /// [`BELOW_WARP_WARNING`] when the block was reduced below a warp.
    pub warning: Option<&'static str>,
}

impl DeviceProfile {
    /// Parses device tables from TOML `text`; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Vec<DeviceProfile>> {
        let specs: BTreeMap<String, Spec> = toml::from_str(text).map_err(|e| Error::Profile {
            file: source.to_string(),
            line: e.span().map_or(0, |s| line_of(text, s.start)),
            key: None,
            message: e.message().to_string(),
        })?;
        specs
            .into_iter()
            .map(|(name, s)| {
                let invalid = |key: &str, message: &str| Error::Profile {
                    file: source.to_string(),
                    line: 0,
                    key: Some(format!("{name}.{key}")),
                    message: message.to_string(),
                };
                for (key, value) in [
                    ("multiprocessors", s.multiprocessors),
                    ("warp_size", s.warp_size),
                    ("max_threads_per_block", s.max_threads_per_block),
                    ("max_threads_per_sm", s.max_threads_per_sm),
                    ("max_blocks_per_sm", s.max_blocks_per_sm),
                    ("register_allocation_unit", s.register_allocation_unit),
                    ("register_sub_partitions", s.register_sub_partitions),
                    ("shared_allocation_unit", s.shared_allocation_unit),
                ] {
                    if value == 0 {
                        return Err(invalid(key, "must be at least 1"));
                    }
                }
                if s.max_threads_per_sm < s.warp_size {
                    return Err(invalid("max_threads_per_sm", "must hold at least one warp"));
                }
                if s.max_shared_per_block_optin > s.shared_per_sm {
                    return Err(invalid("max_shared_per_block_optin", "cannot exceed shared_per_sm"));
                }
                let t = s.throughput;
                if let Some((key, message)) = t.violation() {
                    return Err(invalid(&format!("throughput.{key}"), message));
                }
                Ok(DeviceProfile {
                    name,
                    description: s.description,
                    limits: DeviceLimits {
                        multiprocessors: s.multiprocessors,
                        max_shared_per_block_optin: s.max_shared_per_block_optin,
                        shared_per_sm: s.shared_per_sm,
                        reserved_shared_per_block: s.reserved_shared_per_block,
                        max_threads_per_sm: s.max_threads_per_sm,
                        max_blocks_per_sm: s.max_blocks_per_sm,
                        max_threads_per_block: s.max_threads_per_block,
                        registers_per_sm: s.registers_per_sm,
                        warp_size: s.warp_size,
                    },
                    max_registers_per_thread: s.max_registers_per_thread,
                    register_allocation_unit: s.register_allocation_unit,
                    register_sub_partitions: s.register_sub_partitions,
                    shared_allocation_unit: s.shared_allocation_unit,
                    throughput: t,
                })
            })
            .collect()
    }

    /// The profiles shipped in `models/devices.toml`, sorted by name.
    pub fn builtin() -> Result<Vec<DeviceProfile>> {
        DeviceProfile::parse(BUILTIN_NAME, BUILTIN)
    }

    /// The built-in profile called `name`; the error lists the known names.
    pub fn named(name: &str) -> Result<DeviceProfile> {
        let all = DeviceProfile::builtin()?;
        let known = all.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ");
        all.iter()
            .find(|d| d.name == name)
            .cloned()
            .ok_or_else(|| Error::UnknownDevice { name: name.to_string(), known })
    }

    /// The warp size, never 0 (the fields are public, so a profile built by
    /// hand may skip the checks of [`DeviceProfile::parse`]).
    fn warp(&self) -> u64 {
        self.warp_size.max(1)
    }

    /// The most warps a multiprocessor holds.
    pub fn max_warps_per_sm(&self) -> u64 {
        self.max_threads_per_sm / self.warp()
    }

    fn error(&self, message: String) -> Error {
        Error::Device { device: self.name.clone(), message }
    }

    /// CuBIE 0.17.0's `limit_blocksize` for `runs` runs of
    /// `padded_bytes_per_run` shared bytes each (skew included).
    pub fn limit_blocksize(&self, requested: u64, padded_bytes_per_run: u64, runs: u64) -> Result<LimitedBlock> {
        let limit = self.max_shared_per_block_optin;
        if requested == 0 {
            return Err(self.error("the requested block size must be at least 1".into()));
        }
        if padded_bytes_per_run > limit {
            return Err(self.error(format!(
                "one run needs {padded_bytes_per_run} B of shared memory, more than the per-block limit of {limit} B"
            )));
        }
        // CuBIE 0.17.0 halves on the runs a block holds, min(runs, block):
        // a small batch keeps the requested block.
        let exceeds = |b: u64| padded_bytes_per_run.checked_mul(runs.min(b)).is_none_or(|bytes| bytes > limit);
        let mut block = requested;
        while block > 1 && exceeds(block) {
            block /= 2;
        }
        // `block` fits the limit here (one run does), so the product fits.
        let dynamic = padded_bytes_per_run * runs.min(block);
        Ok(LimitedBlock {
            block_size: block,
            dynamic_shared_bytes: dynamic.max(4),
            warning: (block < self.warp_size && block < requested).then_some(BELOW_WARP_WARNING),
        })
    }

    /// Checks that one thread may use `registers_per_thread`: an occupancy
    /// beyond it means nothing, so plans and sweeps refuse it.
    pub fn check_registers(&self, registers_per_thread: u64) -> Result<()> {
        if registers_per_thread > self.max_registers_per_thread {
            return Err(self.error(format!(
                "{registers_per_thread} registers per thread exceed the limit of {}",
                self.max_registers_per_thread
            )));
        }
        Ok(())
    }

    /// Refuses a block of `block_size` threads the device cannot launch
    /// (none, or more than its threads per block): CuBIE's halving rule
    /// starts from the requested size, and would answer one.
    pub fn check_block_size(&self, block_size: u64) -> Result<()> {
        if block_size == 0 || block_size > self.max_threads_per_block {
            return Err(
                self.error(format!("a block has 1 to {} threads, not {block_size}", self.max_threads_per_block))
            );
        }
        Ok(())
    }

    /// Checks that the device can launch blocks of `block_size` threads with
    /// `dynamic_shared_bytes` each and `registers_per_thread`; the error names
    /// the limit crossed. [`DeviceProfile::occupancy`] answers 0 blocks for
    /// such launches instead.
    pub fn check_launch(&self, block_size: u64, dynamic_shared_bytes: u64, registers_per_thread: u64) -> Result<()> {
        self.check_block_size(block_size)?;
        if dynamic_shared_bytes > self.max_shared_per_block_optin {
            return Err(self.error(format!(
                "{dynamic_shared_bytes} B of dynamic shared memory per block exceed the opt-in limit of {} B",
                self.max_shared_per_block_optin
            )));
        }
        self.check_registers(registers_per_thread)?;
        let o = self.occupancy(block_size, dynamic_shared_bytes, registers_per_thread)?;
        if o.active_blocks_per_sm == 0 {
            return Err(self.error(format!(
                "a block of {block_size} threads with {dynamic_shared_bytes} B of shared memory and \
                 {registers_per_thread} registers per thread does not fit one multiprocessor ({})",
                o.limiter
            )));
        }
        Ok(())
    }

    /// The launch checked ([`DeviceProfile::check_launch`]) and its
    /// occupancy reported.
    pub fn occupancy_report(&self, block_size: u64, smem_per_block: u64, registers: u64) -> Result<OccupancyReport> {
        self.check_launch(block_size, smem_per_block, registers)?;
        let o = self.occupancy(block_size, smem_per_block, registers)?;
        Ok(OccupancyReport {
            device: self.name.clone(),
            description: self.description.clone(),
            block_size,
            smem_per_block,
            registers,
            active_blocks_per_sm: o.active_blocks_per_sm,
            active_warps_per_sm: o.active_warps_per_sm,
            active_threads_per_sm: o.active_threads_per_sm,
            max_warps_per_sm: self.max_warps_per_sm(),
            occupancy: o.occupancy,
            limiter: o.limiter,
            warps_per_block: o.warps_per_block,
            active_threads: o.active_threads_per_sm.saturating_mul(self.multiprocessors),
            multiprocessors: self.multiprocessors,
        })
    }

    /// Resident blocks per multiprocessor for blocks of `block_size` threads
    /// with `dynamic_shared_bytes` each and `registers_per_thread` (0 when
    /// unknown: registers then never limit). A launch the device refuses
    /// (see [`DeviceProfile::check_launch`]) gets 0 blocks; only a block of
    /// no threads is an error.
    pub fn occupancy(
        &self,
        block_size: u64,
        dynamic_shared_bytes: u64,
        registers_per_thread: u64,
    ) -> Result<Occupancy> {
        if block_size == 0 {
            return Err(self.error("a block needs at least one thread".into()));
        }
        let warps_per_block = block_size.div_ceil(self.warp());
        let max_warps = self.max_warps_per_sm();
        let result = |blocks: u64, limiter| Occupancy {
            block_size,
            dynamic_shared_bytes,
            registers_per_thread,
            warps_per_block,
            active_blocks_per_sm: blocks,
            active_warps_per_sm: blocks.saturating_mul(warps_per_block),
            active_threads_per_sm: blocks.saturating_mul(block_size),
            occupancy: blocks.saturating_mul(warps_per_block) as f64 / max_warps.max(1) as f64,
            limiter,
        };
        if block_size > self.max_threads_per_block {
            return Ok(result(0, Limiter::BlockSize));
        }
        if dynamic_shared_bytes > self.max_shared_per_block_optin {
            return Ok(result(0, Limiter::SharedMemory));
        }
        if registers_per_thread > self.max_registers_per_thread {
            return Ok(result(0, Limiter::Registers));
        }
        let by_warps = max_warps / warps_per_block;
        // Both terms are at most the opt-in limit plus a small reservation,
        // far from overflow; saturating keeps a pathological profile sane.
        let unit = self.shared_allocation_unit.max(1);
        let per_block =
            dynamic_shared_bytes.saturating_add(self.reserved_shared_per_block).div_ceil(unit).saturating_mul(unit);
        let by_shared = self.shared_per_sm.checked_div(per_block).unwrap_or(u64::MAX);
        let by_registers = match registers_per_thread {
            0 => u64::MAX,
            r => {
                let unit = self.register_allocation_unit.max(1);
                let per_warp = r.saturating_mul(self.warp()).div_ceil(unit).saturating_mul(unit);
                let parts = self.register_sub_partitions.max(1);
                // Each sub-partition holds whole warps (cuda_occupancy.h).
                let warps = (self.registers_per_sm / parts / per_warp) * parts;
                warps / warps_per_block
            }
        };
        let limits = [
            (self.max_blocks_per_sm, Limiter::Blocks),
            (by_warps, Limiter::Warps),
            (by_shared, Limiter::SharedMemory),
            (by_registers, Limiter::Registers),
        ];
        let (blocks, limiter) = limits.into_iter().fold(limits[0], |best, l| if l.0 < best.0 { l } else { best });
        Ok(result(blocks, limiter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h100() -> DeviceProfile {
        DeviceProfile::named("h100").unwrap()
    }

    #[test]
    fn builtin_profiles_hold_the_reference_numbers() {
        let h = h100();
        assert_eq!(
            (h.max_shared_per_block_optin, h.shared_per_sm, h.reserved_shared_per_block),
            (232_448, 233_472, 1024)
        );
        assert_eq!((h.max_threads_per_sm, h.max_blocks_per_sm, h.registers_per_sm), (2048, 32, 65_536));
        assert_eq!((h.multiprocessors, h.register_allocation_unit, h.register_sub_partitions), (132, 256, 4));
        let h200 = DeviceProfile::named("h200").unwrap();
        assert_eq!(
            (h200.max_shared_per_block_optin, h200.shared_per_sm, h200.reserved_shared_per_block),
            (232_448, 233_472, 1024)
        );
        assert_eq!((h200.multiprocessors, h200.register_allocation_unit), (132, 256));
        let s = DeviceProfile::named("simulator").unwrap();
        assert_eq!((s.max_shared_per_block_optin, s.reserved_shared_per_block), (49_152, 0));
    }

    #[test]
    fn unknown_devices_list_the_known_ones() {
        let e = DeviceProfile::named("tpu").unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, Error::UnknownDevice { .. }));
        assert!(text.contains("unknown device `tpu`") && text.contains("h100") && text.contains("simulator"), "{text}");
    }

    #[test]
    fn a_device_is_a_toml_table() {
        let text = "[tiny]\ndescription = \"x\"\nmax_shared_per_block_optin = 1000\nshared_per_sm = 2000\n\
                    reserved_shared_per_block = 0\nmax_threads_per_sm = 64\nmax_blocks_per_sm = 2\n\
                    max_threads_per_block = 64\nregisters_per_sm = 4096\nwarp_size = 32\nmultiprocessors = 1\n\
                    [tiny.throughput]\nshared_access_ns = 1\nlocal_access_ns = 2\nsaturation_warps = 4\n\
                    cache_bytes_per_sm = 4096\nlocal_miss_ns = 20\nlocal_miss_busy_ns = 1\n\
                    l2_bytes = 65536\nhbm_miss_ns = 40\nhbm_miss_busy_ns = 2\n";
        let d = DeviceProfile::parse("tiny.toml", text).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].occupancy(32, 0, 0).unwrap().active_blocks_per_sm, 2);
    }

    #[test]
    fn bad_profiles_name_the_file_line_and_key() {
        let e = DeviceProfile::parse("d.toml", "[x]\ndescription = \"x\"\nwarp = 32\n").unwrap_err();
        assert!(matches!(e, Error::Profile { line: 3, .. }), "{e}");
        let text = BUILTIN.replacen("warp_size = 32", "warp_size = 0", 1);
        let e = DeviceProfile::parse("d.toml", &text).unwrap_err();
        assert!(e.to_string().contains("key `h100.warp_size`: must be at least 1"), "{e}");
        let text = BUILTIN.replacen("saturation_warps = 7.38", "saturation_warps = 0", 1);
        let e = DeviceProfile::parse("d.toml", &text).unwrap_err();
        assert!(e.to_string().contains("key `h100.throughput.saturation_warps`: must be a positive"), "{e}");
        let text = BUILTIN.replacen("local_miss_ns = 59.46", "local_miss_ns = 1", 1);
        let e = DeviceProfile::parse("d.toml", &text).unwrap_err();
        assert!(e.to_string().contains("key `h100.throughput.local_miss_ns`: cannot be below local_access_ns"), "{e}");
        let text = BUILTIN.replacen("hbm_miss_busy_ns = 6.98", "hbm_miss_busy_ns = 1", 1);
        let e = DeviceProfile::parse("d.toml", &text).unwrap_err();
        assert!(
            e.to_string().contains("key `h100.throughput.hbm_miss_busy_ns`: cannot be below local_miss_busy"),
            "{e}"
        );
        let text = BUILTIN.replacen("hbm_miss_ns = ", "hbm_miss_ns = -", 1);
        let e = DeviceProfile::parse("d.toml", &text).unwrap_err();
        assert!(e.to_string().contains("key `h100.throughput.hbm_miss_ns`: must be a positive"), "{e}");
        let text = BUILTIN.replacen("l2_bytes = 52428800\n", "", 1);
        let e = DeviceProfile::parse("d.toml", &text).unwrap_err();
        assert!(e.to_string().contains("l2_bytes"), "{e}");
    }

    /// The four driver answers of `docs/reference/gpu-notes.md` §4 (12 registers per thread).
    #[test]
    fn occupancy_reproduces_the_measured_driver_answers() {
        let h = h100();
        assert_eq!(h.occupancy(256, 48 * 1024, 12).unwrap().active_blocks_per_sm, 4);
        assert_eq!(h.occupancy(128, 0, 12).unwrap().active_blocks_per_sm, 16);
        assert_eq!(h.occupancy(64, 100 * 1024, 12).unwrap().active_blocks_per_sm, 2);
        assert_eq!(h.occupancy(96, 0, 12).unwrap().active_blocks_per_sm, 21);
        assert_eq!(h.occupancy(96, 0, 12).unwrap().limiter, Limiter::Warps);
        assert_eq!(h.occupancy(64, 100 * 1024, 12).unwrap().limiter, Limiter::SharedMemory);
    }

    #[test]
    fn occupancy_limits_by_registers_blocks_and_block_size() {
        let h = h100();
        // 255 registers → 8192 per warp → 8 warps per SM → one 256-thread block.
        let o = h.occupancy(256, 0, 255).unwrap();
        assert_eq!((o.active_blocks_per_sm, o.limiter), (1, Limiter::Registers));
        // 40 registers → 1280 per warp; a sub-partition's 16,384 hold 12
        // warps, so 48 per SM (the whole file would hold 51): one 1024-thread
        // block, six 256-thread blocks.
        assert_eq!(h.occupancy(1024, 0, 40).unwrap().active_blocks_per_sm, 1);
        let o = h.occupancy(256, 0, 40).unwrap();
        assert_eq!((o.active_blocks_per_sm, o.active_warps_per_sm, o.limiter), (6, 48, Limiter::Registers));
        assert_eq!(o.occupancy, 0.75);
        // 33 registers round up to 1,280 per warp too.
        assert_eq!(h.occupancy(256, 0, 33).unwrap().active_blocks_per_sm, 6);
        // 127 registers (the H200 kernel of gpu-notes §5) → 16 one-warp blocks.
        assert_eq!(h.occupancy(8, 0, 127).unwrap().active_blocks_per_sm, 16);
        // 64 registers: exactly 32 warps.
        assert_eq!(h.occupancy(1024, 0, 64).unwrap().active_blocks_per_sm, 1);
        assert_eq!(h.occupancy(1024, 0, 65).unwrap().active_blocks_per_sm, 0);
        assert_eq!(h.occupancy(32, 0, 256).unwrap().limiter, Limiter::Registers);
        assert_eq!(h.occupancy(32, 0, 0).unwrap().limiter, Limiter::Blocks);
        assert_eq!(h.occupancy(2048, 0, 0).unwrap().limiter, Limiter::BlockSize);
        assert_eq!(h.occupancy(32, 232_449, 0).unwrap().active_blocks_per_sm, 0);
        assert!(h.occupancy(0, 0, 0).is_err());
    }

    #[test]
    fn check_launch_names_the_limit() {
        let h = DeviceProfile::named("h200").unwrap();
        h.check_launch(1, 0, 0).unwrap();
        h.check_launch(1024, 232_448, 0).unwrap();
        for (block, shared, regs, says) in [
            (0, 0, 0, "1 to 1024 threads, not 0"),
            (1025, 0, 0, "1 to 1024 threads, not 1025"),
            (32, 232_449, 0, "exceed the opt-in limit of 232448 B"),
            (32, 0, 256, "exceed the limit of 255"),
            (1024, 0, 65, "does not fit one multiprocessor (registers)"),
        ] {
            let e = h.check_launch(block, shared, regs).unwrap_err().to_string();
            assert!(e.starts_with("device `h200`: ") && e.contains(says), "{e}");
        }
    }

    /// Each profile against the driver's rule at its own limits: a warp
    /// with no shared memory is bounded by the block count, one with the
    /// whole opt-in limit fits once, and a 1024-thread block fills half or
    /// two thirds of the warps.
    #[test]
    fn every_profile_follows_the_rule() {
        for d in DeviceProfile::builtin().unwrap() {
            let o = d.occupancy(32, 0, 0).unwrap();
            assert_eq!((o.active_blocks_per_sm, o.limiter), (d.max_blocks_per_sm, Limiter::Blocks), "{}", d.name);
            let o = d.occupancy(32, d.max_shared_per_block_optin, 0).unwrap();
            assert_eq!((o.active_blocks_per_sm, o.limiter), (1, Limiter::SharedMemory), "{}", d.name);
            let o = d.occupancy(1024, 0, 0).unwrap();
            assert_eq!(o.active_blocks_per_sm, d.max_threads_per_sm / 1024, "{}", d.name);
            assert!(d.multiprocessors >= 1 && d.throughput.saturation_warps > 0.0);
        }
        let a = DeviceProfile::named("a100").unwrap();
        // 163 KiB opt-in: 48 KiB blocks fit three per SM (3 × 49,280 ≤ 167,936).
        assert_eq!(a.occupancy(256, 48 * 1024, 12).unwrap().active_blocks_per_sm, 3);
        let r = DeviceProfile::named("rtx-4070-super").unwrap();
        // 1536 threads per SM: six 256-thread blocks, warp-bound.
        let o = r.occupancy(256, 0, 0).unwrap();
        assert_eq!((o.active_blocks_per_sm, o.limiter), (6, Limiter::Warps));
    }

    #[test]
    fn limit_blocksize_halves_to_fit_and_warns_below_a_warp() {
        let s = DeviceProfile::named("simulator").unwrap();
        let r = s.limit_blocksize(256, 1960, 4096).unwrap();
        assert_eq!((r.block_size, r.dynamic_shared_bytes, r.warning.is_some()), (16, 31_360, true));
        let r = s.limit_blocksize(64, 100, 4096).unwrap();
        assert_eq!((r.block_size, r.dynamic_shared_bytes, r.warning), (64, 6400, None));
        let r = s.limit_blocksize(64, 0, 4096).unwrap();
        assert_eq!(r.dynamic_shared_bytes, 4);
        let r = s.limit_blocksize(256, 100, 3).unwrap();
        assert_eq!((r.block_size, r.dynamic_shared_bytes), (256, 300));
        let e = s.limit_blocksize(64, 49_153, 4096).unwrap_err();
        assert!(e.to_string().contains("more than the per-block limit of 49152 B"), "{e}");
        assert!(s.limit_blocksize(0, 4, 1).is_err());
        // A batch smaller than the block: CuBIE 0.17.0 halves on the runs
        // the block holds (1960 B × 20 runs fit 48 KiB; × 256 threads
        // would not), so the requested block stays.
        let r = s.limit_blocksize(256, 1960, 20).unwrap();
        assert_eq!((r.block_size, r.dynamic_shared_bytes, r.warning), (256, 39_200, None));
        let r = s.limit_blocksize(256, 1960, 30).unwrap();
        assert_eq!((r.block_size, r.dynamic_shared_bytes), (16, 31_360));
    }
}
