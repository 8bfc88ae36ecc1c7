//! MiniMalloc's CSV format, every dialect it reads, and its solution output.
//!
//! * Header `id,lower,upper,size`: half-open lifetimes `[lower, upper)`.
//! * The older header `buffer_id,start,end,size` (also `buffer`, `begin`):
//!   `end` is inclusive, so `[start, end + 1)`; gaps are read the same way.
//! * Columns in any order; optional `alignment`, `offset` (a fixed offset in
//!   an instance, the answer in a solution), `hint` (MiniMalloc's offset
//!   hint for its solver: read, checked and written back, never used to
//!   place; negative or empty means none) and `gaps`: space-separated
//!   `lower-upper` holes in which the buffer is dead.
//! * MiniMalloc's windowed gap `lower-upper@a:b` keeps the bytes `[a, b)` of
//!   the buffer (relative to its offset) live during the gap. A [`Buffer`]'s
//!   gaps free its whole range, so only the window that keeps every byte
//!   (`@0:SIZE`, no hole at all) is expressed exactly, by dropping the gap;
//!   any other window is refused with its line, never approximated.
//! * A solution is the instance's rows with an `offset` column.
//! * [`read_instance`] also says how the file was read ([`Dialect`]): the
//!   inclusive `end` convention, how many buffers the `offset` column fixes,
//!   the hints. [`Dialect::notes`] words the surprises for a user.
//!
//! * A UTF-8 byte-order mark is skipped; lines may end in `\n`, `\r\n` or a
//!   lone `\r`. Control characters (other than tab) are refused anywhere,
//!   so ids are always printable in reports, SVG and generated code.
//!
//! Every error names the source, the 1-based line and, where there is one,
//! the buffer id.

use crate::error::{Error, Result};
use crate::problem::{Buffer, Interval, Layout, Problem};
use std::fmt::Write as _;

/// The columns we know, after MiniMalloc's renamings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Id,
    Lower,
    Upper,
    Size,
    Alignment,
    Offset,
    Gaps,
    Hint,
}

impl Column {
    /// Maps a header name; the bool says the column is an inclusive `end`.
    fn from_header(name: &str) -> Option<(Column, bool)> {
        Some(match name {
            "id" | "buffer" | "buffer_id" => (Column::Id, false),
            "lower" | "start" | "begin" => (Column::Lower, false),
            "upper" => (Column::Upper, false),
            "end" => (Column::Upper, true),
            "size" => (Column::Size, false),
            "alignment" => (Column::Alignment, false),
            "offset" => (Column::Offset, false),
            "gaps" => (Column::Gaps, false),
            "hint" => (Column::Hint, false),
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::Lower => "lower",
            Column::Upper => "upper",
            Column::Size => "size",
            Column::Alignment => "alignment",
            Column::Offset => "offset",
            Column::Gaps => "gaps",
            Column::Hint => "hint",
        }
    }
}

/// A parsed header plus the rows split into fields.
struct Table<'a> {
    source: &'a str,
    /// Field index of each [`Column`] (by its discriminant), if present.
    columns: [Option<usize>; COLUMNS],
    /// Upper bounds (and gap ends) are inclusive: add 1.
    inclusive_end: bool,
    /// Fields per row.
    width: usize,
    /// The header's names, as written (`start` for `lower`, ...).
    names: Vec<&'a str>,
    /// Every row's fields, one row after another (one allocation for the
    /// whole file: instances run to millions of rows).
    fields: Vec<&'a str>,
    /// The line number of each row.
    lines: Vec<usize>,
}

/// How many [`Column`]s there are.
const COLUMNS: usize = 8;

