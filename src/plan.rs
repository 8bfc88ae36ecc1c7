//! The optimised side of `plan`: declarations + lifetimes → one
//! [`Problem`] per memory pool → a solver → a placement for every buffer.
//!
//! # Pools
//! * **shared**: per-run bytes of the block's dynamic shared memory;
//! * **local**: one per-thread local array, its buffers aliased by lifetime
//!   (CuBIE instead declares one array per buffer);
//! * **persistent_local**: buffers that live for the whole run and stay in
//!   local memory (a pool of its own: nothing in it can alias).
//!
//! A buffer goes to its *effective* pool: for a CuBIE dump, the pool CuBIE
//! actually used (so comparisons are like for like); for declarations, the
//! pool CuBIE's rules give ([`PlanInput::from_decls`]).
//!
//! # Aliases
//! An alias hint asks to share storage with a target (a buffer, or a child's
//! `{child}_shared` region). Its outcome is decided from the lifetimes:
//! * disjoint lifetimes: safe; the solver shares storage wherever it pays;
//! * overlapping lifetimes, hint declared `nested` by the component's class,
//!   both in one pool: the buffer becomes a sub-allocation inside its target
//!   (one unit, lifetime = union) at CuBIE's offset, or at the target's start
//!   when CuBIE did not apply the hint but the buffer fits there, so the
//!   layout is never worse than CuBIE's for that pair;
//! * otherwise: refused, and reported naming both buffers; the buffer keeps
//!   its own storage.
//!
//! ```text
//!  unit "accumulator" (one problem buffer, live over the union):
//!  offset 0            n·w               3n·w
//!         [ stage_base ]
//!         [ accumulator rows 0..2                 ]
//! ```
//!
//! Zero-size buffers take no space (no offset). Offsets respect each
//! buffer's element alignment (its item size), optionally raised to 16.

use crate::check;
use crate::error::{Error, Result};
use crate::lifetimes::{self, LifetimeTable, Lifetimes, Segments};
use crate::problem::{Interval, Problem};
use crate::registry::dump::Dump;
use crate::registry::types::{BufferDecl, ComponentDecl, Location, Precision};
use crate::solve::{self, SolveOptions};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

/// A memory pool of the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pool {
    /// Per-run slice of the block's shared memory.
    Shared,
    /// The per-thread (non-persistent) local array.
    Local,
    /// The per-thread persistent local array.
    PersistentLocal,
}

impl Pool {
    /// Every pool, in report order.
    pub const ALL: [Pool; 3] = [Pool::Shared, Pool::Local, Pool::PersistentLocal];

    /// The name used in dumps and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Pool::Shared => "shared",
            Pool::Local => "local",
            Pool::PersistentLocal => "persistent_local",
        }
    }
}

impl fmt::Display for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One leaf buffer to place, with its effective pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanBuffer {
    /// The declaration.
    pub decl: BufferDecl,
    /// Where it goes.
    pub pool: Pool,
    /// For an aliasing buffer that CuBIE placed inside a leaf target: its
    /// byte offset within the target.
    pub alias_offset: Option<u64>,
}

impl PlanBuffer {
    /// `component/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.decl.component, self.decl.name)
    }

    /// Size in bytes (elements × item size).
    pub fn bytes(&self) -> Result<u64> {
        crate::error::mul(self.decl.size, self.decl.precision.itemsize(), || format!("size of `{}`", self.full_name()))
    }
}

/// A child component's whole shared region aliasing a target of its parent
/// (CuBIE's `register_child(..., aliases=...)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupAlias {
    /// The parent component's path.
    pub component: String,
    /// The roll-up entry's name, e.g. `error_solver_shared`.
    pub entry: String,
    /// The child component's path.
    pub child: String,
    /// The target's name in the parent, e.g. `solver_shared`.
    pub target: String,
}

/// Everything [`plan`] needs: components, leaf buffers, group aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput {
    /// Where it came from (a file name, a model name).
    pub source: String,
    /// The component tree.
    pub components: Vec<ComponentDecl>,
    /// Leaf buffers (never roll-up entries), in declaration order.
    pub buffers: Vec<PlanBuffer>,
    /// Aliases declared on whole children.
    pub group_aliases: Vec<GroupAlias>,
}

fn parse_error(source: &str, message: String) -> Error {
    Error::Parse { source_name: source.to_string(), line: 0, message }
}

