//! Every CuBIE 0.17.0 reference dump in `tests/data/cubie-reference/` is a
//! test: replaying its registrations must reproduce, exactly,
//!
//! * for every entry: its size (roll-ups: the child's answer), its units in
//!   the group, its protected ranges, its pool, slice or local size, and
//!   whether its alias was applied;
//! * for every component: the three size answers in elements and in bytes
//!   and the protected shared ranges;
//! * the top-level per-run numbers (shared bytes, skew, persistent local,
//!   local over the tree, the kernel's persistent array);
//! * the block size, dynamic shared bytes and warning of `limit_blocksize`
//!   for every requested size under every device model recorded.
//!
//! A file that differs prints each difference (which component and buffer,
//! expected vs got); the test fails unless all files reproduce.

use smemplan::kernel::registry::dump::Dump;
use smemplan::kernel::registry::{Region, Registry};
use smemplan::perf::occupancy::DeviceProfile;
use std::fmt::Debug;
use std::path::PathBuf;

#[path = "support/data.rs"]
mod data;
use data::data_files;

fn reference_files() -> Vec<PathBuf> {
    data_files("tests/data/cubie-reference", "json")
}

/// Collects differences for one file.
#[derive(Default)]
struct Diff(Vec<String>);

impl Diff {
    fn eq<T: PartialEq + Debug>(&mut self, what: impl FnOnce() -> String, expected: T, got: T) {
        if expected != got {
            self.0.push(format!("{}: expected {expected:?}, got {got:?}", what()));
        }
    }
}

fn slice_of(region: &Region) -> Option<[u64; 2]> {
    region.slice().map(|r| [r.start, r.end])
}

fn local_of(region: &Region) -> Option<u64> {
    match region {
        Region::Local(n) => Some(*n),
        _ => None,
    }
}

fn ranges(rs: &[std::ops::Range<u64>]) -> Vec<[u64; 2]> {
    rs.iter().map(|r| [r.start, r.end]).collect()
}

