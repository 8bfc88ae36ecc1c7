//! One configuration as `smemplan plan` (and Python's `smemplan.plan`)
//! shows it: the comparison, with `--tiers auto` the shared-or-local split,
//! and the files of what a user would launch.
//!
//! The command line and the Python module both build their answer here, so
//! that the tier search's options, the launched plan and its files have one
//! definition.

use crate::compare::{CompareOptions, Comparison};
use crate::error::Result;
use crate::picture::plan_svg;
use smemplan_kernel::accesses::Weights;
use smemplan_kernel::lifetimes::LifetimeTable;
use smemplan_kernel::model::Kernel;
use smemplan_kernel::registry::dump::Dump;
use smemplan_perf::tiers::{self, TierChoice, TierOptions};
use smemplan_plan::allocator::{cuda_header, Allocation, HeaderOptions, SharedLayout};
use smemplan_plan::{PlanInput, PlanOptions, PlanReport};

/// A configuration compared, and with `--tiers auto` its split chosen.
#[derive(Debug, Clone)]
pub struct Planned {
    /// CuBIE's layout beside the optimised plan.
    pub comparison: Comparison,
    /// The shared-or-local split (`--tiers auto` only).
    pub choice: Option<TierChoice>,
}

/// What a user would launch: with `--tiers auto` the chosen split at its
/// block size, else the optimised plan at its own.
pub struct Launched<'a> {
    /// The plan.
    pub report: &'a PlanReport,
    /// Its block size (`None`: no block size fits).
    pub block_size: Option<u64>,
}

impl CompareOptions {
    /// The tier search's options under these options: the split search and
    /// the plans it solves each stop at a quarter of the time limit with
    /// the best found so far; `accesses` are the kernel's access weights.
    pub fn tier_options(&self, accesses: &Weights) -> TierOptions {
        let quarter = self.plan.time_limit.map(|l| l / 4);
        TierOptions {
            plan: PlanOptions { time_limit: quarter, ..self.plan.clone() },
            search_time_limit: quarter,
            registers_per_thread: self.registers_per_thread,
            runs: self.runs,
            cubie_requested: self.requested_block_size,
            accesses: accesses.clone(),
            ..TierOptions::default()
        }
    }
}

/// `plan --tiers auto`'s split of a model's kernel.
pub fn kernel_tiers(kernel: &Kernel, options: &CompareOptions) -> Result<TierChoice> {
    let input = PlanInput::try_from(kernel)?;
    Ok(tiers::choose(&input, &kernel.table, &options.device, &options.tier_options(&kernel.accesses))?)
}

/// `plan --tiers auto`'s split of a CuBIE dump (CuBIE's lifetime table, the
/// default access weights).
pub fn dump_tiers(dump: &Dump, options: &CompareOptions) -> Result<TierChoice> {
    let input = PlanInput::from_dump(dump)?;
    Ok(tiers::choose(&input, &LifetimeTable::cubie()?, &options.device, &options.tier_options(&Weights::default()))?)
}

impl Planned {
    /// What a user would launch ([`Launched`]).
    pub fn launched(&self) -> Launched<'_> {
        match &self.choice {
            Some(c) => Launched { report: &c.chosen.report, block_size: c.chosen.block_size },
            None => {
                let o = &self.comparison.optimized;
                Launched { report: &o.report, block_size: o.launch.block_size }
            }
        }
    }

    /// The picture of CuBIE's shared layout beside the launched plan's.
    pub fn svg(&self) -> Result<String> {
        plan_svg(&self.comparison.cubie, self.launched().report)
    }

    /// The launched plan's CUDA header (its allocation in the default
    /// shared layout) for its block size; an error where no block size
    /// fits, since there is no launch to write one for (a header for the
    /// requested block would size a launch the device refuses).
    pub fn cuda_header(&self) -> Result<String> {
        let launched = self.launched();
        let Some(block_size) = launched.block_size else {
            return Err(smemplan_perf::Error::Device {
                device: self.comparison.device.clone(),
                message: format!(
                    "no block size fits the plan's {} B of shared memory a run, so it has no launch to write a CUDA \
                     header for",
                    launched.report.shared_bytes
                ),
            }
            .into());
        };
        let header = HeaderOptions { block_size, runs: self.comparison.runs, ..HeaderOptions::default() };
        // The comparison already holds the optimised plan's allocation; a
        // split's is built here, the one place that needs it.
        Ok(match &self.choice {
            Some(_) => cuda_header(&Allocation::new(launched.report, SharedLayout::default())?, &header)?,
            None => cuda_header(&self.comparison.optimized.allocation, &header)?,
        })
    }
}
