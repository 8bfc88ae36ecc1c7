//! `smemplan occupancy`: the driver's occupancy rule for one launch
//! configuration, from the command line.

use super::output::table;
use super::Verdict;
use anyhow::Result;
use smemplan::perf::occupancy::DeviceProfile;
use std::io::Write;

/// Arguments of `smemplan occupancy`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Device profile (a table of models/devices.toml: h100, h200, a100, ...).
    #[arg(long, value_name = "NAME")]
    pub device: String,
    /// Threads per block (1 to the device's maximum).
    #[arg(long, value_name = "B", allow_negative_numbers = true)]
    pub block_size: u64,
    /// Dynamic shared memory per block, bytes (up to the device's opt-in
    /// limit).
    #[arg(long, value_name = "BYTES", default_value_t = 0, allow_negative_numbers = true)]
    pub smem_per_block: u64,
    /// Registers per thread (0: registers not counted).
    #[arg(long, value_name = "R", default_value_t = 0, allow_negative_numbers = true)]
    pub registers: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `smemplan occupancy`.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<Verdict> {
    let report =
        DeviceProfile::named(&args.device)?.occupancy_report(args.block_size, args.smem_per_block, args.registers)?;
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &report)?;
        writeln!(out)?;
        return Ok(Verdict::Done);
    }
    let registers = match args.registers {
        0 => "registers not counted".to_string(),
        r => format!("{r} registers per thread"),
    };
    writeln!(
        out,
        "device {} ({}): blocks of {} threads, {} B of dynamic shared memory, {registers}",
        report.device, report.description, report.block_size, report.smem_per_block
    )?;
    let rows = vec![
        vec!["active blocks per SM".to_string(), report.active_blocks_per_sm.to_string()],
        vec![
            "active warps per SM".to_string(),
            format!("{} of {}", report.active_warps_per_sm, report.max_warps_per_sm),
        ],
        vec!["active threads per SM".to_string(), report.active_threads_per_sm.to_string()],
        vec!["occupancy".to_string(), format!("{:.1} %", 100.0 * report.occupancy)],
        vec!["limited by".to_string(), report.limiter.as_str().replace('_', " ")],
        vec![format!("active threads on {} SMs", report.multiprocessors), report.active_threads.to_string()],
    ];
    out.write_all(table(&rows, &[false, true]).as_bytes())?;
    Ok(Verdict::Done)
}
