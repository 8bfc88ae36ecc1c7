//! Device profiles, CuBIE's block-size rule, and the driver's occupancy rule.
//!
//! Profiles are data (`models/devices.toml`, embedded in the binary): a
//! device is added by adding a table there. Two questions are answered from
//! them:
//!
//! * **CuBIE 0.17.0's `limit_blocksize`** ([`DeviceProfile::limit_blocksize`]):
//!   starting from the requested block size, halve while
//!   `padded bytes per run × block` exceeds the opt-in per-block limit, down
//!   to 1 (warning once it falls below a warp); a run that alone exceeds the
//!   limit is an error. The block's dynamic shared memory is
//!   `padded × min(runs, block)`, at least 4 bytes.
//! * **How many blocks stay resident per multiprocessor**
//!   ([`DeviceProfile::occupancy`]), as the driver answers it:
//!
//!   ```text
//!   blocks/SM = min( max blocks per SM,
//!                    ⌊max warps per SM / warps per block⌋,
//!                    ⌊shared per SM / roundup(dynamic + reserved per block)⌋,
//!                    ⌊⌊registers per SM / registers per warp⌋ / warps per block⌋ )
//!   ```
//!
//!   and [`DeviceProfile::best_block_size`], which picks the block size that
//!   keeps the most threads resident instead of halving (a large per-thread
//!   footprint can fit three 32-thread blocks where one 64-thread block fits).

use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;

const BUILTIN_NAME: &str = "models/devices.toml";
const BUILTIN: &str = include_str!("../models/devices.toml");

/// CuBIE's warning when the block falls below a warp.
pub const BELOW_WARP_WARNING: &str =
    "Per-run shared memory exceeds the device's per-block limit at one warp per block; \
     block size is reduced below warp width. Performance will degrade. Consider moving buffers to local memory.";

/// One device's limits (see `models/devices.toml` for each key's meaning).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceProfile {
    /// The table name, e.g. `h100`.
    pub name: String,
    /// Free text.
    pub description: String,
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
    /// Registers are granted per warp in multiples of this.
    pub register_allocation_unit: u64,
    /// Shared memory is granted per block in multiples of this.
    pub shared_allocation_unit: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    description: String,
    max_shared_per_block_optin: u64,
    shared_per_sm: u64,
    reserved_shared_per_block: u64,
    max_threads_per_sm: u64,
    max_blocks_per_sm: u64,
    max_threads_per_block: u64,
    registers_per_sm: u64,
    warp_size: u64,
    #[serde(default = "one")]
    register_allocation_unit: u64,
    #[serde(default = "one")]
    shared_allocation_unit: u64,
}

fn one() -> u64 {
    1
}

/// What bounds the resident blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limiter {
    /// The block has more threads than a block may have.
    BlockSize,
    /// The per-multiprocessor block count.
    Blocks,
    /// The per-multiprocessor warp count.
    Warps,
    /// Shared memory (including a block that exceeds the opt-in limit).
    SharedMemory,
    /// Registers.
    Registers,
}

/// Residency of one launch configuration on one multiprocessor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occupancy {
    /// Threads per block.
    pub block_size: u64,
    /// Dynamic shared bytes per block.
    pub dynamic_shared_bytes: u64,
    /// Resident blocks per multiprocessor (0: the block cannot launch).
    pub blocks_per_sm: u64,
    /// `blocks_per_sm × block_size`.
    pub resident_threads: u64,
    /// The binding limit (the first, in declaration order, on ties).
    pub limiter: Limiter,
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

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |t| t.matches('\n').count() + 1)
}

