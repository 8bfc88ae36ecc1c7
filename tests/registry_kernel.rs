//! A registry built with CuBIE's calls plans as the kernel it builds
//! (issue 17): `register_child` edges, not the spelling of component ids,
//! place components in the kernel, so the optimised side aliases by
//! lifetime as the same kernel from its model does. Before, ids that were
//! not slash-separated paths made every component a root of its own: no
//! lifetimes, and an optimised side equal to CuBIE's, silently.

use smemplan::kernel::model;
use smemplan::kernel::registry::{Registry, Rollup};
use smemplan::plan::{plan_kernel, plan_registry, PlanOptions, PlanReport};

/// The model's registry rebuilt by CuBIE's calls under opaque ids (`c0`,
/// `c1`, …, as a live CuBIE solver's objects would be named), each
/// component's entries registered in its order, a child rolled up by
/// `register_child` where its roll-up stands; children first, since a
/// roll-up takes the child's size when registered.
fn with_opaque_ids(source: &Registry, root: &str) -> (Registry, String) {
    let ids: Vec<&str> = source.groups().iter().map(|g| g.id.as_str()).collect();
    let opaque = |id: &str| format!("c{}", ids.iter().position(|i| *i == id).unwrap());
    let mut r = Registry::new();
    for g in source.groups() {
        r.add_component(&opaque(&g.id), &g.class, g.precision).unwrap();
    }
    fn fill(source: &Registry, r: &mut Registry, id: &str, opaque: &dyn Fn(&str) -> String) {
        let g = source.group(id).unwrap();
        for e in g.entries() {
            match &e.rollup {
                None => r
                    .register(&e.name, &opaque(id), e.size, e.location, e.persistent, e.aliases.as_deref(), e.precision)
                    .unwrap(),
                Some((child, Rollup::Shared)) => {
                    fill(source, r, child, opaque);
                    let name = g.children().iter().find(|c| c.component == *child).unwrap().name.clone();
                    r.register_child(&opaque(id), &name, &opaque(child), e.aliases.as_deref()).unwrap();
                }
                Some((_, Rollup::Persistent)) => {}
            }
        }
    }
    fill(source, &mut r, root, &opaque);
    (r, opaque(root))
}

fn total(r: &PlanReport) -> u64 {
    r.shared_bytes + r.local_bytes + r.persistent_local_bytes
}

#[test]
fn a_registry_built_by_register_child_plans_as_its_model() {
    let options = PlanOptions { strategy: "greedy-floor".into(), ..PlanOptions::default() };
    let mut aliased = 0;
    for name in model::builtin_names() {
        let kernel = model::builtin(name).unwrap().instantiate(&[]).unwrap();
        let (source, root) = kernel.registry().unwrap();
        let (registry, top) = with_opaque_ids(&source, &root);
        let cubie = registry.footprint(&top).unwrap();
        assert_eq!(cubie, source.footprint(&root).unwrap(), "{name}: the rebuilt registry is CuBIE's same layout");

        let from_model = plan_kernel(&kernel, &options).unwrap();
        let from_registry = plan_registry(&registry, &top, &options).unwrap();
        assert!(from_registry.unmapped_components.is_empty(), "{name}: {:?}", from_registry.unmapped_components);
        assert_eq!(from_registry.timeline.len(), from_model.timeline.len(), "{name}: one kernel timeline");
        assert!(
            total(&from_registry) <= total(&from_model),
            "{name}: registry {} B > model {} B",
            total(&from_registry),
            total(&from_model)
        );
        if from_model.shared_bytes < cubie.shared_bytes {
            aliased += 1;
            assert!(from_registry.shared_bytes < cubie.shared_bytes, "{name}: no aliasing from the registry");
        }
    }
    assert!(aliased >= 3, "the built-in models alias: {aliased}");
}

#[test]
fn ids_that_are_not_paths_are_placed_by_their_edges() {
    use smemplan::kernel::{Location::Shared, Precision::F32};
    let mut r = Registry::new();
    r.add_component("L", "IVPLoop", F32).unwrap();
    r.add_component("D", "DIRKStep", F32).unwrap();
    r.add_component("N", "NewtonKrylov", F32).unwrap();
    r.register("delta", "N", 3, Shared, false, None, F32).unwrap();
    r.register_child("D", "solver", "N", None).unwrap();
    r.register_child("L", "algorithm", "D", None).unwrap();
    let kernel = r.kernel("L").unwrap();
    let paths: Vec<_> = kernel.components.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["L", "L/algorithm", "L/algorithm/solver"]);
    assert_eq!(kernel.buffers[0].component, "L/algorithm/solver");
    assert_eq!(kernel.path_of("N"), Some("L/algorithm/solver"));

    // A child rolled up twice has no one place in the kernel: an error
    // naming it and both places, never a guess.
    r.register_child("L", "again", "N", None).unwrap();
    let e = plan_registry(&r, "L", &PlanOptions::default()).unwrap_err().to_string();
    assert!(e.contains("`N`") && e.contains("L/algorithm/solver") && e.contains("L/again"), "{e}");
}
