//! The library's modules import one way: no cycle, and no arrow against
//! the layering of `docs/DESIGN.md` (input → problem → solve → check →
//! outputs).
//!
//! The test reads `src/**/*.rs` as text, blanks comments and string
//! literals, drops `#[cfg(test)]` items (a test may use anything), and
//! collects every path that starts with `crate::` or `super::`, or with a
//! child module's name inside its parent. Each path goes to the module it
//! names (the longest prefix that is a module file; a root re-export such
//! as `crate::Problem` goes to the module `src/lib.rs` takes it from). The
//! graph's nodes are the top-level modules, with `solve` split into its
//! submodules (`solve::greedy`, `solve::exact`, …): an edge `a → b` means
//! that code in `a` names something in `b`. The binary (`src/main.rs`,
//! `src/cli/`) sits on top and cannot be imported by the library, so it is
//! left out.
//!
//! On failure the test prints each offending edge with the line that makes
//! it; `cargo test --release --test architecture -- --nocapture` prints the
//! whole graph.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Modules whose submodules are nodes of their own.
const SPLIT: &[&str] = &["solve"];

/// The layers, lowest first, and the layers each may import from (besides
/// its own: edges inside a layer only have to form no cycle). A module not
/// listed here is an output, which may import anything and which nothing
/// may import.
const LAYERS: &[Layer] = &[
    // `kernel` is the plain vocabulary of declarations (pools, precisions),
    // which errors name too.
    Layer { name: "foundation", modules: &["error", "arith", "kernel", "interruptible"], below: &[] },
    Layer { name: "problem", modules: &["problem", "interference", "bound", "analysis"], below: &["foundation"] },
    Layer {
        name: "input",
        modules: &["format", "generate", "model", "registry", "lifetimes"],
        below: &["foundation", "problem"],
    },
    Layer { name: "solve", modules: &["solve"], below: &["foundation", "problem"] },
    Layer { name: "check", modules: &["check"], below: &["foundation", "problem", "solve"] },
];

/// The layer of every module that no [`LAYERS`] row names.
const OUTPUTS: &str = "outputs";

/// Edges that break the rules today, each with why it is allowed to for
/// now (issue 8 §2 asks for them to go). The test fails on any edge not
/// listed, and on a listed edge that is gone (delete its row).
const KNOWN: &[(&str, &str, &str)] = &[
    // `model::Instance::plan` runs the planner on an instantiated model, so
    // an input module reaches up into `plan`.
    ("model", "plan", "issue 8 §2: model::Instance::plan calls plan::plan"),
    // A model's buffers carry access weights, whose type lives with the
    // access counts that read the plan.
    ("model", "accesses", "issue 8 §2: model::instantiate builds accesses::Weights"),
];

struct Layer {
    name: &'static str,
    modules: &'static [&'static str],
    below: &'static [&'static str],
}

/// Where an edge comes from: a file, a line, and the line's text.
#[derive(Clone, Debug)]
struct Witness {
    file: String,
    line: usize,
    text: String,
}

impl fmt::Display for Witness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.text)
    }
}

/// `from → to`, with the first line found that makes each edge.
type Graph = BTreeMap<(String, String), Witness>;

/// One source file of the library.
struct Source {
    /// Its module path (`["solve", "exact", "search"]`; empty for the root).
    module: Vec<String>,
    /// Path relative to the repository, for messages.
    file: String,
    text: String,
}