impl DeviceProfile {
    /// Parses device tables from TOML `text`; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Vec<DeviceProfile>> {
        let specs: BTreeMap<String, Spec> = toml::from_str(text).map_err(|e| Error::Model {
            file: source.to_string(),
            line: e.span().map_or(0, |s| line_of(text, s.start)),
            key: None,
            message: e.message().to_string(),
        })?;
        specs
            .into_iter()
            .map(|(name, s)| {
                let invalid = |key: &str, message: &str| Error::Model {
                    file: source.to_string(),
                    line: 0,
                    key: Some(format!("{name}.{key}")),
                    message: message.to_string(),
                };
                for (key, value) in [
                    ("warp_size", s.warp_size),
                    ("max_threads_per_block", s.max_threads_per_block),
                    ("max_threads_per_sm", s.max_threads_per_sm),
                    ("max_blocks_per_sm", s.max_blocks_per_sm),
                    ("register_allocation_unit", s.register_allocation_unit),
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
                Ok(DeviceProfile {
                    name,
                    description: s.description,
                    max_shared_per_block_optin: s.max_shared_per_block_optin,
                    shared_per_sm: s.shared_per_sm,
                    reserved_shared_per_block: s.reserved_shared_per_block,
                    max_threads_per_sm: s.max_threads_per_sm,
                    max_blocks_per_sm: s.max_blocks_per_sm,
                    max_threads_per_block: s.max_threads_per_block,
                    registers_per_sm: s.registers_per_sm,
                    warp_size: s.warp_size,
                    register_allocation_unit: s.register_allocation_unit,
                    shared_allocation_unit: s.shared_allocation_unit,
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
        let exceeds = |b: u64| padded_bytes_per_run.checked_mul(b).map_or(true, |bytes| bytes > limit);
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

    /// Resident blocks per multiprocessor for blocks of `block_size` threads
    /// with `dynamic_shared_bytes` each and `registers_per_thread` (0 when
    /// unknown: registers then never limit).
    pub fn occupancy(
        &self,
        block_size: u64,
        dynamic_shared_bytes: u64,
        registers_per_thread: u64,
    ) -> Result<Occupancy> {
        if block_size == 0 {
            return Err(self.error("a block needs at least one thread".into()));
        }
        let result = |blocks_per_sm: u64, limiter| Occupancy {
            block_size,
            dynamic_shared_bytes,
            blocks_per_sm,
            resident_threads: blocks_per_sm.saturating_mul(block_size),
            limiter,
        };
        if block_size > self.max_threads_per_block {
            return Ok(result(0, Limiter::BlockSize));
        }
        if dynamic_shared_bytes > self.max_shared_per_block_optin {
            return Ok(result(0, Limiter::SharedMemory));
        }
        let warps_per_block = block_size.div_ceil(self.warp());
        let by_warps = (self.max_threads_per_sm / self.warp()) / warps_per_block;
        // Both terms are at most the opt-in limit plus a small reservation,
        // far from overflow; saturating keeps a pathological profile sane.
        let per_block = dynamic_shared_bytes
            .saturating_add(self.reserved_shared_per_block)
            .div_ceil(self.shared_allocation_unit.max(1))
            .saturating_mul(self.shared_allocation_unit.max(1));
        let by_shared = self.shared_per_sm.checked_div(per_block).unwrap_or(u64::MAX);
        let by_registers = match registers_per_thread {
            0 => u64::MAX,
            r => {
                let per_warp = r
                    .saturating_mul(self.warp())
                    .div_ceil(self.register_allocation_unit.max(1))
                    .saturating_mul(self.register_allocation_unit.max(1));
                (self.registers_per_sm / per_warp) / warps_per_block
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

    /// The block size that keeps the most threads resident per
    /// multiprocessor when each thread needs `shared_bytes_per_thread` of
    /// shared memory. Ties go to the configuration that occupies fewer warp
    /// slots (partly empty warps waste lanes), then to the smaller block.
    /// Candidates are the multiples of a warp up to the block limit and the
    /// powers of two below a warp. An error when not even one thread fits.
    pub fn best_block_size(&self, shared_bytes_per_thread: u64, registers_per_thread: u64) -> Result<Occupancy> {
        let below_warp = (0..u64::BITS).map(|k| 1u64 << k).take_while(|&b| b < self.warp());
        let warps = (1..=self.max_threads_per_block / self.warp()).map(|w| w * self.warp());
        let rank = |o: &Occupancy| {
            let warp_slots = o.blocks_per_sm.saturating_mul(o.block_size.div_ceil(self.warp()));
            (o.resident_threads, std::cmp::Reverse(warp_slots), std::cmp::Reverse(o.block_size))
        };
        let mut best: Option<Occupancy> = None;
        for block in below_warp.chain(warps) {
            let Some(dynamic) = shared_bytes_per_thread.checked_mul(block) else {
                break;
            };
            let o = self.occupancy(block, dynamic, registers_per_thread)?;
            if o.blocks_per_sm > 0 && best.map_or(true, |b| rank(&o) > rank(&b)) {
                best = Some(o);
            }
        }
        best.ok_or_else(|| {
            self.error(format!(
                "no block size fits: one thread needs {shared_bytes_per_thread} B of shared memory \
                 (per-block limit {} B) and {registers_per_thread} registers",
                self.max_shared_per_block_optin
            ))
        })
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
                    max_threads_per_block = 64\nregisters_per_sm = 4096\nwarp_size = 32\n";
        let d = DeviceProfile::parse("tiny.toml", text).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].occupancy(32, 0, 0).unwrap().blocks_per_sm, 2);
    }

    #[test]
    fn bad_profiles_name_the_file_line_and_key() {
        let e = DeviceProfile::parse("d.toml", "[x]\ndescription = \"x\"\nwarp = 32\n").unwrap_err();
        assert!(matches!(e, Error::Model { line: 3, .. }), "{e}");
        let text = BUILTIN.replacen("warp_size = 32", "warp_size = 0", 1);
        let e = DeviceProfile::parse("d.toml", &text).unwrap_err();
        assert!(e.to_string().contains("key `h100.warp_size`: must be at least 1"), "{e}");
    }

    /// The four driver answers of `docs/reference/gpu-notes.md` §4 (12 registers per thread).
    #[test]
    fn occupancy_reproduces_the_measured_driver_answers() {
        let h = h100();
        assert_eq!(h.occupancy(256, 48 * 1024, 12).unwrap().blocks_per_sm, 4);
        assert_eq!(h.occupancy(128, 0, 12).unwrap().blocks_per_sm, 16);
        assert_eq!(h.occupancy(64, 100 * 1024, 12).unwrap().blocks_per_sm, 2);
        assert_eq!(h.occupancy(96, 0, 12).unwrap().blocks_per_sm, 21);
        assert_eq!(h.occupancy(96, 0, 12).unwrap().limiter, Limiter::Warps);
        assert_eq!(h.occupancy(64, 100 * 1024, 12).unwrap().limiter, Limiter::SharedMemory);
    }

    #[test]
    fn occupancy_limits_by_registers_blocks_and_block_size() {
        let h = h100();
        // 255 registers → 8192 per warp → 8 warps per SM → one 256-thread block.
        let o = h.occupancy(256, 0, 255).unwrap();
        assert_eq!((o.blocks_per_sm, o.limiter), (1, Limiter::Registers));
        assert_eq!(h.occupancy(32, 0, 0).unwrap().limiter, Limiter::Blocks);
        assert_eq!(h.occupancy(2048, 0, 0).unwrap().limiter, Limiter::BlockSize);
        assert_eq!(h.occupancy(32, 232_449, 0).unwrap().blocks_per_sm, 0);
        assert!(h.occupancy(0, 0, 0).is_err());
    }

    /// `docs/reference/gpu-notes.md` §3: at a large footprint, three 32-thread blocks beat one
    /// 64-thread block.
    #[test]
    fn best_block_size_maximises_resident_threads() {
        let h = h100();
        let per_thread = 2304; // six 32-element f32 vectors, three times over
        let o32 = h.occupancy(32, 32 * per_thread, 0).unwrap();
        let o64 = h.occupancy(64, 64 * per_thread, 0).unwrap();
        assert_eq!((o32.blocks_per_sm, o64.blocks_per_sm), (3, 1));
        let best = h.best_block_size(per_thread, 0).unwrap();
        assert!(best.resident_threads >= o32.resident_threads);
        assert_eq!(best.block_size, 32);
        // Nothing in shared memory: 64 threads × 32 blocks fill the SM first.
        let free = h.best_block_size(0, 0).unwrap();
        assert_eq!((free.block_size, free.resident_threads), (64, 2048));
        // Too large for a warp: eleven one-thread blocks keep more threads
        // resident than one block of eight.
        let big = h.best_block_size(20_000, 0).unwrap();
        assert_eq!((big.block_size, big.blocks_per_sm), (1, 11));
        assert!(h.best_block_size(232_449, 0).is_err());
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
    }
}
