//! Each built-in solver-family model, at a reference configuration's
//! parameters, declares exactly the components and leaf buffers CuBIE
//! registered there: same paths, classes, names, sizes, element types,
//! persistence and alias hints; for the fixed placements (`default`,
//! `all_local`, `all_shared`) also the same locations and, by CuBIE's pool
//! rules, the same pools.
//!
//! For those placements the model's plan also equals the dump's.
//!
//! The parameters come from the dump's configuration and what CuBIE
//! resolved; the stage count comes from the model's algorithm row and is
//! checked against the dump. Sizes that depend on the reference system's
//! sparsity (`lu_nnz`, `jac_cache`, `firk_extra`, `rosenbrock_cache`) are
//! not set: the models derive them from n, and each derived value is checked
//! against `models/reference-system.toml`.

use smemplan::kernel::model::{builtin, expr::Value};
use smemplan::kernel::registry::dump::Dump;
use smemplan::plan::{plan_dump, PlanInput, PlanOptions};
use std::collections::BTreeMap;

#[path = "support/data.rs"]
mod data;
#[path = "support/reference.rs"]
mod reference;
use reference::dumps;

fn system_sizes() -> toml::Table {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/reference-system.toml");
    std::fs::read_to_string(path).unwrap().parse().unwrap()
}

/// `--set` pairs for one reference configuration: the dump's settings only,
/// never the system sizes (the models' rules give those).
fn sets(d: &Dump, params: &BTreeMap<String, Value>) -> Vec<(String, String)> {
    let c = &d.config;
    let r = &c.resolved;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: String| {
        if params.contains_key(k) {
            out.push((k.to_string(), v));
        }
    };
    set("algorithm", c.algorithm.clone());
    set("n", c.n_states.to_string());
    set("p", c.n_parameters.to_string());
    set("d", c.n_drivers.to_string());
    set("o", c.n_observables.to_string());
    set("precision", c.precision.to_string());
    set("loc", if c.placement == "all_shared" { "shared" } else { "local" }.to_string());
    set("controller", r["step_controller"].as_str().unwrap().to_string());
    if let Some(linear) = r["linear_correction_type"].as_str() {
        set("linear", if linear == "minimal_residual" { "mr" } else { linear }.to_string());
    }
    set("smooth", r["smooth_error"].as_bool().unwrap().to_string());
    set("dense", r["dense_prediction"].as_bool().unwrap().to_string());
    let outputs: Vec<&str> = c
        .solver_kwargs
        .get("output_types")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
        .unwrap_or_default();
    let metrics =
        outputs.iter().filter(|o| !["state", "observables", "iteration_counters", "time"].contains(o)).count();
    set("summary_metrics", metrics.to_string());
    set("save_counters", outputs.contains(&"iteration_counters").to_string());
    out
}

/// Every system size the kernel derived equals the reference system's at
/// the dump's n; returns how many were compared.
fn check_system_sizes(d: &Dump, inst: &smemplan::kernel::model::Kernel, system: &toml::Table) -> usize {
    let id = &d.config.id;
    let row = system[&format!("n{}", d.config.n_states)].as_table().unwrap();
    let mut compared = 0;
    for (k, v) in row {
        if let Some(got) = inst.params.get(k) {
            assert_eq!(got, &Value::Int(v.as_integer().unwrap()), "{id}: derived {k}");
            compared += 1;
        }
    }
    if let Some(got) = inst.params.get("rosenbrock_cache") {
        assert_eq!(got, &Value::Int(0), "{id}: derived rosenbrock_cache");
        compared += 1;
    }
    compared
}

