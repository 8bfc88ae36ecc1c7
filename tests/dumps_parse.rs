//! Every CuBIE reference dump parses into typed values.
use smemplan::registry::dump::Dump;

#[test]
fn every_reference_dump_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/cubie-reference");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let d = Dump::parse(&path.display().to_string(), &text).unwrap();
            assert_eq!(d.cubie_version, "0.17.0");
            assert!(!d.buffers.is_empty());
            n += 1;
        }
    }
    assert_eq!(n, 375);
}
