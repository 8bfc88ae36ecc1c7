//! The model's tests: parsing, instantiation and the built-in set.

use super::*;
use crate::error::Result;
use crate::{Location, Precision};

fn parse(text: &str) -> Result<Model> {
    Model::parse("m.toml", text, &|f| {
        let text = match f {
            "frag.toml" => "[[buffer]]\ncomponent = \"\"\nname = \"w\"\nsize = \"width * 2\"\n",
            "bad.toml" => "[[buffer]]\ncomponent = \"\"\nname = \"w\"\nsize = \"width *\"\n",
            "cycle.toml" => "[[include]]\nfile = \"cycle.toml\"\n",
            "m.toml" => "[params]\nn = 1\n",
            _ => return Ok(None),
        };
        Ok(Some((f.to_string(), text.to_string())))
    })
}

const GOOD: &str = r#"
name = "toy"
[params]
algorithm = "a"
n = 10
precision = "f32"
loc = "shared"
big = false
[allowed]
loc = ["shared", "local"]
[derived]
twice = "2 * n"
[algorithms.a]
n = 3
[algorithms.b]
n = 4
big = true
[[component]]
path = "k"
class = "Loop"
[[component]]
path = "k/c"
class = "Child"
[[buffer]]
component = "k"
name = "x"
size = "twice + 1"
location = "loc"
[[buffer]]
component = "k"
name = "y"
size = 5
dtype = "i32"
persistent = true
when = "big"
[[include]]
file = "frag.toml"
at = "k/c"
with = { width = "n" }
"#;

#[test]
fn instantiates_with_rows_and_sets() {
    let m = parse(GOOD).unwrap();
    let i = m.instantiate(&[]).unwrap();
    assert_eq!(i.buffers.len(), 2, "y is off for algorithm a");
    assert_eq!(i.buffers[0].size, 7);
    assert_eq!(i.buffers[0].location, Location::Shared);
    assert_eq!((i.buffers[1].component.as_str(), i.buffers[1].size), ("k/c", 6));
    let i = m.instantiate(&[("algorithm".into(), "b".into()), ("n".into(), "20".into())]).unwrap();
    assert_eq!(i.buffers[0].size, 41, "a set wins over the algorithm row");
    assert_eq!(i.buffers[1].precision, Precision::I32);
    assert!(i.buffers[1].persistent);
}

