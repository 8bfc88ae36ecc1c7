//! Writes an instance of the dense family of issue 20
//! ([`smemplan::core::generate::dense`]) as MiniMalloc CSV on standard
//! output, so anyone can regenerate the large-scale greedy's benchmark:
//!
//! ```text
//! cargo run --release --example generate_dense -- [BUFFERS] [SEED] > dense.csv
//! ```
//!
//! BUFFERS defaults to 100,000 (about 250 live at once), SEED to 1.

use smemplan::core::format::minimalloc;
use smemplan::core::generate::dense;
use std::io::Write;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u64| -> u64 {
        args.get(i).map_or(default, |a| a.parse().unwrap_or_else(|_| panic!("`{a}` is not a whole number")))
    };
    let problem = dense(number(0, 100_000) as usize, number(1, 1)).expect("the dense family never overflows");
    std::io::stdout().lock().write_all(minimalloc::write(&problem, None).as_bytes()).expect("writing stdout");
}