/// Replaces comments and the contents of string and character literals
/// with spaces, keeping line breaks (so line numbers hold) and quotes.
fn blank(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = b.to_vec();
    let mut i = 0;
    let space = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    while i < b.len() {
        let rest = &b[i..];
        if rest.starts_with(b"//") {
            let end = rest.iter().position(|&c| c == b'\n').map_or(b.len(), |p| i + p);
            space(&mut out, i, end);
            i = end;
        } else if rest.starts_with(b"/*") {
            let end = rest.windows(2).position(|w| w == b"*/").map_or(b.len(), |p| i + p + 2);
            space(&mut out, i, end);
            i = end;
        } else if rest[0] == b'r' && matches!(rest.get(1), Some(b'"' | b'#')) && (i == 0 || !ident(b[i - 1])) {
            let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
            if rest.get(1 + hashes) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            let body = i + 2 + hashes;
            let end = b[body..].windows(close.len()).position(|w| w == close).map_or(b.len(), |p| body + p);
            space(&mut out, body, end);
            i = end + close.len();
        } else if rest[0] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            space(&mut out, i + 1, j.min(b.len()));
            i = j + 1;
        } else if rest[0] == b'\'' {
            // A character literal ('x', '\n', '\u{..}'), or a lifetime.
            let end = if rest.get(1) == Some(&b'\\') {
                rest[2..].iter().position(|&c| c == b'\'').map(|p| i + 2 + p)
            } else {
                let len = std::str::from_utf8(&rest[1..]).ok().and_then(|s| s.chars().next()).map_or(1, char::len_utf8);
                (rest.get(1 + len) == Some(&b'\'')).then_some(i + 1 + len)
            };
            match end {
                Some(end) => {
                    space(&mut out, i + 1, end);
                    i = end + 1;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).expect("only ASCII was replaced")
}

fn ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Index just past the item that starts at `from`: its `;`, or its closing
/// brace.
fn item_end(code: &[u8], from: usize) -> usize {
    let mut depth = 0usize;
    for (i, &c) in code.iter().enumerate().skip(from) {
        match c {
            b';' if depth == 0 => return i + 1,
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// Blanks every `#[cfg(test)]` item of blanked code; returns the names of
/// the modules declared that way (`#[cfg(test)] mod tests;`), whose files
/// are test code too.
fn drop_test_items(code: &mut String) -> Vec<String> {
    const ATTR: &str = "#[cfg(test)]";
    let mut test_modules = Vec::new();
    while let Some(at) = code.find(ATTR) {
        let end = item_end(code.as_bytes(), at + ATTR.len());
        let item = &code[at + ATTR.len()..end];
        let words: Vec<&str> =
            item.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
        if item.trim_end().ends_with(';') {
            if let Some(i) = words.iter().position(|&w| w == "mod") {
                test_modules.push(words[i + 1].to_string());
            }
        }
        let blanked: String = code[at..end].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
        code.replace_range(at..end, &blanked);
    }
    test_modules
}

/// The paths that start at `at` (a `use` tree expands to several):
/// identifiers joined by `::`, through `{…}` groups.
fn paths_at(code: &[u8], at: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let skip = |mut i: usize| {
        while i < code.len() && code[i].is_ascii_whitespace() {
            i += 1;
        }
        i
    };
    let mut i = skip(at);
    if code.get(i) == Some(&b'{') {
        i += 1;
        loop {
            i = skip(i);
            match code.get(i) {
                None => return i,
                Some(b'}') => return i + 1,
                Some(b',') => i += 1,
                Some(_) => {
                    let next = paths_at(code, i, prefix, out);
                    // Skip `as alias` and anything else up to `,` or `}`.
                    i = next.max(i + 1);
                    while i < code.len() && !matches!(code[i], b',' | b'}') {
                        i += 1;
                    }
                }
            }
        }
    }
    let start = i;
    while i < code.len() && ident(code[i]) {
        i += 1;
    }
    let mut path = prefix.to_vec();
    if i > start {
        path.push(String::from_utf8_lossy(&code[start..i]).into_owned());
    }
    if code[i..].starts_with(b"::") && i > start {
        return paths_at(code, i + 2, &path, out);
    }
    out.push(path);
    i
}

/// The library's sources, the module paths they define, and the names
/// `src/lib.rs` re-exports (name → module path).
fn sources(root: &Path) -> (Vec<Source>, BTreeMap<String, Vec<String>>) {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("readable src/") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = root.join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    let mut out = Vec::new();
    let mut reexports = BTreeMap::new();
    for path in files {
        let rel = path.strip_prefix(&src).expect("under src/");
        let mut module: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
        let last = module.pop().expect("a file name");
        if module.first().is_some_and(|m| m == "cli") || (module.is_empty() && last == "main.rs") {
            continue;
        }
        if last != "mod.rs" && last != "lib.rs" {
            module.push(last.trim_end_matches(".rs").to_string());
        }
        let text = std::fs::read_to_string(&path).expect("readable source");
        if module.is_empty() {
            // `pub use problem::{Buffer, …};` at the root.
            let code = blank(&text);
            for line in code.lines().filter_map(|l| l.trim().strip_prefix("pub use ")) {
                let mut paths = Vec::new();
                paths_at(line.as_bytes(), 0, &[], &mut paths);
                for p in paths.into_iter().filter(|p| p.len() > 1) {
                    reexports.insert(p.last().unwrap().clone(), p[..p.len() - 1].to_vec());
                }
            }
        }
        out.push(Source { module, file: format!("src/{}", rel.display()), text });
    }
    (out, reexports)
}

/// The node a module belongs to: its top-level module, or two levels for
/// the [`SPLIT`] ones.
fn node(module: &[String]) -> Option<String> {
    let depth = if SPLIT.contains(&module.first()?.as_str()) { 2 } else { 1 };
    Some(module[..depth.min(module.len())].join("::"))
}

/// The module dependency graph of the library under `root`.
fn graph(root: &Path) -> Graph {
    let (sources, reexports) = sources(root);
    let modules: BTreeSet<Vec<String>> = sources.iter().map(|s| s.module.clone()).collect();
    let mut test_only: Vec<Vec<String>> = Vec::new();
    let mut blanked = Vec::new();
    for s in &sources {
        let mut code = blank(&s.text);
        for name in drop_test_items(&mut code) {
            test_only.push([s.module.clone(), vec![name]].concat());
        }
        blanked.push(code);
    }
    let mut edges = Graph::new();
    for (s, code) in sources.iter().zip(&blanked) {
        if s.module.is_empty() || test_only.iter().any(|t| s.module.starts_with(t)) {
            continue;
        }
        let children: Vec<&str> = modules
            .iter()
            .filter(|m| m.len() == s.module.len() + 1 && m.starts_with(&s.module))
            .map(|m| m.last().unwrap().as_str())
            .collect();
        let bytes = code.as_bytes();
        for (at, _) in code.match_indices("::") {
            // The first `::` of a path: the word before it starts the path.
            let start = bytes[..at].iter().rposition(|&c| !ident(c)).map_or(0, |p| p + 1);
            if start == at || (start >= 2 && &bytes[start - 2..start] == b"::") {
                continue;
            }
            let head = &code[start..at];
            let base: Vec<String> = match head {
                "crate" => Vec::new(),
                "super" => s.module[..s.module.len() - 1].to_vec(),
                child if children.contains(&child) => s.module.clone(),
                _ => continue,
            };
            let mut paths = Vec::new();
            let from = if head == "crate" || head == "super" { at + 2 } else { start };
            paths_at(bytes, from, &[], &mut paths);
            for mut path in paths {
                let mut base = base.clone();
                while path.first().is_some_and(|p| p == "super") {
                    path.remove(0);
                    base.pop();
                }
                let full = [base, path].concat();
                let target = (0..=full.len()).rev().map(|n| &full[..n]).find(|m| modules.contains(*m)).unwrap();
                let target = match target {
                    [] => match full.first().and_then(|name| reexports.get(name)) {
                        Some(module) => module.clone(),
                        None => continue,
                    },
                    module => module.to_vec(),
                };
                let (Some(from), Some(to)) = (node(&s.module), node(&target)) else { continue };
                if from != to {
                    let line = code[..at].matches('\n').count() + 1;
                    let text = s.text.lines().nth(line - 1).unwrap_or("").trim().to_string();
                    edges.entry((from, to)).or_insert(Witness { file: s.file.clone(), line, text });
                }
            }
        }
    }
    edges
}

/// The layer of a node.
fn layer(node: &str) -> &'static str {
    let top = node.split("::").next().unwrap_or(node);
    LAYERS.iter().find(|l| l.modules.contains(&top)).map_or(OUTPUTS, |l| l.name)
}

/// Whether a module of layer `from` may import from layer `to`.
fn allowed(from: &str, to: &str) -> bool {
    from == to || from == OUTPUTS || LAYERS.iter().any(|l| l.name == from && l.below.contains(&to))
}

/// One cycle through each knot of the graph (each strongly connected
/// component of more than one node), as its nodes in order, the first
/// repeated at the end.
fn cycles(edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    let mut next: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (a, b) in edges {
        next.entry(a).or_default().push(b);
    }
    fn reaches<'a>(next: &BTreeMap<&'a str, Vec<&'a str>>, from: &'a str) -> BTreeSet<&'a str> {
        let mut seen = BTreeSet::from([from]);
        let mut todo = vec![from];
        while let Some(n) = todo.pop() {
            for &m in next.get(n).into_iter().flatten() {
                if seen.insert(m) {
                    todo.push(m);
                }
            }
        }
        seen
    }
    let mut knotted = BTreeSet::new();
    let mut out = Vec::new();
    for &n in next.keys() {
        if knotted.contains(n) {
            continue;
        }
        // The knot of `n`: what it reaches that reaches it back.
        let knot: BTreeSet<&str> =
            reaches(&next, n).into_iter().filter(|&m| m != n && reaches(&next, m).contains(n)).collect();
        if knot.is_empty() {
            continue;
        }
        knotted.extend(knot.iter().copied());
        // A shortest way back to `n` inside the knot, breadth first.
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([n]);
        'search: while let Some(a) = queue.pop_front() {
            for &b in next.get(a).into_iter().flatten() {
                if b == n {
                    let mut cycle = vec![n.to_string(), a.to_string()];
                    let mut at = a;
                    while at != n {
                        at = came_from[at];
                        cycle.push(at.to_string());
                    }
                    cycle.reverse();
                    out.push(cycle);
                    break 'search;
                }
                if knot.contains(b) && !came_from.contains_key(b) {
                    came_from.insert(b, a);
                    queue.push_back(b);
                }
            }
        }
    }
    out
}

/// Every rule the graph breaks, one message each (empty when it keeps them).
fn violations(edges: &Graph, known: &[(&str, &str, &str)]) -> Vec<String> {
    let is_known = |a: &str, b: &str| known.iter().any(|&(x, y, _)| x == a && y == b);
    let mut out = Vec::new();
    for &(a, b, _) in known {
        if !edges.contains_key(&(a.to_string(), b.to_string())) {
            out.push(format!("known exception {a} → {b} no longer exists: delete it from KNOWN"));
        }
    }
    for ((a, b), witness) in edges {
        let (la, lb) = (layer(a), layer(b));
        if !allowed(la, lb) && !is_known(a, b) {
            out.push(format!("{a} ({la}) → {b} ({lb}) runs against the layering, at {witness}"));
        }
    }
    let rest: BTreeSet<(String, String)> = edges.keys().filter(|(a, b)| !is_known(a, b)).cloned().collect();
    for cycle in cycles(&rest) {
        let mut message = format!("import cycle {}:", cycle.join(" → "));
        for pair in cycle.windows(2) {
            message.push_str(&format!(
                "\n    {} → {}: {}",
                pair[0],
                pair[1],
                edges[&(pair[0].clone(), pair[1].clone())]
            ));
        }
        out.push(message);
    }
    out
}

#[test]
fn the_modules_import_one_way() {
    let edges = graph(Path::new(env!("CARGO_MANIFEST_DIR")));
    let mut by_layer: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for ((a, b), w) in &edges {
        by_layer.entry(layer(a)).or_default().insert(a);
        by_layer.entry(layer(b)).or_default().insert(b);
        println!("{a} → {b}    ({w})");
    }
    println!("{by_layer:?}");
    // The parser must see the graph at all: the checker and every solver
    // work on problems.
    assert!(edges.contains_key(&("check".into(), "problem".into())), "no edge check → problem: the parser is broken");
    let problems = violations(&edges, KNOWN);
    assert!(problems.is_empty(), "{} violation(s):\n{}", problems.len(), problems.join("\n"));
}

/// The graph of a tree of sources written for the test.
fn graph_of(files: &[(&str, &str)]) -> Graph {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("smemplan-architecture-{}-{run}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let path = dir.join("src").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let edges = graph(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    edges
}

fn pairs(edges: &Graph) -> Vec<(&str, &str)> {
    edges.keys().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

#[test]
fn paths_are_read_through_groups_super_children_and_reexports() {
    let edges = graph_of(&[
        ("lib.rs", "pub mod problem;\npub mod check;\npub mod solve;\npub use problem::{Problem, Layout};\n"),
        ("problem.rs", "pub struct Problem;\n"),
        ("check.rs", "use crate::{error::Error, solve::{self, Solution}};\nfn f(_: crate::Problem) {}\n"),
        ("error.rs", "pub struct Error;\n"),
        ("solve/mod.rs", "pub mod greedy;\npub mod exact;\npub fn all() { greedy::best(); }\n"),
        ("solve/greedy.rs", "use super::Solution;\npub fn best() {}\n"),
        ("solve/exact/mod.rs", "pub mod search;\n"),
        ("solve/exact/search.rs", "use super::super::greedy::best;\n"),
    ]);
    let want = [
        ("check", "error"),
        ("check", "problem"),
        ("check", "solve"),
        ("solve", "solve::greedy"),
        ("solve::exact", "solve::greedy"),
        ("solve::greedy", "solve"),
    ];
    assert_eq!(pairs(&edges), want);
}

#[test]
fn comments_strings_and_test_code_make_no_edges() {
    let edges = graph_of(&[
        ("lib.rs", "pub mod problem;\npub mod check;\n"),
        ("check.rs", "//! Uses [`crate::Problem`].\nfn f() { let _ = \"crate::problem\"; let _ = '{'; }\n"),
        (
            "problem.rs",
            "/* crate::check */\n#[cfg(test)]\nmod tests {\n    use crate::check;\n}\n#[cfg(test)]\nmod fixtures;\n",
        ),
        ("problem/fixtures.rs", "use crate::check::f;\n"),
    ]);
    assert_eq!(pairs(&edges), []);
}

#[test]
fn a_cycle_and_an_upward_edge_are_reported_with_their_lines() {
    let edges = graph_of(&[
        ("lib.rs", "pub mod problem;\npub mod check;\npub mod solve;\n"),
        ("problem.rs", "fn f() { crate::solve::run(); }\n"),
        ("solve.rs", "use crate::problem::Problem;\n"),
        ("check.rs", "use crate::problem::Problem;\n"),
    ]);
    let problems = violations(&edges, &[]);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(
        problems[0].starts_with("problem (problem) → solve (solve) runs against the layering, at src/problem.rs:1:")
    );
    assert!(problems[1].contains("import cycle problem → solve → problem"), "{}", problems[1]);
    assert!(problems[1].contains("src/solve.rs:1: use crate::problem::Problem;"), "{}", problems[1]);
    // Listed as known, the edge is let through; a stale listing is not.
    assert_eq!(violations(&edges, &[("problem", "solve", "issue 8")]), Vec::<String>::new());
    let stale = violations(&edges, &[("problem", "solve", "issue 8"), ("check", "solve", "issue 8")]);
    assert_eq!(stale, ["known exception check → solve no longer exists: delete it from KNOWN"]);
}
