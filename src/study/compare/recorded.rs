//! A dump's recorded figures against its own registrations.
//!
//! A CuBIE dump records both the registrations (one row per buffer) and
//! what CuBIE computed from them: each component's sizes, the kernel's
//! per-run totals, the launch padding and the block size its rule chose on
//! each device. Replaying uses only the registrations; [`mismatches`]
//! recomputes every recorded figure from the replay and lists each that
//! differs, so that an edited or inconsistent dump is refused instead of
//! silently shown with recomputed numbers.

use crate::error::Result;
use smemplan_kernel::registry::dump::Dump;
use smemplan_kernel::registry::Registry;
use smemplan_perf::occupancy::DeviceProfile;
use std::fmt;

/// One recorded figure that the replay does not reproduce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedMismatch {
    /// What the figure is, e.g. `top_level.shared_bytes_per_run`.
    pub what: String,
    /// The dump's value.
    pub recorded: String,
    /// The value recomputed from the registrations.
    pub recomputed: String,
}

impl fmt::Display for RecordedMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: recorded {}, recomputed {}", self.what, self.recorded, self.recomputed)
    }
}

/// Collects mismatches, in the order the figures are compared.
#[derive(Default)]
struct Diff(Vec<RecordedMismatch>);

impl Diff {
    fn eq<T: PartialEq + fmt::Debug>(&mut self, what: impl FnOnce() -> String, recorded: T, recomputed: T) {
        if recorded != recomputed {
            self.0.push(RecordedMismatch {
                what: what(),
                recorded: format!("{recorded:?}"),
                recomputed: format!("{recomputed:?}"),
            });
        }
    }
}

/// Every figure `dump` records that `registry` (its replay, top-level
/// component `root`) does not reproduce: per component the shared, local
/// and persistent sizes in elements and bytes; the kernel's per-run totals;
/// the launch skew and padding; and, for each device profile the dump names
/// and smemplan knows, the opt-in limit and the block size and dynamic
/// shared bytes chosen for every requested size. Empty when consistent.
pub fn mismatches(dump: &Dump, registry: &Registry, root: &str) -> Result<Vec<RecordedMismatch>> {
    let mut d = Diff::default();
    for c in &dump.components {
        let layout = registry.layout(&c.path)?;
        let item = registry.group(&c.path).map_or(0, |g| g.precision.itemsize());
        let at = |field: &str| format!("component `{}` {field}", c.path);
        d.eq(|| at("shared_buffer_size"), c.shared_buffer_size, layout.shared_elements);
        d.eq(|| at("local_buffer_size"), c.local_buffer_size, layout.local_elements);
        d.eq(|| at("persistent_local_buffer_size"), c.persistent_local_buffer_size, layout.persistent_local_elements);
        d.eq(|| at("shared_bytes"), c.shared_bytes, layout.shared_elements.saturating_mul(item));
        d.eq(|| at("local_bytes"), c.local_bytes, layout.local_bytes);
        d.eq(
            || at("persistent_local_bytes"),
            c.persistent_local_bytes,
            layout.persistent_local_elements.saturating_mul(item),
        );
    }
    let f = registry.footprint(root)?;
    let t = &dump.top_level;
    let top = |field: &str| format!("top_level.{field}");
    d.eq(|| top("shared_elements_per_run"), t.shared_elements_per_run, f.shared_elements);
    d.eq(|| top("shared_bytes_per_run"), t.shared_bytes_per_run, f.shared_bytes);
    d.eq(|| top("persistent_local_elements"), t.persistent_local_elements, f.persistent_local_elements);
    d.eq(|| top("persistent_local_bytes"), t.persistent_local_bytes, f.persistent_local_bytes);
    d.eq(|| top("local_elements_all_components"), t.local_elements_all_components, f.local_elements);
    d.eq(|| top("local_bytes_all_components"), t.local_bytes_all_components, f.local_bytes);
    d.eq(|| top("shared_needs_skew_padding"), t.shared_needs_skew_padding, f.skew_bytes > 0);
    d.eq(|| "launch.skew_bytes".into(), dump.launch.skew_bytes, f.skew_bytes);
    d.eq(
        || "launch.padded_shared_bytes_per_run".into(),
        dump.launch.padded_shared_bytes_per_run,
        f.padded_shared_bytes,
    );
    for (model, launch) in &dump.launch.limit_blocksize {
        // A device this version does not know cannot be recomputed.
        let Ok(device) = DeviceProfile::named(model) else { continue };
        let at = |field: String| format!("launch.limit_blocksize.{model}.{field}");
        d.eq(
            || at("max_dynamic_shared_memory_per_block".into()),
            launch.max_dynamic_shared_memory_per_block,
            device.max_shared_per_block_optin,
        );
        for (requested, recorded) in &launch.requested {
            let Ok(size) = requested.parse::<u64>() else {
                d.eq(|| at(format!("requested.{requested}")), "a block size", "not a number");
                continue;
            };
            let field = |name: &str| at(format!("requested.{requested}.{name}"));
            match device.limit_blocksize(size, f.padded_shared_bytes, dump.launch.runs) {
                Ok(got) => {
                    d.eq(|| field("blocksize"), recorded.blocksize, got.block_size);
                    d.eq(|| field("dynamic_shared_bytes"), recorded.dynamic_shared_bytes, got.dynamic_shared_bytes);
                }
                Err(e) => d.eq(|| field("blocksize"), recorded.blocksize.to_string(), format!("none ({e})")),
            }
        }
    }
    Ok(d.0)
}
