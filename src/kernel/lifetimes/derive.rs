//! Derivation: every component's phase tree grafted onto (or collapsed into)
//! its parent's, flattened onto one integer timeline, and every buffer's live
//! segments on it (the rules are in the [module docs](super)).

use super::phases::{PhaseId, ROOT_PHASE};
use super::segments::{merge_segments, Segments};
use super::table::{ClassLifetimes, LifetimeTable};
use super::Lifetimes;
use crate::error::{Error, Result, TreeError};
use crate::{BufferDecl, ComponentDecl};
use smemplan_core::problem::Interval;
use std::collections::HashMap;

/// A node of the kernel-wide tree built by grafting component trees.
struct GNode {
    label: String,
    children: Vec<usize>,
}

/// How one component's phases map onto the kernel-wide tree.
struct Mount<'t> {
    class: Option<&'t ClassLifetimes>,
    /// Phase id → kernel-wide nodes it stands for.
    map: Vec<Vec<usize>>,
    /// Whether the component's tree was grafted (phases are distinct nodes).
    grafted: bool,
}

/// The component tree of a kernel, indexed once.
struct Tree<'a> {
    components: &'a [ComponentDecl],
    by_path: HashMap<&'a str, usize>,
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
}

impl<'a> Tree<'a> {
    fn new(components: &'a [ComponentDecl]) -> Result<Self> {
        let mut by_path: HashMap<&str, usize> = HashMap::with_capacity(components.len());
        for (i, c) in components.iter().enumerate() {
            if by_path.insert(c.path.as_str(), i).is_some() {
                return Err(TreeError::DuplicatePath { path: c.path.clone() }.into());
            }
        }
        let parent: Vec<Option<usize>> =
            components.iter().map(|c| c.path.rfind('/').and_then(|k| by_path.get(&c.path[..k]).copied())).collect();
        let mut children = vec![Vec::new(); components.len()];
        for (i, p) in parent.iter().enumerate() {
            if let Some(p) = p {
                children[*p].push(i);
            }
        }
        Ok(Tree { components, by_path, parent, children })
    }

    /// The last segment of a component's path: its name in its parent.
    fn child_name(&self, i: usize) -> &str {
        self.components[i].path.rsplit('/').next().unwrap_or("")
    }

    /// Components with parents before children.
    fn top_down(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.components.len()).collect();
        order.sort_by_key(|&i| (self.components[i].path.matches('/').count(), i));
        order
    }
}

/// Kernel-wide nodes a child is invoked in, and whether its parent's class
/// says so (otherwise it stands for the whole of its parent).
fn mount(tree: &Tree, placed: &[Option<Mount>], i: usize) -> Option<(Vec<usize>, bool)> {
    let pp = placed[tree.parent[i]?].as_ref()?;
    match pp.class.and_then(|c| c.children.get(tree.child_name(i))) {
        Some(phases) => {
            let mut set: Vec<usize> = phases.iter().flat_map(|&ph| pp.map[ph].iter().copied()).collect();
            set.sort_unstable();
            set.dedup();
            Some((set, true))
        }
        None => Some((pp.map[0].clone(), false)),
    }
}