impl<'a> Table<'a> {
    fn parse(source: &'a str, text: &'a str, required: &[Column]) -> Result<Self> {
        let err = |line: usize, message: String| Error::Parse { source_name: source.to_string(), line, message };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = lines(text).enumerate().map(|(i, l)| (i + 1, l)).filter(|(_, l)| !l.trim().is_empty());
        let Some((hline, header)) = lines.next() else {
            return Err(err(0, "empty input: expected a header such as `id,lower,upper,size`".into()));
        };
        let mut columns = [None; COLUMNS];
        let mut inclusive_end = false;
        refuse_controls(header).map_err(|m| err(hline, m))?;
        let fields: Vec<&str> = header.split(',').map(str::trim).collect();
        for (i, name) in fields.iter().enumerate() {
            let Some((col, inclusive)) = Column::from_header(name) else {
                return Err(err(hline, format!("unknown column `{name}` in the header")));
            };
            inclusive_end |= inclusive;
            if columns[col as usize].replace(i).is_some() {
                return Err(err(hline, format!("column `{}` appears twice in the header", col.name())));
            }
        }
        for col in required {
            if columns[*col as usize].is_none() {
                return Err(err(hline, format!("the header lacks the required column `{}`", col.name())));
            }
        }
        let width = fields.len();
        let mut table =
            Table { source, columns, inclusive_end, width, names: fields, fields: Vec::new(), lines: Vec::new() };
        for (line, l) in lines {
            refuse_controls(l).map_err(|m| err(line, m))?;
            let before = table.fields.len();
            table.fields.extend(l.split(',').map(str::trim));
            let found = table.fields.len() - before;
            if found != width {
                return Err(err(line, format!("expected {width} fields as in the header, found {found}")));
            }
            table.lines.push(line);
        }
        Ok(table)
    }

    /// `(line, fields)` of each row.
    fn rows(&self) -> impl Iterator<Item = (usize, &[&'a str])> + '_ {
        self.lines.iter().copied().zip(self.fields.chunks_exact(self.width))
    }

    /// The header's own name for `col` (which it has).
    fn header_name(&self, col: Column) -> &'a str {
        self.columns[col as usize].map_or(col.name(), |i| self.names[i])
    }

    fn get<'r>(&self, row: &'r [&'a str], col: Column) -> Option<&'r &'a str> {
        self.columns[col as usize].map(|i| &row[i])
    }

    fn error(&self, line: usize, id: Option<&str>, message: String) -> Error {
        let message = match id {
            Some(id) => format!("buffer `{id}`: {message}"),
            None => message,
        };
        Error::Parse { source_name: self.source.to_string(), line, message }
    }

    fn number(&self, line: usize, id: &str, col: Column, text: &str) -> Result<u64> {
        parse_u64(text).map_err(|why| self.error(line, Some(id), format!("column `{}`: {why}", col.name())))
    }
}

/// The lines of `text`, each ended by `\n`, `\r\n` or a lone `\r`.
fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.bytes().position(|b| b == b'\n' || b == b'\r').unwrap_or(rest.len());
        let line = &rest[..end];
        let ending = if rest[end..].starts_with("\r\n") { 2 } else { usize::from(end < rest.len()) };
        rest = &rest[end + ending..];
        Some(line)
    })
}

/// Refuses a line holding a control character other than tab, naming it and
/// its field.
fn refuse_controls(text: &str) -> std::result::Result<(), String> {
    // Every control character but tab is a byte below 0x20, DEL, or (C1)
    // starts with 0xC2: most lines have none of these.
    if !text.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f || b == 0xc2) {
        return Ok(());
    }
    let Some((at, c)) = text.char_indices().find(|&(_, c)| c.is_control() && c != '\t') else {
        return Ok(());
    };
    let field = text[..at].matches(',').count() + 1;
    Err(format!("field {field} holds the control character U+{:04X}; ids and values must be printable", u32::from(c)))
}

/// Parses a non-negative integer, saying what is wrong otherwise.
fn parse_u64(text: &str) -> std::result::Result<u64, String> {
    if text.is_empty() {
        return Err("empty value".into());
    }
    let digits = text.strip_prefix('+').unwrap_or(text);
    if let Some(rest) = digits.strip_prefix('-') {
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("negative value {text}"));
        }
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) || digits.is_empty() {
        return Err(format!("`{text}` is not a whole number"));
    }
    digits.parse::<u64>().map_err(|_| format!("{text} is too large (max {})", u64::MAX))
}

/// How a file was read, beside the [`Problem`] it gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dialect {
    /// Rows read.
    pub buffers: usize,
    /// The header named `end`: ends (and gap ends) were read inclusive,
    /// `[start, end + 1)`.
    pub inclusive_end: bool,
    /// Buffers that the `offset` column fixes (non-empty offsets).
    pub fixed: usize,
    /// Each buffer's `hint` when the file has the column (`None`: no hint).
    pub hints: Option<Vec<Option<u64>>>,
    /// Windowed gaps whose window keeps the whole buffer (`@0:SIZE`), read
    /// as no hole.
    pub whole_windows: usize,
}

