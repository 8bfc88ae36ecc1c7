//! The values each parameter may take, so that `--set` (and every default
//! and algorithm row) is checked before anything is planned.
//!
//! A model declares them in `[allowed]`: a list for a choice
//! (`linear = ["mr", "lu", "bicgstab"]`), `{ min = 1, max = 64 }` for an
//! integer range. Without a declaration a parameter's default decides:
//! a boolean takes `true`/`false` (1/0) and an integer any value from 0 up;
//! `precision` and `algorithm` are checked against their known names when
//! the model is instantiated; any other string parameter takes any string
//! unless declared (every built-in model declares all of its own).

use super::expr::Value;
use std::fmt;

/// The values one parameter may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allowed {
    /// `true` or `false` (1 or 0).
    Bool,
    /// Integers from the first to the second, both included.
    Range(i64, i64),
    /// One of these values.
    OneOf(Vec<Value>),
}

impl Allowed {
    /// Whether `value` is allowed.
    pub fn admits(&self, value: &Value) -> bool {
        match (self, value) {
            (Allowed::Bool, Value::Int(i)) => *i == 0 || *i == 1,
            (Allowed::Range(lo, hi), Value::Int(i)) => lo <= i && i <= hi,
            (Allowed::OneOf(values), v) => values.contains(v),
            _ => false,
        }
    }

    /// `Err` naming `value`, `name` and what is allowed, unless admitted.
    pub fn check(&self, name: &str, value: &Value) -> Result<(), String> {
        if self.admits(value) {
            Ok(())
        } else {
            let hint = match (self, value) {
                (Allowed::OneOf(values), Value::Str(v)) => smemplan_core::error::did_you_mean(
                    v,
                    values.iter().filter_map(|a| match a {
                        Value::Str(s) => Some(s.as_str()),
                        Value::Int(_) => None,
                    }),
                ),
                _ => String::new(),
            };
            Err(format!("{value} is not allowed for `{name}` (allowed: {self}){hint}"))
        }
    }
}

impl fmt::Display for Allowed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Allowed::Bool => write!(f, "true or false"),
            Allowed::Range(lo, i64::MAX) => write!(f, "integers from {lo}"),
            Allowed::Range(lo, hi) => write!(f, "integers from {lo} to {hi}"),
            Allowed::OneOf(values) => {
                let shown: Vec<String> = values.iter().map(Value::to_string).collect();
                write!(f, "{}", shown.join(", "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_admits_its_values_and_names_them() {
        let choice = Allowed::OneOf(vec![Value::Str("mr".into()), Value::Str("lu".into())]);
        assert!(choice.admits(&Value::Str("lu".into())) && !choice.admits(&Value::Str("qr".into())));
        assert_eq!(
            choice.check("linear", &Value::Str("qr".into())).unwrap_err(),
            "'qr' is not allowed for `linear` (allowed: 'mr', 'lu')"
        );
        assert_eq!(
            choice.check("linear", &Value::Str("LU".into())).unwrap_err(),
            "'LU' is not allowed for `linear` (allowed: 'mr', 'lu'); did you mean `lu`?"
        );
        assert!(Allowed::Bool.admits(&Value::Int(1)) && !Allowed::Bool.admits(&Value::Int(2)));
        assert!(!Allowed::Bool.admits(&Value::Str("yes".into())));
        assert_eq!(
            Allowed::Bool.check("smooth", &Value::Int(2)).unwrap_err(),
            "2 is not allowed for `smooth` (allowed: true or false)"
        );
        let range = Allowed::Range(1, 64);
        assert!(
            range.admits(&Value::Int(64)) && !range.admits(&Value::Int(0)) && !range.admits(&Value::Str("3".into()))
        );
        assert_eq!(Allowed::Range(0, i64::MAX).to_string(), "integers from 0");
        assert_eq!(range.to_string(), "integers from 1 to 64");
    }
}