/// Derives every buffer's live segments (see the module docs for the rules).
///
/// `components` may come in any order; a component's parent is the component
/// whose path is its own minus the last segment. The first component with no
/// parent among them is the kernel's root; any further root is collapsed onto
/// the whole run and reported.
pub fn derive(components: &[ComponentDecl], buffers: &[BufferDecl], table: &LifetimeTable) -> Result<Lifetimes> {
    let tree = Tree::new(components)?;
    let mut nodes: Vec<GNode> = vec![GNode { label: String::new(), children: Vec::new() }];
    let mut placed: Vec<Option<Mount>> = (0..components.len()).map(|_| None).collect();
    let mut unmapped_components = Vec::new();
    let mut have_root = false;
    // Children mounted on each kernel-wide node: a node shared by siblings
    // cannot host a graft.
    let mut mounts: HashMap<usize, usize> = HashMap::new();

    for i in tree.top_down() {
        let comp = &components[i];
        let class = table.classes.get(&comp.class);
        let (mount_set, known_mount) = match tree.parent[i] {
            None => {
                let first = !have_root;
                have_root = true;
                (vec![0], first)
            }
            Some(_) => mount(&tree, &placed, i).ok_or_else(|| TreeError::Unplaced { component: comp.path.clone() })?,
        };
        if class.is_none() || !known_mount {
            unmapped_components.push(comp.path.clone());
        }
        let graftable = known_mount
            && mount_set.len() == 1
            && nodes[mount_set[0]].children.is_empty()
            && mounts.get(&mount_set[0]).copied().unwrap_or(0) <= 1;
        let placement = match class {
            Some(c) if graftable => {
                let g = mount_set[0];
                let mut map = vec![Vec::new(); c.phases.len()];
                map[0] = vec![g];
                // Ids are assigned on first appearance, so parents precede
                // children and one pass suffices.
                for ph in 0..c.phases.len() {
                    for &child in c.phases.children(ph) {
                        let id = nodes.len();
                        nodes.push(GNode {
                            label: format!("{}:{}", comp.path, c.phases.name(child)),
                            children: Vec::new(),
                        });
                        nodes[map[ph][0]].children.push(id);
                        map[child] = vec![id];
                    }
                }
                if nodes[g].label.is_empty() {
                    nodes[g].label = format!("{}:{ROOT_PHASE}", comp.path);
                }
                Mount { class: Some(c), map, grafted: true }
            }
            _ => Mount { class, map: vec![mount_set; class.map_or(1, |c| c.phases.len())], grafted: false },
        };
        placed[i] = Some(placement);
        // Now that `i` is placed, its children's mounts are known.
        for &j in &tree.children[i] {
            if let Some((set, _)) = mount(&tree, &placed, j) {
                for g in set {
                    *mounts.entry(g).or_insert(0) += 1;
                }
            }
        }
    }

    // Flatten: one unit of time per leaf, depth first.
    let mut interval = vec![Interval::default(); nodes.len()];
    let mut timeline: Vec<String> = Vec::new();
    flatten(&nodes, 0, &mut Vec::new(), &mut interval, &mut timeline);
    let run = Interval::new(0, timeline.len() as u64);

    let ctx = Ctx { table, tree: &tree, placed: &placed, interval: &interval };
    let mut unmapped = Vec::new();
    let mut out = Vec::with_capacity(buffers.len());
    for b in buffers {
        let full = format!("{}/{}", b.component, b.name);
        if b.persistent {
            out.push(vec![run]);
            continue;
        }
        let &ci = tree
            .by_path
            .get(b.component.as_str())
            .ok_or_else(|| TreeError::UnknownComponent { buffer: full.clone(), component: b.component.clone() })?;
        let pl = ctx.placed(ci)?;
        match pl.class.and_then(|c| c.buffers.get(&b.name).map(|p| (c, p))) {
            Some((class, phases)) => out.push(ctx.resolve(ci, class, phases, &b.name, &full)?),
            None => {
                unmapped.push(full);
                out.push(vec![run]);
            }
        }
    }
    Ok(Lifetimes { timeline, buffers: out, unmapped, unmapped_components })
}

fn flatten(nodes: &[GNode], id: usize, chain: &mut Vec<usize>, interval: &mut [Interval], timeline: &mut Vec<String>) {
    let start = timeline.len() as u64;
    chain.push(id);
    if nodes[id].children.is_empty() {
        let label: Vec<&str> = chain.iter().map(|&n| nodes[n].label.as_str()).filter(|l| !l.is_empty()).collect();
        timeline.push(label.join(" > "));
    } else {
        for &c in &nodes[id].children {
            flatten(nodes, c, chain, interval, timeline);
        }
    }
    chain.pop();
    interval[id] = Interval::new(start, timeline.len() as u64);
}

/// Everything [`Ctx::resolve`] reads.
struct Ctx<'a, 't> {
    table: &'t LifetimeTable,
    tree: &'a Tree<'a>,
    placed: &'a [Option<Mount<'t>>],
    interval: &'a [Interval],
}

