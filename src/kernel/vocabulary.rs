//! The vocabulary of a solver kernel's declarations, shared by the
//! registry, the kernel models, the lifetimes and the plan: components,
//! their buffers, where a buffer is asked to live ([`Location`]) and where it
//! ends up ([`Pool`]), and what its elements are ([`Precision`]).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a buffer is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Location {
    /// Per-block shared memory, one slice per thread (run).
    Shared,
    /// Per-thread local memory.
    Local,
}

impl FromStr for Location {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "shared" => Ok(Location::Shared),
            "local" => Ok(Location::Local),
            other => Err(format!("invalid location `{other}` (expected `shared` or `local`)")),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Location::Shared => "shared",
            Location::Local => "local",
        })
    }
}

/// A memory pool of the kernel: where a buffer ends up (CuBIE's `pool`
/// column; the three arrays a component allocates from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    /// The per-run (per-thread) slice of the block's dynamic shared memory.
    Shared,
    /// The per-thread (non-persistent) local memory: CuBIE declares one
    /// array per buffer, the optimised plan one aliased array.
    Local,
    /// The per-thread persistent local array (survives across steps).
    PersistentLocal,
}

impl Pool {
    /// Every pool, in report order.
    pub const ALL: [Pool; 3] = [Pool::Shared, Pool::Local, Pool::PersistentLocal];

    /// The name used in dumps and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Pool::Shared => "shared",
            Pool::Local => "local",
            Pool::PersistentLocal => "persistent_local",
        }
    }
}

impl FromStr for Pool {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Pool::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown pool `{s}` (expected shared, local or persistent_local)"))
    }
}

impl fmt::Display for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Element type of a buffer (CuBIE's `precision`/`dtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Precision {
    /// 32-bit float.
    #[serde(rename = "float32", alias = "f32")]
    F32,
    /// 64-bit float.
    #[serde(rename = "float64", alias = "f64")]
    F64,
    /// 32-bit signed integer.
    #[serde(rename = "int32", alias = "i32")]
    I32,
}

impl Precision {
    /// Bytes per element.
    pub fn itemsize(self) -> u64 {
        match self {
            Precision::F32 | Precision::I32 => 4,
            Precision::F64 => 8,
        }
    }

    /// The C++ element type.
    pub fn c_type(self) -> &'static str {
        match self {
            Precision::F32 => "float",
            Precision::F64 => "double",
            Precision::I32 => "int",
        }
    }
}

impl FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "float32" | "f32" => Ok(Precision::F32),
            "float64" | "f64" => Ok(Precision::F64),
            "int32" | "i32" => Ok(Precision::I32),
            other => Err(format!("invalid precision `{other}` (expected f32, f64 or i32)")),
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "float32",
            Precision::F64 => "float64",
            Precision::I32 => "int32",
        })
    }
}

/// One component of a kernel (a node of the component tree), as the
/// registry, a CuBIE dump or a kernel model declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentDecl {
    /// Slash-separated path from the top, e.g. `kernel/loop/algorithm/solver`.
    pub path: String,
    /// The component's kind (CuBIE's class name, e.g. `NewtonKrylov`), the
    /// key of the lifetime table.
    pub class: String,
    /// The component's precision (size queries answer in its elements).
    pub precision: Precision,
}

/// One leaf buffer (never a child roll-up entry) as declared by a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BufferDecl {
    /// Path of the owning component.
    pub component: String,
    /// Name, unique within the component.
    pub name: String,
    /// Elements of `precision` (may be 0: declared but unused).
    pub size: u64,
    /// Element type.
    pub precision: Precision,
    /// Requested location.
    pub location: Location,
    /// Whether it survives across steps (lives for the whole run).
    pub persistent: bool,
    /// Name of a buffer of the same component it may share storage with.
    pub aliases: Option<String>,
}

/// A child component's whole shared region aliasing a target of its parent
/// (CuBIE's `register_child(..., aliases=...)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupAlias {
    /// The parent component's path.
    pub component: String,
    /// The roll-up entry's name, e.g. `error_solver_shared`.
    pub entry: String,
    /// The child component's path.
    pub child: String,
    /// The target's name in the parent, e.g. `solver_shared`.
    pub target: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_print_and_parse_as_in_the_dumps() {
        for pool in Pool::ALL {
            assert_eq!(pool.to_string().parse::<Pool>(), Ok(pool));
        }
        assert_eq!(Pool::PersistentLocal.to_string(), "persistent_local");
        assert!("texture".parse::<Pool>().unwrap_err().contains("unknown pool `texture`"));
    }
}
