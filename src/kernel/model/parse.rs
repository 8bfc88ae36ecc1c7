//! Parsing: a model file's TOML, its includes resolved and loaded, every
//! expression, dtype and phase checked up front, to a [`Model`].

use super::allowed::Allowed;
use super::expr::{self, Expr, Value};
use super::{At, BufferItem, ComponentItem, DerivedItem, Dtype, Fragment, IncludeItem, Located, Model};
use crate::error::{toml_error, Error, Result};
use crate::lifetimes::lines::Lines;
use crate::lifetimes::table::RawClass;
use crate::lifetimes::LifetimeTable;
use crate::Precision;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use toml::Spanned;

/// An integer or an expression (`size = 4`, `size = "2 * n"`).
#[derive(Debug, Clone)]
enum IntOrText {
    Int(i64),
    Text(String),
    /// An integer TOML reads but 64 bits do not hold (its digits): refused
    /// where its key is known ([`too_large`]).
    Huge(String),
}

impl<'de> Deserialize<'de> for IntOrText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = IntOrText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer or an expression (a string)")
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<IntOrText, E> {
                Ok(IntOrText::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<IntOrText, E> {
                Ok(fits(v).map_or_else(IntOrText::Huge, IntOrText::Int))
            }
            fn visit_i128<E>(self, v: i128) -> std::result::Result<IntOrText, E> {
                Ok(fits(v).map_or_else(IntOrText::Huge, IntOrText::Int))
            }
            fn visit_u128<E>(self, v: u128) -> std::result::Result<IntOrText, E> {
                Ok(fits(v).map_or_else(IntOrText::Huge, IntOrText::Int))
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<IntOrText, E> {
                Ok(IntOrText::Text(v.to_string()))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// A parameter's value as written: an integer, a boolean or a string; an
/// integer 64 bits do not hold (its digits); or anything else.
#[derive(Debug, Clone)]
enum Scalar {
    Int(i64),
    Bool(bool),
    Str(String),
    Huge(String),
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess};
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer, a boolean or a string")
            }
            fn visit_bool<E>(self, v: bool) -> std::result::Result<Scalar, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> std::result::Result<Scalar, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E>(self, v: u64) -> std::result::Result<Scalar, E> {
                Ok(fits(v).map_or_else(Scalar::Huge, Scalar::Int))
            }
            fn visit_i128<E>(self, v: i128) -> std::result::Result<Scalar, E> {
                Ok(fits(v).map_or_else(Scalar::Huge, Scalar::Int))
            }
            fn visit_u128<E>(self, v: u128) -> std::result::Result<Scalar, E> {
                Ok(fits(v).map_or_else(Scalar::Huge, Scalar::Int))
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<Scalar, E> {
                Ok(Scalar::Other)
            }
            fn visit_str<E>(self, v: &str) -> std::result::Result<Scalar, E> {
                Ok(Scalar::Str(v.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Scalar, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            // Tables, and dates (which TOML hands over as tables).
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Scalar, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl Scalar {
    /// The value, or `Err` saying what is wrong (`what`: what the value
    /// must be).
    fn value(&self, what: &str) -> std::result::Result<Value, String> {
        match self {
            Scalar::Int(i) => Ok(Value::Int(*i)),
            Scalar::Bool(b) => Ok(Value::Int(i64::from(*b))),
            Scalar::Str(s) => Ok(Value::Str(s.clone())),
            Scalar::Huge(digits) => Err(too_large(digits)),
            Scalar::Other => Err(what.to_string()),
        }
    }
}

/// `v` as an `i64`, or its digits where 64 bits do not hold it (TOML hands
/// over large integers as `u64`, `i128` or `u128`).
fn fits<N: Copy + ToString>(v: N) -> std::result::Result<i64, String>
where
    i64: TryFrom<N>,
{
    i64::try_from(v).map_err(|_| v.to_string())
}

/// What an integer 64 bits do not hold is told (the words of `--set`'s).
fn too_large(digits: &str) -> String {
    format!("integer `{digits}` does not fit in 64 bits (integers lie in {} ..= {})", i64::MIN, i64::MAX)
}

/// A condition: `true`, `false` or an expression.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged, expecting = "`registers` is true, false or a condition (a string)")]
enum BoolOrText {
    Bool(bool),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Option<String>,
    description: Option<String>,
    #[serde(default)]
    params: BTreeMap<String, Spanned<Scalar>>,
    #[serde(default)]
    allowed: BTreeMap<String, Spanned<AllowedSpec>>,
    #[serde(default)]
    derived: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    algorithms: BTreeMap<String, BTreeMap<String, Spanned<Scalar>>>,
    #[serde(default)]
    classes: BTreeMap<String, RawClass>,
    #[serde(default)]
    include: Vec<RawInclude>,
    #[serde(default)]
    component: Vec<RawComponent>,
    #[serde(default)]
    buffer: Vec<RawBuffer>,
    #[serde(default)]
    local_hit_per_shared: Option<Spanned<toml::Value>>,
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
    /// Element accesses per instant of a phase (`crate::accesses`).
    #[serde(default)]
    accesses: BTreeMap<String, Spanned<IntOrText>>,
    /// Whether the kernel indexes it only with compile-time indices (a
    /// condition; `crate::accesses`).
    #[serde(default)]
    registers: Option<Spanned<BoolOrText>>,
}

/// An `[allowed]` entry as written: a list of choices, a table (of
/// bounds), or anything else.
#[derive(Debug, Clone)]
enum AllowedSpec {
    List(Vec<Scalar>),
    Table(Vec<(String, Scalar)>),
    Other,
}

impl<'de> Deserialize<'de> for AllowedSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::{MapAccess, SeqAccess};
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = AllowedSpec;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of choices, or { min = …, max = … }")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<AllowedSpec, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Scalar>()? {
                    items.push(item);
                }
                Ok(AllowedSpec::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<AllowedSpec, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Scalar>()? {
                    entries.push(entry);
                }
                Ok(AllowedSpec::Table(entries))
            }
            fn visit_bool<E>(self, _: bool) -> std::result::Result<AllowedSpec, E> {
                Ok(AllowedSpec::Other)
            }
            fn visit_i64<E>(self, _: i64) -> std::result::Result<AllowedSpec, E> {
                Ok(AllowedSpec::Other)
            }
            fn visit_u64<E>(self, _: u64) -> std::result::Result<AllowedSpec, E> {
                Ok(AllowedSpec::Other)
            }
            fn visit_i128<E>(self, _: i128) -> std::result::Result<AllowedSpec, E> {
                Ok(AllowedSpec::Other)
            }
            fn visit_u128<E>(self, _: u128) -> std::result::Result<AllowedSpec, E> {
                Ok(AllowedSpec::Other)
            }
            fn visit_f64<E>(self, _: f64) -> std::result::Result<AllowedSpec, E> {
                Ok(AllowedSpec::Other)
            }
            fn visit_str<E>(self, _: &str) -> std::result::Result<AllowedSpec, E> {
                Ok(AllowedSpec::Other)
            }
        }
        d.deserialize_any(Visitor)
    }
}

pub(super) fn parse_precision(s: &str) -> Option<Precision> {
    s.parse::<Precision>().ok()
}

struct FileCtx<'a> {
    file: &'a str,
    /// The file's line starts: every kept key names its line.
    lines: Lines,
}

impl FileCtx<'_> {
    fn at<T>(&self, spanned: &Spanned<T>, key: String) -> At {
        At { file: self.file.to_string(), line: self.lines.line_of(spanned.span().start), key }
    }

    fn expr(&self, spanned: &Spanned<String>, key: String) -> Result<Located> {
        let at = self.at(spanned, key);
        let expr = Expr::parse(spanned.get_ref())
            .map_err(|m| at.error(format!("in `{}`: {m}", expr::excerpt(spanned.get_ref()))))?;
        Ok(Located { expr, at })
    }

    fn condition(&self, spanned: &Spanned<BoolOrText>, key: String) -> Result<Located> {
        match spanned.get_ref() {
            BoolOrText::Bool(b) => {
                Ok(Located { expr: Expr::Lit(Value::Int(i64::from(*b))), at: self.at(spanned, key) })
            }
            BoolOrText::Text(t) => self.expr(&Spanned::new(spanned.span(), t.clone()), key),
        }
    }

    fn int_or_expr(&self, spanned: &Spanned<IntOrText>, key: String) -> Result<Located> {
        match spanned.get_ref() {
            IntOrText::Int(i) => Ok(Located { expr: Expr::Lit(Value::Int(*i)), at: self.at(spanned, key) }),
            IntOrText::Text(t) => self.expr(&Spanned::new(spanned.span(), t.clone()), key),
            IntOrText::Huge(digits) => Err(self.at(spanned, key).error(too_large(digits))),
        }
    }

    /// Each parameter's allowed values (see [`Allowed`]), with every
    /// default and algorithm row checked against them.
    fn allowed(
        &self,
        raw: &RawFile,
        algorithms: &BTreeMap<String, BTreeMap<String, Value>>,
    ) -> Result<BTreeMap<String, Allowed>> {
        let mut out = BTreeMap::new();
        for (k, spec) in &raw.allowed {
            let at = self.at(spec, format!("allowed.{k}"));
            if !raw.params.contains_key(k) {
                return Err(at.error("not a parameter of this model"));
            }
            let kind = match spec.get_ref() {
                AllowedSpec::List(items) if !items.is_empty() => Allowed::OneOf(
                    items
                        .iter()
                        .map(|v| v.value("a choice is an integer, a boolean or a string").map_err(|m| at.error(m)))
                        .collect::<Result<_>>()?,
                ),
                AllowedSpec::Table(t) if t.iter().all(|(k, _)| k == "min" || k == "max") => {
                    let bound = |key: &str, default: i64| match t.iter().rev().find(|(k, _)| k == key) {
                        None => Ok(default),
                        Some((_, Scalar::Int(i))) => Ok(*i),
                        Some((_, Scalar::Huge(digits))) => Err(at.error(format!("`{key}`: {}", too_large(digits)))),
                        Some(_) => Err(at.error(format!("`{key}` is an integer"))),
                    };
                    let (lo, hi) = (bound("min", i64::MIN)?, bound("max", i64::MAX)?);
                    if lo > hi {
                        return Err(at.error(format!("min {lo} is above max {hi}")));
                    }
                    Allowed::Range(lo, hi)
                }
                _ => return Err(at.error("a list of choices, or { min = …, max = … }")),
            };
            out.insert(k.clone(), kind);
        }
        for (k, v) in &raw.params {
            let at = self.at(v, format!("params.{k}"));
            if !out.contains_key(k) {
                let implied = match (k.as_str(), v.get_ref()) {
                    (_, Scalar::Bool(_)) => Allowed::Bool,
                    (_, Scalar::Int(_)) => Allowed::Range(0, i64::MAX),
                    // Checked when instantiated, with messages of their own.
                    ("precision", _) => continue,
                    ("algorithm", _) if !algorithms.is_empty() => continue,
                    // An undeclared string takes any value (the built-in
                    // models declare theirs; a test holds them to it).
                    _ => continue,
                };
                out.insert(k.clone(), implied);
            }
            let default = v.get_ref().value("").map_err(|m| at.error(m))?;
            out[k.as_str()].check(k, &default).map_err(|m| at.error(format!("the default {m}")))?;
        }
        for (name, row) in &raw.algorithms {
            for (k, v) in row {
                if let Some(kind) = out.get(k) {
                    let value = &algorithms[name][k];
                    kind.check(k, value).map_err(|m| self.at(v, format!("algorithms.{name}.{k}")).error(m))?;
                }
            }
        }
        Ok(out)
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
            frag.includes.push(IncludeItem {
                place: self.at(&inc.file, key.clone()),
                file: inc.file.get_ref().clone(),
                at: inc.at.as_ref().map(|a| a.get_ref().clone()).unwrap_or_default(),
                when: inc.when.as_ref().map(|w| self.expr(w, format!("{key}.when"))).transpose()?,
                aliases: inc.aliases.as_ref().map(|a| a.get_ref().clone()),
                with,
            });
        }
        for c in &raw.component {
            let key = format!("component({})", c.path.get_ref());
            frag.components.push(ComponentItem {
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
            frag.buffers.push(BufferItem {
                component: b.component.get_ref().clone(),
                name: b.name.get_ref().clone(),
                size: self.int_or_expr(&b.size, format!("{key}.size"))?,
                location,
                persistent: b.persistent.as_ref().is_some_and(|p| *p.get_ref()),
                aliases: b.aliases.as_ref().map(|a| a.get_ref().clone()),
                dtype,
                when: b.when.as_ref().map(|w| self.expr(w, format!("{key}.when"))).transpose()?,
                accesses: b
                    .accesses
                    .iter()
                    .map(|(phase, e)| Ok((phase.clone(), self.int_or_expr(e, format!("{key}.accesses.{phase}"))?)))
                    .collect::<Result<_>>()?,
                registers: b.registers.as_ref().map(|r| self.condition(r, format!("{key}.registers"))).transpose()?,
                at: self.at(&b.name, key),
            });
        }
        Ok(frag)
    }
}

/// How [`Model::parse`] finds an included file: its name (where it is) and
/// text, `None` where there is none, or the error of one that is there but
/// cannot be read.
pub type Resolve<'a> = dyn Fn(&str) -> Result<Option<(String, String)>> + 'a;

impl Model {
    /// Parses a model. `source` names it in errors; `resolve` finds an
    /// included file by the name the include gives: where it is (named in
    /// errors, and how an include cycle is recognised) and its text, `None`
    /// where there is none, or the error of one found but not read.
    pub fn parse(source: &str, text: &str, resolve: &Resolve<'_>) -> Result<Model> {
        let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(source, text, &e))?;
        let ctx = FileCtx { file: source, lines: Lines::new(text) };
        let mut params = BTreeMap::new();
        for (k, v) in &raw.params {
            let value = v
                .get_ref()
                .value("a parameter is an integer, a boolean or a string")
                .map_err(|m| ctx.at(v, format!("params.{k}")).error(m))?;
            params.insert(k.clone(), value);
        }
        let mut derived = BTreeMap::new();
        for (k, v) in &raw.derived {
            if params.contains_key(k) {
                return Err(ctx.at(v, format!("derived.{k}")).error("already a parameter"));
            }
            let value = ctx.expr(v, format!("derived.{k}"))?;
            derived.insert(k.clone(), DerivedItem { rule: v.get_ref().trim().to_string(), value });
        }
        let mut algorithms = BTreeMap::new();
        for (name, row) in &raw.algorithms {
            let mut values = BTreeMap::new();
            for (k, v) in row {
                let at = ctx.at(v, format!("algorithms.{name}.{k}"));
                if !params.contains_key(k) {
                    return Err(at.error("not a parameter of this model"));
                }
                let value = v.get_ref().value("an integer, a boolean or a string").map_err(|m| at.error(m))?;
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
        let allowed = ctx.allowed(&raw, &algorithms)?;
        let classes = LifetimeTable::from_raw(source, text, raw.classes.clone().into_iter().collect())?;
        let body = ctx.fragment(&raw)?;
        let local_hit_per_shared = match &raw.local_hit_per_shared {
            None => None,
            Some(v) => {
                let cost = match v.get_ref() {
                    toml::Value::Float(f) => *f,
                    toml::Value::Integer(i) => *i as f64,
                    _ => f64::NAN,
                };
                if !(cost.is_finite() && cost > 0.0) {
                    return Err(ctx
                        .at(v, "local_hit_per_shared".into())
                        .error("the cost of a local cache hit in shared accesses: a positive number"));
                }
                Some(cost)
            }
        };
        let mut model = Model {
            name: raw
                .name
                .clone()
                .unwrap_or_else(|| source.rsplit('/').next().unwrap_or(source).trim_end_matches(".toml").to_string()),
            description: raw.description.clone().unwrap_or_default(),
            source: source.to_string(),
            builtin: false,
            params,
            allowed,
            derived,
            algorithms,
            table: std::sync::Arc::new(LifetimeTable::cubie()?.overlaid(classes)),
            body,
            fragments: HashMap::new(),
            local_hit_per_shared,
        };
        let mut stack = vec![source.to_string()];
        let includes = model.body.includes.clone();
        model.load_includes(&includes, resolve, &mut stack)?;
        Ok(model)
    }

    /// Loads `includes` and, depth first, theirs. `stack` holds where the
    /// files being loaded are, so that a file including itself, directly or
    /// not, is an error at the include that closes the cycle.
    fn load_includes(
        &mut self,
        includes: &[IncludeItem],
        resolve: &Resolve<'_>,
        stack: &mut Vec<String>,
    ) -> Result<()> {
        for inc in includes {
            let (name, text) = resolve(&inc.file)?
                .ok_or_else(|| inc.place.error(format!("cannot find included file `{}`", inc.file)))?;
            if stack.contains(&name) {
                return Err(inc.place.error(format!("include cycle: {} → {name}", stack.join(" → "))));
            }
            if self.fragments.contains_key(&inc.file) {
                continue;
            }
            let raw: RawFile = toml::from_str(&text).map_err(|e| toml_error(&name, &text, &e))?;
            if !raw.params.is_empty()
                || !raw.derived.is_empty()
                || !raw.algorithms.is_empty()
                || !raw.classes.is_empty()
                || raw.local_hit_per_shared.is_some()
            {
                return Err(inc.place.error(format!(
                    "`{name}` is not a fragment: an included file holds only components, buffers and includes"
                )));
            }
            let frag = FileCtx { file: &name, lines: Lines::new(&text) }.fragment(&raw)?;
            let nested = frag.includes.clone();
            self.fragments.insert(inc.file.clone(), frag);
            stack.push(name);
            self.load_includes(&nested, resolve, stack)?;
            stack.pop();
        }
        Ok(())
    }
}
