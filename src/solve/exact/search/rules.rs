//! The rules of [`ExactParams`](crate::exact::ExactParams), one
//! function per flag. Each does what the search would do without it when
//! its flag is off, so the search reads the same whatever the flags, and the
//! tests that run every combination of flags against exhaustive search show
//! that no rule changes an answer.
//!
//! | flag                 | function                                |
//! |----------------------|-----------------------------------------|
//! | `section_inference`  | [`Search::sections_fit`]                |
//! | `unallocated_floor`  | [`Search::unallocated_floors_fit`]      |
//! | `release_dates`      | [`Search::release_dates_fit`]           |
//! | `nogoods`            | [`Search::nogoods`]                     |
//! | `twins`              | [`Search::key`], [`Search::twin_tried`] |
//! | `stacks`             | [`Search::out_of_stack_order`]          |
//! | `peel`               | [`Search::spanning`]                    |
//! | `split`              | [`Search::split_focus`]                 |
//! | `section_branching`  | [`Search::branch_section`]              |
//!
//! `floor_first` shapes the whole tree and stays with the search.

use super::{Expansion, Search, Todo, Undo, NONE, WASTE};
use crate::exact::SectionRule;

impl Search<'_> {
    /// `section_inference`: in every section, the bytes still to place must
    /// fit between the section's floor and the capacity. The floor is the
    /// higher of the section's sky and `lowest` (no future placement goes
    /// below it) or, with `unallocated_floor`, what
    /// [`Self::unallocated_floors_fit`] finds. `false` refutes the node.
    pub(super) fn sections_fit(&mut self, lowest: u64) -> bool {
        if !self.params.section_inference {
            return true;
        }
        if self.params.unallocated_floor {
            return self.unallocated_floors_fit(lowest);
        }
        let cap = self.cap;
        let (a, b) = (self.focus.0 as usize, self.focus.1 as usize);
        self.sky.iter().zip(&self.rem).enumerate().all(|(s, (&sky, &rem))| {
            let floor = if a <= s && s < b { sky.max(lowest) } else { sky };
            // `rem` is a sum of sizes (fits in u64 by `Problem::new`), but
            // a floor near 2^64 may still carry it over.
            rem == 0 || floor.saturating_add(rem) <= cap
        })
    }

    /// `unallocated_floor`: a section's floor is the lowest offset any
    /// unplaced buffer live there can still take; then, with
    /// `release_dates`, every higher threshold too
    /// ([`Self::release_dates_fit`]).
    fn unallocated_floors_fit(&mut self, lowest: u64) -> bool {
        let cap = self.cap;
        // Only sections the last decision touched can have changed; with a
        // level (no floor first) every section can.
        let (from, to) = if self.floor_first { self.window } else { (0, self.inst.sections as u32) };
        self.stamp += 1;
        let inst = self.inst;
        for s in from as usize..to as usize {
            if self.rem[s] == 0 {
                continue;
            }
            let (mut floor, mut highest) = (NONE, 0);
            let from = inst.live_offset(s);
            for i in from..from + self.waiting_len[s] as usize {
                let low = self.low_of(self.waiting[i] as usize, lowest);
                floor = floor.min(low);
                highest = highest.max(low);
            }
            if floor.saturating_add(self.rem[s]) > cap || !self.release_dates_fit(s, floor, highest) {
                return false;
            }
        }
        true
    }

    /// `release_dates`: in section `s`, for every threshold `t`, the
    /// unplaced buffers that cannot start below `t` must fit between `t`
    /// and the capacity; `floor` and `highest` are the lowest and highest
    /// starts they can take (as [`Self::low_of`] left them). Only a section
    /// whose highest start plus all its bytes overflows can fail.
    fn release_dates_fit(&mut self, s: usize, floor: u64, highest: u64) -> bool {
        let cap = self.cap;
        if !self.params.release_dates || highest.saturating_add(self.rem[s]) <= cap {
            return true;
        }
        // Starts take few distinct values: test each threshold above the
        // floor (the floor itself passed) against the bytes that cannot
        // start below it.
        let inst = self.inst;
        let from = inst.live_offset(s);
        self.pairs.clear();
        let waiting = &self.waiting[from..from + self.waiting_len[s] as usize];
        for &u in waiting {
            let low = self.low[u as usize];
            if low > floor && !self.pairs.iter().any(|&(t, _)| t == low) {
                self.pairs.push((low, 0));
            }
        }
        for &u in waiting {
            let low = self.low[u as usize];
            for pair in self.pairs.iter_mut().filter(|(t, _)| *t <= low) {
                // A sum of sizes of one section: at most `rem[s]`, no wrap.
                pair.1 += inst.size[u as usize];
            }
        }
        !self.pairs.iter().any(|&(t, above)| t.saturating_add(above) > cap)
    }

    /// `nogoods`: once the child that placed `done` at its `min` is
    /// exhausted, `done` may not go there below the later siblings: every
    /// layout below them with `done` at that offset is a reordering of one
    /// below `done`'s child.
    pub(super) fn nogoods(&mut self, done: u32) {
        if self.params.nogoods && done != WASTE {
            let key = self.key(done as usize);
            self.set_forbid(key, self.min[done as usize]);
        }
    }

    /// `twins`: the index into `forbid` for buffer `u`, its class of
    /// interchangeable buffers (a nogood on one then holds for all).
    #[inline]
    pub(super) fn key(&self, u: usize) -> usize {
        if self.params.twins {
            self.inst.class[u] as usize
        } else {
            u
        }
    }

    /// `twins` without `nogoods`: whether a buffer interchangeable with
    /// candidate `cands[i]` was already tried at this node (with `nogoods`,
    /// the class's forbidden offset already says so).
    pub(super) fn twin_tried(&self, frame: &Expansion, i: usize) -> bool {
        let class = self.inst.class[self.cands[i] as usize];
        self.params.twins
            && !self.params.nogoods
            && self.cands[frame.from..i].iter().any(|&t| self.inst.class[t as usize] == class)
    }

    /// With `stacks` (floor first): whether `u` would sit directly on a
    /// buffer live in exactly the same sections that comes later in the
    /// order. Swapping the two fills the same region, and that order was
    /// tried first: both were candidates when the lower one was placed
    /// (without fixed buffers or padding, equal sections mean equal `min`).
    pub(super) fn out_of_stack_order(&self, u: usize) -> bool {
        if !self.params.stacks || !self.floor_first {
            return false;
        }
        let at = self.min[u];
        let inst = self.inst;
        inst.same_spans(u).iter().any(|&a| {
            let a = a as usize;
            self.offset[a] != NONE && self.offset[a] + inst.size[a] == at && self.rank[a] > self.rank[u]
        })
    }

    /// With `peel` (floor first): when every section of the focus that
    /// still has buffers to place has its sky at the floor, a buffer live in
    /// all of them (the first in the order). Every other buffer of the group
    /// lies wholly below or above it in any layout, so moving it to the
    /// bottom and the ones below it up by its size keeps the layout valid.
    pub(super) fn spanning(&self, floor: u64) -> Option<usize> {
        if !self.params.peel || !self.floor_first {
            return None;
        }
        let (a, b) = (self.focus.0 as usize, self.focus.1 as usize);
        let mut busy = 0u32;
        for s in a..b {
            if self.rem[s] > 0 {
                if self.sky[s] != floor {
                    return None;
                }
                busy += 1;
            }
        }
        let inst = self.inst;
        self.unplaced
            .iter()
            .map(|&u| u as usize)
            .filter(|&u| self.in_focus(u) && inst.live_sections[u] == busy)
            .min_by_key(|&u| self.rank[u])
    }

    /// `split`: narrows the focus to its first group of sections that share
    /// unplaced buffers, queueing the others.
    pub(super) fn split_focus(&mut self) {
        let (from, to) = self.focus;
        let mut groups: Vec<(u32, u32)> = Vec::new();
        let mut start = from;
        let mut busy = false;
        for s in from..to {
            busy |= self.rem[s as usize] > 0;
            let closes = s + 1 == to || self.cross[s as usize] == 0;
            if closes {
                if busy {
                    groups.push((start, s + 1));
                }
                start = s + 1;
                busy = false;
            }
        }
        let Some(&(first_from, first_to)) = groups.first() else {
            return;
        };
        if groups.len() > 1 {
            let frame = self.frames.len();
            for &(a, b) in groups[1..].iter().rev() {
                self.todo.push(Todo { from: a, to: b, frame });
                self.trail.push(Undo::TodoPush);
            }
        }
        if (first_from, first_to) != (from, to) {
            self.set_focus(first_from, first_to);
        }
    }

    /// `section_branching`: the section to branch on among those the candidates `cands[from..]`
    /// cover: the one covered by the fewest, or (rule [`SectionRule::Slack`])
    /// the one with the least room to waste, then the fewest; the earliest
    /// among equals. Either way the most constrained place at the floor.
    pub(super) fn branch_section(&mut self, from: usize, floor: u64) -> u32 {
        let inst = self.inst;
        let count = &mut self.count;
        for &u in &self.cands[from..] {
            for &(a, b) in inst.spans(u as usize) {
                for c in &mut count[a as usize..b as usize] {
                    *c += 1;
                }
            }
        }
        let mut best = (u64::MAX, u32::MAX, 0u32);
        for (s, c) in count.iter_mut().enumerate() {
            if *c > 0 {
                // Sections covered by candidates have their sky at or below
                // the floor; their bytes fit above it only when section
                // inference has checked so, hence the saturation.
                let slack = match self.variant.rule {
                    SectionRule::Fewest => 0,
                    SectionRule::Slack => self.cap.saturating_sub(floor).saturating_sub(self.rem[s]),
                };
                if (slack, *c) < (best.0, best.1) {
                    best = (slack, *c, s as u32);
                }
            }
            *c = 0;
        }
        best.2
    }
}