impl Dialect {
    /// One line per convention a user may not expect, naming `source`:
    /// the inclusive `end` convention, and fixed offsets (a solution fed
    /// back as an instance is only re-checked: its peak proves nothing).
    pub fn notes(&self, source: &str) -> Vec<String> {
        let mut notes = Vec::new();
        if self.inclusive_end {
            notes.push(format!(
                "{source}: the header has `end`, read as MiniMalloc's older inclusive convention: each lifetime \
                 (and gap) is [start, end + 1); with `upper` it would be [lower, upper)"
            ));
        }
        if self.fixed > 0 {
            notes.push(format!(
                "{source}: the `offset` column fixes {} of {} buffers where they are; solvers only place the \
                 others (a solution read as an instance is merely re-checked, so its peak proves nothing: drop \
                 the column to solve it afresh)",
                self.fixed, self.buffers
            ));
        }
        if self.whole_windows > 0 {
            notes.push(format!(
                "{source}: {} windowed gap(s) keep the whole buffer (`@0:SIZE`) and were read as no hole",
                self.whole_windows
            ));
        }
        notes
    }
}

/// Reads an instance. `source` names it in errors (a path, `<builtin>`).
/// A capacity can be attached afterwards with [`Problem::with_capacity`].
pub fn read_problem(source: &str, text: &str) -> Result<Problem> {
    read_instance(source, text).map(|(problem, _)| problem)
}

/// Reads an instance and says how it was read ([`Dialect`]).
pub fn read_instance(source: &str, text: &str) -> Result<(Problem, Dialect)> {
    let table = Table::parse(source, text, &[Column::Id, Column::Lower, Column::Upper, Column::Size])?;
    let add = u64::from(table.inclusive_end);
    let mut buffers = Vec::with_capacity(table.lines.len());
    let mut dialect = Dialect {
        buffers: table.lines.len(),
        inclusive_end: table.inclusive_end,
        hints: table.columns[Column::Hint as usize].map(|_| Vec::with_capacity(table.lines.len())),
        ..Dialect::default()
    };
    for (line, row) in table.rows() {
        let id = *table.get(row, Column::Id).unwrap();
        if id.is_empty() {
            return Err(table.error(line, None, "empty buffer id".into()));
        }
        let num = |col: Column| -> Result<Option<u64>> {
            table.get(row, col).map(|t| table.number(line, id, col, t)).transpose()
        };
        let lower = num(Column::Lower)?.unwrap();
        let upper_raw = num(Column::Upper)?.unwrap();
        let upper = upper_raw
            .checked_add(add)
            .ok_or_else(|| table.error(line, Some(id), format!("end {upper_raw} is too large")))?;
        let size = num(Column::Size)?.unwrap();
        let alignment = num(Column::Alignment)?.unwrap_or(1);
        // An empty offset means the buffer is free to move.
        let offset = match table.get(row, Column::Offset) {
            Some(t) if !t.is_empty() => Some(table.number(line, id, Column::Offset, t)?),
            _ => None,
        };
        dialect.fixed += usize::from(offset.is_some());
        if let Some(hints) = &mut dialect.hints {
            let text = table.get(row, Column::Hint).unwrap();
            hints.push(parse_hint(text).map_err(|w| table.error(line, Some(id), format!("column `hint`: {w}")))?);
        }
        let gaps = match table.get(row, Column::Gaps) {
            Some(text) => {
                let span = Interval::new(lower, upper);
                parse_gaps(&table, line, id, text, add, span, size, &mut dialect.whole_windows)?
            }
            None => Vec::new(),
        };
        buffers.push(Buffer {
            name: id.to_string(),
            size,
            alignment,
            lifetime: Interval::new(lower, upper),
            gaps,
            offset,
        });
    }
    let problem = Problem::new(buffers, None).map_err(|e| {
        // Buffers are in row order: the rows of the buffer the error names
        // are found by a scan, which only an error pays for.
        let lines_of = |name: &str| -> Vec<usize> {
            table.rows().filter(|(_, row)| table.get(row, Column::Id) == Some(&name)).map(|(line, _)| line).collect()
        };
        match &e {
            Error::DuplicateBuffer { buffer } => {
                let lines = lines_of(buffer);
                let (first, line) = (lines.first().copied().unwrap_or(0), lines.get(1).copied().unwrap_or(0));
                table.error(line, Some(buffer), format!("duplicate buffer id (first on line {first})"))
            }
            _ => {
                let line = e.buffer_name().and_then(|n| lines_of(n).first().copied()).unwrap_or(0);
                Error::Parse { source_name: source.to_string(), line, message: e.to_string() }
            }
        }
    })?;
    Ok((problem, dialect))
}

