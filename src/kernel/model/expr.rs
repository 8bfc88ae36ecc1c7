//! The small expression language of kernel models: sizes, conditions and
//! locations written in terms of the model's parameters.
//!
//! ```text
//! expr   := or
//! or     := and ('||' and)*
//! and    := cmp ('&&' cmp)*
//! cmp    := sum (('=='|'!='|'<'|'<='|'>'|'>=') sum)?
//! sum    := term (('+'|'-') term)*
//! term   := unary (('*'|'/'|'%') unary)*
//! unary  := ('-'|'!') unary | atom
//! atom   := INT | 'text' | "text" | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'
//! ```
//!
//! Values are 64-bit integers or strings. Arithmetic is exact in 128 bits
//! and checked: an intermediate beyond 64 bits is no error where the
//! expression's value fits (`min(n * n, 5 * n - 5)` at n = 2³²), a value
//! beyond 64 bits, an intermediate beyond 128 and division by zero are
//! errors, nothing wraps; `/` rounds toward zero;
//! comparisons and `!`, `&&`, `||` give 0 or 1 (any non-zero integer is
//! true). Functions: `max(a, ...)`, `min(a, ...)`, `ceil(a, b)` = ⌈a / b⌉ for
//! a ≥ 0, b > 0, and `if(c, a, b)`. Names are looked up through a caller's
//! function, so parameters and derived values resolve lazily.

use std::fmt;

/// A value: an integer or a string (in JSON, a number or a string).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    /// A 64-bit signed integer (booleans are 0 and 1).
    Int(i64),
    /// A string.
    Str(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "'{s}'"),
        }
    }
}