#[test]
fn models_declare_what_cubie_registered() {
    let system = system_sizes();
    let dumps = dumps();
    assert_eq!(dumps.len(), 375);
    let mut checked_pools = 0;
    let mut checked_sizes = 0;
    for d in &dumps {
        let id = &d.config.id;
        let model = builtin(&d.config.family).unwrap_or_else(|e| panic!("{id}: {e}"));
        let sets = sets(d, model.params());
        assert!(
            !sets.iter().any(|(k, _)| ["lu_nnz", "jac_cache", "firk_extra", "rosenbrock_cache"].contains(&k.as_str())),
            "{id}: system sizes are the models' own"
        );
        let inst = model.instantiate(&sets).unwrap_or_else(|e| panic!("{id}: {e}"));
        checked_sizes += check_system_sizes(d, &inst, &system);
        if let Some(Value::Int(s)) = inst.params.get("stages") {
            assert_eq!(Some(*s), d.config.resolved["tableau_stage_count"].as_i64(), "{id}: stage count");
        }

        let mut want: Vec<(String, String)> = d.components.iter().map(|c| (c.path.clone(), c.class.clone())).collect();
        let mut got: Vec<(String, String)> =
            inst.components.iter().map(|c| (c.path.clone(), c.class.clone())).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "{id}: components");

        let fixed = ["default", "all_local", "all_shared"].contains(&d.config.placement.as_str());
        let key = |component: &str, name: &str| format!("{component}/{name}");
        let mut want: BTreeMap<String, String> = BTreeMap::new();
        for b in d.buffers.iter().filter(|b| b.rollup_of.is_none()) {
            let loc = if fixed { b.location.to_string() } else { String::new() };
            let desc = format!("{} {} persistent={} aliases={:?} {loc}", b.size, b.dtype, b.persistent, b.aliases);
            assert!(want.insert(key(&b.component, &b.name), desc).is_none(), "{id}: repeated buffer");
        }
        let mut got: BTreeMap<String, String> = BTreeMap::new();
        for b in &inst.buffers {
            let loc = if fixed { b.location.to_string() } else { String::new() };
            let desc = format!("{} {} persistent={} aliases={:?} {loc}", b.size, b.precision, b.persistent, b.aliases);
            assert!(got.insert(key(&b.component, &b.name), desc).is_none(), "{id}: repeated buffer");
        }
        for (k, w) in &want {
            assert_eq!(got.get(k), Some(w), "{id}: buffer {k}");
        }
        for k in got.keys() {
            assert!(want.contains_key(k), "{id}: the model declares {k}, CuBIE does not");
        }

        if fixed {
            let input = PlanInput::try_from(&inst).unwrap();
            for b in &input.buffers {
                let row = d
                    .buffers
                    .iter()
                    .find(|r| r.rollup_of.is_none() && r.component == b.decl.component && r.name == b.decl.name)
                    .unwrap();
                assert_eq!(b.pool.as_str(), row.pool, "{id}: pool of {}", b.full_name());
            }
            // Same declarations, same pools: the model plans exactly like
            // the dump.
            let (from_model, from_dump) = (
                smemplan::plan::plan_kernel(&inst, &PlanOptions::default()).unwrap(),
                plan_dump(d, &PlanOptions::default()).unwrap(),
            );
            let bytes = |r: &smemplan::plan::PlanReport| (r.shared_bytes, r.local_bytes, r.persistent_local_bytes);
            assert_eq!(bytes(&from_model), bytes(&from_dump), "{id}: model and dump plans differ");
            checked_pools += 1;
        }
    }
    assert!(checked_pools > 200, "{checked_pools}");
    assert!(checked_sizes > 400, "{checked_sizes}");
}

/// At a fixed placement, the `cubie` registry built from a model's
/// declarations (its classes' registration orders and roll-ups) is the one
/// the dump records: same per-run numbers and the same slice for every
/// buffer of the whole kernel.
#[test]
fn model_registries_reproduce_cubie_layouts() {
    use smemplan::kernel::registry::Registry;
    let mut checked = 0;
    for d in dumps().iter().filter(|d| ["default", "all_local", "all_shared"].contains(&d.config.placement.as_str())) {
        let id = &d.config.id;
        let model = builtin(&d.config.family).unwrap();
        let inst = model.instantiate(&sets(d, model.params())).unwrap();
        let (from_model, root) = inst.registry().unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_eq!(root, d.components[0].path, "{id}: top level");
        let from_dump = Registry::from_dump(d).unwrap();
        assert_eq!(from_model.footprint(&root).unwrap(), from_dump.footprint(&root).unwrap(), "{id}: footprint");
        let (got, want) = (from_model.flatten(&root).unwrap(), from_dump.flatten(&root).unwrap());
        assert_eq!(got.len(), want.len(), "{id}: buffers");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{id}: {}/{}", w.component, w.name);
        }
        assert_eq!(from_model.footprint(&root).unwrap().shared_bytes, d.top_level.shared_bytes_per_run, "{id}");
        checked += 1;
    }
    assert!(checked > 200, "{checked}");
}

/// The optimised side of a model plan puts every buffer in the pool the
/// model's CuBIE registry uses, over every built-in model, algorithm,
/// placement, precision and a small and a large n: `plan` compares like
/// with like.
#[test]
fn model_plan_pools_are_the_registry_pools() {
    use smemplan::kernel::model::builtin_names;
    use smemplan::kernel::registry::Region;
    let mut checked = 0;
    for name in builtin_names() {
        let model = builtin(name).unwrap();
        let algorithms: Vec<Option<&str>> = match model.algorithms() {
            a if a.is_empty() => vec![None],
            a => a.into_iter().map(Some).collect(),
        };
        for alg in algorithms {
            for loc in ["shared", "local"] {
                for precision in ["f32", "f64"] {
                    for n in ["3", "100"] {
                        let mut sets = vec![
                            ("loc".to_string(), loc.to_string()),
                            ("precision".to_string(), precision.to_string()),
                            ("n".to_string(), n.to_string()),
                        ];
                        sets.extend(alg.map(|a| ("algorithm".to_string(), a.to_string())));
                        let inst = model.instantiate(&sets).unwrap();
                        let (registry, root) = inst.registry().unwrap();
                        let flat = registry.flatten(&root).unwrap();
                        let input = PlanInput::try_from(&inst).unwrap();
                        assert_eq!(flat.len(), input.buffers.len(), "{name} {sets:?}");
                        for b in &input.buffers {
                            let f = flat
                                .iter()
                                .find(|f| f.component == b.decl.component && f.name == b.decl.name)
                                .unwrap_or_else(|| panic!("{name} {sets:?}: {} not in the registry", b.full_name()));
                            let pool = match f.region {
                                Region::Shared(_) => "shared",
                                Region::PersistentLocal(_) => "persistent_local",
                                Region::Local(_) => "local",
                            };
                            assert_eq!(b.pool.as_str(), pool, "{name} {sets:?}: {}", b.full_name());
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked >= 100, "{checked}");
}