#[test]
fn bad_models_name_file_line_and_key() {
    // (replace, with, file, line (None: where `with` lands), key, message)
    type Case<'a> = (&'a str, &'a str, &'a str, Option<usize>, Option<&'a str>, &'a str);
    let cases: &[Case] = &[
        (r#"size = "twice + 1""#, r#"size = "twice +""#, "m.toml", None, Some("buffer(k/x).size"), "unexpected end"),
        ("dtype = \"i32\"", "dtype = \"u8\"", "m.toml", None, Some("buffer(k/y).dtype"), "unknown dtype"),
        ("n = 4\nbig", "m = 4\nbig", "m.toml", None, Some("algorithms.b.m"), "not a parameter"),
        ("file = \"frag.toml\"", "file = \"bad.toml\"", "bad.toml", Some(4), Some("buffer(/w).size"), "unexpected end"),
        (
            "file = \"frag.toml\"",
            "file = \"cycle.toml\"",
            "cycle.toml",
            Some(2),
            Some("include(cycle.toml)"),
            "include cycle: m.toml → cycle.toml → cycle.toml",
        ),
        (
            "file = \"frag.toml\"",
            "file = \"m.toml\"",
            "m.toml",
            None,
            Some("include(m.toml)"),
            "cycle: m.toml → m.toml",
        ),
        (
            "file = \"frag.toml\"",
            "file = \"nowhere.toml\"",
            "m.toml",
            None,
            Some("include(nowhere.toml)"),
            "cannot find",
        ),
        ("name = \"toy\"", "name = \"toy\"\nbogus = 1", "m.toml", Some(3), None, "unknown field"),
        ("twice = \"2 * n\"", "n = \"2 * n\"", "m.toml", None, Some("derived.n"), "already a parameter"),
        (
            "loc = [\"shared\", \"local\"]",
            "loc = [\"local\"]",
            "m.toml",
            Some(7),
            Some("params.loc"),
            "the default 'shared' is not allowed",
        ),
        ("loc = [\"shared\", \"local\"]", "mode = [\"x\"]", "m.toml", None, Some("allowed.mode"), "not a parameter"),
        (
            "loc = [\"shared\", \"local\"]",
            "loc = [\"shared\"]\nn = { min = 5 }",
            "m.toml",
            Some(15),
            Some("algorithms.a.n"),
            "3 is not allowed for `n` (allowed: integers from 5)",
        ),
        (
            "loc = [\"shared\", \"local\"]",
            "n = { min = 9, max = 1 }",
            "m.toml",
            None,
            Some("allowed.n"),
            "min 9 is above max 1",
        ),
    ];
    for (from, to, file, line, key, msg) in cases {
        assert!(GOOD.contains(from), "{from}");
        let text = GOOD.replacen(from, to, 1);
        let want_line =
            line.unwrap_or_else(|| text.lines().position(|l| l.contains(to.lines().next().unwrap())).unwrap() + 1);
        match parse(&text).unwrap_err() {
            Error::Model { file: f, line: l, key: k, message } => {
                assert!(message.contains(msg), "{to}: {message}");
                assert_eq!((f.as_str(), l, k.as_deref()), (*file, want_line, *key), "{to}: {message}");
            }
            other => panic!("{other}"),
        }
    }
}

/// An integer TOML reads but 64 bits do not hold is refused naming its key
/// (it read "invalid type: integer `18446744073709551616` as i128,
/// expected any value", or "u64 value was too large", with no key).
#[test]
fn integers_beyond_64_bits_name_their_key() {
    let huge = "18446744073709551616";
    let cases: &[(&str, String, &str)] = &[
        ("size = 5", format!("size = {huge}"), "buffer(k/y).size"),
        ("size = 5", "size = 9223372036854775808".into(), "buffer(k/y).size"),
        ("size = 5", format!("size = -{huge}"), "buffer(k/y).size"),
        ("size = 5", "size = 0x10000000000000000".into(), "buffer(k/y).size"),
        ("size = 5", format!("size = 5\naccesses = {{ all = {huge} }}"), "buffer(k/y).accesses.all"),
        ("n = 10", format!("n = {huge}"), "params.n"),
        ("n = 3", format!("n = {huge}"), "algorithms.a.n"),
        ("width = \"n\"", format!("width = {huge}"), "include(frag.toml).with.width"),
        ("loc = [\"shared\", \"local\"]", format!("n = {{ max = {huge} }}"), "allowed.n"),
        ("loc = [\"shared\", \"local\"]", format!("n = [1, {huge}]"), "allowed.n"),
    ];
    for (from, to, key) in cases {
        assert!(GOOD.contains(from), "{from}");
        let text = GOOD.replacen(from, to, 1);
        let last = to.lines().last().unwrap();
        let line = text.lines().position(|l| l.contains(last)).unwrap() + 1;
        let e = parse(&text).unwrap_err().to_string();
        assert!(e.starts_with(&format!("m.toml:{line}: key `{key}`: ")), "{to}: {e}");
        assert!(
            e.contains("does not fit in 64 bits (integers lie in -9223372036854775808 ..= 9223372036854775807)"),
            "{e}"
        );
        assert!(!e.contains("i128") && !e.contains("invalid type"), "{e}");
    }
    // Beyond what TOML itself reads (128 bits) the parser refuses the
    // number before any key sees it: the same words, with the line.
    let text = GOOD.replacen("size = 5", &format!("size = {}", "9".repeat(45)), 1);
    let line = text.lines().position(|l| l.starts_with("size = 999")).unwrap() + 1;
    let e = parse(&text).unwrap_err().to_string();
    assert!(e.starts_with(&format!("m.toml:{line}: integer `999")) && e.contains("does not fit in 64 bits"), "{e}");
    // Integers that fit are read as before, up to the limits.
    let text = GOOD.replacen("size = 5", "size = 9223372036854775807", 1);
    assert!(parse(&text).is_ok());
}

