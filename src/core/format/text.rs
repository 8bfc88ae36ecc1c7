//! Reading an input file as text: every format's first step.
//!
//! [`read_text`] reads a file whole, but stops at the first byte that cannot
//! be in a UTF-8 text file (a NUL, or a byte sequence that is not UTF-8) and
//! names its line and column. Reading stops there, so a device or a binary
//! file given by mistake (`/dev/zero`, an executable) is refused at once
//! instead of being read until memory runs out.
//!
//! A file that cannot be read at all is [`Error::Read`]; one that is not
//! text is [`Error::Parse`], with its line.

use crate::error::Error;
use std::io::{self, Read};
use std::path::Path;

/// How much is read at a time.
const CHUNK: usize = 1 << 16;

/// The text of the file at `path`. Errors name the file, and for bytes that
/// are not text the line and column.
pub fn read_text(path: &Path) -> Result<String, Error> {
    let name = path.display().to_string();
    let cannot = |e: io::Error| Error::Read { path: name.clone(), kind: e.kind(), message: e.to_string() };
    let file = std::fs::File::open(path).map_err(cannot)?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(cannot(io::Error::new(io::ErrorKind::IsADirectory, "it is a directory, not a file")));
    }
    read_stream(&name, file)
}

/// The text of a stream (standard input, an open file), named `name` in
/// errors, read to its end but refused at its first byte that is not text.
pub fn read_stream(name: &str, mut reader: impl Read) -> Result<String, Error> {
    let mut bytes: Vec<u8> = Vec::new();
    // Everything before `checked` is valid UTF-8 without a NUL.
    let mut checked = 0;
    loop {
        let before = bytes.len();
        bytes.resize(before + CHUNK, 0);
        let n = loop {
            match reader.read(&mut bytes[before..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::Read { path: name.to_string(), kind: e.kind(), message: e.to_string() }),
            }
        };
        bytes.truncate(before + n);
        let end = n == 0;
        if let Some(at) = bytes[checked..].iter().position(|&b| b == 0) {
            return Err(not_text(name, &bytes, checked + at, "a NUL byte"));
        }
        if end {
            return String::from_utf8(bytes).map_err(|e| not_utf8(name, e.as_bytes(), e.utf8_error().valid_up_to()));
        }
        match std::str::from_utf8(&bytes[checked..]) {
            Ok(_) => checked = bytes.len(),
            // A sequence cut by the chunk's end is completed by the next read.
            Err(e) if e.error_len().is_none() => checked += e.valid_up_to(),
            Err(e) => return Err(not_utf8(name, &bytes, checked + e.valid_up_to())),
        }
    }
}

/// [`not_text`] for the byte at `at`, which starts no UTF-8 character.
fn not_utf8(name: &str, bytes: &[u8], at: usize) -> Error {
    not_text(name, bytes, at, &format!("the byte 0x{:02x}, which is not UTF-8", bytes[at]))
}

/// `name:line: column C holds WHAT; ...` for the byte at `at`.
fn not_text(name: &str, bytes: &[u8], at: usize, what: &str) -> Error {
    let line_start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let line = 1 + bytes[..line_start].iter().filter(|&&b| b == b'\n').count();
    // Characters, not bytes, before it on its line (they are valid UTF-8).
    let column = 1 + String::from_utf8_lossy(&bytes[line_start..at]).chars().count();
    Error::Parse {
        source_name: name.to_string(),
        line,
        message: format!("column {column} holds {what}; the file must be UTF-8 text"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<String, String> {
        read_stream("t.csv", bytes).map_err(|e| e.to_string())
    }

    #[test]
    fn text_is_read_whole() {
        assert_eq!(read(b"").unwrap(), "");
        assert_eq!(read("id,lower\nä,0\n".as_bytes()).unwrap(), "id,lower\nä,0\n");
        // A character cut by a chunk's end is whole in the text.
        let mut long = vec![b'a'; CHUNK - 1];
        long.extend("é\n".as_bytes());
        assert_eq!(read(&long).unwrap().chars().rev().nth(1), Some('é'));
    }

    #[test]
    fn bytes_that_are_not_text_are_named_by_line_and_column() {
        assert_eq!(
            read(b"id,lower,upper,size\na\xff\xfe,0,3,4\n").unwrap_err(),
            "t.csv:2: column 2 holds the byte 0xff, which is not UTF-8; the file must be UTF-8 text"
        );
        assert_eq!(
            read("ä\nü\0".as_bytes()).unwrap_err(),
            "t.csv:2: column 2 holds a NUL byte; the file must be UTF-8 text"
        );
        // A sequence cut short by the end of the file.
        assert!(read(b"ab\xc3").unwrap_err().starts_with("t.csv:1: column 3 holds the byte 0xc3"));
    }

    #[test]
    fn an_endless_stream_of_nul_bytes_is_refused_at_once() {
        // `/dev/zero` as a reader: refused after the first chunk.
        let e = read_stream("/dev/zero", io::repeat(0)).err().unwrap();
        assert!(matches!(e, Error::Parse { line: 1, .. }));
    }

    #[test]
    fn a_directory_or_a_missing_file_is_named() {
        let dir = std::env::temp_dir();
        assert!(read_text(&dir).unwrap_err().to_string().ends_with("`: it is a directory, not a file"));
        assert!(matches!(read_text(&dir), Err(Error::Read { kind: io::ErrorKind::IsADirectory, .. })));
        let missing = dir.join("smemplan-text-no-such-file.csv");
        assert!(matches!(read_text(&missing), Err(Error::Read { kind: io::ErrorKind::NotFound, .. })));
        let e = read_text(&missing).unwrap_err().to_string();
        assert!(e.starts_with("cannot read `") && e.contains("smemplan-text-no-such-file.csv`: "), "{e}");
    }
}
