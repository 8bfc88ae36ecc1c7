//! `examples/kernel_plan.rs` (declarations → `PlanInput` → `plan` →
//! allocation → CUDA header) runs in CI: its output is produced here and
//! checked step by step against what it claims.

#[allow(dead_code)] // its `main` is for `cargo run --example`
#[path = "../examples/kernel_plan.rs"]
mod example;

#[test]
fn the_kernel_example_goes_from_declarations_to_a_header() {
    let out = example::report().unwrap();
    let at = |step: &str| out.find(step).unwrap_or_else(|| panic!("no `{step}` in:\n{out}"));
    let steps = ["1. declarations", "2. plan input", "3. plan (auto)", "4. allocation", "5. CUDA header"];
    assert!(steps.windows(2).all(|p| at(p[0]) < at(p[1])), "steps out of order:\n{out}");

    // Six buffers of 8 floats: 192 bytes unshared. Scratch (stage 1 only)
    // and k2 (stage 2 only) share storage, and so do k1 (stages 1–2) and
    // error (after them): the plan needs the most bytes live at once
    // (state, proposed, k1 and k2 in stage 2: 128 B), proven optimal.
    assert!(out.contains("6 buffers, 192 bytes if none shared storage"), "{out}");
    assert!(out.contains("Shared pool: 128 bytes per run (lower bound 128, proven optimal)"), "{out}");
    // An even stride of 32 words is padded to 33 (bank conflicts).
    assert!(out.contains("stride 132 bytes per thread, 8448 bytes of dynamic shared memory per block of 64"), "{out}");
    // The header has one accessor per buffer (named by its path below the
    // kernel's top component).
    let header = &out[at("5. CUDA header")..];
    for name in ["state", "proposed", "step__k1", "step__k2", "step__scratch", "step__error"] {
        assert!(header.contains(&format!(" {name}(")), "no accessor `{name}` in:\n{header}");
    }
}
