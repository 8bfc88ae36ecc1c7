//! Plain-text tables: the command lines' reports.

/// Formats rows as columns separated by two spaces, padding each cell to its
/// column's width; `numeric[c]` right-aligns column `c`. A control
/// character in a cell (a newline in a model's string parameter) is shown
/// escaped (`\n`), so that every row stays one line.
pub fn table(rows: &[Vec<String>], numeric: &[bool]) -> String {
    let escaped: Vec<Vec<String>>;
    let rows = if rows.iter().flatten().any(|cell| cell.chars().any(char::is_control)) {
        escaped = rows.iter().map(|r| r.iter().map(|cell| escape_controls(cell)).collect()).collect();
        &escaped[..]
    } else {
        rows
    };
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

/// `cell` with each control character as Rust writes it in a literal.
fn escape_controls(cell: &str) -> String {
    cell.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_and_aligns() {
        let rows = vec![vec!["name".to_string(), "n".to_string()], vec!["a".to_string(), "100".to_string()]];
        assert_eq!(table(&rows, &[false, true]), "name    n\na     100\n");
        let rows = vec![vec!["a\nb".to_string(), "1".to_string()], vec!["c".to_string(), "22".to_string()]];
        assert_eq!(table(&rows, &[false, true]), "a\\nb   1\nc     22\n");
    }
}
