//! Instantiation: a model at one set of parameters (defaults, the selected
//! algorithm's row, then `--set` values), its expressions evaluated, to a
//! [`Kernel`]: declarations ready for the planner and the registry.

use super::expr::Value;
use super::parse::parse_precision;
use super::{At, Dtype, Fragment, Located, Model};
use crate::accesses::Weights;
use crate::error::{Error, RegistryError, Result};
use crate::lifetimes::LifetimeTable;
use crate::registry::Registry;
use crate::{BufferDecl, ComponentDecl, GroupAlias, Location, Precision};
use std::collections::{BTreeMap, HashMap, HashSet};

impl Model {
    /// The model at one set of parameters: defaults, then the selected
    /// algorithm's row, then `sets` (`name = value`, value as `--set` gives
    /// it). Setting an unknown name is an error.
    pub fn instantiate(&self, sets: &[(String, String)]) -> Result<Kernel> {
        let err = |key: &str, message: String| Error::Model {
            file: self.label(),
            line: 0,
            key: Some(key.to_string()),
            message,
        };
        let mut values = self.params.clone();
        let mut overrides: BTreeMap<String, Value> = BTreeMap::new();
        for (k, v) in sets {
            if !self.params.contains_key(k) && !self.derived.contains_key(k) {
                return Err(err(k, format!("unknown parameter {}", self.known_names(k))));
            }
            let value = Value::parse_loose(v).map_err(|m| err(k, m))?;
            if let Some(allowed) = self.allowed.get(k) {
                allowed.check(k, &value).map_err(|m| err(k, m))?;
            }
            overrides.insert(k.clone(), value);
        }
        if let Some(alg) = overrides.get("algorithm").or(values.get("algorithm")).cloned() {
            if !self.algorithms.is_empty() {
                let Value::Str(name) = &alg else {
                    return Err(err("algorithm", "an algorithm is named by a string".into()));
                };
                let row = self.algorithms.get(name).ok_or_else(|| {
                    let known = self.algorithms();
                    let hint = smemplan_core::error::did_you_mean(name, known.iter().copied());
                    err("algorithm", format!("unknown algorithm `{name}` (known: {}){hint}", known.join(", ")))
                })?;
                values.extend(row.clone());
            }
        }
        values.extend(overrides);
        let mut eval = Evaluator {
            model: self,
            values,
            derived: BTreeMap::new(),
            busy: HashSet::new(),
            declared: Vec::new(),
            buffers_at: Vec::new(),
            group_aliases_at: Vec::new(),
        };
        let precision = match eval.lookup("precision") {
            Ok(Value::Str(s)) => parse_precision(&s)
                .filter(|p| *p != Precision::I32)
                .ok_or_else(|| err("precision", format!("`{s}` is not a run precision: one of f32, f64")))?,
            // Say what is wrong with the value, not that it is missing.
            Ok(other) => {
                return Err(err("precision", format!("{other} is not a run precision: one of f32, f64")));
            }
            Err(_) => return Err(err("precision", "the model needs a `precision` parameter: f32 or f64".into())),
        };
        let mut out = Kernel {
            model: self.name.clone(),
            params: BTreeMap::new(),
            components: Vec::new(),
            buffers: Vec::new(),
            group_aliases: Vec::new(),
            table: self.table.clone(),
            accesses: Weights::default(),
        };
        if let Some(cost) = self.local_hit_per_shared {
            out.accesses.set_local_hit_per_shared(cost);
        }
        eval.walk(&self.body, "", &[], precision, &mut out)?;
        let origins =
            Origins { components: &eval.declared, buffers: &eval.buffers_at, group_aliases: &eval.group_aliases_at };
        each_component_once(&out.components, &origins)?;
        one_top_level_component(&out.components, &eval.declared)?;
        each_buffer_in_place(&out, &origins)?;
        // What CuBIE's registry refuses is refused here, where the
        // declaration it names is known: every later step (plan, sweep,
        // the registry) gets a kernel the registry takes.
        if let Err(e) = out.registry() {
            return Err(match e {
                Error::Registry(e) => origins.locate(&out, &e).unwrap_or_else(|| Error::Model {
                    file: self.label(),
                    line: 0,
                    key: None,
                    message: e.to_string(),
                }),
                other => other,
            });
        }
        out.params = eval.values.clone();
        out.params.extend(eval.derived.clone());
        Ok(out)
    }
}

