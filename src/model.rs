//! Kernel models: TOML descriptions of a solver kernel's components and
//! buffers, with sizes as expressions in the model's parameters
//! (`docs/models.md` documents the schema).
//!
//! A model file has `[params]` (defaults, overridable), `[derived]` (named
//! expressions), `[algorithms.NAME]` (parameter rows selected by the
//! `algorithm` parameter), optional `[classes.NAME]` lifetime entries (same
//! schema as `models/cubie-lifetimes.toml`, overriding the built-in table),
//! and `[[component]]`, `[[buffer]]` and `[[include]]` items. An include
//! pulls in a fragment (a file of items only) at a path prefix `at`, with
//! extra names bound by `with`; fragments name their paths relative to `at`.
//!
//! Parsing checks every expression, phase and include up front, so a bad
//! model fails as a whole with [`Error::Model`] naming the file, line and
//! key; instantiating evaluates the expressions for one set of parameters
//! and yields declarations ready for [`crate::plan`].
//!
//! The models of CuBIE's solver families ship inside the library
//! ([`builtin`]); [`default_model`] is what `smemplan plan` shows with no
//! input.

pub mod expr;

use crate::error::{Error, Result};
use crate::lifetimes::{line_of, toml_error, LifetimeTable, RawClass, REGISTRATION_REST};
use crate::plan::{GroupAlias, PlanInput, PlanOptions, PlanReport};
use crate::registry::replay::Registration;
use crate::registry::types::{BufferDecl, ComponentDecl, Location, Precision};
use crate::registry::Registry;
use expr::{Expr, Value};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use toml::Spanned;

/// Every file of the built-in model set: `(name, text)`. Top-level models
/// sit at the root, fragments under `parts/`.
pub const BUILTIN_FILES: &[(&str, &str)] = &[
    ("backwards_euler.toml", include_str!("../models/backwards_euler.toml")),
    ("backwards_euler_pc.toml", include_str!("../models/backwards_euler_pc.toml")),
    ("crank_nicolson.toml", include_str!("../models/crank_nicolson.toml")),
    ("dirk.toml", include_str!("../models/dirk.toml")),
    ("erk.toml", include_str!("../models/erk.toml")),
    ("explicit_euler.toml", include_str!("../models/explicit_euler.toml")),
    ("firk.toml", include_str!("../models/firk.toml")),
    ("rosenbrock.toml", include_str!("../models/rosenbrock.toml")),
    ("parts/loop.toml", include_str!("../models/parts/loop.toml")),
    ("parts/newton.toml", include_str!("../models/parts/newton.toml")),
    ("parts/linear.toml", include_str!("../models/parts/linear.toml")),
];

/// The model `smemplan plan` uses when given no input.
pub const DEFAULT_MODEL: &str = "dirk";

/// The text of built-in file `name` (e.g. `dirk.toml`, `parts/loop.toml`).
pub fn builtin_file(name: &str) -> Option<&'static str> {
    BUILTIN_FILES.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Names of the built-in top-level models (`dirk`, `erk`, ...).
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN_FILES.iter().filter(|(n, _)| !n.contains('/')).filter_map(|(n, _)| n.strip_suffix(".toml")).collect()
}

/// Built-in model `name` (`dirk` or `dirk.toml`).
pub fn builtin(name: &str) -> Result<Model> {
    let file = if name.ends_with(".toml") { name.to_string() } else { format!("{name}.toml") };
    let text = builtin_file(&file).filter(|_| !file.contains('/')).ok_or_else(|| Error::Model {
        file: file.clone(),
        line: 0,
        key: None,
        message: format!("no built-in model `{name}` (known: {})", builtin_names().join(", ")),
    })?;
    Model::parse(&format!("models/{file}"), text, &|f| builtin_file(f).map(str::to_string))
}

