//! The depth-first search over canonical layouts of one [`Instance`] for
//! one capacity, resumable and with an undo trail.
//!
//! A node is a partial layout. Its children place one more buffer at the
//! lowest offset its placed neighbours allow (its `min`), so no buffer is
//! ever tried where it could slide down. Offsets along a path never
//! decrease: a buffer whose `min` falls below the offset of the last
//! placement (the `level`) waits until something placed later lifts it.
//!
//! With `floor_first`, only buffers whose `min` is the *floor* (the smallest
//! `min` of all unplaced buffers) are candidates; with `section_branching`
//! on top, a node branches on who covers one section at the floor:
//!
//! ```text
//!         ┌────┐                 children of the node, for section s2:
//!  floor ─┤ p  ├──── ─ ─ ─ ─     1. x at the floor (x covers s2)
//!  ───────┴────┴─────────────    2. y at the floor (y covers s2)
//!    s0    s1   s2   s3   s4     3. nothing covers s2 at the floor:
//!                                   x and y may not go there
//! ```
//!
//! Without `floor_first`, every buffer whose `min` is at least the level is
//! a candidate, in order of `min`.
//!
//! With `split` (floor first only), once the unplaced buffers fall apart
//! into groups that share no section, the search *focuses* on one group,
//! then the next: the groups no longer interact, so when a later group
//! fails, no other layout of an earlier group is tried (a backjump to the
//! node where the groups came apart).
//!
//! The rules of [`super::ExactParams`] live in [`rules`], one function per
//! flag, and are applied when a node is opened (`open`): the section checks
//! look only at the sections the last decision touched (a check skipped only
//! prunes less), through per-section lists of the buffers still waiting.
//!
//! State changes are recorded on a trail and undone in reverse on
//! backtrack, so a node costs no copying. The search keeps its own stack of
//! frames, so it can stop after a budget of nodes and resume later.

mod rules;

use super::instance::Instance;
use super::{ExactParams, Variant};

const NONE: u64 = u64::MAX;

/// No backjump: an exhausted frame pops itself only.
const NO_JUMP: usize = usize::MAX;

/// The child of a section-branching node in which no buffer covers the
/// section at the floor.
const WASTE: u32 = u32::MAX;

/// Where [`Search::run`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    /// Every buffer is placed within the capacity.
    Found,
    /// The whole tree is exhausted: no layout fits the capacity.
    Infeasible,
    /// The node budget of this call is spent; call again to go on.
    Paused,
    /// The stop check fired (deadline, cancellation).
    Stopped,
    /// A floor-first tree is exhausted: no layout of the floor-first kind
    /// fits, which proves nothing (see [`super::Lane::Complete`]).
    Exhausted,
}

/// A group of sections to search after the current focus.
#[derive(Debug, Clone, Copy)]
struct Todo {
    /// Its sections, `from..to`.
    from: u32,
    to: u32,
    /// The frame of the node where it came apart from the focus.
    frame: usize,
}

/// One change to undo.
#[derive(Debug, Clone, Copy)]
enum Undo {
    /// A buffer was placed; it sat at `pos` in the unplaced list.
    Place { u: u32, pos: u32 },
    /// `base[u]` had this value.
    Base(u32, u64),
    /// `min[u]` had this value.
    Min(u32, u64),
    /// `sky[s]` had this value.
    Sky(u32, u64),
    /// `forbid[key]` had this value.
    Forbid(u32, u64),
    /// The level had this value.
    Level(u64),
    /// The focus was `from..to`.
    Focus(u32, u32),
    /// A group was pushed on the todo list.
    TodoPush,
    /// This group was taken from the todo list.
    TodoPop(Todo),
}

/// A node being expanded: its candidates and how far they were tried.
#[derive(Debug, Clone, Copy)]
struct Expansion {
    /// Candidates are `cands[from..to]`.
    from: usize,
    to: usize,
    /// Next candidate to try.
    next: usize,
    /// Trail length when the frame was pushed.
    base_mark: usize,
    /// Trail length before the current child was made.
    child_mark: usize,
    /// The candidate of the current child, if any ([`WASTE`]: none covers
    /// `section`).
    child: Option<u32>,
    /// With section branching: the section branched on.
    section: u32,
    /// The floor of the node.
    floor: u64,
    /// When exhausted, pop every frame from this index up ([`NO_JUMP`]:
    /// only this one).
    jump: usize,
}

