//! The occupancy model against the driver: a grid of launch
//! configurations, each answered by [`DeviceProfile::occupancy`] and by
//! `cuOccupancyMaxActiveBlocksPerMultiprocessor` for a compiled kernel.
//!
//! The grid crosses every block size from 1 to the block limit with dynamic
//! shared sizes from 0 to the opt-in limit (the allocation-unit and
//! per-block-reservation edges included, where rounding decides), for
//! kernels of several register counts: [`pressure_source`] compiled under
//! different `--maxrregcount` caps.

use crate::Result;
use serde::Serialize;
use smemplan::perf::occupancy::DeviceProfile;

/// Dynamic shared sizes of the grid for an opt-in limit of `optin` bytes.
pub fn shared_sizes(optin: u64) -> Vec<u64> {
    let mut sizes = vec![
        0, 1, 4, 127, 128, 129, 1000, 1024, 3072, 4096, 10_000, 16_384, 32_767, 49_152, 49_153, 65_536, 100_000,
        114_688, 150_000, 200_000,
    ];
    sizes.extend([optin / 3, optin / 2 - 1024, optin - 1, optin]);
    sizes.retain(|&s| s <= optin);
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// A kernel whose register use grows to whatever its register cap allows:
/// 160 accumulators updated from each other, then summed.
pub const PRESSURE_KERNEL: &str = "smemplan_pressure";

/// Register caps the grid compiles [`PRESSURE_KERNEL`] under.
pub const REGISTER_CAPS: [u64; 8] = [24, 40, 64, 96, 128, 168, 200, 255];

/// The source of [`PRESSURE_KERNEL`] capped at `max_registers` per thread
/// (`__maxnreg__`, which the PTX carries to the driver's compiler; NVRTC's
/// `--maxrregcount` would not reach it).
pub fn pressure_source(max_registers: u64) -> String {
    format!(
        r#"extern "C" __global__ void __maxnreg__({max_registers}) smemplan_pressure(float* out, int steps) {{
    float acc[160];
    #pragma unroll
    for (int i = 0; i < 160; ++i) acc[i] = threadIdx.x * (i + 1) * 1e-3f;
    for (int s = 0; s < steps; ++s) {{
        #pragma unroll
        for (int i = 0; i < 160; ++i) acc[i] = acc[i] * acc[(i + 7) % 160] + acc[(i + 13) % 160];
    }}
    float sum = 0.0f;
    #pragma unroll
    for (int i = 0; i < 160; ++i) sum += acc[i];
    out[blockIdx.x * blockDim.x + threadIdx.x] = sum;
}}
"#
    )
}

/// One configuration on which the model and the driver disagree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Disagreement {
    /// Registers per thread of the kernel.
    pub registers: u64,
    /// Threads per block.
    pub block_size: u64,
    /// Dynamic shared bytes per block.
    pub dynamic_shared_bytes: u64,
    /// The model's resident blocks per multiprocessor.
    pub model: u64,
    /// The driver's.
    pub driver: u64,
    /// What the model says binds.
    pub model_limiter: String,
}

/// The comparison over a grid.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Agreement {
    /// Configurations checked.
    pub checked: u64,
    /// Configurations where both agree.
    pub agreed: u64,
    /// Every disagreement.
    pub mismatches: Vec<Disagreement>,
}

impl Agreement {
    /// `agreed / checked` (1 for an empty grid).
    pub fn fraction(&self) -> f64 {
        if self.checked == 0 {
            1.0
        } else {
            self.agreed as f64 / self.checked as f64
        }
    }

    /// Compares `profile`'s answer for one configuration with the driver's
    /// `driver` blocks per multiprocessor.
    pub fn add(
        &mut self,
        profile: &DeviceProfile,
        registers: u64,
        block_size: u64,
        dynamic_shared_bytes: u64,
        driver: u64,
    ) -> Result<()> {
        let model = profile.occupancy(block_size, dynamic_shared_bytes, registers)?;
        self.checked += 1;
        if model.active_blocks_per_sm == driver {
            self.agreed += 1;
        } else {
            self.mismatches.push(Disagreement {
                registers,
                block_size,
                dynamic_shared_bytes,
                model: model.active_blocks_per_sm,
                driver,
                model_limiter: format!("{:?}", model.limiter).to_lowercase(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_sizes_span_zero_to_the_limit_in_order() {
        let s = shared_sizes(232_448);
        assert_eq!((s[0], *s.last().unwrap()), (0, 232_448));
        assert!(s.windows(2).all(|w| w[0] < w[1]));
        assert!(s.contains(&49_153), "just above the 48 KiB default limit");
        assert!(shared_sizes(49_152).iter().all(|&x| x <= 49_152));
    }

    #[test]
    fn agreement_counts_and_lists_mismatches() {
        let h = DeviceProfile::named("h100").unwrap();
        let mut a = Agreement::default();
        a.add(&h, 12, 128, 0, 16).unwrap();
        a.add(&h, 12, 96, 0, 20).unwrap();
        assert_eq!((a.checked, a.agreed), (2, 1));
        assert_eq!(a.mismatches[0].model, 21);
        assert_eq!(a.mismatches[0].model_limiter, "warps");
        assert!((a.fraction() - 0.5).abs() < 1e-12);
    }
}