/// The built-in default model ([`DEFAULT_MODEL`]).
pub fn default_model() -> Result<Model> {
    builtin(DEFAULT_MODEL)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum IntOrText {
    Int(i64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    derived: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    algorithms: BTreeMap<String, BTreeMap<String, Spanned<toml::Value>>>,
    #[serde(default)]
    classes: BTreeMap<String, RawClass>,
    #[serde(default)]
    include: Vec<RawInclude>,
    #[serde(default)]
    component: Vec<RawComponent>,
    #[serde(default)]
    buffer: Vec<RawBuffer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInclude {
    file: Spanned<String>,
    #[serde(default)]
    at: Option<Spanned<String>>,
    #[serde(default)]
    when: Option<Spanned<String>>,
    #[serde(default)]
    aliases: Option<Spanned<String>>,
    #[serde(default)]
    with: BTreeMap<String, Spanned<IntOrText>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    path: Spanned<String>,
    class: Spanned<String>,
    #[serde(default)]
    when: Option<Spanned<String>>,
    #[serde(default)]
    aliases: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBuffer {
    component: Spanned<String>,
    name: Spanned<String>,
    size: Spanned<IntOrText>,
    #[serde(default)]
    location: Option<Spanned<String>>,
    #[serde(default)]
    persistent: Option<Spanned<bool>>,
    #[serde(default)]
    aliases: Option<Spanned<String>>,
    #[serde(default)]
    dtype: Option<Spanned<String>>,
    #[serde(default)]
    when: Option<Spanned<String>>,
}

/// Where something was written, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
struct At {
    file: String,
    line: usize,
    key: String,
}

impl At {
    fn error(&self, message: impl Into<String>) -> Error {
        Error::Model { file: self.file.clone(), line: self.line, key: Some(self.key.clone()), message: message.into() }
    }
}

/// A parsed expression and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Located {
    expr: Expr,
    at: At,
}

/// An element type: fixed, or the model's precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dtype {
    Run,
    Fixed(Precision),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Include {
    file: String,
    at: String,
    when: Option<Located>,
    aliases: Option<String>,
    with: Vec<(String, Located)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Component {
    path: String,
    class: String,
    when: Option<Located>,
    aliases: Option<String>,
    at: At,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Buffer {
    component: String,
    name: String,
    size: Located,
    location: Located,
    persistent: bool,
    aliases: Option<String>,
    dtype: Dtype,
    when: Option<Located>,
    at: At,
}

/// The items of one file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Fragment {
    includes: Vec<Include>,
    components: Vec<Component>,
    buffers: Vec<Buffer>,
}

/// A parsed, validated kernel model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// The model's name.
    pub name: String,
    /// One line describing it.
    pub description: String,
    /// Its file name.
    pub source: String,
    params: BTreeMap<String, Value>,
    derived: BTreeMap<String, Located>,
    algorithms: BTreeMap<String, BTreeMap<String, Value>>,
    classes: LifetimeTable,
    body: Fragment,
    fragments: HashMap<String, Fragment>,
}

fn toml_value(v: &toml::Value) -> Option<Value> {
    match v {
        toml::Value::Integer(i) => Some(Value::Int(*i)),
        toml::Value::Boolean(b) => Some(Value::Int(i64::from(*b))),
        toml::Value::String(s) => Some(Value::Str(s.clone())),
        _ => None,
    }
}

fn parse_precision(s: &str) -> Option<Precision> {
    s.parse::<Precision>().ok()
}

struct FileCtx<'a> {
    file: &'a str,
    text: &'a str,
}

impl FileCtx<'_> {
    fn at<T>(&self, spanned: &Spanned<T>, key: String) -> At {
        At { file: self.file.to_string(), line: line_of(self.text, spanned.span().start), key }
    }

    fn expr(&self, spanned: &Spanned<String>, key: String) -> Result<Located> {
        let at = self.at(spanned, key);
        let expr = Expr::parse(spanned.get_ref()).map_err(|m| at.error(format!("in `{}`: {m}", spanned.get_ref())))?;
        Ok(Located { expr, at })
    }

    fn int_or_expr(&self, spanned: &Spanned<IntOrText>, key: String) -> Result<Located> {
        match spanned.get_ref() {
            IntOrText::Int(i) => Ok(Located { expr: Expr::Lit(Value::Int(*i)), at: self.at(spanned, key) }),
            IntOrText::Text(t) => self.expr(&Spanned::new(spanned.span(), t.clone()), key),
        }
    }

    fn fragment(&self, raw: &RawFile) -> Result<Fragment> {
        let mut frag = Fragment::default();
        for inc in &raw.include {
            let key = format!("include({})", inc.file.get_ref());
            let with = inc
                .with
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.int_or_expr(v, format!("{key}.with.{k}"))?)))
                .collect::<Result<Vec<_>>>()?;
            frag.includes.push(Include {
                file: inc.file.get_ref().clone(),
                at: inc.at.as_ref().map(|a| a.get_ref().clone()).unwrap_or_default(),
                when: inc.when.as_ref().map(|w| self.expr(w, format!("{key}.when"))).transpose()?,
                aliases: inc.aliases.as_ref().map(|a| a.get_ref().clone()),
                with,
            });
        }
        for c in &raw.component {
            let key = format!("component({})", c.path.get_ref());
            frag.components.push(Component {
                path: c.path.get_ref().clone(),
                class: c.class.get_ref().clone(),
                when: c.when.as_ref().map(|w| self.expr(w, format!("{key}.when"))).transpose()?,
                aliases: c.aliases.as_ref().map(|a| a.get_ref().clone()),
                at: self.at(&c.path, key),
            });
        }
        for b in &raw.buffer {
            let key = format!("buffer({}/{})", b.component.get_ref(), b.name.get_ref());
            let location = match &b.location {
                None => Located {
                    expr: Expr::Lit(Value::Str("local".into())),
                    at: self.at(&b.name, format!("{key}.location")),
                },
                Some(l) if l.get_ref() == "shared" || l.get_ref() == "local" => Located {
                    expr: Expr::Lit(Value::Str(l.get_ref().clone())),
                    at: self.at(l, format!("{key}.location")),
                },
                Some(l) => self.expr(l, format!("{key}.location"))?,
            };
            let dtype = match &b.dtype {
                None => Dtype::Run,
                Some(d) if d.get_ref() == "precision" => Dtype::Run,
                Some(d) => Dtype::Fixed(parse_precision(d.get_ref()).ok_or_else(|| {
                    self.at(d, format!("{key}.dtype"))
                        .error(format!("unknown dtype `{}` (f32, f64, i32 or precision)", d.get_ref()))
                })?),
            };
            frag.buffers.push(Buffer {
                component: b.component.get_ref().clone(),
                name: b.name.get_ref().clone(),
                size: self.int_or_expr(&b.size, format!("{key}.size"))?,
                location,
                persistent: b.persistent.as_ref().is_some_and(|p| *p.get_ref()),
                aliases: b.aliases.as_ref().map(|a| a.get_ref().clone()),
                dtype,
                when: b.when.as_ref().map(|w| self.expr(w, format!("{key}.when"))).transpose()?,
                at: self.at(&b.name, key),
            });
        }
        Ok(frag)
    }
}

