//! Lifetimes of a kernel's buffers: per-component phase trees, their
//! flattening onto one integer timeline, and the lifetime table that maps
//! each (component class, buffer name) to the phases the buffer lives in.
//!
//! # Model
//! Every component class declares its phases as an ordered tree, written as
//! the ordered list of its leaves' dotted paths (`"stages.solve"` is leaf
//! `solve` of phase `stages`); the implicit root `all` is the component's
//! whole invocation. A class also says in which of its phases each child
//! component is invoked (`children`), in which phases each of its buffers is
//! accessed (`buffers`), and, for buffers its parent passes in as arguments,
//! in which of its own phases it touches them (`arguments`).
//!
//! The kernel's timeline grows from the root component's tree: a child
//! invoked in one leaf phase that no sibling shares is *grafted* there (its
//! tree subdivides that leaf); otherwise (several phases, an inner phase, a
//! phase shared with a sibling, or an unknown class) it is *collapsed*: all of
//! its phases stand for the whole of its mount. Every leaf then gets one unit
//! of time, in depth-first order.
//!
//! ```text
//!  loop tree:   init | loop.step                          | loop.control | ...
//!  step tree:        | predict | stages.solve | finish    |
//!  newton tree:      |         | iterate.*    |           |
//!  time:        0      1         2  3  4        5          6
//!  state        [==================================================...)  "all"
//!  delta                         [========)                           newton "all"
//!  predictor             [==)                                         predictor "all"
//! ```
//!
//! # Invariants (what makes a derived lifetime safe)
//! * A persistent buffer lives for the whole run.
//! * A buffer missing from the table lives for the whole run and is reported.
//! * A phase list names every phase in which the buffer is read *or written*
//!   and every phase its value must survive; a value carried from one
//!   repetition of a repeated phase (a stage, a Newton iteration) to the next
//!   needs the whole repeated phase. Gaps between listed phases are holes in
//!   which other buffers may reuse the storage.
//! * An argument refinement must reach the child's first (last) leaf when the
//!   parent's buffer is live just before (after) the child's mount, since the
//!   value then flows in (out); [`derive()`] checks this.

use crate::error::{Error, Result};
use crate::problem::{Buffer, Interval};
use crate::registry::types::{BufferDecl, ComponentDecl};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use toml::Spanned;

/// The name of every tree's root phase: the component's whole invocation.
pub const ROOT_PHASE: &str = "all";

/// The built-in lifetime table for CuBIE 0.17.0's components.
pub const CUBIE_TABLE: &str = include_str!("../models/cubie-lifetimes.toml");

/// Name under which [`CUBIE_TABLE`] reports errors.
pub const CUBIE_TABLE_NAME: &str = "models/cubie-lifetimes.toml";

/// Index of a phase in its [`PhaseTree`].
pub type PhaseId = usize;

/// A component's ordered phase tree. Node 0 is the root ([`ROOT_PHASE`]);
/// every other node is named by its full dotted path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseTree {
    names: Vec<String>,
    children: Vec<Vec<PhaseId>>,
}

impl PhaseTree {
    /// The tree whose leaves are `leaves`, in order. Each inner phase's
    /// leaves must be contiguous, no path may be both a leaf and an inner
    /// phase, and `all` is reserved.
    pub fn from_leaves<S: AsRef<str>>(leaves: &[S]) -> std::result::Result<PhaseTree, String> {
        let mut tree = PhaseTree { names: vec![ROOT_PHASE.to_string()], children: vec![Vec::new()] };
        let mut index: HashMap<String, PhaseId> = HashMap::new();
        let mut leaf_set: BTreeSet<&str> = BTreeSet::new();
        // The chain of phases the previous leaf lies in, to detect a phase
        // reopened after it was left (non-contiguous leaves).
        let mut open: Vec<String> = Vec::new();
        let mut closed: BTreeSet<String> = BTreeSet::new();
        for leaf in leaves {
            let leaf = leaf.as_ref();
            let parts: Vec<&str> = leaf.split('.').collect();
            if parts.iter().any(|p| p.is_empty()) {
                return Err(format!("phase `{leaf}` has an empty segment"));
            }
            if parts.contains(&ROOT_PHASE) {
                return Err(format!("phase `{leaf}`: `{ROOT_PHASE}` is reserved for the whole invocation"));
            }
            if !leaf_set.insert(leaf) {
                return Err(format!("phase `{leaf}` is listed twice"));
            }
            let prefixes: Vec<String> = (1..=parts.len()).map(|k| parts[..k].join(".")).collect();
            let keep = open.iter().zip(&prefixes).take_while(|(a, b)| a == b).count();
            closed.extend(open.drain(keep..));
            let mut parent = 0;
            for (depth, path) in prefixes.iter().enumerate() {
                if closed.contains(path) {
                    return Err(format!("the leaves of phase `{path}` are not contiguous (`{leaf}` reopens it)"));
                }
                let last = depth + 1 == prefixes.len();
                let id = match index.get(path) {
                    Some(&id) => {
                        if last || leaf_set.contains(path.as_str()) {
                            return Err(format!("phase `{path}` is both a leaf and an inner phase"));
                        }
                        id
                    }
                    None => {
                        let id = tree.names.len();
                        tree.names.push(path.clone());
                        tree.children.push(Vec::new());
                        tree.children[parent].push(id);
                        index.insert(path.clone(), id);
                        id
                    }
                };
                parent = id;
            }
            open = prefixes;
        }
        Ok(tree)
    }