impl PlanInput {
    /// The leaf buffers of a CuBIE dump, each in the pool CuBIE used.
    pub fn from_dump(dump: &Dump) -> Result<PlanInput> {
        let source = dump.config.id.clone();
        let precision_of: HashMap<&str, Precision> = dump
            .components
            .iter()
            .map(|c| (c.path.as_str(), c.parent_dtype.unwrap_or(dump.config.precision)))
            .collect();
        let components = dump
            .components
            .iter()
            .map(|c| ComponentDecl {
                path: c.path.clone(),
                class: c.class.clone(),
                precision: precision_of[c.path.as_str()],
            })
            .collect();
        let leaves: Vec<_> = dump.buffers.iter().filter(|b| b.rollup_of.is_none()).collect();
        let mut buffers = Vec::with_capacity(leaves.len());
        for b in &leaves {
            let pool = match b.pool.as_str() {
                "shared" => Pool::Shared,
                "local" => Pool::Local,
                "persistent_local" => Pool::PersistentLocal,
                other => {
                    return Err(parse_error(
                        &source,
                        format!("buffer `{}/{}`: unknown pool `{other}`", b.component, b.name),
                    ))
                }
            };
            let mut alias_offset = None;
            if let (Some(target), Some(true), Some(slice)) = (&b.aliases, b.alias_applied, b.slice) {
                let t = leaves.iter().find(|t| t.component == b.component && &t.name == target);
                if let Some(tslice) = t.and_then(|t| t.slice) {
                    let within = slice[0].checked_sub(tslice[0]).ok_or_else(|| {
                        parse_error(
                            &source,
                            format!("buffer `{}/{}` starts before its alias target", b.component, b.name),
                        )
                    })?;
                    let unit =
                        precision_of.get(b.component.as_str()).copied().unwrap_or(dump.config.precision).itemsize();
                    alias_offset = Some(crate::error::mul(within, unit, || "alias offset".into())?);
                }
            }
            buffers.push(PlanBuffer {
                decl: BufferDecl {
                    component: b.component.clone(),
                    name: b.name.clone(),
                    size: b.size,
                    precision: b.dtype,
                    location: b.location,
                    persistent: b.persistent,
                    aliases: b.aliases.clone(),
                },
                pool,
                alias_offset,
            });
        }
        let group_aliases = dump
            .buffers
            .iter()
            .filter_map(|b| {
                let child = b.rollup_of.as_ref()?;
                let target = b.aliases.as_ref()?;
                Some(GroupAlias {
                    component: b.component.clone(),
                    entry: b.name.clone(),
                    child: child.clone(),
                    target: target.clone(),
                })
            })
            .collect();
        Ok(PlanInput { source, components, buffers, group_aliases })
    }

    /// Declarations placed in the pools CuBIE's rules give: a persistent
    /// buffer stays in shared memory when its location is shared, else goes
    /// to the persistent local pool; an aliasing buffer lands in shared
    /// memory inside its target when the target is shared, neither side is
    /// persistent and the target has room left (first fit after earlier
    /// aliases into it); anything else goes to its own location.
    ///
    /// For targets that are whole child regions the room is the region's
    /// non-persistent shared bytes, which ignores how CuBIE fits around
    /// protected ranges; [`crate::registry`] reproduces that exactly.
    pub fn from_decls(
        source: &str,
        components: Vec<ComponentDecl>,
        decls: Vec<BufferDecl>,
        group_aliases: Vec<GroupAlias>,
    ) -> Result<PlanInput> {
        let base = |d: &BufferDecl| match (d.persistent, d.location) {
            (true, Location::Local) => Pool::PersistentLocal,
            (_, Location::Shared) => Pool::Shared,
            (false, Location::Local) => Pool::Local,
        };
        let mut buffers: Vec<PlanBuffer> =
            decls.into_iter().map(|d| PlanBuffer { pool: base(&d), decl: d, alias_offset: None }).collect();
        let mut used: HashMap<(String, String), u64> = HashMap::new();
        for i in 0..buffers.len() {
            let Some(target) = buffers[i].decl.aliases.clone() else {
                continue;
            };
            let component = buffers[i].decl.component.clone();
            if buffers[i].decl.persistent {
                continue;
            }
            let bytes = buffers[i].bytes()?;
            let leaf = buffers.iter().position(|t| t.decl.component == component && t.decl.name == target);
            let room = match leaf {
                Some(t) if buffers[t].pool == Pool::Shared && !buffers[t].decl.persistent => Some(buffers[t].bytes()?),
                Some(_) => None,
                None => {
                    let members = region_members(&buffers, &components, &component, &target);
                    let mut room = 0u64;
                    for &m in members.iter().flatten() {
                        if buffers[m].pool == Pool::Shared && !buffers[m].decl.persistent {
                            room = crate::error::add(room, buffers[m].bytes()?, || "region size".into())?;
                        }
                    }
                    members.map(|_| room)
                }
            };
            let key = (component, target);
            let taken = used.get(&key).copied().unwrap_or(0);
            if let Some(room) = room {
                if taken.checked_add(bytes).is_some_and(|end| end <= room) {
                    buffers[i].pool = Pool::Shared;
                    buffers[i].alias_offset = leaf.map(|_| taken);
                    used.insert(key, taken + bytes);
                }
            }
        }
        Ok(PlanInput { source: source.to_string(), components, buffers, group_aliases })
    }
}

