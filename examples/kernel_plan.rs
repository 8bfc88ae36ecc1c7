//! A kernel planned from its declarations to a CUDA header, each step
//! printed:
//!
//! ```text
//! cargo run --release --example kernel_plan
//! ```
//!
//! 1. **Declarations**: a toy step kernel of two components (a loop and the
//!    step it calls), their buffers (size, element type, location), and a
//!    lifetime table saying in which phases each buffer is live.
//! 2. **`PlanInput`**: the declarations placed in CuBIE's pools.
//! 3. **`plan`**: lifetimes derived on one kernel timeline, every pool laid
//!    out by the default strategy and checked by the independent checker.
//! 4. **Allocation**: host-side views (offset, stride, the address of an
//!    element for a thread of a block), as the generated accessors compute.
//! 5. **CUDA header**: one `__device__` accessor per buffer.
//!
//! `tests/kernel_example.rs` runs [`report`] and checks what it prints.

use smemplan::kernel::lifetimes::LifetimeTable;
use smemplan::kernel::{BufferDecl, ComponentDecl, Location, Precision};
use smemplan::plan::allocator::{cuda_header, Allocation, HeaderOptions, SharedLayout};
use smemplan::plan::{plan, PlanInput, PlanOptions, Pool};
use std::fmt::Write as _;

/// The phases of each component class and where each buffer is live: the
/// loop calls the step in its `step` phase, whose own phases subdivide it.
const LIFETIMES: &str = r#"
[Loop]
phases = ["init", "step", "commit"]
[Loop.children]
step = "step"
[Loop.buffers]
state = "all"
proposed = ["step", "commit"]

[Step]
phases = ["stage1", "stage2", "error"]
[Step.buffers]
k1 = ["stage1", "stage2"]
k2 = "stage2"
scratch = "stage1"
error = "error"
"#;

/// States of the toy system: every buffer below holds `N` floats.
const N: u64 = 8;

/// Threads per block the header sizes a launch for.
const BLOCK: u64 = 64;

fn buffer(component: &str, name: &str) -> BufferDecl {
    BufferDecl {
        component: component.into(),
        name: name.into(),
        size: N,
        precision: Precision::F32,
        location: Location::Shared,
        persistent: false,
        aliases: None,
    }
}

/// Everything the example prints, step by step.
pub fn report() -> Result<String, smemplan::Error> {
    let mut out = String::new();
    let w = &mut out;

    // 1. Declarations.
    let components = vec![
        ComponentDecl { path: "kernel".into(), class: "Loop".into(), precision: Precision::F32 },
        ComponentDecl { path: "kernel/step".into(), class: "Step".into(), precision: Precision::F32 },
    ];
    let buffers = vec![
        buffer("kernel", "state"),
        buffer("kernel", "proposed"),
        buffer("kernel/step", "k1"),
        buffer("kernel/step", "k2"),
        buffer("kernel/step", "scratch"),
        buffer("kernel/step", "error"),
    ];
    let table = LifetimeTable::parse("LIFETIMES", LIFETIMES)?;
    writeln!(w, "1. declarations: {} components, {} buffers of {N} f32 each", components.len(), buffers.len()).unwrap();
    for c in &components {
        writeln!(w, "   component {:<12} class {}", c.path, c.class).unwrap();
    }

    // 2. The plan's input: each buffer in the pool CuBIE's rules give it.
    let input = PlanInput::from_decls("kernel_plan", components, buffers, Vec::new())?;
    let declared: u64 = input.buffers.iter().map(|b| b.bytes()).sum::<Result<u64, _>>()?;
    writeln!(w, "2. plan input: {} buffers, {declared} bytes if none shared storage", input.buffers.len()).unwrap();

    // 3. The plan: lifetimes on one timeline, each pool laid out.
    let report = plan(&input, &table, &PlanOptions::default())?;
    writeln!(w, "3. plan ({}): timeline of {} instants", report.strategy, report.timeline.len()).unwrap();
    for (i, label) in report.timeline.iter().enumerate() {
        writeln!(w, "   {i}  {label}").unwrap();
    }
    for b in &report.buffers {
        let lifetime: Vec<String> = b.lifetime.iter().map(|[s, e]| format!("[{s},{e})")).collect();
        let offset = b.offset.map_or("-".to_string(), |o| o.to_string());
        writeln!(
            w,
            "   {:<20} {:>3} B  live {:<12} offset {offset}",
            format!("{}/{}", b.component, b.name),
            b.bytes,
            lifetime.join(" ")
        )
        .unwrap();
    }
    for p in report.pools.iter().filter(|p| p.bytes > 0) {
        let proven = if p.optimal { "proven optimal" } else { "not proven" };
        writeln!(w, "   {:?} pool: {} bytes per run (lower bound {}, {proven})", p.pool, p.bytes, p.lower_bound)
            .unwrap();
    }

    // 4. Host views: where each buffer's elements are for a thread.
    let alloc = Allocation::new(&report, SharedLayout::default())?;
    writeln!(
        w,
        "4. allocation: stride {} bytes per thread, {} bytes of dynamic shared memory per block of {BLOCK}",
        alloc.stride,
        alloc.shared_bytes_per_block(BLOCK)?
    )
    .unwrap();
    for v in alloc.views.iter().filter(|v| v.pool == Pool::Shared) {
        let last = alloc.address(v, 1, v.elements - 1, BLOCK);
        writeln!(w, "   {:<22} offset {:>3}  thread 1's last element at byte {last}", v.ident, v.offset).unwrap();
    }

    // 5. The header a CUDA kernel includes.
    let header = cuda_header(&alloc, &HeaderOptions { block_size: BLOCK, ..HeaderOptions::default() })?;
    writeln!(w, "5. CUDA header ({} lines):", header.lines().count()).unwrap();
    out.push_str(&header);
    Ok(out)
}

fn main() -> Result<(), smemplan::Error> {
    print!("{}", report()?);
    Ok(())
}