    /// The phase called `path` (`all` is the root).
    pub fn find(&self, path: &str) -> Option<PhaseId> {
        self.names.iter().position(|n| n == path)
    }

    /// Number of phases, the root included.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the tree is the root alone.
    pub fn is_empty(&self) -> bool {
        self.names.len() == 1
    }

    /// A phase's full dotted path.
    pub fn name(&self, id: PhaseId) -> &str {
        &self.names[id]
    }

    /// A phase's children, in order.
    pub fn children(&self, id: PhaseId) -> &[PhaseId] {
        &self.children[id]
    }
}

/// In [`ClassLifetimes::registration`], stands for every entry not named.
pub const REGISTRATION_REST: &str = "...";

/// One class's entry of a [`LifetimeTable`]: phases, where its children run,
/// where its buffers and the arguments it is handed live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassLifetimes {
    /// The class's phase tree.
    pub phases: PhaseTree,
    /// Child name (last segment of the child's path) → phases it runs in.
    pub children: BTreeMap<String, Vec<PhaseId>>,
    /// Own buffer name → phases it is accessed in.
    pub buffers: BTreeMap<String, Vec<PhaseId>>,
    /// Parent's buffer name (passed in as an argument) → own phases it is
    /// accessed in.
    pub arguments: BTreeMap<String, Vec<PhaseId>>,
    /// Own buffers whose alias hint may be honoured although the two
    /// lifetimes overlap: the class's code is written so that the buffer may
    /// sit at the start of its target while both are live.
    pub nested_aliases: BTreeSet<String>,
    /// The order in which the class registers its entries with CuBIE's
    /// registry: own buffer names and child names, with [`REGISTRATION_REST`] (`...`) standing for
    /// every entry not named (own buffers first, then children, each in
    /// declaration order). Empty: own buffers, then children. Names the
    /// instance lacks are skipped. Only [`crate::model::Instance::registry`]
    /// reads it; lifetimes do not depend on it.
    pub registration: Vec<String>,
    /// Line of each `kind.key` entry in its source (for error messages).
    lines: BTreeMap<String, usize>,
}

/// Per-class lifetimes, parsed from TOML (see `docs/models.md`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LifetimeTable {
    /// Source name used in errors.
    pub source: String,
    /// Class name → its entry.
    pub classes: BTreeMap<String, ClassLifetimes>,
}

/// A phase list as written: one phase or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// One class as written in TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClass {
    #[serde(default)]
    phases: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    children: BTreeMap<String, Spanned<OneOrMany>>,
    #[serde(default)]
    buffers: BTreeMap<String, Spanned<OneOrMany>>,
    #[serde(default)]
    arguments: BTreeMap<String, Spanned<OneOrMany>>,
    #[serde(default)]
    aliases: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    registration: Option<Spanned<Vec<String>>>,
}

/// 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// A TOML error as [`Error::Model`].
pub(crate) fn toml_error(source: &str, text: &str, e: &toml::de::Error) -> Error {
    Error::Model {
        file: source.to_string(),
        line: e.span().map_or(0, |s| line_of(text, s.start)),
        key: None,
        message: e.message().to_string(),
    }
}