impl Model {
    /// Parses a model. `source` names it in errors; `resolve` returns the
    /// text of an included file by the name the include gives.
    pub fn parse(source: &str, text: &str, resolve: &dyn Fn(&str) -> Option<String>) -> Result<Model> {
        let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(source, text, &e))?;
        let ctx = FileCtx { file: source, text };
        let mut params = BTreeMap::new();
        for (k, v) in &raw.params {
            let value = toml_value(v.get_ref()).ok_or_else(|| {
                ctx.at(v, format!("params.{k}")).error("a parameter is an integer, a boolean or a string")
            })?;
            params.insert(k.clone(), value);
        }
        let mut derived = BTreeMap::new();
        for (k, v) in &raw.derived {
            if params.contains_key(k) {
                return Err(ctx.at(v, format!("derived.{k}")).error("already a parameter"));
            }
            derived.insert(k.clone(), ctx.expr(v, format!("derived.{k}"))?);
        }
        let mut algorithms = BTreeMap::new();
        for (name, row) in &raw.algorithms {
            let mut values = BTreeMap::new();
            for (k, v) in row {
                let at = ctx.at(v, format!("algorithms.{name}.{k}"));
                if !params.contains_key(k) {
                    return Err(at.error("not a parameter of this model"));
                }
                let value = toml_value(v.get_ref()).ok_or_else(|| at.error("an integer, a boolean or a string"))?;
                values.insert(k.clone(), value);
            }
            algorithms.insert(name.clone(), values);
        }
        if !algorithms.is_empty() && !params.contains_key("algorithm") {
            return Err(Error::Model {
                file: source.into(),
                line: 0,
                key: Some("params.algorithm".into()),
                message: "a model with [algorithms] needs an `algorithm` parameter".into(),
            });
        }
        let classes = LifetimeTable::from_raw(source, text, raw.classes.clone().into_iter().collect())?;
        let body = ctx.fragment(&raw)?;
        let mut model = Model {
            name: raw
                .name
                .clone()
                .unwrap_or_else(|| source.rsplit('/').next().unwrap_or(source).trim_end_matches(".toml").to_string()),
            description: raw.description.clone().unwrap_or_default(),
            source: source.to_string(),
            params,
            derived,
            algorithms,
            classes,
            body,
            fragments: HashMap::new(),
        };
        let mut stack = vec![source.to_string()];
        let includes = model.body.includes.clone();
        model.load_includes(&includes, source, resolve, &mut stack)?;
        Ok(model)
    }

    fn load_includes(
        &mut self,
        includes: &[Include],
        from: &str,
        resolve: &dyn Fn(&str) -> Option<String>,
        stack: &mut Vec<String>,
    ) -> Result<()> {
        for inc in includes {
            if stack.contains(&inc.file) {
                return Err(Error::Model {
                    file: from.to_string(),
                    line: 0,
                    key: Some(format!("include({})", inc.file)),
                    message: format!("include cycle: {} → {}", stack.join(" → "), inc.file),
                });
            }
            if self.fragments.contains_key(&inc.file) {
                continue;
            }
            let text = resolve(&inc.file).ok_or_else(|| Error::Model {
                file: from.to_string(),
                line: 0,
                key: Some(format!("include({})", inc.file)),
                message: format!("cannot find included file `{}`", inc.file),
            })?;
            let name = format!("models/{}", inc.file);
            let raw: RawFile = toml::from_str(&text).map_err(|e| toml_error(&name, &text, &e))?;
            if !raw.params.is_empty()
                || !raw.derived.is_empty()
                || !raw.algorithms.is_empty()
                || !raw.classes.is_empty()
            {
                return Err(Error::Model {
                    file: name,
                    line: 0,
                    key: None,
                    message: "an included fragment holds only components, buffers and includes".into(),
                });
            }
            let frag = FileCtx { file: &name, text: &text }.fragment(&raw)?;
            let nested = frag.includes.clone();
            self.fragments.insert(inc.file.clone(), frag);
            stack.push(inc.file.clone());
            self.load_includes(&nested, &name, resolve, stack)?;
            stack.pop();
        }
        Ok(())
    }

    /// Parameter defaults.
    pub fn params(&self) -> &BTreeMap<String, Value> {
        &self.params
    }

    /// Names of the algorithms the model knows (values of `algorithm`).
    pub fn algorithms(&self) -> Vec<&str> {
        self.algorithms.keys().map(String::as_str).collect()
    }

    /// The model at one set of parameters: defaults, then the selected
    /// algorithm's row, then `sets` (`name = value`, value as `--set` gives
    /// it). Setting an unknown name is an error.
    pub fn instantiate(&self, sets: &[(String, String)]) -> Result<Instance> {
        let err = |key: &str, message: String| Error::Model {
            file: self.source.clone(),
            line: 0,
            key: Some(key.to_string()),
            message,
        };
        let mut values = self.params.clone();
        let mut overrides: BTreeMap<String, Value> = BTreeMap::new();
        for (k, v) in sets {
            if !self.params.contains_key(k) && !self.derived.contains_key(k) {
                let known: Vec<&str> = self.params.keys().chain(self.derived.keys()).map(String::as_str).collect();
                return Err(err(k, format!("unknown parameter (known: {})", known.join(", "))));
            }
            overrides.insert(k.clone(), Value::parse_loose(v));
        }
        if let Some(alg) = overrides.get("algorithm").or(values.get("algorithm")).cloned() {
            if !self.algorithms.is_empty() {
                let Value::Str(name) = &alg else {
                    return Err(err("algorithm", "an algorithm is named by a string".into()));
                };
                let row = self.algorithms.get(name).ok_or_else(|| {
                    err("algorithm", format!("unknown algorithm `{name}` (known: {})", self.algorithms().join(", ")))
                })?;
                values.extend(row.clone());
            }
        }
        values.extend(overrides);
        let mut eval = Evaluator { model: self, values, derived: BTreeMap::new(), busy: HashSet::new() };
        let precision = match eval.lookup("precision") {
            Ok(Value::Str(s)) => parse_precision(&s).filter(|p| *p != Precision::I32),
            _ => None,
        }
        .ok_or_else(|| err("precision", "the model needs a `precision` parameter: f32 or f64".into()))?;
        let mut out = Instance {
            model: self.name.clone(),
            params: BTreeMap::new(),
            components: Vec::new(),
            buffers: Vec::new(),
            group_aliases: Vec::new(),
            table: LifetimeTable::cubie()?.overlaid(self.classes.clone()),
        };
        eval.walk(&self.body, "", &[], precision, &mut out)?;
        out.params = eval.values.clone();
        out.params.extend(eval.derived.clone());
        out.validate()?;
        Ok(out)
    }
}

