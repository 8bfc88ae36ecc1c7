//! The sweep's grid: which values each swept parameter takes, and the
//! Cartesian product of them in a fixed order.
//!
//! A configuration is a mixed-radix number: models are the most significant
//! digit, then the parameter axes in the order given, then devices, then
//! strategies (least significant). Consecutive configurations therefore
//! share a kernel instance (model and parameters) and differ only in where
//! and how it is laid out, which is what lets a sweep build each instance
//! once.

use crate::error::{Error, Result};
use smemplan_kernel::model::expr::Value;
use smemplan_kernel::model::Model;
use std::collections::BTreeMap;

/// What one configuration takes in memory until the sweep reports, about:
/// its row and the solved pools the sweep keeps for reuse. Measured as the
/// growth of peak memory over the default model swept over n (release
/// build, 2026-12-07): 1.3 KB a `cubie` row, 3.3 KB an `auto` row, 4.9 KB
/// an `auto` row under `--tiers auto`.
pub const ROW_BYTES: u64 = 5_000;

/// The memory a sweep's rows may take: 1 GiB.
pub const ROW_BUDGET_BYTES: u64 = 1 << 30;

/// The most configurations one sweep may hold: as many rows as fit
/// [`ROW_BUDGET_BYTES`] (214,748). A grid beyond it is refused before
/// anything runs, naming its size, so that a typo like `n=1..=100000000`
/// neither exhausts memory nor runs for hours.
pub const MAX_CONFIGURATIONS: u64 = ROW_BUDGET_BYTES / ROW_BYTES;

/// One swept parameter and its values, in the order given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    /// The parameter's name (`n`, `algorithm`, `precision`, ...).
    pub name: String,
    /// Its values, as `--set` would take them.
    pub values: Vec<String>,
}

impl Axis {
    /// Parses `NAME=V1,V2,...`, where a value may be an inclusive integer
    /// range `A..=B` (e.g. `n=1..=4,10` is 1, 2, 3, 4, 10).
    pub fn parse(text: &str) -> Result<Axis> {
        let (name, list) = text
            .split_once('=')
            .map(|(k, v)| (k.trim(), v.trim()))
            .filter(|(k, _)| !k.is_empty())
            .ok_or_else(|| sweep_error(format!("`{text}` is not NAME=VALUE[,VALUE...]")))?;
        let mut values = Vec::new();
        for item in list.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(sweep_error(format!("parameter `{name}`: empty value in `{list}`")));
            }
            match item.split_once("..=") {
                Some((a, b)) => {
                    let bound = |s: &str| {
                        s.trim().parse::<i64>().map_err(|_| {
                            // A number beyond i64 is said as such, not as
                            // a malformed range.
                            let why = if s.trim().parse::<i128>().is_ok() {
                                format!("`{}` is beyond the 64-bit integers a range may hold", s.trim())
                            } else {
                                format!("`{item}` is not a range of integers A..=B")
                            };
                            sweep_error(format!("parameter `{name}`: {why}"))
                        })
                    };
                    let (a, b) = (bound(a)?, bound(b)?);
                    if a > b {
                        return Err(sweep_error(format!("parameter `{name}`: range `{item}` is empty")));
                    }
                    // Counted before a value is written: the range alone, or
                    // with the values before it, may be too many.
                    // In 128 bits: `i64::MIN..=i64::MAX` makes 2^64 values.
                    let count = u128::from(b.abs_diff(a)) + 1 + values.len() as u128;
                    if count > u128::from(MAX_CONFIGURATIONS) {
                        return Err(too_many_values(name, count, Some(item)));
                    }
                    values.extend((a..=b).map(|v| v.to_string()));
                }
                None => {
                    // `A..B` is Rust's half-open range, never a value here:
                    // say how an inclusive range is written.
                    if let Some((a, b)) = item.split_once("..") {
                        if a.trim().parse::<i64>().is_ok() && b.trim().parse::<i64>().is_ok() {
                            return Err(sweep_error(format!(
                                "parameter `{name}`: `{item}` is not a value; a range of integers is written \
                                 `{}..={}` (both ends included)",
                                a.trim(),
                                b.trim()
                            )));
                        }
                    }
                    values.push(item.to_string())
                }
            }
        }
        Axis::new(name, values)
    }

    /// The axis `name` with `values`, checked: at most
    /// [`MAX_CONFIGURATIONS`] of them, and none listed twice in any
    /// spelling (`5`, `05` and `+5` are one integer; `true` is 1). The
    /// check sorts, so a long axis costs `O(n log n)`.
    pub fn new(name: &str, values: Vec<String>) -> Result<Axis> {
        if values.len() as u64 > MAX_CONFIGURATIONS {
            return Err(too_many_values(name, values.len() as u128, None));
        }
        if let Some((first, dup)) = first_duplicate(&values) {
            let also = if first == dup { String::new() } else { format!(" (as `{first}`)") };
            return Err(sweep_error(format!("parameter `{name}`: value `{dup}` is listed twice{also}")));
        }
        Ok(Axis { name: name.to_string(), values })
    }
}

