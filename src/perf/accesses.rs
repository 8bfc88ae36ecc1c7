//! Access counts on a plan: how often a run touches each placed buffer, by
//! memory, and the [`Workload`] the throughput estimate charges.
//!
//! The weights themselves are the kernel's ([`Weights`]); this counts them
//! over a plan's timeline and placement.

use crate::throughput::Workload;
use smemplan_kernel::accesses::Weights;
use smemplan_kernel::Pool;
use smemplan_plan::{PlacedBuffer, PlanReport};

/// Access counts of a kernel's [`Weights`] on a plan.
pub trait Counts {
    /// Accesses of one placed buffer per run on `timeline`: its weight in
    /// every instant it is live in.
    fn of_buffer(&self, buffer: &PlacedBuffer, timeline: &[String]) -> f64;

    /// Accesses per run to shared memory and to local memory (both local
    /// pools) under `report`'s placement.
    fn by_memory(&self, report: &PlanReport) -> (f64, f64);

    /// What the throughput estimate needs of `report`: its accesses by
    /// memory, its local bytes per run (all of them promotable to registers
    /// when every local buffer is, [`Weights::in_registers`]) and the shared
    /// stride `stride` (the padded bytes between two runs' slices).
    fn workload(&self, report: &PlanReport, stride: u64, registers_per_thread: u64, runs: u64) -> Workload;
}

impl Counts for Weights {
    fn of_buffer(&self, buffer: &PlacedBuffer, timeline: &[String]) -> f64 {
        let mut total = 0u64;
        for s in &buffer.lifetime {
            for t in s[0]..s[1] {
                let label = timeline.get(t as usize).map_or("", String::as_str);
                let w = self.per_instant(&buffer.component, &buffer.name, buffer.elements, label);
                total = total.saturating_add(w);
            }
        }
        total as f64
    }

    fn by_memory(&self, report: &PlanReport) -> (f64, f64) {
        report.buffers.iter().fold((0.0, 0.0), |(shared, local), b| {
            let a = self.of_buffer(b, &report.timeline);
            match b.pool {
                Pool::Shared => (shared + a, local),
                Pool::Local | Pool::PersistentLocal => (shared, local + a),
            }
        })
    }