/// Evaluates names: `with` bindings, then parameters, then derived values
/// (computed on first use; a cycle is an error).
struct Evaluator<'m> {
    model: &'m Model,
    values: BTreeMap<String, Value>,
    derived: BTreeMap<String, Value>,
    busy: HashSet<String>,
}

fn join(at: &str, rel: &str) -> String {
    match (at.is_empty(), rel.is_empty()) {
        (_, true) => at.to_string(),
        (true, false) => rel.to_string(),
        (false, false) => format!("{at}/{rel}"),
    }
}

impl Evaluator<'_> {
    fn lookup(&mut self, name: &str) -> std::result::Result<Value, String> {
        if let Some(v) = self.values.get(name).or(self.derived.get(name)) {
            return Ok(v.clone());
        }
        let Some(d) = self.model.derived.get(name) else {
            return Err(format!("unknown name `{name}`"));
        };
        if !self.busy.insert(name.to_string()) {
            return Err(format!("`{name}` is defined in terms of itself"));
        }
        let v = d.expr.eval(&mut |n| self.lookup(n));
        self.busy.remove(name);
        let v = v.map_err(|m| format!("in derived `{name}`: {m}"))?;
        self.derived.insert(name.to_string(), v.clone());
        Ok(v)
    }

    fn eval(&mut self, e: &Located, scope: &[(String, Value)]) -> Result<Value> {
        e.expr
            .eval(&mut |n| match scope.iter().rev().find(|(k, _)| k == n) {
                Some((_, v)) => Ok(v.clone()),
                None => self.lookup(n),
            })
            .map_err(|m| e.at.error(m))
    }

    fn cond(&mut self, e: &Option<Located>, scope: &[(String, Value)]) -> Result<bool> {
        match e {
            None => Ok(true),
            Some(e) => match self.eval(e, scope)? {
                Value::Int(i) => Ok(i != 0),
                Value::Str(s) => Err(e.at.error(format!("a condition must be an integer, got '{s}'"))),
            },
        }
    }

    fn walk(
        &mut self,
        frag: &Fragment,
        at: &str,
        scope: &[(String, Value)],
        precision: Precision,
        out: &mut Instance,
    ) -> Result<()> {
        for c in &frag.components {
            if !self.cond(&c.when, scope)? {
                continue;
            }
            let path = join(at, &c.path);
            if let Some(target) = &c.aliases {
                out.group_aliases.push(group_alias(&path, target, &c.at)?);
            }
            out.components.push(ComponentDecl { path, class: c.class.clone(), precision });
        }
        for b in &frag.buffers {
            if !self.cond(&b.when, scope)? {
                continue;
            }
            let size = match self.eval(&b.size, scope)? {
                Value::Int(i) => u64::try_from(i).map_err(|_| b.size.at.error(format!("size {i} is negative")))?,
                Value::Str(s) => return Err(b.size.at.error(format!("a size must be an integer, got '{s}'"))),
            };
            let location = match self.eval(&b.location, scope)? {
                Value::Str(s) => s.parse::<Location>().map_err(|m| b.location.at.error(m))?,
                Value::Int(i) => {
                    return Err(b.location.at.error(format!("a location is 'shared' or 'local', got {i}")))
                }
            };
            out.buffers.push(BufferDecl {
                component: join(at, &b.component),
                name: b.name.clone(),
                size,
                precision: match b.dtype {
                    Dtype::Run => precision,
                    Dtype::Fixed(p) => p,
                },
                location,
                persistent: b.persistent,
                aliases: b.aliases.clone(),
            });
        }
        for inc in &frag.includes {
            if !self.cond(&inc.when, scope)? {
                continue;
            }
            let mut inner = scope.to_vec();
            for (k, e) in &inc.with {
                let v = self.eval(e, scope)?;
                inner.push((k.clone(), v));
            }
            let child_at = join(at, &inc.at);
            let fragment = self.model.fragments.get(&inc.file).ok_or_else(|| Error::Model {
                file: self.model.source.clone(),
                line: 0,
                key: Some(format!("include({})", inc.file)),
                message: "fragment not loaded".into(),
            })?;
            if let Some(target) = &inc.aliases {
                let at = At { file: self.model.source.clone(), line: 0, key: format!("include({}).aliases", inc.file) };
                out.group_aliases.push(group_alias(&child_at, target, &at)?);
            }
            self.walk(fragment, &child_at, &inner, precision, out)?;
        }
        Ok(())
    }
}

