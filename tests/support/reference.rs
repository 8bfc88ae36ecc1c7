//! CuBIE's reference configurations (`../shared/cubie-reference`), parsed.
//! Included with `#[path]`, beside `shared.rs`.

use smemplan::registry::dump::Dump;

/// Every reference dump, in file-name order.
pub fn dumps() -> Vec<Dump> {
    crate::shared::shared_files("cubie-reference", "json")
        .iter()
        .map(|p| Dump::parse(&p.display().to_string(), &std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}