    fn workload(&self, report: &PlanReport, stride: u64, registers_per_thread: u64, runs: u64) -> Workload {
        let (shared_accesses, local_accesses) = self.by_memory(report);
        let local_bytes = report.local_bytes.saturating_add(report.persistent_local_bytes);
        // The local pools are one array each, which the compiler can hold in
        // registers only when every index into it is known: when every
        // buffer in them is so indexed.
        let local = report.buffers.iter().filter(|b| b.pool != Pool::Shared && b.bytes > 0);
        let promotable = local.clone().next().is_some()
            && local.clone().all(|b| self.in_registers(&format!("{}/{}", b.component, b.name)));
        Workload {
            shared_bytes_per_run: stride,
            shared_accesses,
            local_accesses,
            local_bytes_per_run: local_bytes,
            register_bytes_per_run: if promotable { local_bytes } else { 0 },
            local_hit_per_shared: self.local_hit_per_shared(),
            registers_per_thread,
            runs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workload of model `text` at `sets`, planned with the defaults
    /// (one run, no stride).
    fn workload(text: &str, sets: &[(String, String)]) -> crate::throughput::Workload {
        let model = smemplan_kernel::model::Model::parse("t.toml", text, &|_| Ok(None)).unwrap();
        let kernel = model.instantiate(sets).unwrap();
        let report = smemplan_plan::plan_kernel(&kernel, &Default::default()).unwrap();
        kernel.accesses.workload(&report, 0, 0, 1)
    }

    /// A model's `accesses` reach the counts: 4n in phase a, the size in b.
    #[test]
    fn a_model_sets_weights_per_phase() {
        let text = r#"
[params]
n = 10
precision = "f32"

[classes.Step]
phases = ["a", "b"]
buffers = { x = ["a", "b"], y = "b" }

[[component]]
path = "k"
class = "Step"

[[buffer]]
component = "k"
name = "x"
size = "n"
location = "shared"
accesses = { a = "4 * n" }

[[buffer]]
component = "k"
name = "y"
size = 3
accesses = { all = 0 }
"#;
        let model = smemplan_kernel::model::Model::parse("t.toml", text, &|_| Ok(None)).unwrap();
        let kernel = model.instantiate(&[]).unwrap();
        let report = smemplan_plan::plan_kernel(&kernel, &Default::default()).unwrap();
        let x = report.buffers.iter().find(|b| b.name == "x").unwrap();
        assert_eq!(kernel.accesses.of_buffer(x, &report.timeline), 50.0, "{:?} {:?}", report.timeline, kernel.accesses);
        assert_eq!(kernel.accesses.by_memory(&report), (50.0, 0.0));
        let bad = text.replace("\"4 * n\"", "\"'many'\"");
        let e =
            smemplan_kernel::model::Model::parse("t.toml", &bad, &|_| Ok(None)).unwrap().instantiate(&[]).unwrap_err();
        assert!(e.to_string().contains("buffer(k/x).accesses.a") && e.to_string().contains("integer"), "{e}");
    }

    /// `registers` marks buffers the kernel indexes with compile-time
    /// indices; the workload offers the local bytes to registers only when
    /// every local buffer is so marked (the local pool is one array).
    #[test]
    fn local_bytes_go_to_registers_only_when_every_local_buffer_may() {
        let text = |x: &str, y: &str| {
            format!(
                r#"
[params]
n = 4
precision = "f32"
[classes.Step]
phases = ["a"]
buffers = {{ x = "a", y = "a" }}
[[component]]
path = "k"
class = "Step"
[[buffer]]
component = "k"
name = "x"
size = "n"
location = "{x}"
registers = "n <= 8"
[[buffer]]
component = "k"
name = "y"
size = 3
location = "{y}"
"#
            )
        };
        let only_x = workload(&text("local", "shared"), &[]);
        assert_eq!((only_x.local_bytes_per_run, only_x.register_bytes_per_run), (16, 16));
        let both = workload(&text("local", "local"), &[]);
        assert_eq!((both.local_bytes_per_run, both.register_bytes_per_run), (28, 0), "y is indexed at run time");
        let n16 = [("n".to_string(), "16".to_string())];
        let large = workload(&text("local", "shared"), &n16);
        assert_eq!((large.local_bytes_per_run, large.register_bytes_per_run), (64, 0), "the condition fails");
        assert_eq!(workload(&text("shared", "shared"), &[]).register_bytes_per_run, 0);
        // `true` is a condition too; a number is neither.
        let always = text("local", "shared").replace("\"n <= 8\"", "true");
        assert_eq!(workload(&always, &n16).register_bytes_per_run, 64);
        let number = text("local", "shared").replace("\"n <= 8\"", "3");
        let e = smemplan_kernel::model::Model::parse("t.toml", &number, &|_| Ok(None)).unwrap_err();
        assert!(
            e.to_string().contains("t.toml:16") && e.to_string().contains("`registers` is true, false or a condition"),
            "{e}"
        );
        let bad = text("local", "shared").replace("\"n <= 8\"", "\"'yes'\"");
        let e =
            smemplan_kernel::model::Model::parse("t.toml", &bad, &|_| Ok(None)).unwrap().instantiate(&[]).unwrap_err();
        assert!(e.to_string().contains("buffer(k/x).registers") && e.to_string().contains("integer"), "{e}");
    }

    /// A model's `local_hit_per_shared` reaches the workload and prices a
    /// local hit at that many shared accesses; without it the device's
    /// figure counts. A value that is not a positive number, or one in an
    /// included fragment, is refused with the file, line and key.
    #[test]
    fn a_model_sets_what_a_local_hit_costs() {
        use crate::occupancy::DeviceProfile;
        use crate::throughput::{self, Workload};
        let text = |cost: &str| {
            format!(
                r#"{cost}
[params]
n = 4
precision = "f32"
[classes.Step]
phases = ["a"]
buffers = {{ x = "a" }}
[[component]]
path = "k"
class = "Step"
[[buffer]]
component = "k"
name = "x"
size = "n"
location = "local"
"#
            )
        };
        let workload = |text: &str| workload(text, &[]);
        let h100 = DeviceProfile::named("h100").unwrap();
        let p = &h100.throughput;
        let device = workload(&text(""));
        assert_eq!((device.local_hit_per_shared, device.local_hit_ns(p)), (None, p.local_access_ns));
        let cheap = workload(&text("local_hit_per_shared = 0.5"));
        assert_eq!(cheap.local_hit_per_shared, Some(0.5));
        assert_eq!(cheap.local_hit_ns(p), 0.5 * p.shared_access_ns);
        assert_eq!(workload(&text("local_hit_per_shared = 2")).local_hit_per_shared, Some(2.0));
        // Four accesses, every one a hit: the warp time is the hit cost's.
        let warp = |w: &Workload| throughput::warp_seconds(p, w);
        assert!((warp(&device) / warp(&cheap) - p.local_access_ns / (0.5 * p.shared_access_ns)).abs() < 1e-9);
        let best = |w: &Workload| throughput::best_block_size(&h100, w).unwrap().unwrap().seconds;
        assert!(best(&cheap) < best(&device));
        for bad in ["0", "-1", "\"cheap\"", "nan", "inf"] {
            let e = smemplan_kernel::model::Model::parse(
                "t.toml",
                &text(&format!("local_hit_per_shared = {bad}")),
                &|_| Ok(None),
            )
            .unwrap_err()
            .to_string();
            assert!(
                e.contains("t.toml:1") && e.contains("local_hit_per_shared") && e.contains("positive number"),
                "{bad}: {e}"
            );
        }
        let fragment = "local_hit_per_shared = 0.5\n";
        let with_include = text("").replace("[params]", "[[include]]\nfile = \"f.toml\"\n[params]");
        let e = smemplan_kernel::model::Model::parse("t.toml", &with_include, &|_| {
            Ok(Some(("f.toml".into(), fragment.into())))
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("is not a fragment"), "{e}");
    }
}