/// The group alias of child `path` onto `target` of its parent.
fn group_alias(path: &str, target: &str, at: &At) -> Result<GroupAlias> {
    let (parent, child) = path.rsplit_once('/').ok_or_else(|| at.error("only a child component can alias"))?;
    Ok(GroupAlias {
        component: parent.to_string(),
        entry: format!("{child}_shared"),
        child: path.to_string(),
        target: target.to_string(),
    })
}

/// A model at one set of parameters: declarations ready for [`crate::plan`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// The model's name.
    pub model: String,
    /// Every parameter and derived value used.
    pub params: BTreeMap<String, Value>,
    /// Components, in declaration order.
    pub components: Vec<ComponentDecl>,
    /// Leaf buffers, in declaration order.
    pub buffers: Vec<BufferDecl>,
    /// Children whose whole shared region aliases a target.
    pub group_aliases: Vec<GroupAlias>,
    /// The lifetime table: the built-in CuBIE table with the model's
    /// classes over it.
    pub table: LifetimeTable,
}

impl Instance {
    fn validate(&self) -> Result<()> {
        let err =
            |key: String, message: String| Error::Model { file: self.model.clone(), line: 0, key: Some(key), message };
        let mut paths = HashSet::new();
        for c in &self.components {
            if !paths.insert(c.path.as_str()) {
                return Err(err(format!("component({})", c.path), "two components share this path".into()));
            }
        }
        let mut names = HashSet::new();
        for b in &self.buffers {
            if !paths.contains(b.component.as_str()) {
                return Err(err(format!("buffer({}/{})", b.component, b.name), "no such component".into()));
            }
            if b.name.is_empty() || !names.insert((b.component.as_str(), b.name.as_str())) {
                return Err(err(format!("buffer({}/{})", b.component, b.name), "empty or repeated name".into()));
            }
        }
        Ok(())
    }