impl Value {
    /// Parses a `--set` style value: an integer, `true`/`false`, else a
    /// string. A number that does not fit in 64 bits is an error naming the
    /// limit, not a string.
    pub fn parse_loose(text: &str) -> Result<Value, String> {
        match text {
            "true" => return Ok(Value::Int(1)),
            "false" => return Ok(Value::Int(0)),
            _ => {}
        }
        if let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{text}` does not fit in 64 bits (integers lie in {} ..= {})", i64::MIN, i64::MAX));
        }
        Ok(Value::Str(text.to_string()))
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A literal.
    Lit(Value),
    /// A name to look up.
    Name(String),
    /// `-e` or `!e`.
    Unary(char, Box<Expr>),
    /// `a op b`.
    Binary(&'static str, Box<Expr>, Box<Expr>),
    /// `f(args)`.
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Int(i64),
    Str(String),
    Name(String),
    Op(&'static str),
}

const OPS: [&str; 17] = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "!", "(", ")", ","];

fn lex(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i] as char).is_ascii_digit() {
                i += 1;
            }
            let digits = &text[start..i];
            out.push(Tok::Int(digits.parse().map_err(|_| format!("integer `{digits}` does not fit in 64 bits"))?));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && ((b[i] as char).is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Name(text[start..i].to_string()));
        } else if c == '\'' || c == '"' {
            let end =
                text[i + 1..].find(c).ok_or_else(|| format!("unterminated string starting at column {}", i + 1))?;
            out.push(Tok::Str(text[i + 1..i + 1 + end].to_string()));
            i += end + 2;
        } else {
            let op = OPS
                .iter()
                .find(|op| text[i..].starts_with(**op))
                .ok_or_else(|| format!("unexpected `{c}` at column {}", i + 1))?;
            out.push(Tok::Op(op));
            i += op.len();
        }
    }
    Ok(out)
}

/// How deeply an expression may nest (parentheses, prefix operators, calls,
/// and operator chains alike). Parsing, evaluating and dropping an
/// expression recurse along its depth, so this bounds their stack use; real
/// models stay below 20.
pub const MAX_DEPTH: usize = 256;

/// A parsed subexpression and its depth.
type Parsed = Result<(Expr, usize), String>;

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    /// Open parentheses, calls and prefix operators around the position.
    nesting: usize,
}

/// The error for an expression deeper than [`MAX_DEPTH`].
fn too_deep() -> String {
    format!("the expression nests more than {MAX_DEPTH} levels deep (parentheses, operators, calls)")
}

/// `depth` if within [`MAX_DEPTH`].
fn checked(depth: usize) -> Result<usize, String> {
    if depth > MAX_DEPTH {
        Err(too_deep())
    } else {
        Ok(depth)
    }
}

impl Parser {
    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.pos) {
            Some(Tok::Op(op)) => Some(op),
            _ => None,
        }
    }

    fn eat(&mut self, op: &str) -> bool {
        if self.peek_op() == Some(op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Runs `f` one nesting level deeper, refusing to go past [`MAX_DEPTH`]
    /// before recursing.
    fn nested(&mut self, f: impl FnOnce(&mut Parser) -> Parsed) -> Parsed {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(too_deep());
        }
        let result = f(self);
        self.nesting -= 1;
        result
    }

    fn binary(&mut self, ops: &[&'static str], next: fn(&mut Parser) -> Parsed) -> Parsed {
        let (mut lhs, mut depth) = next(self)?;
        while let Some(op) = self.peek_op().filter(|op| ops.contains(op)) {
            self.pos += 1;
            let (rhs, d) = next(self)?;
            depth = checked(depth.max(d) + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok((lhs, depth))
    }

    fn or(&mut self) -> Parsed {
        self.binary(&["||"], Parser::and)
    }

    fn and(&mut self) -> Parsed {
        self.binary(&["&&"], Parser::cmp)
    }

    fn cmp(&mut self) -> Parsed {
        let (lhs, d) = self.sum()?;
        match self.peek_op().filter(|op| ["==", "!=", "<", "<=", ">", ">="].contains(op)) {
            Some(op) => {
                self.pos += 1;
                let (rhs, e) = self.sum()?;
                Ok((Expr::Binary(op, Box::new(lhs), Box::new(rhs)), checked(d.max(e) + 1)?))
            }
            None => Ok((lhs, d)),
        }
    }

    fn sum(&mut self) -> Parsed {
        self.binary(&["+", "-"], Parser::term)
    }

    fn term(&mut self) -> Parsed {
        self.binary(&["*", "/", "%"], Parser::unary)
    }

    fn unary(&mut self) -> Parsed {
        for op in ['-', '!'] {
            if self.eat(&op.to_string()) {
                let (e, d) = self.nested(Parser::unary)?;
                return Ok((Expr::Unary(op, Box::new(e)), checked(d + 1)?));
            }
        }
        self.atom()
    }

    fn atom(&mut self) -> Parsed {
        let tok = self.toks.get(self.pos).cloned().ok_or("unexpected end of expression")?;
        self.pos += 1;
        match tok {
            Tok::Int(i) => Ok((Expr::Lit(Value::Int(i)), 1)),
            Tok::Str(s) => Ok((Expr::Lit(Value::Str(s)), 1)),
            Tok::Name(name) => {
                if !self.eat("(") {
                    return Ok((Expr::Name(name), 1));
                }
                self.nested(|p| {
                    let (first, mut depth) = p.or()?;
                    let mut args = vec![first];
                    while p.eat(",") {
                        let (arg, d) = p.or()?;
                        depth = depth.max(d);
                        args.push(arg);
                    }
                    if !p.eat(")") {
                        return Err(format!("expected `)` after the arguments of `{name}`"));
                    }
                    Ok((Expr::Call(name, args), checked(depth + 1)?))
                })
            }
            Tok::Op("(") => self.nested(|p| {
                let e = p.or()?;
                if !p.eat(")") {
                    return Err("expected `)`".into());
                }
                Ok(e)
            }),
            Tok::Op(op) => Err(format!("unexpected `{op}`")),
        }
    }
}

/// Characters of an expression an error message quotes.
pub const QUOTED_CHARS: usize = 80;

/// `text` as an error message quotes it: at most [`QUOTED_CHARS`]
/// characters, with `…` where the rest was cut (an expression refused as too
/// deep can run to tens of kilobytes).
pub fn excerpt(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

impl Expr {
    /// Parses `text`. Expressions deeper than [`MAX_DEPTH`] are refused.
    pub fn parse(text: &str) -> Result<Expr, String> {
        let mut p = Parser { toks: lex(text)?, pos: 0, nesting: 0 };
        let (e, _) = p.or()?;
        match p.toks.get(p.pos) {
            None => Ok(e),
            Some(t) => Err(format!("unexpected {} after a complete expression", describe(t))),
        }
    }

    /// Appends every name the expression reads (in order, repeats kept).
    pub fn names<'e>(&'e self, out: &mut Vec<&'e str>) {
        match self {
            Expr::Lit(_) => {}
            Expr::Name(n) => out.push(n),
            Expr::Unary(_, e) => e.names(out),
            Expr::Binary(_, a, b) => {
                a.names(out);
                b.names(out);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.names(out)),
        }
    }

    /// Evaluates with `lookup` resolving names. Arithmetic is exact in 128
    /// bits (a product of two 64-bit values always fits), so an
    /// intermediate beyond 64 bits is no error where the result fits:
    /// `min(n * n, 5 * n - 5)` at n = 2³² is 5n − 5. The result must fit
    /// in 64 bits; an intermediate beyond 128 bits is an overflow.
    pub fn eval(&self, lookup: &mut dyn FnMut(&str) -> Result<Value, String>) -> Result<Value, String> {
        match self.eval_wide(lookup)? {
            Wide::Int(i) => i64::try_from(i).map(Value::Int).map_err(|_| {
                format!(
                    "overflow: the value {i} does not fit in 64 bits (integers lie in {} ..= {})",
                    i64::MIN,
                    i64::MAX
                )
            }),
            Wide::Str(s) => Ok(Value::Str(s)),
        }
    }

    fn eval_wide(&self, lookup: &mut dyn FnMut(&str) -> Result<Value, String>) -> Result<Wide, String> {
        match self {
            Expr::Lit(v) => Ok(Wide::from(v.clone())),
            Expr::Name(n) => lookup(n).map(Wide::from),
            Expr::Unary(op, e) => {
                let v = e.eval_wide(lookup)?;
                match op {
                    '-' => int(&v, "-")?.checked_neg().map(Wide::Int).ok_or_else(|| "overflow in `-`".into()),
                    _ => Ok(Wide::Int(i128::from(!truth(&v)?))),
                }
            }
            Expr::Binary(op, a, b) => {
                if *op == "&&" || *op == "||" {
                    let l = truth(&a.eval_wide(lookup)?)?;
                    let short = if *op == "&&" { !l } else { l };
                    let r = if short { l } else { truth(&b.eval_wide(lookup)?)? };
                    return Ok(Wide::Int(i128::from(r)));
                }
                let (l, r) = (a.eval_wide(lookup)?, b.eval_wide(lookup)?);
                binary(op, &l, &r)
            }
            Expr::Call(f, args) => {
                let vals = args.iter().map(|a| a.eval_wide(lookup)).collect::<Result<Vec<_>, _>>()?;
                call(f, &vals)
            }
        }
    }
}

/// A value while an expression is evaluated: integers in 128 bits, so that
/// no product or sum of 64-bit values overflows on the way to a result
/// that fits ([`Expr::eval`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Wide {
    Int(i128),
    Str(String),
}

impl From<Value> for Wide {
    fn from(v: Value) -> Wide {
        match v {
            Value::Int(i) => Wide::Int(i128::from(i)),
            Value::Str(s) => Wide::Str(s),
        }
    }
}

impl fmt::Display for Wide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Wide::Int(i) => write!(f, "{i}"),
            Wide::Str(s) => write!(f, "'{s}'"),
        }
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Int(i) => format!("`{i}`"),
        Tok::Str(s) => format!("'{s}'"),
        Tok::Name(n) => format!("`{n}`"),
        Tok::Op(o) => format!("`{o}`"),
    }
}

fn int(v: &Wide, what: &str) -> Result<i128, String> {
    match v {
        Wide::Int(i) => Ok(*i),
        Wide::Str(s) => Err(format!("`{what}` needs integers, got '{s}'")),
    }
}

fn truth(v: &Wide) -> Result<bool, String> {
    int(v, "a condition").map(|i| i != 0)
}

fn binary(op: &str, l: &Wide, r: &Wide) -> Result<Wide, String> {
    let cmp = |ord: std::cmp::Ordering| -> Result<Wide, String> {
        if std::mem::discriminant(l) != std::mem::discriminant(r) {
            return Err(format!("cannot compare {l} with {r}"));
        }
        let yes = match op {
            "==" => ord.is_eq(),
            "!=" => !ord.is_eq(),
            "<" => ord.is_lt(),
            "<=" => ord.is_le(),
            ">" => ord.is_gt(),
            _ => ord.is_ge(),
        };
        Ok(Wide::Int(i128::from(yes)))
    };
    if ["==", "!=", "<", "<=", ">", ">="].contains(&op) {
        return cmp(l.cmp(r));
    }
    let (a, b) = (int(l, op)?, int(r, op)?);
    let overflow = || format!("overflow in `{a} {op} {b}`");
    let v = match op {
        "+" => a.checked_add(b).ok_or_else(overflow)?,
        "-" => a.checked_sub(b).ok_or_else(overflow)?,
        "*" => a.checked_mul(b).ok_or_else(overflow)?,
        "/" | "%" if b == 0 => return Err(format!("division by zero in `{a} {op} {b}`")),
        "/" => a.checked_div(b).ok_or_else(overflow)?,
        _ => a.checked_rem(b).ok_or_else(overflow)?,
    };
    Ok(Wide::Int(v))
}

fn call(f: &str, args: &[Wide]) -> Result<Wide, String> {
    let ints = || args.iter().map(|a| int(a, f)).collect::<Result<Vec<_>, _>>();
    match (f, args.len()) {
        ("max", 1..) => Ok(Wide::Int(ints()?.into_iter().max().unwrap_or(0))),
        ("min", 1..) => Ok(Wide::Int(ints()?.into_iter().min().unwrap_or(0))),
        ("ceil", 2) => {
            let v = ints()?;
            let (a, b) = (v[0], v[1]);
            if a < 0 || b <= 0 {
                return Err(format!("ceil({a}, {b}) needs a ≥ 0 and b > 0"));
            }
            Ok(Wide::Int(a / b + i128::from(a % b != 0)))
        }
        ("if", 3) => Ok(if truth(&args[0])? { args[1].clone() } else { args[2].clone() }),
        ("max" | "min", _) => Err(format!("`{f}` needs at least one argument")),
        ("ceil", n) | ("if", n) => Err(format!("`{f}` takes {} arguments, not {n}", if f == "if" { 3 } else { 2 })),
        _ => Err(format!("unknown function `{f}` (known: max, min, ceil, if)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str) -> Result<Value, String> {
        Expr::parse(text)?.eval(&mut |name| match name {
            "n" => Ok(Value::Int(20)),
            "s" => Ok(Value::Int(4)),
            "linear" => Ok(Value::Str("mr".into())),
            other => Err(format!("unknown name `{other}`")),
        })
    }

    #[test]
    fn arithmetic_and_precedence() {
        assert_eq!(eval("(s - 1) * n"), Ok(Value::Int(60)));
        assert_eq!(eval("2 + 3 * 4 - -1"), Ok(Value::Int(15)));
        assert_eq!(eval("7 / 2 + 7 % 2"), Ok(Value::Int(4)));
        assert_eq!(eval("ceil(n, 3)"), Ok(Value::Int(7)));
        assert_eq!(eval("max(1, n, s) + min(s, 2)"), Ok(Value::Int(22)));
    }

    #[test]
    fn conditions_and_strings() {
        assert_eq!(eval("linear == 'mr' && n > 3"), Ok(Value::Int(1)));
        assert_eq!(eval("linear != \"mr\" || !1"), Ok(Value::Int(0)));
        assert_eq!(eval("if(linear == 'lu', n, 0)"), Ok(Value::Int(0)));
        assert_eq!(eval("0 && nope"), Ok(Value::Int(0)), "short-circuit skips the unknown name");
    }

    #[test]
    fn errors_are_reported() {
        for (text, want) in [
            ("n +", "unexpected end"),
            ("n / 0", "division by zero"),
            ("9223372036854775807 + 1", "overflow"),
            ("linear * 2", "needs integers"),
            ("linear < 2", "cannot compare"),
            ("foo(1)", "unknown function"),
            ("ceil(1)", "takes 2 arguments"),
            ("nope", "unknown name"),
            ("(n", "expected `)`"),
            ("n n", "after a complete expression"),
            ("'open", "unterminated"),
            ("n $ 2", "unexpected `$`"),
            ("ceil(-1, 2)", "needs a ≥ 0"),
        ] {
            let e = eval(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn intermediates_beyond_64_bits_are_exact() {
        let at = |n: i64, text: &str| Expr::parse(text).unwrap().eval(&mut |_| Ok(Value::Int(n)));
        // The rule of `lu_nnz`: n * n overflows 64 bits at n = 2^32, the
        // value does not (it said "overflow in `4294967296 * 4294967296`").
        let lu_nnz = "max(n, min(n * n, 5 * n - 5))";
        assert_eq!(at(1 << 32, lu_nnz), Ok(Value::Int(5 * (1 << 32) - 5)));
        assert_eq!(at(i64::MAX, "n * n / n"), Ok(Value::Int(i64::MAX)));
        assert_eq!(at(i64::MIN, "-n + n - 1"), Ok(Value::Int(-1)));
        assert_eq!(at(i64::MAX, "n + 1 > n"), Ok(Value::Int(1)));
        // A value beyond 64 bits is an overflow, and so is an intermediate
        // beyond 128.
        let e = at(1 << 32, "n * n").unwrap_err();
        assert!(e.contains("overflow: the value 18446744073709551616 does not fit in 64 bits"), "{e}");
        let e = at(i64::MAX, "min(n * n * n, 1)").unwrap_err();
        assert!(e.starts_with("overflow in `85070591730234615847396907784232501249 * 9223372036854775807`"), "{e}");
        // Unchanged where every intermediate fits.
        assert_eq!(at(20, lu_nnz), Ok(Value::Int(95)));
        assert_eq!(at(-7, "n / 2 + n % 2"), Ok(Value::Int(-4)));
    }

    #[test]
    fn depth_is_limited_before_the_stack_is() {
        let deep = |open: &str, inner: &str, close: &str, n: usize| open.repeat(n) + inner + &close.repeat(n);
        let chain = |n: usize| vec!["1"; n].join(" + ");
        for (text, ok) in [
            (deep("(", "1", ")", MAX_DEPTH), true),
            (deep("(", "1", ")", 5_000), false),
            (deep("!", "1", "", 30_000), false),
            (deep("-", "1", "", MAX_DEPTH - 1), true),
            (deep("max(", "1", ")", 5_000), false),
            (chain(MAX_DEPTH), true),
            (chain(200_000), false),
            (deep("-(", &chain(200), ")", 100), false),
        ] {
            match Expr::parse(&text) {
                Ok(e) => {
                    assert!(ok, "{} bytes parsed", text.len());
                    assert!(e.eval(&mut |_| Err("no names".into())).is_ok());
                }
                Err(e) => {
                    assert!(!ok, "{} bytes: {e}", text.len());
                    assert!(e.contains("nests more than 256 levels"), "{e}");
                }
            }
        }
    }

    #[test]
    fn excerpts_are_short() {
        assert_eq!(excerpt("n + 1"), "n + 1");
        let exact = "x".repeat(QUOTED_CHARS);
        assert_eq!(excerpt(&exact), exact);
        let long = "δ".repeat(30_000);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), QUOTED_CHARS + 1);
        assert!(e.ends_with('…'));
    }

    #[test]
    fn loose_values() {
        assert_eq!(Value::parse_loose("12"), Ok(Value::Int(12)));
        assert_eq!(Value::parse_loose("-3"), Ok(Value::Int(-3)));
        assert_eq!(Value::parse_loose("true"), Ok(Value::Int(1)));
        assert_eq!(Value::parse_loose("f64"), Ok(Value::Str("f64".into())));
        assert_eq!(Value::parse_loose("12x"), Ok(Value::Str("12x".into())));
        for big in ["99999999999999999999", "-9223372036854775809", "+18446744073709551616"] {
            let e = Value::parse_loose(big).unwrap_err();
            assert!(e.contains("does not fit in 64 bits") && e.contains("9223372036854775807"), "{e}");
        }
    }
}