/// How deeply derived values may be defined in terms of other derived
/// values (`a = b + 1`, `b = c + 1`, …). Evaluation recurses along such a
/// chain, each level through an expression of up to
/// [`super::expr::MAX_DEPTH`], so this bounds the stack; real models stay
/// below 5.
pub(super) const MAX_DERIVED_DEPTH: usize = 64;

/// Where each component and buffer of a kernel was declared (in the
/// kernel's order).
struct Origins<'a> {
    components: &'a [At],
    buffers: &'a [BufferAt],
    /// Where each of the kernel's group aliases was written.
    group_aliases: &'a [At],
}

/// Where a buffer was declared: the item, and its size.
#[derive(Debug, Clone)]
struct BufferAt {
    at: At,
    size: At,
}

/// `line N`, or `FILE:N` when `first` is in another file than `at`.
fn first_at(first: &At, at: &At) -> String {
    if first.file == at.file {
        format!("line {}", first.line)
    } else {
        format!("{}:{}", first.file, first.line)
    }
}

/// Each component is declared once (the walk checks each path's segments).
fn each_component_once(components: &[ComponentDecl], origins: &Origins) -> Result<()> {
    let mut first: HashMap<&str, usize> = HashMap::new();
    for (i, c) in components.iter().enumerate() {
        if let Some(&j) = first.get(c.path.as_str()) {
            let (at, earlier) = (&origins.components[i], &origins.components[j]);
            return Err(at.error(format!(
                "component `{}` is declared twice (first at {})",
                c.path,
                first_at(earlier, at)
            )));
        }
        first.insert(&c.path, i);
    }
    Ok(())
}

/// Each buffer belongs to a declared component, has a name no other
/// buffer of its component has, and a size whose bytes fit in 64 bits,
/// as do the bytes of all buffers together (so that no total or offset
/// of CuBIE's layout or of a plan overflows on the way).
fn each_buffer_in_place(kernel: &Kernel, origins: &Origins) -> Result<()> {
    let paths: HashSet<&str> = kernel.components.iter().map(|c| c.path.as_str()).collect();
    let mut first: HashMap<(&str, &str), usize> = HashMap::new();
    let mut total = 0u64;
    for (i, b) in kernel.buffers.iter().enumerate() {
        let BufferAt { at, size } = &origins.buffers[i];
        if !paths.contains(b.component.as_str()) {
            let hint =
                smemplan_core::error::did_you_mean(&b.component, kernel.components.iter().map(|c| c.path.as_str()));
            return Err(at.error(format!("component `{}` is not declared{hint}", b.component)));
        }
        if b.name.is_empty() {
            return Err(at.error("a buffer name cannot be empty"));
        }
        if let Some(&j) = first.get(&(b.component.as_str(), b.name.as_str())) {
            return Err(at.error(format!(
                "buffer `{}` of component `{}` is declared twice (first at {})",
                b.name,
                b.component,
                first_at(&origins.buffers[j].at, at)
            )));
        }
        first.insert((&b.component, &b.name), i);
        let item = b.precision.itemsize();
        let Some(bytes) = b.size.checked_mul(item) else {
            return Err(size.error(format!(
                "{} elements of {} are {} bytes, more than 64 bits hold",
                b.size,
                b.precision,
                u128::from(b.size) * u128::from(item)
            )));
        };
        total = total.checked_add(bytes).ok_or_else(|| {
            size.error(format!(
                "its {bytes} bytes bring the kernel's buffers to {} bytes, more than 64 bits hold",
                u128::from(total) + u128::from(bytes)
            ))
        })?;
    }
    Ok(())
}

