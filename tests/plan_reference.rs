//! The optimised plan of every CuBIE reference configuration is never worse
//! than CuBIE's own layout, and strictly smaller in shared memory for every
//! `all_shared` configuration of an implicit method (issue 4's acceptance).
//! Writes nothing.

use smemplan::core::problem::Interval;
use smemplan::kernel::lifetimes::{segments_overlap, LifetimeTable};
use smemplan::plan::{plan, AliasVerdict, PlanInput, PlanOptions, PlanReport, Pool};

#[path = "support/data.rs"]
mod data;
#[path = "support/reference.rs"]
mod reference;
use reference::dumps;

/// An independent look at the placements: two buffers of one pool that are
/// live at a common instant never share a byte, unless one is a nested
/// alias inside the other.
fn assert_no_live_overlap(id: &str, r: &PlanReport) {
    let segs = |b: &smemplan::plan::PlacedBuffer| -> Vec<Interval> {
        b.lifetime.iter().map(|s| Interval::new(s[0], s[1])).collect()
    };
    for (i, a) in r.buffers.iter().enumerate() {
        for b in &r.buffers[i + 1..] {
            let (Some(oa), Some(ob)) = (a.offset, b.offset) else {
                continue;
            };
            if a.pool != b.pool || !segments_overlap(&segs(a), &segs(b)) {
                continue;
            }
            let disjoint = oa + a.bytes <= ob || ob + b.bytes <= oa;
            let full = |x: &smemplan::plan::PlacedBuffer| format!("{}/{}", x.component, x.name);
            let nested = a.inside.as_deref() == Some(full(b).as_str()) || b.inside.as_deref() == Some(full(a).as_str());
            assert!(disjoint || nested, "{id}: {} and {} overlap while both live", full(a), full(b));
        }
    }
}

#[test]
fn optimised_plans_beat_cubie_on_every_reference_configuration() {
    let table = LifetimeTable::cubie().unwrap();
    let dumps = dumps();
    assert_eq!(dumps.len(), 375);
    let mut strict = 0;
    for d in &dumps {
        let id = &d.config.id;
        let input = PlanInput::from_dump(d).unwrap();
        let r = plan(&input, &table, &PlanOptions::default()).unwrap();
        let top = &d.top_level;
        assert!(
            r.shared_bytes <= top.shared_bytes_per_run,
            "{id}: shared {} > cubie {}",
            r.shared_bytes,
            top.shared_bytes_per_run
        );
        assert!(
            r.local_bytes <= top.local_bytes_all_components,
            "{id}: local {} > cubie {}",
            r.local_bytes,
            top.local_bytes_all_components
        );
        assert!(
            r.persistent_local_bytes <= top.persistent_local_bytes,
            "{id}: persistent local {} > cubie {}",
            r.persistent_local_bytes,
            top.persistent_local_bytes
        );
        for pool in Pool::ALL {
            let p = r.pool(pool).unwrap();
            assert!(p.lower_bound <= p.peak && p.peak <= p.bytes, "{id}: {p:?}");
        }
        let implicit = d.config.resolved.get("is_implicit").and_then(|v| v.as_bool()).unwrap();
        if d.config.placement == "all_shared" && implicit {
            assert!(
                r.shared_bytes < top.shared_bytes_per_run,
                "{id}: shared {} not below cubie {}",
                r.shared_bytes,
                top.shared_bytes_per_run
            );
            strict += 1;
        }
        assert!(r.unmapped.is_empty(), "{id}: unmapped buffers {:?}", r.unmapped);
        assert!(r.unmapped_components.is_empty(), "{id}: unmapped components {:?}", r.unmapped_components);
        assert!(r.refused_aliases.is_empty(), "{id}: refused {:?}", r.refused_aliases);
        assert!(r.aliases.iter().all(|a| a.verdict != AliasVerdict::UnknownTarget), "{id}: {:?}", r.aliases);
        assert_no_live_overlap(id, &r);
    }
    assert_eq!(strict, 107, "every implicit all_shared configuration was checked");
}