fn compare(dump: &Dump) -> Result<Diff, String> {
    let registry = Registry::from_dump(dump).map_err(|e| format!("replay failed: {e}"))?;
    let mut d = Diff::default();

    for c in &dump.components {
        let group = registry.group(&c.path).ok_or("component missing after replay")?;
        let layout = registry.layout(&c.path).map_err(|e| e.to_string())?;
        let rows: Vec<_> = dump.buffers.iter().filter(|b| b.component == c.path).collect();
        d.eq(|| format!("{}: entry count", c.path), rows.len(), group.entries().len());
        for b in rows {
            let Some(i) = group.position(&b.name) else {
                d.0.push(format!("{}:{}: not registered", c.path, b.name));
                continue;
            };
            let (e, p) = (&group.entries()[i], &layout.placements[i]);
            let at = |field: &str| format!("{}:{} {field}", c.path, b.name);
            d.eq(|| at("size"), b.size, e.size);
            d.eq(|| at("parent_elements"), b.parent_elements, e.elements_in(group.precision).unwrap());
            d.eq(|| at("protected"), b.protected.clone(), ranges(&e.protected));
            d.eq(|| at("pool"), b.pool.clone(), p.region.pool().to_string());
            d.eq(|| at("slice"), b.slice, slice_of(&p.region));
            d.eq(|| at("local_size"), b.local_size, local_of(&p.region));
            d.eq(|| at("alias_applied"), b.alias_applied, p.alias_applied);
        }
        let item = group.precision.itemsize();
        let at = |field: &str| format!("{} {field}", c.path);
        d.eq(|| at("shared_buffer_size"), c.shared_buffer_size, layout.shared_elements);
        d.eq(|| at("local_buffer_size"), c.local_buffer_size, layout.local_elements);
        d.eq(|| at("persistent_local_buffer_size"), c.persistent_local_buffer_size, layout.persistent_local_elements);
        d.eq(|| at("shared_bytes"), c.shared_bytes, layout.shared_elements * item);
        d.eq(|| at("local_bytes"), c.local_bytes, layout.local_bytes);
        d.eq(|| at("persistent_local_bytes"), c.persistent_local_bytes, layout.persistent_local_elements * item);
        d.eq(|| at("protected_shared_ranges"), c.protected_shared_ranges.clone(), ranges(&layout.protected));
    }

    let root = &dump.components[0].path;
    let f = registry.footprint(root).map_err(|e| e.to_string())?;
    let t = &dump.top_level;
    d.eq(|| "top shared_elements_per_run".into(), t.shared_elements_per_run, f.shared_elements);
    d.eq(|| "top shared_bytes_per_run".into(), t.shared_bytes_per_run, f.shared_bytes);
    d.eq(|| "top persistent_local_elements".into(), t.persistent_local_elements, f.persistent_local_elements);
    d.eq(|| "top persistent_local_bytes".into(), t.persistent_local_bytes, f.persistent_local_bytes);
    d.eq(|| "top local_elements_all_components".into(), t.local_elements_all_components, f.local_elements);
    d.eq(|| "top local_bytes_all_components".into(), t.local_bytes_all_components, f.local_bytes);
    d.eq(|| "top shared_needs_skew_padding".into(), t.shared_needs_skew_padding, f.skew_bytes > 0);
    d.eq(|| "launch skew_bytes".into(), dump.launch.skew_bytes, f.skew_bytes);
    d.eq(
        || "launch padded_shared_bytes_per_run".into(),
        dump.launch.padded_shared_bytes_per_run,
        f.padded_shared_bytes,
    );
    let (_, persistent_array) = registry.get_toplevel_allocators(root).map_err(|e| e.to_string())?;
    d.eq(|| "kernel persistent array".into(), t.persistent_local_elements.max(1), persistent_array.elements);

    let mut models: Vec<&str> = dump.launch.limit_blocksize.keys().map(String::as_str).collect();
    models.sort_unstable();
    d.eq(|| "device models".into(), vec!["h100", "simulator"], models);
    for (model, launch) in &dump.launch.limit_blocksize {
        let device = DeviceProfile::named(model).map_err(|e| e.to_string())?;
        d.eq(
            || format!("{model} opt-in limit"),
            launch.max_dynamic_shared_memory_per_block,
            device.max_shared_per_block_optin,
        );
        for (requested, expected) in &launch.requested {
            let b: u64 = requested.parse().map_err(|_| format!("requested `{requested}`"))?;
            let got = device.limit_blocksize(b, f.padded_shared_bytes, dump.launch.runs).map_err(|e| e.to_string())?;
            let at = |field: &str| format!("{model} requested {b}: {field}");
            d.eq(|| at("blocksize"), expected.blocksize, got.block_size);
            d.eq(|| at("dynamic_shared_bytes"), expected.dynamic_shared_bytes, got.dynamic_shared_bytes);
            d.eq(|| at("warning"), expected.warning.as_deref(), got.warning);
        }
    }

    // The whole-kernel layout: every shared leaf inside the top-level array.
    let flat = registry.flatten(root).map_err(|e| e.to_string())?;
    for b in &flat {
        if let Region::Shared(r) = &b.region {
            if r.end > f.shared_elements {
                d.0.push(format!("{}:{} flattened to {r:?}, past {}", b.component, b.name, f.shared_elements));
            }
        }
    }
    Ok(d)
}

#[test]
fn every_reference_configuration_is_reproduced_exactly() {
    let files = reference_files();
    assert!(!files.is_empty(), "no reference dumps found");
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let dump = Dump::parse(&path.display().to_string(), &text).unwrap();
        match compare(&dump) {
            Ok(d) if d.0.is_empty() => {}
            Ok(d) => failures.push(format!("{}:\n  {}", dump.config.id, d.0.join("\n  "))),
            Err(e) => failures.push(format!("{}: {e}", dump.config.id)),
        }
    }
    let reproduced = files.len() - failures.len();
    eprintln!("cubie reference: {reproduced}/{} configurations reproduced exactly", files.len());
    assert!(failures.is_empty(), "{} differ:\n{}", failures.len(), failures.join("\n"));
}

/// A replayed configuration's leaf buffers are exactly its non-roll-up rows,
/// in order: what the optimising strategies receive.
#[test]
fn declarations_are_the_leaf_buffers_in_order() {
    for path in reference_files().iter().step_by(25) {
        let dump = Dump::parse("ref", &std::fs::read_to_string(path).unwrap()).unwrap();
        let kernel = Registry::from_dump(&dump).unwrap().kernel(&dump.components[0].path).unwrap();
        let (components, buffers) = (kernel.components, kernel.buffers);
        let paths: Vec<_> = components.iter().map(|c| c.path.as_str()).collect();
        let expected: Vec<_> = dump.components.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, expected);
        let got: Vec<_> = buffers.iter().map(|b| (b.component.as_str(), b.name.as_str(), b.size)).collect();
        let expected: Vec<_> = dump
            .buffers
            .iter()
            .filter(|b| b.rollup_of.is_none())
            .map(|b| (b.component.as_str(), b.name.as_str(), b.size))
            .collect();
        assert_eq!(got, expected, "{}", dump.config.id);
    }
}