/// A parameter of a model that a grid does not sweep, and how it behaves
/// across the grid (what `sweep` notes as held fixed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The parameter or derived value.
    pub name: String,
    /// Its value at the grid's first configuration, as a model shows it.
    pub value: String,
    /// The swept parameters whose values change it (empty: held fixed).
    pub varies_with: Vec<String>,
    /// For a derived value, the parameters its rule reads (`["n"]` for a
    /// size derived from the system size).
    pub derived_from: Option<Vec<String>>,
}

impl Held {
    /// Every parameter and derived value `model` uses that `axes` do not
    /// sweep, by name. What varies is found by changing one axis at a time
    /// from the grid's first configuration (each instance a configuration
    /// of the grid), so a value that changes only when two swept
    /// parameters change together is counted as following both only if
    /// each alone changes it.
    pub fn of(model: &Model, axes: &[Axis]) -> Result<Vec<Held>> {
        let first: Vec<(String, String)> =
            axes.iter().filter_map(|a| Some((a.name.clone(), a.values.first()?.clone()))).collect();
        let base = model.instantiate(&first)?.params;
        let mut varies: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (i, axis) in axes.iter().enumerate() {
            for v in axis.values.iter().skip(1) {
                let mut sets = first.clone();
                sets[i].1 = v.clone();
                let params = model.instantiate(&sets)?.params;
                for (k, value) in &base {
                    if params.get(k) != Some(value) {
                        let with = varies.entry(k.as_str()).or_default();
                        if !with.contains(&axis.name) {
                            with.push(axis.name.clone());
                        }
                    }
                }
            }
        }
        let derived: BTreeMap<String, Vec<String>> = model.derived().into_iter().map(|d| (d.name, d.inputs)).collect();
        Ok(base
            .iter()
            .filter(|(k, _)| !axes.iter().any(|a| &a.name == *k))
            .map(|(k, v)| Held {
                name: k.clone(),
                value: v.to_string(),
                varies_with: varies.get(k.as_str()).cloned().unwrap_or_default(),
                derived_from: derived.get(k.as_str()).cloned(),
            })
            .collect())
    }
}

/// The first value (in list order) equal to an earlier one as a model
/// reads it, and that earlier one's spelling.
fn first_duplicate(values: &[String]) -> Option<(&str, &str)> {
    // An integer (or `true`/`false`) as its number, else the text.
    let key = |v: &str| Value::parse_loose(v).unwrap_or_else(|_| Value::Str(v.to_string()));
    let mut seen: BTreeMap<Value, usize> = BTreeMap::new();
    for (i, v) in values.iter().enumerate() {
        if let Some(&j) = seen.get(&key(v)) {
            return Some((&values[j], v));
        }
        seen.insert(key(v), i);
    }
    None
}