/// MiniMalloc's hint: an offset, or none when empty or negative (its files
/// write `-1` for none).
fn parse_hint(text: &str) -> std::result::Result<Option<u64>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    if let Some(rest) = text.strip_prefix('-') {
        if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(None);
        }
    }
    parse_u64(text).map(Some)
}

/// Parses the `gaps` field: `lower-upper` holes, and MiniMalloc's windowed
/// `lower-upper@a:b` (see the module docs: only `@0:SIZE` is expressible).
#[allow(clippy::too_many_arguments)]
fn parse_gaps(
    table: &Table<'_>,
    line: usize,
    id: &str,
    text: &str,
    add: u64,
    lifetime: Interval,
    size: u64,
    whole_windows: &mut usize,
) -> Result<Vec<Interval>> {
    let mut gaps = Vec::new();
    for gap in text.split(' ').filter(|g| !g.is_empty()) {
        let bad = |what: String| table.error(line, Some(id), format!("gap `{gap}`: {what}"));
        let (span, window) = match gap.split_once('@') {
            Some((span, window)) => (span, Some(window)),
            None => (gap, None),
        };
        let Some((lo, hi)) = span.split_once('-') else {
            return Err(table.error(line, Some(id), format!("gap `{gap}` is not of the form lower-upper")));
        };
        let lo = parse_u64(lo).map_err(&bad)?;
        let hi = parse_u64(hi).map_err(&bad)?;
        let hi = hi.checked_add(add).ok_or_else(|| table.error(line, Some(id), format!("gap `{gap}` is too large")))?;
        let Some(window) = window else {
            gaps.push(Interval::new(lo, hi));
            continue;
        };
        let Some((a, b)) = window.split_once(':') else {
            return Err(bad(format!(
                "the window `{window}` is not of the form lower:upper (MiniMalloc's `lower-upper@lower:upper`)"
            )));
        };
        let a = parse_u64(a).map_err(|w| bad(format!("window: {w}")))?;
        let b = parse_u64(b).map_err(|w| bad(format!("window: {w}")))?;
        if a > b {
            return Err(bad(format!("the window {a}:{b} ends before it starts")));
        }
        if (a, b) != (0, size) {
            return Err(bad(format!(
                "MiniMalloc's window keeps bytes {a}..{b} of this {size}-byte buffer live during {lo}..{hi}; \
                 smemplan's gaps free the whole buffer, so only the window 0:{size} (no hole) is expressed exactly \
                 (drop the window to free the whole buffer, or the gap to keep it)"
            )));
        }
        if lo >= hi || lo < lifetime.start || hi > lifetime.end {
            return Err(bad(format!("outside the lifetime {}-{} or empty", lifetime.start, lifetime.end)));
        }
        // The whole buffer stays live: no hole.
        *whole_windows += 1;
    }
    Ok(gaps)
}

/// Reads the `(id, offset, line)` triples of a solution file: `id` and
/// `offset` are required; the instance format's other columns may be there
/// and are not read; an unknown column is an error, as in an instance.
pub fn read_offsets(source: &str, text: &str) -> Result<Vec<(String, u64, usize)>> {
    offsets(&Table::parse(source, text, &[Column::Id, Column::Offset])?)
}

/// [`read_offsets`] of a solution of `problem`: its `lower`, `upper` and
/// `size` columns, where it has them, must state what `problem` says of
/// each buffer it names (a solution of another instance with the same ids
/// would otherwise pass as this one's). Unknown ids are left to the
/// checker. The file is parsed once for both.
pub fn read_solution(problem: &Problem, source: &str, text: &str) -> Result<Vec<(String, u64, usize)>> {
    let table = Table::parse(source, text, &[Column::Id, Column::Offset])?;
    check_stated(&table, problem)?;
    offsets(&table)
}