/// Leaf buffers making up alias target `target` of `component`: the leaf of
/// that name, or the leaves under child `{stem}` for a roll-up name
/// `{stem}_shared` / `{stem}_persistent`.
fn region_members(
    buffers: &[PlanBuffer],
    components: &[ComponentDecl],
    component: &str,
    target: &str,
) -> Option<Vec<usize>> {
    if let Some(i) = buffers.iter().position(|b| b.decl.component == component && b.decl.name == target) {
        return Some(vec![i]);
    }
    let stem = target.strip_suffix("_shared").or_else(|| target.strip_suffix("_persistent"))?;
    let child = format!("{component}/{stem}");
    components.iter().any(|c| c.path == child).then(|| under(buffers, &child))
}

/// Leaf buffers of component `path` and its descendants.
fn under(buffers: &[PlanBuffer], path: &str) -> Vec<usize> {
    let prefix = format!("{path}/");
    (0..buffers.len())
        .filter(|&i| buffers[i].decl.component == path || buffers[i].decl.component.starts_with(&prefix))
        .collect()
}

/// How [`plan`] runs.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Strategy name (see [`solve::STRATEGIES`]).
    pub strategy: String,
    /// Align every offset to 16 bytes (vector loads) instead of the item size.
    pub align16: bool,
    /// Total time the solver may spend (all pools together); the default
    /// is [`DEFAULT_TIME_LIMIT`], as on the command line.
    pub time_limit: Option<Duration>,
    /// Worker threads for solvers that race searches (0 = default).
    pub threads: usize,
}

/// The time a plan may take unless told otherwise.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(10);

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            strategy: solve::DEFAULT_STRATEGY.to_string(),
            align16: false,
            time_limit: Some(DEFAULT_TIME_LIMIT),
            threads: 0,
        }
    }
}

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

/// One buffer's placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlacedBuffer {
    /// Owning component's path.
    pub component: String,
    /// Buffer name.
    pub name: String,
    /// Pool it lives in.
    pub pool: Pool,
    /// Element type.
    pub dtype: Precision,
    /// Elements.
    pub elements: u64,
    /// Bytes.
    pub bytes: u64,
    /// Byte offset in its pool (per run / per thread); `None` when empty.
    pub offset: Option<u64>,
    /// Live segments `[start, end)` on the timeline.
    pub lifetime: Vec<[u64; 2]>,
    /// The target it sits inside, for a `nested` alias.
    pub inside: Option<String>,
}

/// One pool's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolReport {
    /// The pool.
    pub pool: Pool,
    /// Bytes per run (shared) or per thread (local pools): the peak rounded
    /// up to the largest alignment, so consecutive runs stay aligned.
    pub bytes: u64,
    /// Highest `offset + size`.
    pub peak: u64,
    /// Max live bytes: no layout can do better.
    pub lower_bound: u64,
    /// Whether the peak is proven minimal.
    pub optimal: bool,
    /// Placement units (a nested alias shares its target's unit).
    pub units: usize,
    /// Solver wall-clock seconds.
    pub seconds: f64,
}

