//! `smemplan occupancy` run as a user runs it: the driver's answers of
//! `docs/reference/gpu-notes.md` §4, every block size and shared size up to
//! the limits, and bad input refused with a clear error and exit code 2.

// Only `smemplan` of the harness is needed here.
#[allow(dead_code)]
#[path = "support/cli.rs"]
mod harness;

use harness::smemplan;
use serde_json::Value;

fn occupancy(device: &str, block: u64, smem: u64, registers: u64) -> Value {
    let (b, m, r) = (block.to_string(), smem.to_string(), registers.to_string());
    smemplan(&[
        "occupancy",
        "--device",
        device,
        "--block-size",
        &b,
        "--smem-per-block",
        &m,
        "--registers",
        &r,
        "--json",
    ])
    .expect(0)
    .json()
}

#[test]
fn the_driver_answers_of_gpu_notes() {
    for device in ["h100", "h200"] {
        for (block, smem, blocks, warps, limiter) in [
            (256, 48 * 1024, 4, 32, "shared_memory"),
            (128, 0, 16, 64, "warps"),
            (64, 100 * 1024, 2, 4, "shared_memory"),
            (96, 0, 21, 63, "warps"),
        ] {
            let v = occupancy(device, block, smem, 12);
            assert_eq!(v["active_blocks_per_sm"], blocks, "{device} {block} {smem}");
            assert_eq!(v["active_warps_per_sm"], warps, "{device} {block} {smem}");
            assert_eq!(v["active_threads_per_sm"], blocks * block);
            assert_eq!(v["occupancy"].as_f64().unwrap(), warps as f64 / 64.0);
            assert_eq!(v["limiter"], limiter);
        }
    }
    // Registers as the limiter: 255 per thread leave room for 8 warps.
    let v = occupancy("h100", 256, 0, 255);
    assert_eq!((v["active_blocks_per_sm"].as_u64(), v["limiter"].as_str()), (Some(1), Some("registers")));
}

#[test]
fn text_names_the_numbers_and_the_limiter() {
    let run =
        smemplan(&["occupancy", "--device", "h100", "--block-size", "64", "--smem-per-block", "102400"]).expect(0);
    for needle in ["active blocks per SM", "active warps per SM", "4 of 64", "occupancy", "6.2 %", "shared memory"] {
        assert!(run.stdout.contains(needle), "`{needle}` missing:\n{}", run.stdout);
    }
}

#[test]
fn every_block_size_and_the_shared_limit_answer() {
    for block in [1, 2, 31, 33, 500, 1023, 1024] {
        let v = occupancy("h200", block, 0, 0);
        assert!(v["active_blocks_per_sm"].as_u64().unwrap() >= 1, "{block}");
    }
    let v = occupancy("h200", 1, 232_448, 0);
    assert_eq!((v["active_blocks_per_sm"].as_u64(), v["limiter"].as_str()), (Some(1), Some("shared_memory")));
    let v = occupancy("a100", 1024, 166_912, 32);
    assert_eq!(v["active_blocks_per_sm"], 1);
}

#[test]
fn bad_input_is_refused() {
    for (args, says) in [
        (vec!["--device", "h100", "--block-size", "0"], "1 to 1024 threads, not 0"),
        (vec!["--device", "h100", "--block-size", "1025"], "1 to 1024 threads, not 1025"),
        (vec!["--device", "h100", "--block-size", "32", "--smem-per-block", "232449"], "opt-in limit of 232448 B"),
        (vec!["--device", "a100", "--block-size", "32", "--smem-per-block", "166913"], "opt-in limit of 166912 B"),
        (vec!["--device", "h100", "--block-size", "32", "--registers", "256"], "limit of 255"),
        (vec!["--device", "h100", "--block-size", "1024", "--registers", "200"], "does not fit one multiprocessor"),
        (vec!["--device", "tpu", "--block-size", "32"], "unknown device `tpu` (known: a100, h100, h200"),
    ] {
        let mut all = vec!["occupancy"];
        all.extend(args.iter().copied());
        let run = smemplan(&all).expect(2);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty());
    }
    for args in [vec!["--device", "h100"], vec!["--block-size", "32"], vec!["--device", "h100", "--block-size", "-1"]] {
        let mut all = vec!["occupancy"];
        all.extend(args.iter().copied());
        smemplan(&all).expect(2);
    }
}