impl RawClass {
    /// Validates one class: every phase named must exist in its tree.
    pub(crate) fn build(self, class: &str, source: &str, text: &str) -> Result<ClassLifetimes> {
        let err = |line: usize, key: String, message: String| Error::Model {
            file: source.to_string(),
            line,
            key: Some(key),
            message,
        };
        let (phases, phases_line) = match &self.phases {
            Some(p) => (p.get_ref().clone(), line_of(text, p.span().start)),
            None => (Vec::new(), 0),
        };
        let tree = PhaseTree::from_leaves(&phases).map_err(|m| err(phases_line, format!("{class}.phases"), m))?;
        let mut lines = BTreeMap::new();
        let mut resolve = |kind: &str,
                           entries: &BTreeMap<String, Spanned<OneOrMany>>|
         -> Result<BTreeMap<String, Vec<PhaseId>>> {
            let mut out = BTreeMap::new();
            for (name, list) in entries {
                let line = line_of(text, list.span().start);
                let key = format!("{class}.{kind}.{name}");
                lines.insert(format!("{kind}.{name}"), line);
                let items = list.get_ref().items();
                if items.is_empty() {
                    return Err(err(line, key, "empty phase list (use \"all\" for the whole invocation)".into()));
                }
                let mut ids = Vec::with_capacity(items.len());
                for p in items {
                    let id = tree.find(p).ok_or_else(|| {
                        let known: Vec<&str> = tree.names.iter().map(String::as_str).collect();
                        err(line, key.clone(), format!("unknown phase `{p}` (phases of {class}: {})", known.join(", ")))
                    })?;
                    ids.push(id);
                }
                ids.sort_unstable();
                ids.dedup();
                out.insert(name.clone(), ids);
            }
            Ok(out)
        };
        let children = resolve("children", &self.children)?;
        let buffers = resolve("buffers", &self.buffers)?;
        let arguments = resolve("arguments", &self.arguments)?;
        let mut nested_aliases = BTreeSet::new();
        for (name, rule) in &self.aliases {
            let line = line_of(text, rule.span().start);
            if rule.get_ref() != "nested" {
                return Err(err(
                    line,
                    format!("{class}.aliases.{name}"),
                    format!("unknown alias rule `{}` (the only rule is `nested`)", rule.get_ref()),
                ));
            }
            nested_aliases.insert(name.clone());
        }
        let registration = match &self.registration {
            None => Vec::new(),
            Some(list) => {
                let line = line_of(text, list.span().start);
                let mut seen = BTreeSet::new();
                for name in list.get_ref() {
                    if name.is_empty() || !seen.insert(name.as_str()) {
                        return Err(err(
                            line,
                            format!("{class}.registration"),
                            format!("`{name}` is empty or named twice"),
                        ));
                    }
                }
                list.get_ref().clone()
            }
        };
        Ok(ClassLifetimes { phases: tree, children, buffers, arguments, nested_aliases, registration, lines })
    }
}

impl ClassLifetimes {
    fn line(&self, key: &str) -> usize {
        self.lines.get(key).copied().unwrap_or(0)
    }
}

impl LifetimeTable {
    /// Parses a table: one TOML table per class (see `docs/models.md`).
    pub fn parse(source: &str, text: &str) -> Result<LifetimeTable> {
        let raw: BTreeMap<String, RawClass> = toml::from_str(text).map_err(|e| toml_error(source, text, &e))?;
        Self::from_raw(source, text, raw)
    }

    pub(crate) fn from_raw(source: &str, text: &str, raw: BTreeMap<String, RawClass>) -> Result<LifetimeTable> {
        let mut classes = BTreeMap::new();
        for (class, rc) in raw {
            let built = rc.build(&class, source, text)?;
            classes.insert(class, built);
        }
        Ok(LifetimeTable { source: source.to_string(), classes })
    }

    /// The built-in table for CuBIE 0.17.0 ([`CUBIE_TABLE`]).
    pub fn cubie() -> Result<LifetimeTable> {
        Self::parse(CUBIE_TABLE_NAME, CUBIE_TABLE)
    }

    /// This table with `other`'s classes added, `other` winning on a clash.
    pub fn overlaid(mut self, other: LifetimeTable) -> LifetimeTable {
        self.classes.extend(other.classes);
        self
    }

    /// Whether `class` declares `buffer`'s alias hint `nested`.
    pub fn is_nested_alias(&self, class: &str, buffer: &str) -> bool {
        self.classes.get(class).is_some_and(|c| c.nested_aliases.contains(buffer))
    }
}

/// Sorted, disjoint, non-touching live segments of one buffer.
pub type Segments = Vec<Interval>;

/// Merges intervals into sorted, disjoint, non-touching segments.
pub fn merge_segments(mut spans: Vec<Interval>) -> Segments {
    spans.retain(|s| !s.is_empty());
    spans.sort_unstable();
    let mut out: Segments = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

pub use crate::problem::segments_overlap;

/// A problem [`Buffer`] live on `segments` (non-empty): its lifetime spans
/// them and the holes between them become gaps.
pub fn buffer_on(name: impl Into<String>, size: u64, alignment: u64, segments: &[Interval]) -> Buffer {
    let start = segments.first().map_or(0, |s| s.start);
    let end = segments.last().map_or(1, |s| s.end);
    let gaps = segments.windows(2).map(|w| Interval::new(w[0].end, w[1].start)).collect();
    Buffer::new(name, start, end, size).with_alignment(alignment).with_gaps(gaps)
}

/// The flattened kernel timeline and every buffer's live segments on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifetimes {
    /// One label per unit of time: the chain of phases that leaf is in,
    /// e.g. `kernel/loop:loop.step > kernel/loop/algorithm:stages.solve`.
    pub timeline: Vec<String>,
    /// Live segments of each input buffer, in input order.
    pub buffers: Vec<Segments>,
    /// `component/name` of every non-persistent buffer the table does not
    /// map (treated as live for the whole run).
    pub unmapped: Vec<String>,
    /// Components whose class, or whose mount in their parent, the table
    /// does not know (their phases stand for the whole of their parent's).
    pub unmapped_components: Vec<String>,
}