    /// The declarations placed by CuBIE's pool rules.
    pub fn plan_input(&self) -> Result<PlanInput> {
        PlanInput::from_decls(&self.model, self.components.clone(), self.buffers.clone(), self.group_aliases.clone())
    }

    /// Plans this instance with its lifetime table.
    pub fn plan(&self, options: &PlanOptions) -> Result<PlanReport> {
        crate::plan::plan(&self.plan_input()?, &self.table, options)
    }

    /// CuBIE 0.17.0's registry for this instance, and the path of its
    /// top-level component (the one component without a parent).
    ///
    /// Each component registers its own buffers and rolls up its children
    /// (a child is the component one path segment below it; a whole-child
    /// alias becomes the roll-up's alias) in the order its class's
    /// `registration` list gives (see [`crate::lifetimes::ClassLifetimes`]).
    pub fn registry(&self) -> Result<(Registry, String)> {
        let err = |message: String| Error::Model { file: self.model.clone(), line: 0, key: None, message };
        let paths: HashSet<&str> = self.components.iter().map(|c| c.path.as_str()).collect();
        fn parent_of<'a>(paths: &HashSet<&str>, path: &'a str) -> Option<&'a str> {
            path.rfind('/').map(|k| &path[..k]).filter(|p| paths.contains(p))
        }
        let roots: Vec<&str> =
            self.components.iter().map(|c| c.path.as_str()).filter(|p| parent_of(&paths, p).is_none()).collect();
        let root = match roots.as_slice() {
            [root] => root.to_string(),
            _ => {
                return Err(err(format!(
                    "a kernel has one top-level component; this one has {} ({})",
                    roots.len(),
                    roots.join(", ")
                )))
            }
        };
        let registrations = self
            .components
            .iter()
            .map(|c| {
                let own = self
                    .buffers
                    .iter()
                    .filter(|b| b.component == c.path)
                    .map(|b| (b.name.clone(), Registration::Buffer(b.clone())));
                let children =
                    self.components.iter().filter(|k| parent_of(&paths, &k.path) == Some(c.path.as_str())).map(|k| {
                        let name = k.path.rsplit('/').next().unwrap_or_default().to_string();
                        let aliases = self.group_aliases.iter().find(|g| g.child == k.path).map(|g| g.target.clone());
                        (name.clone(), Registration::Child { name, component: k.path.clone(), aliases })
                    });
                let order = self.table.classes.get(&c.class).map_or(&[][..], |l| l.registration.as_slice());
                in_registration_order(own.chain(children).collect(), order)
                    .map_err(|m| err(format!("component `{}` ({}): {m}", c.path, c.class)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((Registry::replay(&self.components, &registrations)?, root))
    }
}

/// `items` (own buffers, then children, each in declaration order) arranged
/// by a class's `registration` list.
fn in_registration_order(
    items: Vec<(String, Registration)>,
    order: &[String],
) -> std::result::Result<Vec<Registration>, String> {
    if order.is_empty() {
        return Ok(items.into_iter().map(|(_, r)| r).collect());
    }
    for name in order {
        if items.iter().filter(|(n, _)| n == name).count() > 1 {
            return Err(format!("`{name}` in its class's registration list names both a buffer and a child"));
        }
    }
    let (named, rest): (Vec<_>, Vec<_>) = items.into_iter().partition(|(n, _)| order.contains(n));
    let mut named: HashMap<String, Registration> = named.into_iter().collect();
    let mut rest = Some(rest);
    let mut out = Vec::new();
    for name in order {
        if name == REGISTRATION_REST {
            out.extend(rest.take().into_iter().flatten().map(|(_, r)| r));
        } else if let Some(r) = named.remove(name) {
            out.push(r);
        }
    }
    out.extend(rest.into_iter().flatten().map(|(_, r)| r));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Model> {
        Model::parse("m.toml", text, &|f| match f {
            "frag.toml" => Some("[[buffer]]\ncomponent = \"\"\nname = \"w\"\nsize = \"width * 2\"\n".into()),
            "bad.toml" => Some("[[buffer]]\ncomponent = \"\"\nname = \"w\"\nsize = \"width *\"\n".into()),
            "cycle.toml" => Some("[[include]]\nfile = \"cycle.toml\"\n".into()),
            _ => None,
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
            (
                r#"size = "twice + 1""#,
                r#"size = "twice +""#,
                "m.toml",
                None,
                Some("buffer(k/x).size"),
                "unexpected end",
            ),
            ("dtype = \"i32\"", "dtype = \"u8\"", "m.toml", None, Some("buffer(k/y).dtype"), "unknown dtype"),
            ("n = 4\nbig", "m = 4\nbig", "m.toml", None, Some("algorithms.b.m"), "not a parameter"),
            (
                "file = \"frag.toml\"",
                "file = \"bad.toml\"",
                "models/bad.toml",
                Some(4),
                Some("buffer(/w).size"),
                "unexpected end",
            ),
            (
                "file = \"frag.toml\"",
                "file = \"cycle.toml\"",
                "models/cycle.toml",
                Some(0),
                Some("include(cycle.toml)"),
                "cycle",
            ),
            (
                "file = \"frag.toml\"",
                "file = \"nowhere.toml\"",
                "m.toml",
                Some(0),
                Some("include(nowhere.toml)"),
                "cannot find",
            ),
            ("name = \"toy\"", "name = \"toy\"\nbogus = 1", "m.toml", Some(3), None, "unknown field"),
            ("twice = \"2 * n\"", "n = \"2 * n\"", "m.toml", None, Some("derived.n"), "already a parameter"),
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

    #[test]
    fn the_documented_error_example_holds() {
        // docs/models.md quotes this message.
        let text = builtin_file("dirk.toml").unwrap().replace("\"(stages - 1) * n\"", "\"(stages - 1 * n\"");
        let e = Model::parse("models/dirk.toml", &text, &|f| builtin_file(f).map(str::to_string)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "models/dirk.toml:106: key `buffer(kernel/loop/algorithm/accumulator).size`: in `(stages - 1 * n`: expected `)`"
        );
    }

    #[test]
    fn instantiation_errors() {
        let m = parse(GOOD).unwrap();
        let e = m.instantiate(&[("nn".into(), "1".into())]).unwrap_err();
        assert!(e.to_string().contains("unknown parameter"), "{e}");
        let e = m.instantiate(&[("algorithm".into(), "zz".into())]).unwrap_err();
        assert!(e.to_string().contains("unknown algorithm `zz`"), "{e}");
        let e = m.instantiate(&[("n".into(), "-9".into())]).unwrap_err();
        assert!(e.to_string().contains("negative"), "{e}");
        let e = m.instantiate(&[("loc".into(), "texture".into())]).unwrap_err();
        assert!(e.to_string().contains("invalid location"), "{e}");
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
        let names =
            |id: &str| -> Vec<String> { r.group(id).unwrap().entries().iter().map(|e| e.name.clone()).collect() };
        assert_eq!(names("k"), ["state", "step_shared", "step_persistent"]);
        assert_eq!(names("k/step"), ["inner_shared", "inner_persistent", "early", "late"]);
        // `late` fits inside the inner region at its start: 3 + 4 + 1 = 8.
        let f = r.footprint("k").unwrap();
        assert_eq!((f.shared_elements, f.local_elements), (8, 0));
        let late = r.flatten("k").unwrap().into_iter().find(|b| b.name == "late").unwrap();
        assert_eq!(late.region, crate::registry::Region::Shared(3..5));
    }

    #[test]
    fn registry_errors_name_the_model() {
        let two_roots = ORDERED
            .replace("path = \"k/step/inner\"", "path = \"other\"")
            .replace("component = \"k/step/inner\"", "component = \"other\"");
        let e = parse(&two_roots).unwrap().instantiate(&[]).unwrap().registry().unwrap_err();
        assert!(e.to_string().contains("one top-level component; this one has 2 (k, other)"), "{e}");
        let ambiguous = ORDERED.replace("name = \"early\"", "name = \"inner\"");
        let e = parse(&ambiguous).unwrap().instantiate(&[]).unwrap().registry().unwrap_err();
        assert!(e.to_string().contains("`inner` in its class's registration list names both"), "{e}");
        let twice = ORDERED.replace(r#"["inner", "...", "late"]"#, r#"["inner", "inner"]"#);
        let e = parse(&twice).unwrap_err();
        assert!(e.to_string().contains("key `Step.registration`: `inner` is empty or named twice"), "{e}");
    }

    #[test]
    fn every_builtin_model_instantiates_and_plans() {
        for name in builtin_names() {
            let m = builtin(name).unwrap();
            let algorithms: Vec<String> = m.algorithms().into_iter().map(String::from).collect();
            let runs = if algorithms.is_empty() { vec![None] } else { algorithms.into_iter().map(Some).collect() };
            for alg in runs {
                let sets: Vec<(String, String)> = alg.iter().map(|a| ("algorithm".to_string(), a.clone())).collect();
                let inst = m.instantiate(&sets).unwrap();
                let r = inst.plan(&PlanOptions::default()).unwrap();
                assert!(r.unmapped.is_empty(), "{name} {alg:?}: {:?}", r.unmapped);
                assert!(r.refused_aliases.is_empty(), "{name} {alg:?}: {:?}", r.refused_aliases);
            }
        }
        assert!(builtin("nope").is_err());
        let d = default_model().unwrap().instantiate(&[]).unwrap();
        assert_eq!(d.params.get("n"), Some(&Value::Int(100)));
    }
}
