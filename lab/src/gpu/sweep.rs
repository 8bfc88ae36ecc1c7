//! A sweep's rows (`smemplan sweep --csv`) read back for the card, and
//! written out again with what the card measured beside them.
//!
//! ```text
//!  ROWS.csv ─▶ rows (model, swept parameters, device, strategy, tiers, pick) ─▶ verify --sweep
//!           ◀─ the same rows + measured columns ◀──────────────────────────────┘
//! ```
//!
//! A row names its kernel by the `model` column and the swept parameters,
//! the columns between `model` and `device` (the sweep writes them there);
//! the layout by `strategy` (`cubie` or a solver strategy) and `tiers`
//! (`auto`: the split `plan --tiers auto` chooses); the pick by
//! `best_block_size`. Rows whose `fits` is `false` are carried through
//! unmeasured.

use crate::error::{Error, Result};

/// The columns [`write()`] appends, in order.
pub const MEASURED_COLUMNS: [&str; 11] = [
    "measured_ok",
    "planted_caught",
    "occupancy_model",
    "occupancy_driver",
    "registers",
    "stack_bytes",
    "measured_block_size",
    "measured_ms",
    "measured_runs_per_second",
    "standin_estimated_ms",
    "measured_note",
];

/// One row of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based line in the file.
    pub line: usize,
    /// Every field as read (written back unchanged).
    pub fields: Vec<String>,
    /// The built-in model.
    pub model: String,
    /// The swept parameters, `NAME=VALUE` as `--set` takes them.
    pub sets: Vec<(String, String)>,
    /// The device profile.
    pub device: String,
    /// `cubie` or a solver strategy.
    pub strategy: String,
    /// Whether the row's locations are `plan --tiers auto`'s split.
    pub tiers_auto: bool,
    /// The row's pick: threads per block.
    pub block_size: u64,
    /// Whether the configuration fits the device at all.
    pub fits: bool,
}

/// The header and rows of a sweep's CSV; `source` names the file in
/// errors, which give the line and the column.
pub fn read(source: &str, text: &str) -> Result<(Vec<String>, Vec<Row>)> {
    let bad = |line: usize, message: String| Error::Measurements { file: source.into(), line, message };
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let Some((h, header)) = lines.next() else { return Err(bad(0, "no header line".into())) };
    let header = split(header).map_err(|m| bad(h + 1, m))?;
    let column = |name: &str| {
        header
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| bad(h + 1, format!("no `{name}` column (not a sweep's CSV?)")))
    };
    let (model, device, strategy, block) =
        (column("model")?, column("device")?, column("strategy")?, column("best_block_size")?);
    if device <= model {
        return Err(bad(h + 1, "the swept parameters sit between `model` and `device`; `device` comes first".into()));
    }
    let (tiers, fits) = (header.iter().position(|c| c == "tiers"), header.iter().position(|c| c == "fits"));
    let mut rows = Vec::new();
    for (i, line) in lines {
        let fields = split(line).map_err(|m| bad(i + 1, m))?;
        if fields.len() != header.len() {
            return Err(bad(i + 1, format!("{} fields, the header has {}", fields.len(), header.len())));
        }
        let fits = fits.is_none_or(|c| fields[c] != "false");
        let block_size = match fields[block].parse::<u64>() {
            Ok(b) if b >= 1 => b,
            // A row that does not fit has no pick.
            _ if !fits => 0,
            _ => return Err(bad(i + 1, format!("best_block_size `{}` is not a block size", fields[block]))),
        };
        rows.push(Row {
            line: i + 1,
            model: fields[model].clone(),
            sets: (model + 1..device).map(|c| (header[c].clone(), fields[c].clone())).collect(),
            device: fields[device].clone(),
            strategy: fields[strategy].clone(),
            tiers_auto: tiers.is_some_and(|c| fields[c] == "auto"),
            block_size,
            fits,
            fields,
        });
    }
    Ok((header, rows))
}

/// One CSV line's fields (RFC 4180 quoting: `"a,b"`, `""` inside quotes).
fn split(line: &str) -> std::result::Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.trim_end_matches('\r').chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    if quoted {
        return Err("a quoted field is not closed".into());
    }
    fields.push(field);
    Ok(fields)
}

/// A CSV field, quoted when it needs to be.
fn quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The rows as CSV: the sweep's header and fields, then
/// [`MEASURED_COLUMNS`] from `measured` (one list per row, in order).
pub fn write(header: &[String], rows: &[Row], measured: &[Vec<String>]) -> String {
    let mut out = String::new();
    let line = |fields: Vec<&str>| fields.into_iter().map(quote).collect::<Vec<_>>().join(",") + "\n";
    out += &line(header.iter().map(String::as_str).chain(MEASURED_COLUMNS).collect());
    for (row, m) in rows.iter().zip(measured) {
        out += &line(row.fields.iter().chain(m).map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROWS: &str = "index,model,n,precision,device,strategy,fits,best_block_size,tiers,local_groups\n\
                        0,dirk,3,f32,h100,cubie,true,32,fixed,\n\
                        1,dirk,100,f64,h200,auto,true,21,auto,\"kernel/loop,kernel/loop/error\"\n\
                        2,dirk,900,f64,h200,auto,false,,fixed,\n";

    #[test]
    fn rows_name_their_kernel_layout_and_pick() {
        let (header, rows) = read("r.csv", ROWS).unwrap();
        assert_eq!(header.len(), 10);
        assert_eq!(rows.len(), 3);
        let r = &rows[1];
        assert_eq!((r.model.as_str(), r.device.as_str(), r.strategy.as_str()), ("dirk", "h200", "auto"));
        assert_eq!(r.sets, vec![("n".into(), "100".into()), ("precision".into(), "f64".into())]);
        assert!(r.tiers_auto && r.fits && r.block_size == 21 && r.line == 3);
        assert_eq!(r.fields[9], "kernel/loop,kernel/loop/error");
        assert!(!rows[2].fits && rows[2].block_size == 0);
        let m: Vec<Vec<String>> =
            rows.iter().map(|_| MEASURED_COLUMNS.iter().map(|_| "x".to_string()).collect()).collect();
        let text = write(&header, &rows, &m);
        let (again, back) = read("w.csv", &text).unwrap();
        assert_eq!(again.len(), header.len() + MEASURED_COLUMNS.len());
        assert_eq!(back[1].fields[9], "kernel/loop,kernel/loop/error");
        assert_eq!(back[1].sets, rows[1].sets);
    }

    #[test]
    fn bad_rows_name_the_line_and_column() {
        let e = read("r.csv", "index,n\n").unwrap_err().to_string();
        assert!(e.contains("r.csv:1") && e.contains("no `model` column"), "{e}");
        let e = read("r.csv", &ROWS.replace(",32,fixed", ",x,fixed")).unwrap_err().to_string();
        assert!(e.contains("r.csv:2") && e.contains("best_block_size `x`"), "{e}");
        let e = read("r.csv", &ROWS.replace("0,dirk,3,", "0,dirk,")).unwrap_err().to_string();
        assert!(e.contains("r.csv:2") && e.contains("9 fields, the header has 10"), "{e}");
        let e = read("r.csv", &ROWS.replace("error\"", "error")).unwrap_err();
        assert!(e.to_string().contains("r.csv:3"), "{e}");
        assert!(read("r.csv", "").unwrap_err().to_string().contains("no header"));
    }
}