/// The optimised plan: what the CLI's `plan` prints as `optimized`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanReport {
    /// Input name.
    pub source: String,
    /// Strategy used.
    pub strategy: String,
    /// Whether every pool's peak is proven minimal.
    pub optimal: bool,
    /// Shared bytes per run (before any bank skew or stride padding).
    pub shared_bytes: u64,
    /// Local bytes per thread (one aliased array).
    pub local_bytes: u64,
    /// Persistent local bytes per thread.
    pub persistent_local_bytes: u64,
    /// Per-pool details.
    pub pools: Vec<PoolReport>,
    /// Every leaf buffer, in input order.
    pub buffers: Vec<PlacedBuffer>,
    /// The timeline's labels, one per instant.
    pub timeline: Vec<String>,
    /// Buffers the lifetime table does not map (live for the whole run).
    pub unmapped: Vec<String>,
    /// Components whose class or mount the table does not map.
    pub unmapped_components: Vec<String>,
    /// Alias hints honoured (or moot).
    pub aliases: Vec<AliasOutcome>,
    /// Alias hints refused because the lifetimes overlap.
    pub refused_aliases: Vec<AliasOutcome>,
}

impl PlanReport {
    /// The report for one pool.
    pub fn pool(&self, pool: Pool) -> Option<&PoolReport> {
        self.pools.iter().find(|p| p.pool == pool)
    }
}

/// A placement unit: a buffer and the nested aliases inside it.
struct Unit {
    pool: Pool,
    /// (buffer index, byte offset within the unit).
    members: Vec<(usize, u64)>,
    bytes: u64,
    alignment: u64,
    segments: Segments,
}