impl<'t> Ctx<'_, 't> {
    fn placed(&self, ci: usize) -> Result<&Mount<'t>> {
        self.placed[ci]
            .as_ref()
            .ok_or_else(|| TreeError::Unplaced { component: self.tree.components[ci].path.clone() }.into())
    }

    /// The grafted child mounted alone at exactly phase `ph` of grafted
    /// component `ci`, if its class refines argument `name`.
    fn refinement(
        &self,
        ci: usize,
        class: &ClassLifetimes,
        ph: PhaseId,
        name: &str,
    ) -> Option<(usize, &'t ClassLifetimes, &'t [PhaseId])> {
        if !self.placed[ci].as_ref()?.grafted {
            return None;
        }
        let mut at = class.children.iter().filter(|(_, m)| m.as_slice() == [ph]).map(|(c, _)| c);
        let child = at.next()?;
        if at.next().is_some() {
            return None;
        }
        let &cj = self.tree.children[ci].iter().find(|&&j| self.tree.child_name(j) == child)?;
        let cp = self.placed[cj].as_ref()?;
        let cc = cp.class.filter(|_| cp.grafted)?;
        cc.arguments.get(name).map(|a| (cj, cc, a.as_slice()))
    }

    /// Segments of `phases` of component `ci`, with argument refinements of
    /// grafted children substituted for their mounts.
    fn resolve(
        &self,
        ci: usize,
        class: &ClassLifetimes,
        phases: &[PhaseId],
        name: &str,
        full: &str,
    ) -> Result<Segments> {
        let pl = self.placed(ci)?;
        let mut spans = Vec::new();
        let mut refined = Vec::new();
        for &ph in phases {
            match self.refinement(ci, class, ph, name) {
                Some(r) => refined.push((ph, r)),
                None => spans.extend(pl.map[ph].iter().map(|&g| self.interval[g])),
            }
        }
        let others = merge_segments(spans.clone());
        let covers = |segs: &[Interval], t: u64| segs.iter().any(|s| s.start <= t && t < s.end);
        for (ph, (cj, cc, child_phases)) in refined {
            let inner = self.resolve(cj, cc, child_phases, name, full)?;
            let span = self.interval[pl.map[ph][0]];
            let misses_first = span.start > 0 && covers(&others, span.start - 1) && !covers(&inner, span.start);
            let misses_last = covers(&others, span.end) && !covers(&inner, span.end - 1);
            if misses_first || misses_last {
                let child = &self.tree.components[cj];
                return Err(Error::Model {
                    file: self.table.source.clone(),
                    line: cc.line(&format!("arguments.{name}")),
                    key: Some(format!("{}.arguments.{name}", child.class)),
                    message: format!(
                        "`{full}` is live across the {} phase of `{}`, so the refinement must include that phase",
                        if misses_first { "first" } else { "last" },
                        child.path
                    ),
                });
            }
            spans.extend(inner);
        }
        Ok(merge_segments(spans))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Location, Precision};

    fn comp(path: &str, class: &str) -> ComponentDecl {
        ComponentDecl { path: path.into(), class: class.into(), precision: Precision::F32 }
    }

    fn buf(component: &str, name: &str, persistent: bool) -> BufferDecl {
        BufferDecl {
            component: component.into(),
            name: name.into(),
            size: 4,
            precision: Precision::F32,
            location: Location::Shared,
            persistent,
            aliases: None,
        }
    }

    const TABLE: &str = r#"
[Loop]
phases = ["init", "loop.step", "loop.control", "loop.commit"]
children = { step = "loop.step", ctrl = "loop.control" }
buffers = { state = "all", proposed = ["loop.step", "loop.control", "loop.commit"], scratch = ["init", "loop.commit"] }

[Step]
phases = ["prologue", "solve", "finish"]
children = { newton = "solve" }
buffers = { acc = "all", tail = "finish" }
arguments = { proposed = ["solve", "finish"] }