#[test]
fn the_documented_error_example_holds() {
    // docs/models.md quotes this message.
    let text = builtin_file("dirk.toml").unwrap().replace("\"(stages - 1) * n\"", "\"(stages - 1 * n\"");
    let e = Model::parse("models/dirk.toml", &text, &|f| Ok(resolve_builtin(f))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "models/dirk.toml:113: key `buffer(kernel/loop/algorithm/accumulator).size`: in `(stages - 1 * n`: expected `)`"
    );
}

#[test]
fn every_builtin_model_declares_its_string_parameters() {
    for name in builtin_names() {
        let m = builtin(name).unwrap();
        for (k, v) in m.params() {
            if matches!(v, Value::Str(_)) && k != "precision" && k != "algorithm" {
                assert!(m.allowed().contains_key(k), "{name}: `{k}` has no [allowed] values");
            }
        }
    }
}

#[test]
fn instantiation_errors() {
    let m = parse(GOOD).unwrap();
    let e = m.instantiate(&[("nn".into(), "1".into())]).unwrap_err();
    assert!(e.to_string().contains("unknown parameter"), "{e}");
    for (set, want) in [
        ("algorithm=zz", "unknown algorithm `zz`"),
        ("n=-9", "-9 is not allowed for `n` (allowed: integers from 0)"),
        ("loc=texture", "'texture' is not allowed for `loc` (allowed: 'shared', 'local')"),
        ("big=2", "2 is not allowed for `big` (allowed: true or false)"),
        ("n=99999999999999999999", "does not fit in 64 bits"),
    ] {
        let (k, v) = set.split_once('=').unwrap();
        let e = m.instantiate(&[(k.into(), v.into())]).unwrap_err().to_string();
        assert!(e.contains(want), "{set}: {e}");
    }
    m.instantiate(&[("big".into(), "true".into()), ("loc".into(), "local".into())]).unwrap();
    let cyclic = GOOD.replace(r#"twice = "2 * n""#, "twice = \"2 * twice\"");
    let e = parse(&cyclic).unwrap().instantiate(&[]).unwrap_err();
    assert!(e.to_string().contains("in terms of itself"), "{e}");
}

/// A loop that rolls up its step after its own buffers (default
/// order), and a step whose class registers its child first and one
/// buffer last; the step's `late` aliases the child's region.
const ORDERED: &str = r#"
name = "ordered"
[params]
precision = "f32"
[classes.Step]
registration = ["inner", "...", "late"]
[[component]]
path = "k"
class = "Loop"
[[component]]
path = "k/step"
class = "Step"
[[component]]
path = "k/step/inner"
class = "Inner"
[[buffer]]
component = "k"
name = "state"
size = 3
location = "shared"
[[buffer]]
component = "k/step"
name = "late"
size = 2
aliases = "inner_shared"
[[buffer]]
component = "k/step"
name = "early"
size = 1
location = "shared"
[[buffer]]
component = "k/step/inner"
name = "scratch"
size = 4
location = "shared"
"#;

#[test]
fn registries_follow_the_class_registration_order() {
    let inst = parse(ORDERED).unwrap().instantiate(&[]).unwrap();
    let (r, root) = inst.registry().unwrap();
    assert_eq!(root, "k");
    let names = |id: &str| -> Vec<String> { r.group(id).unwrap().entries().iter().map(|e| e.name.clone()).collect() };
    assert_eq!(names("k"), ["state", "step_shared", "step_persistent"]);
    assert_eq!(names("k/step"), ["inner_shared", "inner_persistent", "early", "late"]);
    // `late` fits inside the inner region at its start: 3 + 4 + 1 = 8.
    let f = r.footprint("k").unwrap();
    assert_eq!((f.shared_elements, f.local_elements), (8, 0));
    let late = r.flatten("k").unwrap().into_iter().find(|b| b.name == "late").unwrap();
    assert_eq!(late.region, crate::registry::Region::Shared(3..5));
}

#[test]
fn registry_errors_are_typed_and_name_the_components() {
    use crate::registry::RegistryError;
    let two_roots = ORDERED
        .replace("path = \"k/step/inner\"", "path = \"other\"")
        .replace("component = \"k/step/inner\"", "component = \"other\"");
    let e = parse(&two_roots).unwrap().instantiate(&[]).unwrap_err().to_string();
    let line = two_roots.lines().position(|l| l.contains("path = \"other\"")).unwrap() + 1;
    assert!(e.starts_with(&format!("m.toml:{line}: key `component(other)`: component `other` has no parent")), "{e}");
    assert!(e.contains("top-level components: `k` (m.toml:") && e.contains(&format!("`other` (m.toml:{line})")), "{e}");
    // A model the registry refuses is refused when instantiated, at the
    // component the registry names.
    let ambiguous = ORDERED.replace("name = \"early\"", "name = \"inner\"");
    let e = parse(&ambiguous).unwrap().instantiate(&[]).unwrap_err().to_string();
    let line = ambiguous.lines().position(|l| l == "path = \"k/step\"").unwrap() + 1;
    assert!(
        e.starts_with(&format!("m.toml:{line}: key `component(k/step)`: component `k/step` (Step): `inner` in its class's registration list names both")),
        "{e}"
    );
    // The registry's own error is typed, for a kernel changed after it was
    // instantiated.
    let mut kernel = parse(ORDERED).unwrap().instantiate(&[]).unwrap();
    kernel.buffers.iter_mut().find(|b| b.name == "early").unwrap().name = "inner".into();
    let e = kernel.registry().unwrap_err();
    let Error::Registry(RegistryError::AmbiguousRegistration { component, class, name }) = &e else { panic!("{e}") };
    assert_eq!((component.as_str(), class.as_str(), name.as_str()), ("k/step", "Step", "inner"));
    assert!(e.to_string().contains("`inner` in its class's registration list names both"), "{e}");
    let twice = ORDERED.replace(r#"["inner", "...", "late"]"#, r#"["inner", "inner"]"#);
    let e = parse(&twice).unwrap_err();
    assert!(e.to_string().contains("key `Step.registration`: `inner` is empty or named twice"), "{e}");
}

/// Declarations that only fail once a model is instantiated (a buffer on
/// an undeclared component, a name declared twice, what CuBIE's registry
/// refuses, a size whose bytes do not fit) name the file, line and key of
/// the declaration, like every other model error. They named the model
/// alone (`t: key `buffer(k/zzz/a)`: no such component`, `model `t`:
/// arithmetic overflow: bytes of buffer `a` ...`), and a component
/// declared twice was "already the kernel's top-level component".
#[test]
fn declaration_errors_name_file_line_and_key() {
    const BASE: &str = "name = \"t\"\n[params]\nprecision = \"f32\"\n[[component]]\npath = \"k\"\nclass = \"X\"\n";
    let buffer = |component: &str, name: &str, rest: &str| {
        format!("[[buffer]]\ncomponent = \"{component}\"\nname = \"{name}\"\nsize = 4\n{rest}")
    };
    let component = |path: &str, rest: &str| format!("[[component]]\npath = \"{path}\"\nclass = \"X\"\n{rest}");
    // (items after BASE, the line's text (its last match), key, message)
    let cases: Vec<(String, &str, &str, &str)> = vec![
        (buffer("k/zzz", "a", ""), "name = \"a\"", "buffer(k/zzz/a)", "component `k/zzz` is not declared"),
        (
            buffer("k", "a", "") + &buffer("k", "a", ""),
            "name = \"a\"",
            "buffer(k/a)",
            "buffer `a` of component `k` is declared twice (first at line 9)",
        ),
        (buffer("k", "", ""), "name = \"\"", "buffer(k/)", "a buffer name cannot be empty"),
        (
            buffer("k", "a", "aliases = \"nope\"\n"),
            "name = \"a\"",
            "buffer(k/a)",
            "alias target `nope` of `a` is not registered; register `nope` before `a`",
        ),
        (buffer("k", "a", "aliases = \"a\"\n"), "name = \"a\"", "buffer(k/a)", "buffer `a` cannot alias itself"),
        (
            buffer("k", "a", "location = \"shared\"\n").replace("size = 4", "size = 9223372036854775807"),
            "size = 9223372036854775807",
            "buffer(k/a).size",
            "9223372036854775807 elements of float32 are 36893488147419103228 bytes, more than 64 bits hold",
        ),
        (
            buffer("k", "a", "").replace("size = 4", "size = 2305843009213693952")
                + &buffer("k", "b", "").replace("size = 4", "size = 2305843009213693952"),
            "size = 2305843009213693952",
            "buffer(k/b).size",
            "its 9223372036854775808 bytes bring the kernel's buffers to 18446744073709551616 bytes, more than 64 bits \
             hold",
        ),
        (component("k", ""), "path = \"k\"", "component(k)", "component `k` is declared twice (first at line 5)"),
        (component("", ""), "path = \"\"", "component()", "a component path cannot be empty"),
        (component("k/", ""), "path = \"k/\"", "component(k/)", "component path `k/` has an empty segment"),
        (
            component("k/c", "aliases = \"nope\"\n"),
            "path = \"k/c\"",
            "component(k/c).aliases",
            "alias target `nope` of `c_shared` is not registered; register `nope` before `c_shared`",
        ),
    ];
    for (items, marker, key, message) in cases {
        let text = format!("{BASE}{items}");
        let line = text.lines().collect::<Vec<_>>().iter().rposition(|l| *l == marker).unwrap() + 1;
        let e = parse(&text).unwrap().instantiate(&[]).unwrap_err().to_string();
        assert_eq!(e, format!("m.toml:{line}: key `{key}`: {message}"), "{items}");
    }
    // In a fragment: the fragment's file and line.
    let e = parse(&GOOD.replace("file = \"frag.toml\"", "file = \"frag.toml\"\naliases = \"nope\"")).unwrap();
    let e = e.instantiate(&[]).unwrap_err().to_string();
    let line = GOOD.lines().position(|l| l == "file = \"frag.toml\"").unwrap() + 1;
    assert!(e.starts_with(&format!("m.toml:{line}: key `include(frag.toml).aliases`: ")), "{e}");
}

#[test]
fn the_default_model_instantiates_at_its_defaults() {
    let d = default_model().unwrap().instantiate(&[]).unwrap();
    assert_eq!(d.params.get("n"), Some(&Value::Int(100)));
    assert!(builtin("nope").is_err());
}

#[test]
fn loading_grows_linearly_with_the_file() {
    // Issue 19: each key's line was found by counting newlines from the
    // start, so 20,000 buffers took 40 s to load; linear, they take a
    // fraction of a second (the bound is wide: CI shares its cores).
    use std::fmt::Write as _;
    let n = 20_000;
    let mut text =
        String::from("[params]\nn = 1\nprecision = \"f32\"\n[[component]]\npath = \"k\"\nclass = \"Loop\"\n");
    for i in 0..n {
        let _ = write!(text, "[[buffer]]\ncomponent = \"k\"\nname = \"b{i}\"\nsize = \"n + {i}\"\n");
    }
    let started = std::time::Instant::now();
    let m = parse(&text).unwrap();
    let kernel = m.instantiate(&[]).unwrap();
    let took = started.elapsed();
    assert_eq!(kernel.buffers.len(), n);
    assert!(took < std::time::Duration::from_secs(4), "{n} buffers took {took:?} to load");
}
