//! The built-in example instance: what `smemplan solve` plans when it is
//! given no file. Embedded in the binary, so it needs no data on disk.
//!
//! One step of a three-stage SDIRK method with a Newton–Krylov solver and a
//! minimal-residual linear solver, for n = 20 states in float64, named after
//! CuBIE's buffers (loop state, step scratch, Newton and linear-solver
//! scratch, controller). A state vector is 20 × 8 = 160 bytes; int32
//! counters are 4-byte aligned, everything else 8-byte aligned.
//!
//! ```text
//!  time 0          10          20          30   32   34   36
//!       |  stage 1  |  stage 2  |  stage 3  |ctrl|cmit|outp|
//!          Newton [1,9)   [11,19)     [21,29)
//!            linear [2,8)   [12,18)     [22,28)
//! ```
//!
//! Persistent buffers live on `[0, 36)`. Newton and linear-solver scratch is
//! dead between stages (lifetime gaps), so the layout may lend that space to
//! other buffers there.

/// How the example is named in output and errors.
pub const NAME: &str = "<builtin: SDIRK-3 step, n = 20, float64>";

/// The instance, in MiniMalloc's CSV format (with `alignment` and `gaps`).
pub const CSV: &str = include_str!("builtin.csv");
