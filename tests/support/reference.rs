//! CuBIE's reference configurations (`tests/data/cubie-reference`), parsed.
//! Included with `#[path]`, beside `data.rs`.

use smemplan::kernel::registry::dump::Dump;

/// Every reference dump, in file-name order.
pub fn dumps() -> Vec<Dump> {
    crate::data::data_files("tests/data/cubie-reference", "json")
        .iter()
        .map(|p| Dump::parse(&p.display().to_string(), &std::fs::read_to_string(p).unwrap()).unwrap())
        .collect()
}