fn too_many_values(name: &str, count: u128, range: Option<&str>) -> Error {
    let what = match range {
        Some(r) => format!("range `{r}` makes {count} values"),
        None => format!("{count} values"),
    };
    sweep_error(format!(
        "parameter `{name}`: {what}, more than the {MAX_CONFIGURATIONS} configurations a sweep may hold \
         (their rows would take about {}, above the {} budget of ~{ROW_BYTES} bytes a row)",
        bytes(count.saturating_mul(ROW_BYTES.into())),
        bytes(ROW_BUDGET_BYTES.into())
    ))
}

/// `n` bytes for a message: `512.0 MiB`, `3.2 GiB`, `1.8e10 GiB`.
fn bytes(n: u128) -> String {
    const MIB: f64 = (1u64 << 20) as f64;
    const GIB: f64 = (1u64 << 30) as f64;
    if n as f64 >= 1e6 * GIB {
        format!("{:.1e} GiB", n as f64 / GIB)
    } else if n as f64 >= GIB {
        format!("{:.1} GiB", n as f64 / GIB)
    } else {
        format!("{:.1} MiB", n as f64 / MIB)
    }
}

/// A sweep-level error (not tied to one configuration).
pub(crate) fn sweep_error(message: String) -> Error {
    Error::Sweep { configuration: None, message }
}

/// Mixed-radix digits: `radices[0]` is the most significant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Radix {
    radices: Vec<usize>,
}

impl Radix {
    /// Digits with these bases; errors when their product exceeds
    /// [`MAX_CONFIGURATIONS`] or a base is 0.
    pub(crate) fn new(radices: Vec<usize>) -> Result<Radix> {
        // In 128 bits, so that a grid's size is shown exactly (it saturates
        // only above 10^38).
        let mut total: u128 = 1;
        for &r in &radices {
            total = total.saturating_mul(r as u128);
        }
        if total == 0 {
            return Err(sweep_error("the grid is empty: every dimension needs at least one value".into()));
        }
        if total > u128::from(MAX_CONFIGURATIONS) {
            let shown = if total == u128::MAX { "over 10^38".to_string() } else { total.to_string() };
            return Err(sweep_error(format!(
                "the grid has {shown} configurations (models × swept values × devices × strategies), more than \
                 the {MAX_CONFIGURATIONS} a sweep may hold: their rows would take about {}, above the {} budget \
                 of ~{ROW_BYTES} bytes a row",
                bytes(total.saturating_mul(ROW_BYTES.into())),
                bytes(ROW_BUDGET_BYTES.into())
            )));
        }
        Ok(Radix { radices })
    }

    /// How many numbers the digits can write.
    pub(crate) fn len(&self) -> usize {
        self.radices.iter().product()
    }