/// A resumable search of one instance at one capacity in one order.
pub(super) struct Search<'a> {
    inst: &'a Instance,
    rank: Vec<u32>,
    variant: Variant,
    cap: u64,
    floor_first: bool,
    split: bool,
    params: ExactParams,
    /// Offset of each buffer, `NONE` while unplaced.
    offset: Vec<u64>,
    /// Highest top of the placed (searched) neighbours.
    base: Vec<u64>,
    /// Lowest offset at which the buffer can go: `base`, aligned, clear of
    /// fixed neighbours; `NONE` if that overflows.
    min: Vec<u64>,
    /// Per section: highest top of the placed searched buffers live there.
    sky: Vec<u64>,
    /// Per section: bytes of unplaced buffers live there.
    rem: Vec<u64>,
    /// Per boundary between sections `s` and `s + 1`: unplaced buffers whose
    /// hull spans it.
    cross: Vec<u32>,
    /// Per key (the buffer's class with `twins`, else the buffer): an offset
    /// at which it may not be placed (`NONE`).
    forbid: Vec<u64>,
    unplaced: Vec<u32>,
    pos: Vec<u32>,
    /// Per section `s`: its unplaced buffers are `waiting[o..o + waiting_len[s]]`
    /// with `o = inst.live_offset(s)`; `slot[pair(u, s)]` is where `u` is.
    waiting: Vec<u32>,
    waiting_len: Vec<u32>,
    slot: Vec<u32>,
    level: u64,
    /// Sections `focus.0..focus.1` hold the buffers branched on.
    focus: (u32, u32),
    todo: Vec<Todo>,
    trail: Vec<Undo>,
    frames: Vec<Expansion>,
    cands: Vec<u32>,
    /// Sections `window.0..window.1` are those the last decision touched.
    window: (u32, u32),
    stamp: u64,
    low_stamp: Vec<u64>,
    low: Vec<u64>,
    /// Scratch: (threshold, bytes that cannot start below it).
    pairs: Vec<(u64, u64)>,
    count: Vec<u32>,
    pending: bool,
    /// A placement left a boundary no unplaced buffer crosses: the focus
    /// may fall apart.
    may_split: bool,
    check_every: u64,
    /// Nodes entered so far.
    pub nodes: u64,
    /// Nodes left without finding a layout below them.
    pub backtracks: u64,
}

