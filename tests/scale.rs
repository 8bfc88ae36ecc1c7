//! Growth at scale (issue 11): reading, validating and checking stay
//! O(n log n), so inputs of hundreds of thousands of buffers take a fraction
//! of a second where a quadratic step took minutes. The bounds are generous
//! (CI shares two cores), and still far below what a quadratic step needs.

use smemplan::check::check;
use smemplan::format::minimalloc;
use smemplan::{Buffer, Problem};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const N: u64 = 200_000;
/// Each of these steps takes well under a second here; a quadratic one took
/// 30 s (100,000 buffers) to minutes (200,000).
const BOUND: Duration = Duration::from_secs(10);

/// `N` one-byte buffers, buffer `i` live in `[i, i + 1000)` at offset
/// `i mod 1000`: about 1,000 live at once, a valid layout of peak 1,000.
fn staircase(fixed: bool) -> String {
    let mut csv = String::from(if fixed { "id,lower,upper,size,offset\n" } else { "id,lower,upper,size\n" });
    for i in 0..N {
        let _ = write!(csv, "b{i},{i},{},1", i + 1000);
        if fixed {
            let _ = write!(csv, ",{}", i % 1000);
        }
        csv.push('\n');
    }
    csv
}

#[test]
fn reading_and_checking_many_buffers_is_fast() {
    let csv = staircase(false);
    let started = Instant::now();
    let problem = minimalloc::read_problem("staircase.csv", &csv).unwrap();
    let layout: Vec<(&str, u64)> =
        problem.buffers().iter().enumerate().map(|(i, b)| (b.name.as_str(), i as u64 % 1000)).collect();
    let report = check(&problem, &layout, None);
    let elapsed = started.elapsed();
    assert!(report.is_valid(), "{:?}", report.violations.first());
    assert_eq!(report.peak, 1000);
    assert!(elapsed < BOUND, "reading and checking {N} buffers took {elapsed:?}");

    // Out of order, and with one collision: still found, still fast.
    let mut shuffled = layout.clone();
    shuffled.reverse();
    shuffled[7].1 = (shuffled[7].1 + 1) % 1000;
    let started = Instant::now();
    let report = check(&problem, &shuffled, None);
    assert!(started.elapsed() < BOUND);
    assert!(!report.is_valid());
}

#[test]
fn fixed_offsets_live_at_once_validate_by_a_sweep() {
    // All live at once, each at its own offset: every pair meets in time.
    let buffers: Vec<Buffer> = (0..N).map(|i| Buffer::new(format!("f{i}"), 0, 10, 1).with_offset(i)).collect();
    let started = Instant::now();
    let problem = Problem::new(buffers, None).unwrap();
    assert!(started.elapsed() < BOUND, "validating {N} fixed buffers took {:?}", started.elapsed());
    assert_eq!(problem.len() as u64, N);

    // The same through the reader, with the staircase's offsets and one
    // buffer moved onto its neighbour: the collision names both and the line.
    let csv = staircase(true).replacen("b150000,150000,151000,1,0", "b150000,150000,151000,1,999", 1);
    let started = Instant::now();
    let err = minimalloc::read_problem("fixed.csv", &csv).unwrap_err().to_string();
    assert!(started.elapsed() < BOUND);
    assert!(err.starts_with("fixed.csv:150002:") && err.contains("`b149999`") && err.contains("`b150000`"), "{err}");
}