impl Origins<'_> {
    /// A registry error of `kernel` as [`Error::Model`] at the declaration
    /// it names (a buffer's, else its component's), its message without
    /// the component the key already names; `None` where it names none.
    fn locate(&self, kernel: &Kernel, e: &RegistryError) -> Option<Error> {
        let component = |path: &str| {
            kernel.components.iter().position(|c| c.path == path).map(|i| (&self.components[i], path.to_string()))
        };
        let buffer = |path: &str, name: &str| {
            kernel.buffers.iter().position(|b| b.component == path && b.name == name).map(|i| &self.buffers[i].at)
        };
        // A buffer, else the group alias that made roll-up entry `name`,
        // else the child whose roll-up it is, else the component.
        let entry = |path: &str, name: &str| {
            buffer(path, name).map(|at| (at, path.to_string())).or_else(|| {
                let alias = kernel.group_aliases.iter().position(|g| g.component == path && g.entry == name);
                if let Some(i) = alias {
                    return Some((&self.group_aliases[i], path.to_string()));
                }
                let child = name.strip_suffix("_shared").or_else(|| name.strip_suffix("_persistent"))?;
                component(&format!("{path}/{child}"))
            })
        };
        let entry_or_component = |path: &str, name: &str| entry(path, name).or_else(|| component(path));
        // The component the message opens with (`component `k`: ...`).
        let (at, opens) = match e {
            RegistryError::SelfAlias { parent, name }
            | RegistryError::UnknownAliasTarget { parent, name, .. }
            | RegistryError::UnknownBuffer { parent, name }
            | RegistryError::InvalidLocation { parent, name, .. } => {
                (entry_or_component(parent, name)?.0, parent.clone())
            }
            RegistryError::EmptyName { parent }
            | RegistryError::UnknownParent { parent }
            | RegistryError::StaleRollup { parent, .. }
            | RegistryError::RollupMisplaced { parent, .. }
            | RegistryError::SlashInChildName { parent, .. } => component(parent)?,
            RegistryError::InvalidComponent { id, .. } => component(id)?,
            RegistryError::AmbiguousRegistration { component: c, .. } => component(c)?,
            RegistryError::ChildCycle { child, .. }
            | RegistryError::PrecisionMismatch { child, .. }
            | RegistryError::SharedChild { child, .. } => component(child)?,
            // The registry's totals name their component in the message
            // (`registry::cubie`): the longest path named is the one.
            RegistryError::Overflow(message) => kernel
                .components
                .iter()
                .filter(|c| message.ends_with(&format!("of component `{}`", c.path)))
                .max_by_key(|c| c.path.len())
                .and_then(|c| component(&c.path))?,
            RegistryError::RootCount { .. } => return None,
        };
        let message = e.to_string();
        let message = message.strip_prefix(&format!("component `{opens}`: ")).unwrap_or(&message);
        Some(at.error(message))
    }
}

/// A kernel is one tree of components: every component but the top-level
/// one sits one path segment below another. When there are several trees,
/// the largest is taken for the kernel's, and the error names the first
/// other top-level component where it was declared, and every top-level one.
fn one_top_level_component(components: &[ComponentDecl], declared: &[At]) -> Result<()> {
    let paths: HashSet<&str> = components.iter().map(|c| c.path.as_str()).collect();
    let top: Vec<usize> = (0..components.len())
        .filter(|&i| components[i].path.rfind('/').is_none_or(|k| !paths.contains(&components[i].path[..k])))
        .collect();
    if top.len() < 2 {
        return Ok(());
    }
    let size = |i: usize| {
        let root = &components[i].path;
        components.iter().filter(|c| c.path.strip_prefix(root.as_str()).is_some_and(|r| r.starts_with('/'))).count()
    };
    // The largest tree; the first of equals.
    let first = top.iter().copied().rev().max_by_key(|&i| size(i)).expect("two or more");
    let second = top.iter().copied().find(|&i| i != first).expect("two or more");
    let names: Vec<String> =
        top.iter().map(|&i| format!("`{}` ({}:{})", components[i].path, declared[i].file, declared[i].line)).collect();
    Err(declared[second].error(format!(
        "component `{}` has no parent, but `{}` is already the kernel's top-level component (a kernel is one tree; \
         top-level components: {})",
        components[second].path,
        components[first].path,
        names.join(", ")
    )))
}