impl<'a> Search<'a> {
    /// A search of `inst` for a layout with peak `<= cap`, branching the
    /// way `variant` says, in candidate order `rank` (smaller first).
    pub fn new(inst: &'a Instance, variant: Variant, rank: Vec<u32>, cap: u64, params: &ExactParams) -> Self {
        let n = inst.len();
        let sections = inst.sections;
        let mut offset = vec![NONE; n];
        let mut rem = vec![0u64; sections];
        let mut cross = vec![0u32; sections.saturating_sub(1)];
        let mut unplaced = Vec::with_capacity(n);
        let mut pos = vec![0u32; n];
        for u in 0..n {
            match inst.fixed[u] {
                Some(o) => offset[u] = o,
                None => {
                    pos[u] = unplaced.len() as u32;
                    unplaced.push(u as u32);
                    for &(a, b) in inst.spans(u) {
                        for r in &mut rem[a as usize..b as usize] {
                            *r += inst.size[u];
                        }
                    }
                    let (a, b) = inst.hull(u);
                    for c in &mut cross[a as usize..b as usize - 1] {
                        *c += 1;
                    }
                }
            }
        }
        let mut waiting = Vec::with_capacity(inst.pair_start[n] as usize);
        let mut waiting_len = vec![0u32; sections];
        let mut slot = vec![0u32; inst.pair_start[n] as usize];
        for s in 0..sections {
            let movable = inst.live_in(s).iter().filter(|&&u| inst.fixed[u as usize].is_none());
            let fixed = inst.live_in(s).iter().filter(|&&u| inst.fixed[u as usize].is_some());
            for &u in movable.clone() {
                slot[inst.pair(u as usize, s as u32)] = waiting.len() as u32;
                waiting.push(u);
            }
            waiting_len[s] = movable.count() as u32;
            waiting.extend(fixed);
        }
        let min = (0..n).map(|u| inst.fit(u, 0).unwrap_or(NONE)).collect();
        let work = (n + inst.total_span + sections) as u64;
        let floor_first = params.floor_first && inst.floor_first_exact;
        Search {
            inst,
            rank,
            variant,
            cap,
            floor_first,
            split: params.split && floor_first,
            params: *params,
            offset,
            base: vec![0; n],
            min,
            sky: vec![0; sections],
            rem,
            cross,
            forbid: vec![NONE; if params.twins { inst.classes } else { n }],
            unplaced,
            pos,
            waiting,
            waiting_len,
            slot,
            level: 0,
            focus: (0, sections as u32),
            todo: Vec::new(),
            trail: Vec::with_capacity(8 * n),
            frames: Vec::with_capacity(2 * n + 1),
            cands: Vec::with_capacity(4 * n),
            window: (0, sections as u32),
            stamp: 0,
            low_stamp: vec![0; n],
            low: vec![0; n],
            pairs: Vec::new(),
            count: vec![0; sections],
            pending: true,
            may_split: true,
            check_every: ((1 << 18) / work.max(1)).clamp(1, 256),
            nodes: 0,
            backtracks: 0,
        }
    }

    /// The offsets (local indices) once [`Step::Found`] was returned.
    pub fn offsets(&self) -> &[u64] {
        &self.offset
    }

    /// Searches on for at most `budget` nodes; `stop` is polled every few
    /// nodes (often enough to react within a millisecond or so).
    pub fn run(&mut self, budget: u64, stop: &dyn Fn() -> bool) -> Step {
        let end = self.nodes.saturating_add(budget);
        loop {
            if self.pending {
                self.pending = false;
                self.nodes += 1;
                if self.unplaced.is_empty() {
                    return Step::Found;
                }
                self.expand();
            }
            if self.nodes.is_multiple_of(self.check_every) && stop() {
                return Step::Stopped;
            }
            if self.nodes >= end {
                return Step::Paused;
            }
            if !self.advance() {
                return if self.floor_first { Step::Exhausted } else { Step::Infeasible };
            }
        }
    }

    /// Makes the next untried child of the deepest open node, popping
    /// exhausted nodes; `false` once the root is exhausted.
    fn advance(&mut self) -> bool {
        while let Some(&frame) = self.frames.last() {
            if let Some(done) = frame.child {
                self.undo_to(frame.child_mark);
                self.nogoods(done);
            }
            let mut next = frame.next;
            while next < frame.to && self.skip(&frame, next) {
                next += 1;
            }
            if next == frame.to {
                let bottom = if frame.jump == NO_JUMP { self.frames.len() - 1 } else { frame.jump };
                let first = self.frames[bottom];
                self.undo_to(first.base_mark);
                self.cands.truncate(first.from);
                self.frames.truncate(bottom);
                self.backtracks += 1;
                continue;
            }
            let u = self.cands[next];
            let child_mark = self.trail.len();
            let top = self.frames.last_mut().expect("frame exists");
            top.next = next + 1;
            top.child = Some(u);
            top.child_mark = child_mark;
            if u == WASTE {
                self.waste(frame.section as usize, frame.floor);
            } else {
                self.place(u as usize);
            }
            self.pending = true;
            return true;
        }
        false
    }

    fn set_forbid(&mut self, key: usize, at: u64) {
        if self.forbid[key] != at {
            self.trail.push(Undo::Forbid(key as u32, self.forbid[key]));
            self.forbid[key] = at;
        }
    }

