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

/// The most configurations one sweep may hold (a guard against a typo like
/// `n=1..=100000000` exhausting memory).
pub const MAX_CONFIGURATIONS: u64 = 20_000_000;

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
                            sweep_error(format!("parameter `{name}`: `{item}` is not a range of integers A..=B"))
                        })
                    };
                    let (a, b) = (bound(a)?, bound(b)?);
                    if a > b {
                        return Err(sweep_error(format!("parameter `{name}`: range `{item}` is empty")));
                    }
                    if (b - a) as u64 >= MAX_CONFIGURATIONS {
                        return Err(sweep_error(format!(
                            "parameter `{name}`: range `{item}` has more than {MAX_CONFIGURATIONS} values"
                        )));
                    }
                    values.extend((a..=b).map(|v| v.to_string()));
                }
                None => values.push(item.to_string()),
            }
        }
        if let Some(dup) = values.iter().enumerate().find(|(i, v)| values[..*i].contains(v)).map(|(_, v)| v) {
            return Err(sweep_error(format!("parameter `{name}`: value `{dup}` is listed twice")));
        }
        Ok(Axis { name: name.to_string(), values })
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
        let mut total: u64 = 1;
        for &r in &radices {
            total = total.saturating_mul(r as u64);
        }
        if total == 0 {
            return Err(sweep_error("the grid is empty: every dimension needs at least one value".into()));
        }
        if total > MAX_CONFIGURATIONS {
            return Err(sweep_error(format!(
                "the grid has {total} configurations, more than the {MAX_CONFIGURATIONS} a sweep may hold"
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
        ] {
            let e = Axis::parse(text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
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
}
