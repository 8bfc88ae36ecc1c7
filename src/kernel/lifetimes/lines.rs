//! Line numbers of byte offsets in one text, in `O(log lines)` each.
//!
//! Errors name the line of a TOML key, and a model names one for every key
//! it keeps: counting newlines from the start of the text for each made
//! loading quadratic in the file's size (20,000 buffers took 40 s). The
//! line starts are found once, and each look-up is a binary search.

/// The byte offsets at which the lines of a text start.
#[derive(Debug, Clone)]
pub(crate) struct Lines {
    /// Offset of the first byte of each line after the first (the byte
    /// after each `\n`), ascending.
    starts: Vec<usize>,
    len: usize,
}

impl Lines {
    /// Indexes `text` (one pass).
    pub(crate) fn new(text: &str) -> Self {
        let starts = text.bytes().enumerate().filter(|&(_, b)| b == b'\n').map(|(i, _)| i + 1).collect();
        Lines { starts, len: text.len() }
    }

    /// 1-based line of byte `offset` (clamped to the text), as
    /// [`smemplan_core::error::line_of`] counts it.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.len);
        // Lines started at or before `offset`, besides the first.
        self.starts.partition_point(|&s| s <= offset) + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smemplan_core::error::line_of;

    #[test]
    fn agrees_with_counting_newlines() {
        for text in ["", "a", "\n", "a\nb", "a\n\nbc\n", "\n\nx\n"] {
            let lines = Lines::new(text);
            for offset in 0..=text.len() + 2 {
                assert_eq!(lines.line_of(offset), line_of(text, offset), "{text:?} at {offset}");
            }
        }
    }
}