    /// Whether candidate `cands[i]` of `frame` needs no branch: it may not
    /// go at its `min`, or (twins without nogoods) an interchangeable buffer
    /// was already tried at this node.
    fn skip(&self, frame: &Expansion, i: usize) -> bool {
        let u = self.cands[i];
        if u == WASTE {
            return false;
        }
        let u = u as usize;
        if self.forbid[self.key(u)] == self.min[u] {
            return true;
        }
        self.twin_tried(frame, i)
    }

    fn undo_to(&mut self, mark: usize) {
        while self.trail.len() > mark {
            match self.trail.pop().expect("trail longer than mark") {
                Undo::Place { u, pos } => self.unplace(u as usize, pos as usize),
                Undo::Base(u, v) => self.base[u as usize] = v,
                Undo::Min(u, v) => self.min[u as usize] = v,
                Undo::Sky(s, v) => self.sky[s as usize] = v,
                Undo::Forbid(k, v) => self.forbid[k as usize] = v,
                Undo::Level(v) => self.level = v,
                Undo::Focus(a, b) => self.focus = (a, b),
                Undo::TodoPush => {
                    self.todo.pop();
                }
                Undo::TodoPop(t) => self.todo.push(t),
            }
        }
    }

    /// The child in which nothing covers section `s` at `floor`: every
    /// buffer live there that could go at the floor may not.
    fn waste(&mut self, s: usize, floor: u64) {
        self.window = (s as u32, s as u32 + 1);
        for &u in self.inst.live_in(s) {
            let u = u as usize;
            if self.offset[u] == NONE && self.min[u] == floor {
                let key = self.key(u);
                self.set_forbid(key, floor);
                self.widen(self.inst.hull(u));
            }
        }
    }

    /// Adds sections `from..to` to the window of touched sections.
    fn widen(&mut self, (from, to): (u32, u32)) {
        self.window = (self.window.0.min(from), self.window.1.max(to));
    }

    /// Places `u` at its `min` and updates what depends on it.
    fn place(&mut self, u: usize) {
        let inst = self.inst;
        let at = self.min[u];
        let size = inst.size[u];
        // `open` refuted every node where an unplaced `min + size` exceeds
        // the capacity, so `at + size <= cap`.
        let top = at + size;
        self.trail.push(Undo::Level(self.level));
        self.level = at;
        self.offset[u] = at;
        let p = self.pos[u] as usize;
        let last = self.unplaced.pop().expect("u is unplaced");
        if last as usize != u {
            self.unplaced[p] = last;
            self.pos[last as usize] = p as u32;
        }
        self.trail.push(Undo::Place { u: u as u32, pos: p as u32 });
        self.window = inst.hull(u);
        let mut k = inst.pair_start[u] as usize;
        for &(a, b) in inst.spans(u) {
            for s in a as usize..b as usize {
                // `rem[s]` counts `u` while it is unplaced.
                self.rem[s] -= size;
                if self.sky[s] < top {
                    self.trail.push(Undo::Sky(s as u32, self.sky[s]));
                    self.sky[s] = top;
                }
                // Swap `u` past the end of the section's waiting list; its
                // own slot keeps where it was, for the undo.
                let i = self.slot[k] as usize;
                self.waiting_len[s] -= 1;
                let last = inst.live_offset(s) + self.waiting_len[s] as usize;
                let x = self.waiting[last];
                self.waiting[i] = x;
                self.waiting[last] = u as u32;
                if x as usize != u {
                    self.slot[inst.pair(x as usize, s as u32)] = i as u32;
                }
                k += 1;
            }
        }
        let (a, b) = inst.hull(u);
        for c in &mut self.cross[a as usize..b as usize - 1] {
            *c -= 1;
            // Only a boundary nothing crosses any more can split the focus.
            self.may_split |= *c == 0;
        }
        for &v in inst.neighbours(u) {
            let v = v as usize;
            if self.offset[v] != NONE || self.base[v] >= top {
                continue;
            }
            self.trail.push(Undo::Base(v as u32, self.base[v]));
            self.base[v] = top;
            let m = inst.fit(v, top).unwrap_or(NONE);
            if m != self.min[v] {
                self.trail.push(Undo::Min(v as u32, self.min[v]));
                self.min[v] = m;
                self.widen(inst.hull(v));
            }
        }
    }

