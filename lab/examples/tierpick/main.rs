//! What `plan --tiers auto` picks now, looked up in the committed H100 runs
//! (issue 18, acceptance 1): no card needed.
//!
//! ```text
//! cargo run --release -p smemplan-lab --example tierpick [-- --fit] [--margin M] [--bias] [--ties] [TUNE.json...]
//! ```
//!
//! The runs (`docs/results/gpu-h100-tune-*-2026-12-07.json`, `tune
//! --exhaustive`) hold every candidate `tune` built (each layout × every
//! block size that fits) with its measured time, the kernel timed being the
//! read-modify-write stand-in (`smemplan_lab::gpu::standin`). For each case
//! this recomputes `tiers::choose` (the planner's estimate: the model's access
//! weights, the `h100` profile, the case's runs) and looks its pick up: a
//! layout was measured when its footprint (padded stride, local bytes)
//! equals one of the case's layouts (all shared, all local, the model's
//! locations, CuBIE's, or the split of the day), else it is "not measured".
//! The figure is the pick's measured time against the faster of the best
//! all shared and the best all local (each at its best measured block).
//!
//! Beside it, the estimate for the stand-in's exact accesses against every
//! measured candidate of the case (log-RMS): the model's own error on a
//! kernel whose accesses are known, which `tiers::SPLIT_MARGIN` rests on.
//! `--fit` refits the profile's local (L1-hit) access cost on the
//! calibration cases alone ([`IN_SAMPLE`]) and evaluates with it; every
//! other case is held out. `--margin M` overrides the split margin (1 turns
//! it off); `--bias` prints each layout's mean estimate ÷ measured, `--ties`
//! the measured times of tied block sizes (fuller warps against more
//! warps); further
//! `tune --exhaustive --json` files (`scripts/gpu-tierpick.sh`) join the
//! table as the next batch, held out.

mod eval;

use anyhow::{bail, Context, Result};
use eval::{centred_rms, fit_l1_hit, load, pick};
use smemplan::perf::occupancy::DeviceProfile;
use smemplan::perf::tiers;
use smemplan_lab::calibrate;
use std::path::PathBuf;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (mut fit, mut bias, mut ties, mut margin) = (false, false, false, None);
    let mut extra: Vec<PathBuf> = Vec::new();
    let mut rest = args.iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--fit" => fit = true,
            "--bias" => bias = true,
            "--ties" => ties = true,
            "--margin" => margin = Some(rest.next().context("--margin takes a number")?.parse::<f64>()?),
            _ if a.starts_with("--") => bail!("unknown option {a}"),
            _ => extra.push(PathBuf::from(a)),
        }
    }
    let cases = load(&extra)?;
    let mut device = DeviceProfile::named("h100")?;
    if fit {
        let fitted = fit_l1_hit(&device, &cases)?;
        println!(
            "fit on the in-sample cases: objective {:.4} -> {:.4}\n{}",
            fitted.before,
            fitted.after,
            calibrate::toml_table("h100", &fitted.params)
        );
        device.throughput = fitted.params;
    }
    let p = &device.throughput;
    println!(
        "h100: shared_access_ns {}, local_access_ns {} ({:.2}x); split margin {}",
        p.shared_access_ns,
        p.local_access_ns,
        p.local_access_ns / p.shared_access_ns,
        margin.unwrap_or(tiers::SPLIT_MARGIN)
    );
    if bias {
        for (batch, case) in &cases {
            let bias: Vec<String> =
                case.standin_bias(&device)?.iter().map(|(l, b)| format!("{l} {:.2}", b.exp())).collect();
            println!("{} (batch {batch}): estimated ÷ measured, geometric mean: {}", case.key(), bias.join(", "));
        }
    }
    if ties {
        let (mut fuller_faster, mut more_faster) = (0, 0);
        for (batch, case) in &cases {
            for (what, fuller, more) in case.ties(&device)? {
                println!(
                    "tie: {} (batch {batch}) {what}: fuller warps {fuller:.4} ms, more warps {more:.4} ms",
                    case.key()
                );
                if fuller <= more {
                    fuller_faster += 1;
                } else {
                    more_faster += 1;
                }
            }
        }
        println!(
            "ties: the fuller-warps block measured faster in {fuller_faster}, the more-warps block in {more_faster}"
        );
    }
    println!();
    println!("| case | batch | fit | best split's est. gain | plan's pick: layout, block | measured | best all shared | best all local | pick ÷ faster | stand-in estimate: log-RMS, centred | its favourite ÷ faster |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let (mut held_sq, mut centred_sq, mut held_n) = (0.0, 0.0, 0usize);
    for (batch, case) in &cases {
        let p = pick(case, &device, margin, true)?;
        let rms = case.standin_log_rms(&device)?;
        let (errors, favourite) = case.standin_errors(&device)?;
        let centred = centred_rms(&errors);
        if !case.in_sample() {
            held_sq += rms * rms;
            centred_sq += centred * centred;
            held_n += 1;
        }
        let (measured, ratio) = match (p.measured_ms, p.share_of_faster()) {
            (Some(ms), Some(share)) => (format!("{ms:.3} ms"), format!("{share:.3}")),
            _ => ("not measured".into(), "-".into()),
        };
        println!(
            "| {} | {batch} | {} | {} | {}, {} | {measured} | {:.3} ms | {:.3} ms | {ratio} | {rms:.2}, {centred:.2} | {}, {}: {:.3} |",
            case.key(),
            if case.in_sample() { "in-sample" } else { "held out" },
            p.split_gain.map_or("-".into(), |g| format!("{g:.3}")),
            p.what,
            p.block,
            p.best_shared_ms,
            p.best_local_ms,
            favourite.0,
            favourite.1,
            p.faster_ms() / favourite.2,
        );
    }
    let n = held_n.max(1) as f64;
    println!();
    println!(
        "held-out stand-in estimate over {held_n} cases (root mean square of the per-case figures): log-RMS {:.3}; centred per case {:.3} (factor {:.3})",
        (held_sq / n).sqrt(),
        (centred_sq / n).sqrt(),
        (centred_sq / n).sqrt().exp()
    );
    Ok(())
}