    /// The digits of `index`, most significant first.
    pub(crate) fn digits(&self, mut index: usize) -> Vec<usize> {
        let mut out = vec![0; self.radices.len()];
        for (d, &r) in out.iter_mut().zip(&self.radices).rev() {
            *d = index % r;
            index /= r;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_lists_and_ranges() {
        let a = Axis::parse("n=1..=3, 10").unwrap();
        assert_eq!((a.name.as_str(), a.values.clone()), ("n", vec!["1".into(), "2".into(), "3".into(), "10".into()]));
        let b = Axis::parse("algorithm=kvaerno3,kvaerno5").unwrap();
        assert_eq!(b.values, vec!["kvaerno3", "kvaerno5"]);
    }

    #[test]
    fn bad_lists_name_the_parameter() {
        for (text, needle) in [
            ("n", "not NAME=VALUE"),
            ("=3", "not NAME=VALUE"),
            ("n=3,,4", "parameter `n`: empty value"),
            ("n=5..=2", "range `5..=2` is empty"),
            ("n=a..=4", "not a range of integers"),
            ("n=3,3", "value `3` is listed twice"),
            ("n=0..=99999999999", "more than"),
            ("n=-9223372036854775808..=9223372036854775807", "more than"),
            ("n=5,05,+5", "value `05` is listed twice (as `5`)"),
            ("big=true,1", "value `1` is listed twice (as `true`)"),
            ("algorithm=dirk,erk,dirk", "value `dirk` is listed twice"),
            ("n=1..=150000,1..=150000", "range `1..=150000` makes 300000 values"),
            ("n=1..=1000000", "rows would take about 4.7 GiB, above the 1.0 GiB budget"),
        ] {
            let e = Axis::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn a_half_open_range_is_told_how_ranges_are_written() {
        let e = Axis::parse("n=3..200").unwrap_err().to_string();
        assert!(e.contains("parameter `n`: `3..200` is not a value") && e.contains("`3..=200`"), "{e}");
        // Not a range of integers: a value like any other.
        assert_eq!(Axis::parse("name=a..b").unwrap().values, vec!["a..b"]);
    }

    #[test]
    fn held_parameters_say_what_follows_the_swept_ones() {
        let dirk = smemplan_kernel::model::builtin("dirk").unwrap();
        let held = Held::of(&dirk, &[Axis::parse("n=3,100").unwrap()]).unwrap();
        let get = |name: &str| held.iter().find(|h| h.name == name).unwrap_or_else(|| panic!("{name} listed"));
        assert!(held.iter().all(|h| h.name != "n"), "a swept parameter is not held");
        let p = get("p");
        assert_eq!((p.value.as_str(), p.varies_with.is_empty(), p.derived_from.is_none()), ("12", true, true));
        let lu = get("lu_nnz");
        assert_eq!(lu.value, "9", "the value at the first configuration, n = 3");
        assert_eq!((lu.varies_with.clone(), lu.derived_from.clone()), (vec!["n".to_string()], Some(vec!["n".into()])));
        // Not swept: a derived size is held at its rule's value.
        let held = Held::of(&dirk, &[Axis::parse("precision=f32,f64").unwrap()]).unwrap();
        let lu = held.iter().find(|h| h.name == "lu_nnz").unwrap();
        assert_eq!((lu.value.as_str(), lu.varies_with.is_empty()), ("495", true));
    }

    #[test]
    fn digits_count_with_the_last_fastest() {
        let r = Radix::new(vec![2, 3]).unwrap();
        assert_eq!(r.len(), 6);
        let all: Vec<Vec<usize>> = (0..6).map(|i| r.digits(i)).collect();
        assert_eq!(all, vec![vec![0, 0], vec![0, 1], vec![0, 2], vec![1, 0], vec![1, 1], vec![1, 2]]);
        assert!(Radix::new(vec![2, 0]).is_err());
        assert!(Radix::new(vec![usize::MAX, 4]).unwrap_err().to_string().contains("more than"));
    }

    #[test]
    fn long_axes_are_checked_in_n_log_n() {
        // Issue 19: duplicates were sought pairwise, so 100,000 values took
        // 19.6 s; sorted, the largest axis a sweep may hold takes a
        // fraction of a second (the bound is wide: CI shares its cores).
        let top = MAX_CONFIGURATIONS;
        let started = std::time::Instant::now();
        let a = Axis::parse(&format!("n=1..={top}")).unwrap();
        assert_eq!(a.values.len() as u64, top);
        let e = Axis::parse(&format!("n=1..={},+{}", top - 1, top - 1)).unwrap_err().to_string();
        assert!(e.contains(&format!("value `+{}` is listed twice (as `{}`)", top - 1, top - 1)), "{e}");
        let took = started.elapsed();
        assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    }

    #[test]
    fn the_grid_guard_is_a_memory_budget() {
        assert_eq!(MAX_CONFIGURATIONS, 214_748);
        assert!(Radix::new(vec![MAX_CONFIGURATIONS as usize]).is_ok());
        let e = Radix::new(vec![1, 1_000_000, 1, 2]).unwrap_err().to_string();
        assert!(e.contains("2000000 configurations") && e.contains("9.3 GiB"), "{e}");
    }
}