    /// Reverts [`Search::place`] (the other changes have their own undo
    /// entries).
    fn unplace(&mut self, u: usize, p: usize) {
        let inst = self.inst;
        self.offset[u] = NONE;
        let size = inst.size[u];
        for &(a, b) in inst.spans(u) {
            for r in &mut self.rem[a as usize..b as usize] {
                *r += size;
            }
        }
        let mut k = inst.pair_start[u + 1] as usize;
        for &(a, b) in inst.spans(u).iter().rev() {
            for s in (a as usize..b as usize).rev() {
                k -= 1;
                let i = self.slot[k] as usize;
                let last = inst.live_offset(s) + self.waiting_len[s] as usize;
                let x = self.waiting[i];
                self.waiting[last] = x;
                self.waiting[i] = u as u32;
                if x as usize != u {
                    self.slot[inst.pair(x as usize, s as u32)] = last as u32;
                }
                self.waiting_len[s] += 1;
            }
        }
        let (a, b) = inst.hull(u);
        for c in &mut self.cross[a as usize..b as usize - 1] {
            *c += 1;
        }
        if p == self.unplaced.len() {
            self.unplaced.push(u as u32);
        } else {
            let moved = self.unplaced[p];
            self.unplaced.push(moved);
            self.pos[moved as usize] = (self.unplaced.len() - 1) as u32;
            self.unplaced[p] = u as u32;
        }
        self.pos[u] = p as u32;
    }

    /// Whether a buffer at the floor that may not go there has no neighbour
    /// that could go at the floor and lift it: it could never be placed.
    fn stuck(&self, floor: u64) -> bool {
        self.unplaced.iter().any(|&u| {
            let u = u as usize;
            self.min[u] == floor && self.in_focus(u) && self.forbid[self.key(u)] == floor && self.lift(u) == NONE
        })
    }

    /// For a buffer at the floor that may not go there: the smallest
    /// neighbour that can go at the floor and so lift it (`NONE` if none).
    /// While it waits, the floor cannot rise, so only such a neighbour can
    /// lift it.
    fn lift(&self, u: usize) -> u64 {
        let floor = self.min[u];
        self.inst
            .neighbours(u)
            .iter()
            .map(|&v| v as usize)
            .filter(|&v| self.offset[v] == NONE && self.min[v] == floor && self.forbid[self.key(v)] != floor)
            .map(|v| self.inst.size[v])
            .min()
            .unwrap_or(NONE)
    }

    /// The lowest offset unplaced `u` can still take (cached per node):
    /// its `min`, at least `lowest` if in focus, higher when it must wait to
    /// be lifted.
    fn low_of(&mut self, u: usize, lowest: u64) -> u64 {
        if self.low_stamp[u] == self.stamp {
            return self.low[u];
        }
        let mut low = self.min[u].max(if self.in_focus(u) { lowest } else { 0 });
        if self.floor_first {
            // A buffer that may not go at its `min` rests on a neighbour
            // placed later at the floor.
            if self.forbid[self.key(u)] == low {
                low = low.saturating_add(self.lift(u));
            }
        } else if self.min[u] < lowest {
            // Below the level, it waits for a neighbour placed at or above
            // the level to lift it.
            low = low.saturating_add(self.smallest_unplaced_neighbour(u));
        } else if self.forbid[self.key(u)] == low {
            low = low.saturating_add(1);
        }
        self.low[u] = low;
        self.low_stamp[u] = self.stamp;
        low
    }

    /// The size of the smallest unplaced neighbour of `u` (`NONE` if none).
    fn smallest_unplaced_neighbour(&self, u: usize) -> u64 {
        let inst = self.inst;
        inst.neighbours(u)
            .iter()
            .map(|&v| v as usize)
            .filter(|&v| self.offset[v] == NONE)
            .map(|v| inst.size[v])
            .min()
            .unwrap_or(NONE)
    }