/// The `(id, offset, line)` triples of a solution's table.
fn offsets(table: &Table) -> Result<Vec<(String, u64, usize)>> {
    table
        .rows()
        .map(|(line, row)| {
            let id = *table.get(row, Column::Id).unwrap();
            let off = table.number(line, id, Column::Offset, table.get(row, Column::Offset).unwrap())?;
            Ok((id.to_string(), off, line))
        })
        .collect()
}

/// [`read_solution`]'s check of the stated columns.
fn check_stated(table: &Table, problem: &Problem) -> Result<()> {
    let add = u64::from(table.inclusive_end);
    let named: std::collections::HashMap<&str, &Buffer> =
        problem.buffers().iter().map(|b| (b.name.as_str(), b)).collect();
    for (line, row) in table.rows() {
        let id = *table.get(row, Column::Id).unwrap();
        let Some(b) = named.get(id) else { continue };
        // In the file's own dialect: an inclusive `end` is one less.
        for (col, want) in
            [(Column::Lower, b.lifetime.start), (Column::Upper, b.lifetime.end - add), (Column::Size, b.size)]
        {
            let Some(text) = table.get(row, col).filter(|t| !t.is_empty()) else { continue };
            let stated = table.number(line, id, col, text)?;
            if stated != want {
                let column = table.header_name(col);
                return Err(table.error(
                    line,
                    Some(id),
                    format!("column `{column}` states {stated}, but the instance has {want}: is this another instance's solution?"),
                ));
            }
        }
    }
    Ok(())
}

/// Writes an instance (half-open dialect), with `offset` taken from `layout`
/// when given, else from fixed offsets if any buffer has one.
pub fn write(problem: &Problem, layout: Option<&Layout>) -> String {
    write_with_hints(problem, layout, None)
}

/// [`write()`], with a `hint` column when `hints` are given (one per buffer;
/// `-1` for none, as MiniMalloc writes it), placed as MiniMalloc places it:
/// after `alignment`, before `gaps`.
pub fn write_with_hints(problem: &Problem, layout: Option<&Layout>, hints: Option<&[Option<u64>]>) -> String {
    let buffers = problem.buffers();
    let hints = hints.filter(|h| h.len() == buffers.len());
    let with_align = buffers.iter().any(|b| b.alignment != 1);
    let with_gaps = buffers.iter().any(|b| !b.gaps.is_empty());
    let with_offset = layout.is_some() || buffers.iter().any(|b| b.offset.is_some());
    let mut out = String::from("id,lower,upper,size");
    if with_align {
        out.push_str(",alignment");
    }
    if hints.is_some() {
        out.push_str(",hint");
    }
    if with_gaps {
        out.push_str(",gaps");
    }
    if with_offset {
        out.push_str(",offset");
    }
    out.push('\n');
    for (i, b) in buffers.iter().enumerate() {
        let _ = write!(out, "{},{},{},{}", b.name, b.lifetime.start, b.lifetime.end, b.size);
        if with_align {
            let _ = write!(out, ",{}", b.alignment);
        }
        if let Some(hints) = hints {
            match hints[i] {
                Some(h) => {
                    let _ = write!(out, ",{h}");
                }
                None => out.push_str(",-1"),
            }
        }
        if with_gaps {
            let gaps: Vec<String> = b.gaps.iter().map(|g| format!("{}-{}", g.start, g.end)).collect();
            let _ = write!(out, ",{}", gaps.join(" "));
        }
        if with_offset {
            match layout.map(|l| l.offsets[i]).or(b.offset) {
                Some(o) => {
                    let _ = write!(out, ",{o}");
                }
                None => out.push(','),
            }
        }
        out.push('\n');
    }
    out
}

