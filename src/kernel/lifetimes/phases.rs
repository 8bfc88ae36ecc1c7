//! A component class's phases as an ordered tree, written as the ordered
//! list of its leaves' dotted paths (`"stages.solve"` is leaf `solve` of
//! phase `stages`); the implicit root [`ROOT_PHASE`] is the component's
//! whole invocation.

use std::collections::{BTreeSet, HashMap};

/// The name of every tree's root phase: the component's whole invocation.
pub const ROOT_PHASE: &str = "all";

/// How many levels a phase path may have (`a.b.c` has 3). Real tables use
/// 3 or 4; the limit keeps the prefixes a tree stores, whose total length
/// grows with the square of the depth, small.
pub const MAX_PHASE_DEPTH: usize = 64;

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
            let levels = leaf.split('.').count();
            if levels > MAX_PHASE_DEPTH {
                let start: String = leaf.chars().take(40).collect();
                return Err(format!("phase `{start}…` has {levels} levels; at most {MAX_PHASE_DEPTH} are allowed"));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn deep_paths_are_refused_before_their_prefixes_are_built() {
        let deep = |levels: usize| vec!["p"; levels].join(".");
        let t = PhaseTree::from_leaves(&[deep(MAX_PHASE_DEPTH)]).unwrap();
        assert_eq!(t.len(), MAX_PHASE_DEPTH + 1);
        for levels in [MAX_PHASE_DEPTH + 1, 60_000] {
            let e = PhaseTree::from_leaves(&[deep(levels)]).unwrap_err();
            assert!(e.contains(&format!("has {levels} levels; at most {MAX_PHASE_DEPTH}")), "{e}");
            assert!(e.len() < 200, "the message quotes only the start of the path");
        }
    }
}