/// Evaluates names: `with` bindings, then parameters, then derived values
/// (computed on first use; a cycle is an error).
struct Evaluator<'m> {
    model: &'m Model,
    values: BTreeMap<String, Value>,
    derived: BTreeMap<String, Value>,
    busy: HashSet<String>,
    /// Where each component of the kernel was declared, in its order.
    declared: Vec<At>,
    /// Where each buffer of the kernel was declared, in its order.
    buffers_at: Vec<BufferAt>,
    /// Where each group alias of the kernel was written, in its order.
    group_aliases_at: Vec<At>,
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
        if self.busy.contains(name) {
            return Err(format!("`{name}` is defined in terms of itself"));
        }
        if self.busy.len() >= MAX_DERIVED_DEPTH {
            return Err(format!(
                "derived values are defined in terms of each other more than {MAX_DERIVED_DEPTH} deep (reaching `{name}`)"
            ));
        }
        self.busy.insert(name.to_string());
        let v = d.value.expr.eval(&mut |n| self.lookup(n));
        self.busy.remove(name);
        // Only the innermost derived value is named: a chain's every link
        // would make a message as long as the chain.
        let v = v.map_err(|m| if m.starts_with("in derived") { m } else { format!("in derived `{name}`: {m}") })?;
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
        out: &mut Kernel,
    ) -> Result<()> {
        for c in &frag.components {
            if !self.cond(&c.when, scope)? {
                continue;
            }
            let path = join(at, &c.path);
            if path.is_empty() {
                return Err(c.at.error("a component path cannot be empty"));
            }
            if path.split('/').any(str::is_empty) {
                return Err(c.at.error(format!("component path `{path}` has an empty segment")));
            }
            if let Some(target) = &c.aliases {
                let at = At { key: format!("{}.aliases", c.at.key), ..c.at.clone() };
                out.group_aliases.push(group_alias(&path, target, &at)?);
                self.group_aliases_at.push(at);
            }
            out.components.push(ComponentDecl { path, class: c.class.clone(), precision });
            self.declared.push(c.at.clone());
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
            if !b.accesses.is_empty() {
                let mut phases = Vec::new();
                for (phase, e) in &b.accesses {
                    let w = match self.eval(e, scope)? {
                        Value::Int(i) => {
                            u64::try_from(i).map_err(|_| e.at.error(format!("accesses {i} are negative")))?
                        }
                        Value::Str(s) => return Err(e.at.error(format!("accesses must be an integer, got '{s}'"))),
                    };
                    phases.push((phase.clone(), w));
                }
                out.accesses.set(&format!("{}/{}", join(at, &b.component), b.name), phases);
            }
            if b.registers.is_some() && self.cond(&b.registers, scope)? {
                out.accesses.set_in_registers(&format!("{}/{}", join(at, &b.component), b.name));
            }
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
            self.buffers_at.push(BufferAt { at: b.at.clone(), size: b.size.at.clone() });
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
            let fragment = self.model.fragments.get(&inc.file).ok_or_else(|| inc.place.error("fragment not loaded"))?;
            if let Some(target) = &inc.aliases {
                let at = At { key: format!("{}.aliases", inc.place.key), ..inc.place.clone() };
                out.group_aliases.push(group_alias(&child_at, target, &at)?);
                self.group_aliases_at.push(at);
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

/// A model at one set of parameters: declarations ready for the planner
/// (`smemplan_plan::plan_kernel`).
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
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
    /// classes over it (shared by every instance of the model).
    pub table: std::sync::Arc<LifetimeTable>,
    /// Access weights per buffer and phase ([`crate::accesses`]).
    pub accesses: Weights,
}

impl Kernel {
    /// CuBIE 0.17.0's registry for this kernel, and the path of its
    /// top-level component (the one component without a parent), built as
    /// [`Registry::from_declarations`] says, in the registration order of
    /// each class of the kernel's lifetime table.
    pub fn registry(&self) -> Result<(Registry, String)> {
        let order = |class: &str| self.table.classes.get(class).map_or(&[][..], |l| l.registration.as_slice());
        Ok(Registry::from_declarations(&self.components, &self.buffers, &self.group_aliases, order)?)
    }
}