/// Plans `input`: lifetimes from `table`, one problem per pool, solved by
/// `options.strategy`, every layout checked against the derived lifetimes.
pub fn plan(input: &PlanInput, table: &LifetimeTable, options: &PlanOptions) -> Result<PlanReport> {
    let started = Instant::now();
    let decls: Vec<BufferDecl> = input.buffers.iter().map(|b| b.decl.clone()).collect();
    let lifetimes = lifetimes::derive(&input.components, &decls, table)?;

    let (outcomes, nested) = judge_aliases(input, table, &lifetimes)?;
    let units = build_units(input, &lifetimes, &nested, options.align16)?;
    let mut offsets: Vec<Option<u64>> = vec![None; input.buffers.len()];
    let mut inside: Vec<Option<String>> = vec![None; input.buffers.len()];
    for m in &nested {
        inside[m.buffer] = Some(input.buffers[m.target].full_name());
    }
    let deadline = options.time_limit.map(|d| started + d);
    let solver = solve::strategy(&options.strategy)?;
    let mut pools = Vec::new();
    for pool in Pool::ALL {
        let ids: Vec<usize> = (0..units.len()).filter(|&u| units[u].pool == pool && units[u].bytes > 0).collect();
        let problem = Problem::new(
            ids.iter()
                .map(|&u| {
                    let unit = &units[u];
                    lifetimes::buffer_on(
                        input.buffers[unit.members[0].0].full_name(),
                        unit.bytes,
                        unit.alignment,
                        &unit.segments,
                    )
                })
                .collect(),
            None,
        )?;
        let solve_options = SolveOptions { deadline, threads: options.threads, ..SolveOptions::default() };
        let (peak, lower_bound, optimal, seconds) = if problem.is_empty() {
            (0, 0, true, 0.0)
        } else {
            let solution = solve::run(&*solver, &problem, &solve_options)?;
            check::verify(&problem, &solution).map_err(|r| Error::Rejected {
                strategy: options.strategy.clone(),
                reason: format!("{pool} pool: {r}"),
            })?;
            for (k, &u) in ids.iter().enumerate() {
                let base = solution.layout.offsets[k];
                for &(m, within) in &units[u].members {
                    offsets[m] = Some(crate::error::add(base, within, || "member offset".into())?);
                }
            }
            (solution.peak, solution.lower_bound, solution.optimal, solution.seconds)
        };
        let align = ids.iter().map(|&u| units[u].alignment).max().unwrap_or(1);
        let bytes = crate::arith::align_up(peak, align).ok_or_else(|| Error::Overflow(format!("{pool} pool size")))?;
        pools.push(PoolReport { pool, bytes, peak, lower_bound, optimal, units: ids.len(), seconds });
    }
    let placed = input
        .buffers
        .iter()
        .enumerate()
        .map(|(i, b)| {
            Ok(PlacedBuffer {
                component: b.decl.component.clone(),
                name: b.decl.name.clone(),
                pool: b.pool,
                dtype: b.decl.precision,
                elements: b.decl.size,
                bytes: b.bytes()?,
                offset: offsets[i],
                lifetime: lifetimes.buffers[i].iter().map(|s| [s.start, s.end]).collect(),
                inside: inside[i].take(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let bytes_of = |p: Pool| pools.iter().find(|r| r.pool == p).map_or(0, |r| r.bytes);
    let (refused_aliases, aliases): (Vec<_>, Vec<_>) =
        outcomes.into_iter().partition(|o| o.verdict == AliasVerdict::Refused);
    Ok(PlanReport {
        source: input.source.clone(),
        strategy: options.strategy.clone(),
        optimal: pools.iter().all(|p| p.optimal),
        shared_bytes: bytes_of(Pool::Shared),
        local_bytes: bytes_of(Pool::Local),
        persistent_local_bytes: bytes_of(Pool::PersistentLocal),
        pools,
        buffers: placed,
        timeline: lifetimes.timeline,
        unmapped: lifetimes.unmapped,
        unmapped_components: lifetimes.unmapped_components,
        aliases,
        refused_aliases,
    })
}

/// A `nested` alias honoured as a sub-allocation.
#[derive(Debug, Clone, Copy)]
struct Nested {
    buffer: usize,
    target: usize,
    /// Byte offset inside the target.
    offset: u64,
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
fn judge_aliases(
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

/// Plans a CuBIE dump with the built-in CuBIE lifetime table.
pub fn plan_dump(dump: &Dump, options: &PlanOptions) -> Result<PlanReport> {
    plan(&PlanInput::from_dump(dump)?, &LifetimeTable::cubie()?, options)
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

/// Groups buffers into placement units: each nested alias joins its
/// target's unit at its offset.
fn build_units(input: &PlanInput, lifetimes: &Lifetimes, nested: &[Nested], align16: bool) -> Result<Vec<Unit>> {
    let n = input.buffers.len();
    // (root buffer, offset within the root's unit); chains resolve upward.
    let mut home: Vec<(usize, u64)> = (0..n).map(|i| (i, 0)).collect();
    let mut changed = true;
    let mut rounds = 0;
    while changed {
        changed = false;
        for &Nested { buffer: a, target: t, offset: off } in nested {
            let (root, base) = home[t];
            let want = (root, base.checked_add(off).ok_or_else(|| Error::Overflow("alias offset".into()))?);
            if home[a] != want && root != a {
                home[a] = want;
                changed = true;
            }
        }
        rounds += 1;
        if rounds > n + 1 {
            return Err(Error::Registry("alias hints form a cycle".into()));
        }
    }
    let mut unit_of_root: HashMap<usize, usize> = HashMap::new();
    let mut units: Vec<Unit> = Vec::new();
    for (i, &(root, within)) in home.iter().enumerate() {
        let b = &input.buffers[i];
        let item = b.decl.precision.itemsize();
        let alignment = if align16 { item.max(16) } else { item };
        if within % item != 0 {
            return Err(Error::buffer(
                b.full_name(),
                format!("alias offset {within} is not a multiple of its item size {item}"),
            ));
        }
        let u = *unit_of_root.entry(root).or_insert_with(|| {
            units.push(Unit {
                pool: input.buffers[root].pool,
                members: Vec::new(),
                bytes: 0,
                alignment: 1,
                segments: Vec::new(),
            });
            units.len() - 1
        });
        let unit = &mut units[u];
        let end = crate::error::add(within, b.bytes()?, || format!("end of `{}`", b.full_name()))?;
        unit.bytes = unit.bytes.max(if b.bytes()? == 0 { 0 } else { end });
        unit.alignment = unit.alignment.max(alignment);
        unit.members.push((i, within));
        let mut segs = std::mem::take(&mut unit.segments);
        segs.extend(lifetimes.buffers[i].iter().copied());
        unit.segments = lifetimes::merge_segments(segs);
    }
    Ok(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comp(path: &str, class: &str) -> ComponentDecl {
        ComponentDecl { path: path.into(), class: class.into(), precision: Precision::F32 }
    }

    fn decl(component: &str, name: &str, size: u64, location: Location, aliases: Option<&str>) -> BufferDecl {
        BufferDecl {
            component: component.into(),
            name: name.into(),
            size,
            precision: Precision::F32,
            location,
            persistent: false,
            aliases: aliases.map(str::to_string),
        }
    }

    const TABLE: &str = r#"
[Loop]
phases = ["a", "b", "c"]
buffers = { x = "a", y = "b", z = ["a", "b"], w = "c", v = "all" }
aliases = { z = "nested" }
"#;

    fn run(decls: Vec<BufferDecl>) -> PlanReport {
        let table = LifetimeTable::parse("t.toml", TABLE).unwrap();
        let input = PlanInput::from_decls("t", vec![comp("k", "Loop")], decls, vec![]).unwrap();
        plan(&input, &table, &PlanOptions::default()).unwrap()
    }

    #[test]
    fn disjoint_buffers_share_storage() {
        let r = run(vec![
            decl("k", "x", 10, Location::Shared, None),
            decl("k", "y", 10, Location::Shared, None),
            decl("k", "w", 4, Location::Local, None),
            decl("k", "v", 1, Location::Local, None),
        ]);
        assert_eq!(r.shared_bytes, 40, "x and y alias");
        assert_eq!(r.local_bytes, 20);
        assert!(r.optimal);
        assert!(r.unmapped.is_empty());
    }

    #[test]
    fn alias_verdicts() {
        // y aliases x: disjoint. z aliases y: overlapping, declared nested.
        // w aliases v: overlapping, refused.
        let r = run(vec![
            decl("k", "x", 10, Location::Shared, None),
            decl("k", "y", 10, Location::Shared, Some("x")),
            decl("k", "z", 5, Location::Shared, Some("y")),
            decl("k", "v", 4, Location::Shared, None),
            decl("k", "w", 4, Location::Shared, Some("v")),
            decl("k", "q", 0, Location::Shared, Some("nope")),
        ]);
        let verdict = |name: &str| {
            r.aliases.iter().chain(&r.refused_aliases).find(|o| o.buffer == format!("k/{name}")).unwrap().verdict
        };
        assert_eq!(verdict("y"), AliasVerdict::Disjoint);
        assert_eq!(verdict("z"), AliasVerdict::Nested);
        assert_eq!(verdict("w"), AliasVerdict::Refused);
        assert_eq!(verdict("q"), AliasVerdict::UnknownTarget);
        assert!(r.refused_aliases[0].detail.contains("k/w") && r.refused_aliases[0].detail.contains("k/v"));
        let at = |name: &str| r.buffers.iter().find(|b| b.name == name).unwrap().offset;
        assert_eq!(at("z"), at("y"), "nested at offset 0 inside its target");
        assert_eq!(r.buffers.iter().find(|b| b.name == "q").unwrap().offset, None);
        // At instant a: x, the y+z unit (z inside y) and v; w reuses x's
        // bytes in c.
        assert_eq!(r.shared_bytes, 40 + 40 + 16);
    }

    #[test]
    fn cubie_pool_rules_for_declarations() {
        let mut p = decl("k", "p", 3, Location::Local, None);
        p.persistent = true;
        let input = PlanInput::from_decls(
            "t",
            vec![comp("k", "Loop")],
            vec![
                decl("k", "x", 10, Location::Shared, None),
                decl("k", "y", 4, Location::Local, Some("x")),
                decl("k", "z", 8, Location::Local, Some("x")),
                p,
            ],
            vec![],
        )
        .unwrap();
        let pools: Vec<Pool> = input.buffers.iter().map(|b| b.pool).collect();
        assert_eq!(pools, vec![Pool::Shared, Pool::Shared, Pool::Local, Pool::PersistentLocal]);
        assert_eq!(input.buffers[1].alias_offset, Some(0));
        assert_eq!(input.buffers[2].alias_offset, None, "no room left after y");
    }

    #[test]
    fn sixteen_byte_alignment() {
        let table = LifetimeTable::parse("t.toml", TABLE).unwrap();
        let input = PlanInput::from_decls(
            "t",
            vec![comp("k", "Loop")],
            vec![decl("k", "v", 1, Location::Shared, None), decl("k", "z", 1, Location::Shared, None)],
            vec![],
        )
        .unwrap();
        let r = plan(&input, &table, &PlanOptions { align16: true, ..PlanOptions::default() }).unwrap();
        assert!(r.buffers.iter().all(|b| b.offset.unwrap() % 16 == 0));
        assert_eq!(r.shared_bytes, 32);
    }
}