/// Parses a non-negative duration: plain seconds (`2.5`), or a number with
/// one of the units MiniMalloc's `--timeout` takes (`ns`, `us`, `ms`, `s`,
/// `m`, `h`: `500ms`, `10s`, `1m`).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    const UNITS: [(&str, f64); 6] = [("ns", 1e-9), ("us", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0)];
    let expected = "seconds (`2.5`) or a number with a unit: `500ms`, `10s`, `1m`, `1h` (also `us`, `ns`)";
    let (number, scale) = UNITS
        .iter()
        .find_map(|&(unit, scale)| {
            let number = text.strip_suffix(unit)?;
            // `1ms` ends in `s` too: a number must remain.
            number.bytes().last().is_some_and(|b| b.is_ascii_digit() || b == b'.').then_some((number, scale))
        })
        .unwrap_or((text, 1.0));
    let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a time limit: expected {expected}"))?;
    let seconds = value * scale;
    std::time::Duration::try_from_secs_f64(seconds).map_err(|_| {
        let rule = if seconds.is_finite() && seconds > 0.0 { "at most 2^64 seconds" } else { "at least 0, finite" };
        format!("`{text}` is not a valid time limit ({rule}): expected {expected}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> String {
        read_problem("t.csv", text).unwrap_err().to_string()
    }

    #[test]
    fn reads_both_dialects_alike() {
        let new = read_problem("a", "id,lower,upper,size\nx,0,3,4\ny,3,9,4\n").unwrap();
        let old = read_problem("b", "buffer_id,start,end,size\nx,0,2,4\ny,3,8,4\n").unwrap();
        assert_eq!(new.buffers(), old.buffers());
        let shuffled = read_problem("c", "size,upper,id,lower\n4,3,x,0\n4,9,y,3\n").unwrap();
        assert_eq!(new.buffers(), shuffled.buffers());
    }

    #[test]
    fn reads_optional_columns() {
        let p = read_problem("g", "id,lower,upper,size,alignment,offset,gaps\na,0,10,8,8,16,2-4 6-7\nb,0,3,1,1,,\n")
            .unwrap();
        // An empty offset field means "not fixed".
        assert_eq!(p.buffers()[0].offset, Some(16));
        assert_eq!(p.buffers()[1].offset, None);
        let p = read_problem("g", "id,lower,upper,size,alignment,gaps\na,0,10,8,8,2-4 6-7\nb,0,3,1,1,\n").unwrap();
        assert_eq!(p.buffers()[0].gaps, vec![Interval::new(2, 4), Interval::new(6, 7)]);
        assert_eq!(p.buffers()[0].alignment, 8);
        let old = read_problem("o", "buffer,start,end,size,gaps\na,0,9,8,2-3\n").unwrap();
        assert_eq!(old.buffers()[0].gaps, vec![Interval::new(2, 4)]);
    }

    #[test]
    fn round_trips_with_solution() {
        let text = "id,lower,upper,size,alignment,gaps\na,0,10,8,8,2-4\nb,1,3,2,1,\n";
        let p = read_problem("r", text).unwrap();
        let out = write(&p, Some(&Layout::new(vec![0, 8])));
        let back = read_problem("r2", &write(&p, None)).unwrap();
        assert_eq!(back.buffers(), p.buffers());
        let offs = read_offsets("r", &out).unwrap();
        assert_eq!(offs, vec![("a".into(), 0, 2), ("b".into(), 8, 3)]);
    }

    #[test]
    fn a_solution_stating_other_buffers_is_refused() {
        let p = read_problem("i", "id,lower,upper,size\na,0,4,8\nb,2,6,8\n").unwrap();
        // Its own solution, in either dialect, or with no instance columns.
        for ok in [
            "id,lower,upper,size,offset\na,0,4,8,0\nb,2,6,8,8\n",
            "id,start,end,size,offset\na,0,3,8,0\n",
            "id,offset\na,0\nc,9\n",
        ] {
            read_solution(&p, "s", ok).unwrap();
        }
        for (bad, column, stated, has) in [
            ("id,lower,upper,size,offset\na,0,4,8,0\nb,2,6,400,8\n", "size", 400, 8),
            ("id,lower,upper,size,offset\nb,1,6,8,8\n", "lower", 1, 2),
            ("id,start,end,size,offset\na,0,4,8,0\n", "end", 4, 3),
            ("id,begin,upper,size,offset\nb,1,6,8,8\n", "begin", 1, 2),
        ] {
            let e = read_solution(&p, "s", bad).unwrap_err().to_string();
            let want = format!("column `{column}` states {stated}, but the instance has {has}");
            assert!(e.starts_with("s:") && e.contains(&want), "{e}");
        }
    }

    #[test]
    fn reads_minimallocs_hint_and_carries_it() {
        let text = "id,lower,upper,size,hint\na,0,4,8,16\nb,2,6,8,-1\nc,1,3,2,\n";
        let (p, d) = read_instance("h", text).unwrap();
        assert_eq!(d.hints, Some(vec![Some(16), None, None]));
        assert_eq!(p.len(), 3);
        let out = write_with_hints(&p, Some(&Layout::new(vec![0, 8, 16])), d.hints.as_deref());
        assert_eq!(out, "id,lower,upper,size,hint,offset\na,0,4,8,16,0\nb,2,6,8,-1,8\nc,1,3,2,-1,16\n");
        let (back, d2) = read_instance("h2", &out).unwrap();
        assert_eq!(back.buffers().iter().map(|b| b.offset).collect::<Vec<_>>(), vec![Some(0), Some(8), Some(16)]);
        assert_eq!(d2.hints, d.hints);
        assert_eq!(d2.fixed, 3);
        assert!(parse_err("id,lower,upper,size,hint\na,0,4,8,x\n").contains("t.csv:2: buffer `a`: column `hint`"));
        // No hint column: none written, the output as before.
        let (p, d) = read_instance("n", "id,lower,upper,size\na,0,4,8\n").unwrap();
        assert_eq!(d.hints, None);
        assert_eq!(write_with_hints(&p, None, d.hints.as_deref()), write(&p, None));
    }

    #[test]
    fn windowed_gaps_are_exact_or_refused() {
        // The window that keeps every byte is no hole at all.
        let (p, d) = read_instance("w", "id,lower,upper,size,gaps\na,0,10,8,4-6@0:8 7-8\n").unwrap();
        assert_eq!(p.buffers()[0].gaps, vec![Interval::new(7, 8)]);
        assert_eq!(d.whole_windows, 1);
        assert!(d.notes("w").iter().any(|n| n.contains("read as no hole")));
        // Inclusive dialect: the gap's end moves, the window does not.
        let (p, _) = read_instance("w", "buffer_id,start,end,size,gaps\na,0,9,8,4-5@0:8 7-7\n").unwrap();
        assert_eq!(p.buffers()[0].gaps, vec![Interval::new(7, 8)]);
        for (gaps, want) in [
            ("4-6@0:4", "t.csv:2: buffer `a`: gap `4-6@0:4`: MiniMalloc's window keeps bytes 0..4"),
            ("4-6@2:8", "keeps bytes 2..8"),
            ("4-6@0:16", "keeps bytes 0..16"),
            ("4-6@0:0", "keeps bytes 0..0"),
            ("4-6@4:2", "ends before it starts"),
            ("4-6@0", "is not of the form lower:upper"),
            ("4-6@", "is not of the form lower:upper"),
            ("4-6@0:x", "window: `x` is not a whole number"),
            ("4-6@0:8@1:2", "window: `8@1:2` is not a whole number"),
            ("4-6@-1:8", "window: negative"),
            ("12-14@0:8", "outside the lifetime"),
        ] {
            let got = parse_err(&format!("id,lower,upper,size,gaps\na,0,10,8,{gaps}\n"));
            assert!(got.contains(want), "{gaps}: got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn dialect_notes_name_the_traps() {
        let (_, d) = read_instance("s.csv", "id,lower,upper,size,offset\na,0,4,8,0\nb,2,6,8,\n").unwrap();
        assert_eq!((d.fixed, d.buffers, d.inclusive_end), (1, 2, false));
        let notes = d.notes("s.csv");
        assert_eq!(notes.len(), 1);
        assert!(notes[0].starts_with("s.csv: the `offset` column fixes 1 of 2 buffers"), "{notes:?}");
        let (_, d) = read_instance("e.csv", "id,start,end,size\na,0,3,4\n").unwrap();
        assert!(d.inclusive_end);
        assert!(d.notes("e.csv")[0].contains("[start, end + 1)"));
        let (_, d) = read_instance("u.csv", "id,lower,upper,size\na,0,3,4\n").unwrap();
        assert!(d.notes("u.csv").is_empty());
    }

    #[test]
    fn byte_order_mark_and_every_line_ending_are_accepted() {
        let plain = read_problem("a", "id,lower,upper,size\nx,0,3,4\ny,3,9,4\n").unwrap();
        for text in [
            "\u{feff}id,lower,upper,size\nx,0,3,4\ny,3,9,4\n",
            "id,lower,upper,size\r\nx,0,3,4\r\ny,3,9,4\r\n",
            "id,lower,upper,size\rx,0,3,4\ry,3,9,4\r",
            "\u{feff}id,lower,upper,size\rx,0,3,4\r\ny,3,9,4",
        ] {
            let p = read_problem("b", text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(p.buffers(), plain.buffers(), "{text:?}");
        }
        // A mark anywhere but at the start is a character like any other.
        assert!(parse_err("id,\u{feff}lower,upper,size\n").contains("unknown column"));
    }

    #[test]
    fn errors_name_line_and_buffer() {
        let cases = [
            ("", "empty input"),
            ("id,lower,size\n", "required column `upper`"),
            ("id,lower,upper,size,size\n", "twice"),
            ("id,lower,upper,size,colour\n", "unknown column `colour`"),
            ("id,lower,upper,size\na,0,1\n", "t.csv:2: expected 4 fields"),
            ("id,lower,upper,size\na,0,1,x\n", "t.csv:2: buffer `a`: column `size`: `x` is not a whole number"),
            ("id,lower,upper,size\na,0,1,-4\n", "negative"),
            ("id,lower,upper,size\na,0,1,99999999999999999999\n", "too large"),
            ("id,lower,upper,size\na,0,1,1\nb,0,1,0\n", "t.csv:3: buffer `b`: size must be at least 1"),
            ("id,lower,upper,size\na,5,5,1\n", "empty lifetime"),
            ("id,lower,upper,size\na,0,1,1\na,0,1,1\n", "t.csv:3: buffer `a`: duplicate buffer id (first on line 2)"),
            ("id,lower,upper,size,alignment\na,0,1,1,3\n", "power of two"),
            ("id,lower,upper,size,alignment,offset\na,0,1,4,4,2\n", "multiple of alignment"),
            ("id,lower,upper,size,gaps\na,0,5,1,4-7\n", "outside"),
            ("id,lower,upper,size,gaps\na,0,9,1,1-4 3-5\n", "overlap"),
            ("id,lower,upper,size,gaps\na,0,9,1,1:4\n", "lower-upper"),
            ("id,lower,upper,size,offset\na,0,4,8,0\nb,2,6,8,4\n", "t.csv:3: fixed offsets collide"),
            ("buffer_id,start,end,size\na,0,18446744073709551615,1\n", "too large"),
            ("id,lower,upper,size\na\u{1},0,1,1\n", "t.csv:2: field 1 holds the control character U+0001"),
            ("id,lower,upper,size\nb,0,1,1\na\0,0,1,1\n", "t.csv:3: field 1 holds the control character U+0000"),
            ("id,lower,upper,size\u{7f}\n", "t.csv:1: field 4 holds the control character U+007F"),
            ("id,lower,upper,size\rab,0,1,x\r", "t.csv:2: buffer `ab`: column `size`"),
        ];
        for (text, want) in cases {
            let got = parse_err(text);
            assert!(got.contains(want), "{text:?}: got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn time_limits_take_minimallocs_units() {
        for (text, want) in [
            ("10", std::time::Duration::from_secs(10)),
            ("2.5", std::time::Duration::from_millis(2500)),
            ("10s", std::time::Duration::from_secs(10)),
            ("500ms", std::time::Duration::from_millis(500)),
            ("1m", std::time::Duration::from_secs(60)),
            ("1.5m", std::time::Duration::from_secs(90)),
            ("1h", std::time::Duration::from_secs(3600)),
            ("250us", std::time::Duration::from_micros(250)),
            ("0s", std::time::Duration::ZERO),
        ] {
            let got = parse_duration(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(got.abs_diff(want) < std::time::Duration::from_nanos(10), "{text}: {got:?}");
        }
        for text in ["10x", "s", "ms", "-1s", "1e400s", "inf", "infs", "10 s", "1sm", ""] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains(&format!("`{text}`")) && err.contains("500ms"), "{text}: {err}");
        }
        // Finite but beyond a Duration: the rule it breaks is named.
        assert!(parse_duration("1e20").unwrap_err().contains("(at most 2^64 seconds)"));
        assert!(parse_duration("-1").unwrap_err().contains("(at least 0, finite)"));
    }
}