/// A node of the kernel-wide tree built by grafting component trees.
struct GNode {
    label: String,
    children: Vec<usize>,
}

/// How one component's phases map onto the kernel-wide tree.
struct Placed<'t> {
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
        let by_path: HashMap<&str, usize> = components.iter().enumerate().map(|(i, c)| (c.path.as_str(), i)).collect();
        if by_path.len() != components.len() {
            return Err(Error::Registry("two components share one path".into()));
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
fn mount(tree: &Tree, placed: &[Option<Placed>], i: usize) -> Option<(Vec<usize>, bool)> {
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
    let mut placed: Vec<Option<Placed>> = (0..components.len()).map(|_| None).collect();
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
            Some(_) => mount(&tree, &placed, i)
                .ok_or_else(|| Error::Registry(format!("component `{}` placed before its parent", comp.path)))?,
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
                Placed { class: Some(c), map, grafted: true }
            }
            _ => Placed { class, map: vec![mount_set; class.map_or(1, |c| c.phases.len())], grafted: false },
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
            .ok_or_else(|| Error::Registry(format!("buffer `{full}`: unknown component `{}`", b.component)))?;
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
    placed: &'a [Option<Placed<'t>>],
    interval: &'a [Interval],
}

impl<'t> Ctx<'_, 't> {
    fn placed(&self, ci: usize) -> Result<&Placed<'t>> {
        self.placed[ci]
            .as_ref()
            .ok_or_else(|| Error::Registry(format!("component `{}` not placed", self.tree.components[ci].path)))
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
    use crate::registry::types::{Location, Precision};

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

    #[test]
    fn tree_from_leaves() {
        let t = PhaseTree::from_leaves(&["init", "loop.step", "loop.control"]).unwrap();
        assert_eq!(t.len(), 5);
        let lp = t.find("loop").unwrap();
        assert_eq!(t.children(lp).len(), 2);
        assert_eq!(t.find("all"), Some(0));
    }

    #[test]
    fn tree_rejects_bad_lists() {
        for (leaves, why) in [
            (vec!["a.x", "b", "a.y"], "not contiguous"),
            (vec!["a", "a.x"], "both a leaf"),
            (vec!["a.x", "a"], "both a leaf"),
            (vec!["a", "a"], "twice"),
            (vec!["a..b"], "empty segment"),
            (vec!["all"], "reserved"),
        ] {
            let e = PhaseTree::from_leaves(&leaves).unwrap_err();
            assert!(e.contains(why), "{leaves:?}: {e}");
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

    #[test]
    fn bad_tables_name_file_line_and_key() {
        let e = LifetimeTable::parse("t.toml", "[A]\nphases = [\"x\"]\nbuffers = { b = \"y\" }\n").unwrap_err();
        match e {
            Error::Model { file, line, key, message } => {
                assert_eq!(file, "t.toml");
                assert_eq!(line, 3);
                assert_eq!(key.as_deref(), Some("A.buffers.b"));
                assert!(message.contains("unknown phase `y`"), "{message}");
            }
            other => panic!("{other}"),
        }
        let e = LifetimeTable::parse("t.toml", "[A]\nphasez = []\n").unwrap_err();
        assert!(matches!(e, Error::Model { line: 2, .. }), "{e}");
        let e = LifetimeTable::parse("t.toml", "[A]\naliases = { b = \"maybe\" }\n").unwrap_err();
        assert!(e.to_string().contains("unknown alias rule"), "{e}");
    }

    #[test]
    fn builtin_cubie_table_parses() {
        let t = LifetimeTable::cubie().unwrap();
        assert!(t.classes.contains_key("IVPLoop"));
        assert!(t.is_nested_alias("DIRKStep", "stage_base"));
        assert!(!t.is_nested_alias("DIRKStep", "error_rhs"));
    }

    #[test]
    fn buffer_on_segments_has_gaps() {
        let b = buffer_on("x", 8, 4, &[Interval::new(0, 1), Interval::new(3, 5)]);
        assert_eq!(b.lifetime, Interval::new(0, 5));
        assert_eq!(b.gaps, vec![Interval::new(1, 3)]);
        assert!(segments_overlap(&[Interval::new(0, 2)], &[Interval::new(1, 3)]));
        assert!(!segments_overlap(&[Interval::new(0, 2)], &[Interval::new(2, 3)]));
    }
}
