//! Property: random component trees with random phase tables and random
//! buffers always plan, and every placement respects the derived lifetimes.
//!
//! Each case is built from one seed: a few classes with random phase trees,
//! mounts and buffer phases; a random component tree over them (including a
//! class the table does not know); random buffers (zero-size, persistent,
//! int32, shared or local, some aliasing a sibling). The plan must succeed
//! (the planner itself runs the independent checker on every pool), and an
//! independent look at the result must find every buffer live within the
//! run, persistent and unmapped buffers live for all of it, and no two
//! buffers of one pool that are live together sharing a byte unless one is
//! a nested alias inside the other.

#[path = "support/seed.rs"]
mod seed;

use quickcheck::{Gen, QuickCheck, TestResult};
use smemplan::core::generate::SplitMix64;
use smemplan::core::problem::Interval;
use smemplan::kernel::lifetimes::{segments_overlap, LifetimeTable};
use smemplan::kernel::{BufferDecl, ComponentDecl, Location, Precision};
use smemplan::plan::{plan, PlanInput, PlanOptions, PlanReport};

/// The crate's generator, with the two draws this file needs.
struct Rng(SplitMix64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0.between(0, n - 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const BUFFER_NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
const CHILD_NAMES: [&str; 3] = ["x", "y", "z"];

/// Leaf phases of class `k`: `p0`, `g.q0`, `g.q1`, ... in random shapes.
fn leaves(rng: &mut Rng) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..1 + rng.below(3) {
        if rng.chance(40) {
            for j in 0..1 + rng.below(3) {
                out.push(format!("g{i}.q{j}"));
            }
        } else {
            out.push(format!("p{i}"));
        }
    }
    out
}

fn phase_list(rng: &mut Rng, phases: &[String]) -> String {
    let mut pick: Vec<String> = phases.iter().filter(|_| rng.chance(40)).map(|p| format!("\"{p}\"")).collect();
    if pick.is_empty() || rng.chance(10) {
        pick = vec!["\"all\"".into()];
    }
    format!("[{}]", pick.join(", "))
}

fn table(rng: &mut Rng, classes: usize) -> String {
    let mut t = String::new();
    for k in 0..classes {
        let leaves = leaves(rng);
        // Inner phases are valid targets too.
        let mut phases = leaves.clone();
        phases.extend(leaves.iter().filter_map(|l| l.split_once('.').map(|(g, _)| g.to_string())));
        phases.dedup();
        let quoted: Vec<String> = leaves.iter().map(|l| format!("\"{l}\"")).collect();
        t.push_str(&format!("[C{k}]\nphases = [{}]\n", quoted.join(", ")));
        t.push_str(&format!("[C{k}.children]\n"));
        for c in CHILD_NAMES {
            if rng.chance(70) {
                t.push_str(&format!("{c} = {}\n", phase_list(rng, &phases)));
            }
        }
        t.push_str(&format!("[C{k}.buffers]\n"));
        for b in BUFFER_NAMES {
            if rng.chance(80) {
                t.push_str(&format!("{b} = {}\n", phase_list(rng, &phases)));
            }
        }
        if rng.chance(30) {
            t.push_str(&format!("[C{k}.aliases]\n{} = \"nested\"\n", BUFFER_NAMES[rng.below(6) as usize]));
        }
    }
    t
}

fn case(seed: u64) -> (LifetimeTable, PlanInput) {
    let mut rng = Rng(SplitMix64(seed));
    let classes = 2 + rng.below(3) as usize;
    let table = LifetimeTable::parse("random.toml", &table(&mut rng, classes)).unwrap();
    let class = |rng: &mut Rng| {
        if rng.chance(10) {
            "Unknown".to_string()
        } else {
            format!("C{}", rng.below(classes as u64))
        }
    };
    let mut components = vec![ComponentDecl { path: "k".into(), class: "C0".into(), precision: Precision::F32 }];
    let mut frontier = vec!["k".to_string()];
    while let Some(parent) = frontier.pop() {
        if parent.matches('/').count() >= 3 {
            continue;
        }
        for c in CHILD_NAMES {
            if rng.chance(45) {
                let path = format!("{parent}/{c}");
                components.push(ComponentDecl {
                    path: path.clone(),
                    class: class(&mut rng),
                    precision: Precision::F32,
                });
                frontier.push(path);
            }
        }
    }
    let mut buffers = Vec::new();
    for comp in &components {
        let names: Vec<&str> = BUFFER_NAMES.iter().copied().filter(|_| rng.chance(60)).collect();
        for (i, name) in names.iter().enumerate() {
            let aliases = (i > 0 && rng.chance(25)).then(|| names[rng.below(i as u64) as usize].to_string());
            buffers.push(BufferDecl {
                component: comp.path.clone(),
                name: name.to_string(),
                size: if rng.chance(10) { 0 } else { 1 + rng.below(24) },
                precision: [Precision::F32, Precision::F64, Precision::I32][rng.below(3) as usize],
                location: if rng.chance(60) { Location::Shared } else { Location::Local },
                persistent: rng.chance(15),
                aliases,
            });
        }
    }
    (table, PlanInput::from_decls("random", components, buffers, vec![]).unwrap())
}

fn verify(input: &PlanInput, r: &PlanReport) -> Result<(), String> {
    let run = r.timeline.len() as u64;
    let segs = |b: &smemplan::plan::PlacedBuffer| -> Vec<Interval> {
        b.lifetime.iter().map(|s| Interval::new(s[0], s[1])).collect()
    };
    for (b, decl) in r.buffers.iter().zip(&input.buffers) {
        let s = segs(b);
        if s.is_empty() || s.iter().any(|x| x.start >= x.end || x.end > run) {
            return Err(format!("{}/{}: bad lifetime {:?}", b.component, b.name, b.lifetime));
        }
        let whole = s == [Interval::new(0, run)];
        let unmapped = r.unmapped.contains(&decl.full_name());
        if (decl.decl.persistent || unmapped) && !whole {
            return Err(format!("{}/{} should live for the whole run", b.component, b.name));
        }
        if b.bytes > 0 && b.offset.is_none() {
            return Err(format!("{}/{} was not placed", b.component, b.name));
        }
    }
    for (i, a) in r.buffers.iter().enumerate() {
        for b in &r.buffers[i + 1..] {
            let (Some(oa), Some(ob)) = (a.offset, b.offset) else { continue };
            if a.pool != b.pool || a.bytes == 0 || b.bytes == 0 || !segments_overlap(&segs(a), &segs(b)) {
                continue;
            }
            let full = |x: &smemplan::plan::PlacedBuffer| format!("{}/{}", x.component, x.name);
            let nested = a.inside.as_deref() == Some(full(b).as_str()) || b.inside.as_deref() == Some(full(a).as_str());
            if !(oa + a.bytes <= ob || ob + b.bytes <= oa || nested) {
                return Err(format!("{} and {} overlap while both live", full(a), full(b)));
            }
        }
    }
    let bound = r.pools.iter().all(|p| p.bytes >= p.lower_bound);
    if !bound {
        return Err("a pool is below its lower bound".into());
    }
    Ok(())
}

fn property(seed: u64) -> TestResult {
    let (table, input) = case(seed);
    for strategy in [smemplan::solve::strategies::DEFAULT_STRATEGY, "greedy-time"] {
        // A short limit keeps 300 cases quick; a cut-short search still
        // returns a valid layout, which is what this property is about.
        let options = PlanOptions {
            strategy: strategy.into(),
            time_limit: Some(std::time::Duration::from_millis(200)),
            ..PlanOptions::default()
        };
        let report = match plan(&input, &table, &options) {
            Ok(r) => r,
            Err(e) => return TestResult::error(format!("seed {seed}, {strategy}: {e}")),
        };
        if let Err(e) = verify(&input, &report) {
            return TestResult::error(format!("seed {seed}, {strategy}: {e}"));
        }
    }
    TestResult::passed()
}

#[test]
fn random_kernels_plan_within_their_lifetimes() {
    let rng = Gen::from_size_and_seed(100, seed::seed(0));
    QuickCheck::new().rng(rng).tests(300).quickcheck(property as fn(u64) -> TestResult);
}

#[test]
fn the_verifier_catches_an_overlap() {
    // Find a case with two live shared buffers and force them together.
    for seed in 0..200 {
        let (table, input) = case(seed);
        let mut r = plan(&input, &table, &PlanOptions::default()).unwrap();
        let live: Vec<usize> =
            (0..r.buffers.len()).filter(|&i| r.buffers[i].offset.is_some() && r.buffers[i].inside.is_none()).collect();
        for (x, &i) in live.iter().enumerate() {
            for &j in &live[x + 1..] {
                let (a, b) = (&r.buffers[i], &r.buffers[j]);
                let seg = |p: &smemplan::plan::PlacedBuffer| -> Vec<Interval> {
                    p.lifetime.iter().map(|s| Interval::new(s[0], s[1])).collect()
                };
                if a.pool == b.pool && b.inside.is_none() && segments_overlap(&seg(a), &seg(b)) {
                    r.buffers[j].offset = r.buffers[i].offset;
                    assert!(verify(&input, &r).is_err());
                    return;
                }
            }
        }
    }
    panic!("no case with two live buffers in one pool");
}
