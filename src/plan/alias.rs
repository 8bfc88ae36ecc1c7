//! Alias judgement: what becomes of each alias hint (a buffer's or a whole
//! child's), decided from the derived lifetimes (the rules are in the
//! [module docs](super)).

use super::input::{region_members, under, PlanInput};
use crate::error::Result;
use serde::Serialize;
use smemplan_core::problem::Interval;
use smemplan_kernel::lifetimes::{self, LifetimeTable, Lifetimes};
use std::collections::HashMap;

/// What became of one alias hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AliasVerdict {
    /// The lifetimes never overlap: sharing is safe and left to the solver.
    Disjoint,
    /// Honoured as a sub-allocation inside the target (declared `nested`).
    Nested,
    /// The lifetimes overlap: sharing would corrupt data; not honoured.
    Refused,
    /// Nothing to share (a side is empty or persistent, or they are in
    /// different pools).
    Unused,
    /// The target does not exist.
    UnknownTarget,
}

/// One alias hint and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AliasOutcome {
    /// The aliasing buffer or roll-up entry (`component/name`).
    pub buffer: String,
    /// Its target (`component/name`).
    pub target: String,
    /// The verdict.
    pub verdict: AliasVerdict,
    /// Why (for a refusal: two buffers live at the same instant).
    pub detail: String,
}

/// A `nested` alias honoured as a sub-allocation.
#[derive(Debug, Clone, Copy)]
pub(super) struct Nested {
    /// The aliasing buffer.
    pub(super) buffer: usize,
    /// The buffer it sits inside.
    pub(super) target: usize,
    /// Byte offset inside the target.
    pub(super) offset: u64,
}

/// One alias hint to judge: a leaf buffer's or a whole child's.
struct AliasRequest {
    buffer: String,
    target: String,
    /// The aliasing leaf buffer (None for a child region).
    leaf: Option<usize>,
    from: Vec<usize>,
    /// The target's leaf buffers (None: no such target).
    to: Option<Vec<usize>>,
}

/// Every alias hint's verdict, and the nested ones.
pub(super) fn judge_aliases(
    input: &PlanInput,
    table: &LifetimeTable,
    lifetimes: &Lifetimes,
) -> Result<(Vec<AliasOutcome>, Vec<Nested>)> {
    let class_of: HashMap<&str, &str> = input.components.iter().map(|c| (c.path.as_str(), c.class.as_str())).collect();
    let mut requests = Vec::new();
    for (i, b) in input.buffers.iter().enumerate() {
        if let Some(target) = &b.decl.aliases {
            requests.push(AliasRequest {
                buffer: b.full_name(),
                target: format!("{}/{target}", b.decl.component),
                leaf: Some(i),
                from: vec![i],
                to: region_members(&input.buffers, &input.components, &b.decl.component, target),
            });
        }
    }
    for g in &input.group_aliases {
        requests.push(AliasRequest {
            buffer: format!("{}/{}", g.component, g.entry),
            target: format!("{}/{}", g.component, g.target),
            leaf: None,
            from: under(&input.buffers, &g.child),
            to: region_members(&input.buffers, &input.components, &g.component, &g.target),
        });
    }
    let mut outcomes = Vec::new();
    let mut nested = Vec::new();
    for AliasRequest { buffer, target, leaf, from, to } in requests {
        let Some(to) = to else {
            outcomes.push(AliasOutcome {
                buffer,
                target,
                verdict: AliasVerdict::UnknownTarget,
                detail: "no such buffer or child region".into(),
            });
            continue;
        };
        let verdict = alias_verdict(input, lifetimes, &from, &to)?;
        let outcome = match verdict {
            Verdict::Unused => {
                (AliasVerdict::Unused, "nothing to share: empty, persistent, or in different pools".to_string())
            }
            Verdict::Disjoint => {
                (AliasVerdict::Disjoint, "lifetimes never overlap; the solver may share storage".to_string())
            }
            Verdict::Overlap(a, t, instant) => {
                let nested_ok = leaf.and_then(|i| {
                    let b = &input.buffers[i];
                    let class = class_of.get(b.decl.component.as_str())?;
                    let &[t_leaf] = to.as_slice() else {
                        return None;
                    };
                    let same_pool = input.buffers[t_leaf].pool == b.pool;
                    (table.is_nested_alias(class, &b.decl.name) && same_pool).then_some(())?;
                    // Where CuBIE put it, else at the start of the target
                    // (CuBIE's first fit) when it fits there.
                    let fits = b.bytes().ok()? <= input.buffers[t_leaf].bytes().ok()?;
                    b.alias_offset.or(fits.then_some(0)).map(|offset| Nested { buffer: i, target: t_leaf, offset })
                });
                match nested_ok {
                    Some(m) => {
                        let detail = format!("placed at byte {} inside its target, as CuBIE does", m.offset);
                        nested.push(m);
                        (AliasVerdict::Nested, detail)
                    }
                    None => (
                        AliasVerdict::Refused,
                        format!(
                            "`{}` and `{}` are both live at instant {instant} ({})",
                            input.buffers[a].full_name(),
                            input.buffers[t].full_name(),
                            lifetimes.timeline.get(instant as usize).map_or("", String::as_str)
                        ),
                    ),
                }
            }
        };
        outcomes.push(AliasOutcome { buffer, target, verdict: outcome.0, detail: outcome.1 });
    }
    Ok((outcomes, nested))
}

/// Whether an alias's two sides could share storage, and if they overlap in
/// time, the first such pair and instant.
enum Verdict {
    Unused,
    Disjoint,
    Overlap(usize, usize, u64),
}

fn alias_verdict(input: &PlanInput, lifetimes: &Lifetimes, from: &[usize], to: &[usize]) -> Result<Verdict> {
    let mut any = false;
    for &a in from {
        for &t in to {
            let (ba, bt) = (&input.buffers[a], &input.buffers[t]);
            // Persistent storage is never aliased (CuBIE protects it).
            if a == t
                || ba.pool != bt.pool
                || ba.decl.persistent
                || bt.decl.persistent
                || ba.bytes()? == 0
                || bt.bytes()? == 0
            {
                continue;
            }
            any = true;
            let (sa, st) = (&lifetimes.buffers[a], &lifetimes.buffers[t]);
            if lifetimes::segments_overlap(sa, st) {
                let instant = first_common(sa, st);
                return Ok(Verdict::Overlap(a, t, instant));
            }
        }
    }
    Ok(if any { Verdict::Disjoint } else { Verdict::Unused })
}

fn first_common(a: &[Interval], b: &[Interval]) -> u64 {
    a.iter().flat_map(|x| b.iter().filter(|y| x.overlaps(y)).map(move |y| x.start.max(y.start))).min().unwrap_or(0)
}
