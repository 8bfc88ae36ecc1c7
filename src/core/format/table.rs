//! Plain-text tables: the command lines' reports.

/// Formats rows as columns separated by two spaces, padding each cell to its
/// column's width; `numeric[c]` right-aligns column `c`.
pub fn table(rows: &[Vec<String>], numeric: &[bool]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            let pad = widths[c] - cell.chars().count();
            if numeric.get(c).copied().unwrap_or(false) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_and_aligns() {
        let rows = vec![vec!["name".to_string(), "n".to_string()], vec!["a".to_string(), "100".to_string()]];
        assert_eq!(table(&rows, &[false, true]), "name    n\na     100\n");
    }
}