[Newton]
buffers = { delta = "all" }
"#;

    #[test]
    fn grafts_flattens_and_refines() {
        let table = LifetimeTable::parse("t.toml", TABLE).unwrap();
        let comps = [comp("k/loop", "Loop"), comp("k/loop/step", "Step"), comp("k/loop/step/newton", "Newton")];
        let bufs = [
            buf("k/loop", "state", false),
            buf("k/loop", "proposed", false),
            buf("k/loop", "scratch", false),
            buf("k/loop/step", "acc", false),
            buf("k/loop/step", "tail", false),
            buf("k/loop/step/newton", "delta", false),
            buf("k/loop/step/newton", "theta", true),
            buf("k/loop/step", "mystery", false),
        ];
        let lt = derive(&comps, &bufs, &table).unwrap();
        // Leaves: init, prologue, solve, finish, control, commit.
        assert_eq!(lt.timeline.len(), 6);
        let iv = |s, e| Interval::new(s, e);
        assert_eq!(lt.buffers[0], vec![iv(0, 6)]);
        assert_eq!(lt.buffers[1], vec![iv(2, 6)], "refined to solve..commit");
        assert_eq!(lt.buffers[2], vec![iv(0, 1), iv(5, 6)], "a gap between init and commit");
        assert_eq!(lt.buffers[3], vec![iv(1, 4)]);
        assert_eq!(lt.buffers[4], vec![iv(3, 4)]);
        assert_eq!(lt.buffers[5], vec![iv(2, 3)]);
        assert_eq!(lt.buffers[6], vec![iv(0, 6)], "persistent: whole run");
        assert_eq!(lt.buffers[7], vec![iv(0, 6)], "unmapped: whole run");
        assert_eq!(lt.unmapped, vec!["k/loop/step/mystery".to_string()]);
        assert!(lt.timeline[2].contains("k/loop/step:solve"), "{}", lt.timeline[2]);
    }

    #[test]
    fn refinement_must_reach_the_end_when_the_value_flows_out() {
        let bad = TABLE
            .replace(r#"arguments = { proposed = ["solve", "finish"] }"#, r#"arguments = { proposed = ["solve"] }"#);
        let table = LifetimeTable::parse("t.toml", &bad).unwrap();
        let comps = [comp("k/loop", "Loop"), comp("k/loop/step", "Step")];
        let e = derive(&comps, &[buf("k/loop", "proposed", false)], &table).unwrap_err();
        assert!(matches!(&e, Error::Model { key: Some(k), .. } if k == "Step.arguments.proposed"), "{e}");
        assert!(e.to_string().contains("last phase"), "{e}");
    }

    #[test]
    fn a_broken_component_tree_is_a_typed_error() {
        let table = LifetimeTable::parse("t.toml", TABLE).unwrap();
        let twice = [comp("k/loop", "Loop"), comp("k/loop", "Step")];
        let e = derive(&twice, &[], &table).unwrap_err();
        assert_eq!(e, Error::ComponentTree(TreeError::DuplicatePath { path: "k/loop".into() }));
        let e = derive(&[comp("k/loop", "Loop")], &[buf("k/nowhere", "x", false)], &table).unwrap_err();
        assert_eq!(
            e,
            Error::ComponentTree(TreeError::UnknownComponent {
                buffer: "k/nowhere/x".into(),
                component: "k/nowhere".into()
            })
        );
        assert!(e.to_string().contains("buffer `k/nowhere/x`: unknown component `k/nowhere`"), "{e}");
    }

    #[test]
    fn shared_or_unknown_mounts_collapse() {
        let table = LifetimeTable::parse(
            "t.toml",
            r#"
[P]
phases = ["a", "b"]
children = { x = "b", y = "b" }
[X]
phases = ["p", "q"]
buffers = { u = "p" }
"#,
        )
        .unwrap();
        let comps = [comp("P", "P"), comp("P/x", "X"), comp("P/y", "X"), comp("P/z", "Unknown")];
        let bufs = [buf("P/x", "u", false), buf("P/y", "u", false), buf("P/z", "w", false)];
        let lt = derive(&comps, &bufs, &table).unwrap();
        assert_eq!(lt.timeline.len(), 2);
        assert_eq!(lt.buffers[0], vec![Interval::new(1, 2)], "collapsed onto b");
        assert_eq!(lt.buffers[1], vec![Interval::new(1, 2)]);
        assert_eq!(lt.buffers[2], vec![Interval::new(0, 2)]);
        assert_eq!(lt.unmapped_components, vec!["P/z".to_string()]);
    }
}