    /// Whether `u` belongs to the group in focus.
    #[inline]
    fn in_focus(&self, u: usize) -> bool {
        let first = self.inst.first_section[u];
        self.focus.0 <= first && first < self.focus.1
    }

    /// Opens a frame for the current node with its children. A node refuted
    /// on the spot gets no frame, or an empty one when it must backjump.
    fn expand(&mut self) {
        let mut jump = NO_JUMP;
        if self.split {
            if self.rem[self.focus.0 as usize..self.focus.1 as usize].iter().all(|&r| r == 0) {
                // The group in focus is laid out; the groups after it no
                // longer depend on how.
                match self.todo.pop() {
                    Some(t) => {
                        self.trail.push(Undo::TodoPop(t));
                        self.set_focus(t.from, t.to);
                        jump = t.frame;
                    }
                    None => self.set_focus(0, self.inst.sections as u32),
                }
            }
            if std::mem::take(&mut self.may_split) {
                self.split_focus();
            }
        }
        if !self.open(jump) && jump != NO_JUMP {
            let mark = self.trail.len();
            let at = self.cands.len();
            self.frames.push(Expansion {
                from: at,
                to: at,
                next: at,
                base_mark: mark,
                child_mark: mark,
                child: None,
                section: 0,
                floor: 0,
                jump,
            });
        }
    }

    fn set_focus(&mut self, from: u32, to: u32) {
        self.trail.push(Undo::Focus(self.focus.0, self.focus.1));
        self.focus = (from, to);
    }

    /// Pushes the node's frame; `false` if the node is refuted on the spot.
    fn open(&mut self, jump: usize) -> bool {
        let inst = self.inst;
        let cap = self.cap;
        let mut floor = NONE;
        for &u in &self.unplaced {
            let u = u as usize;
            let m = self.min[u];
            // A buffer that no longer fits refutes the node.
            if m == NONE || m.saturating_add(inst.size[u]) > cap {
                return false;
            }
            if self.in_focus(u) {
                floor = floor.min(m);
            }
        }
        let lowest = if self.floor_first { floor } else { self.level };
        if !self.sections_fit(lowest) {
            return false;
        }
        let from = self.cands.len();
        if let Some(u) = self.spanning(floor) {
            // Forced: `u` goes at the bottom of its flat group, or the node
            // is covered by the sibling that forbade it there.
            if self.forbid[self.key(u)] == floor {
                return false;
            }
            self.cands.push(u as u32);
            let mark = self.trail.len();
            self.frames.push(Expansion {
                from,
                to: from + 1,
                next: from,
                base_mark: mark,
                child_mark: mark,
                child: None,
                section: 0,
                floor,
                jump,
            });
            return true;
        }
        for i in 0..self.unplaced.len() {
            let u = self.unplaced[i] as usize;
            let m = self.min[u];
            let wanted = if self.floor_first { m == floor } else { m >= self.level };
            if wanted && self.in_focus(u) && self.forbid[self.key(u)] != m && !self.out_of_stack_order(u) {
                self.cands.push(u as u32);
            }
        }
        if self.cands.len() == from {
            return false;
        }
        if self.floor_first && self.stuck(floor) {
            self.cands.truncate(from);
            return false;
        }
        let mut section = 0;
        let sections = self.floor_first && self.params.section_branching && self.variant.sections;
        if sections {
            section = self.branch_section(from, floor);
            let mut keep = from;
            for i in from..self.cands.len() {
                let u = self.cands[i];
                if inst.covers(u as usize, section) {
                    self.cands[keep] = u;
                    keep += 1;
                }
            }
            self.cands.truncate(keep);
        }
        let rank = &self.rank;
        let min = &self.min;
        self.cands[from..].sort_unstable_by_key(|&u| (min[u as usize], rank[u as usize]));
        if sections {
            self.cands.push(WASTE);
        }
        let mark = self.trail.len();
        self.frames.push(Expansion {
            from,
            to: self.cands.len(),
            next: from,
            base_mark: mark,
            child_mark: mark,
            child: None,
            section,
            floor,
            jump,
        });
        true
    }
}
