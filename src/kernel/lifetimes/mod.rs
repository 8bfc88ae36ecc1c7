//! Lifetimes of a kernel's buffers: per-component phase trees, their
//! flattening onto one integer timeline, and the lifetime table that maps
//! each (component class, buffer name) to the phases the buffer lives in.
//!
//! # Model
//! Every component class declares its phases as an ordered tree, written as
//! the ordered list of its leaves' dotted paths (`"stages.solve"` is leaf
//! `solve` of phase `stages`); the implicit root `all` is the component's
//! whole invocation. A class also says in which of its phases each child
//! component is invoked (`children`), in which phases each of its buffers is
//! accessed (`buffers`), and, for buffers its parent passes in as arguments,
//! in which of its own phases it touches them (`arguments`).
//!
//! The kernel's timeline grows from the root component's tree: a child
//! invoked in one leaf phase that no sibling shares is *grafted* there (its
//! tree subdivides that leaf); otherwise (several phases, an inner phase, a
//! phase shared with a sibling, or an unknown class) it is *collapsed*: all of
//! its phases stand for the whole of its mount. Every leaf then gets one unit
//! of time, in depth-first order.
//!
//! ```text
//!  loop tree:   init | loop.step                          | loop.control | ...
//!  step tree:        | predict | stages.solve | finish    |
//!  newton tree:      |         | iterate.*    |           |
//!  time:        0      1         2  3  4        5          6
//!  state        [==================================================...)  "all"
//!  delta                         [========)                           newton "all"
//!  predictor             [==)                                         predictor "all"
//! ```
//!
//! # Invariants (what makes a derived lifetime safe)
//! * A persistent buffer lives for the whole run.
//! * A buffer missing from the table lives for the whole run and is reported.
//! * A phase list names every phase in which the buffer is read *or written*
//!   and every phase its value must survive; a value carried from one
//!   repetition of a repeated phase (a stage, a Newton iteration) to the next
//!   needs the whole repeated phase. Gaps between listed phases are holes in
//!   which other buffers may reuse the storage.
//! * An argument refinement must reach the child's first (last) leaf when the
//!   parent's buffer is live just before (after) the child's mount, since the
//!   value then flows in (out); [`derive()`] checks this.
//!
//! One idea per file: [`phases`] (a class's phase tree), [`table`] (the
//! lifetime table: phases, children, buffers and arguments per class),
//! [`derive`](mod@derive) (grafting the trees onto one timeline and every
//! buffer's segments on it), [`segments`] (live segments and the problem
//! buffer they make).

pub mod derive;
pub(crate) mod lines;
pub mod phases;
pub mod segments;
pub mod table;

pub use derive::derive;
pub use phases::{PhaseId, PhaseTree, ROOT_PHASE};
pub use segments::{buffer_on, merge_segments, segments_overlap, Segments};
pub use table::{ClassLifetimes, LifetimeTable, CUBIE_TABLE, CUBIE_TABLE_NAME};

/// The flattened kernel timeline and every buffer's live segments on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifetimes {
    /// One label per unit of time: the chain of phases that leaf is in,
    /// e.g. `kernel/loop:loop.step > kernel/loop/algorithm:stages.solve`.
    pub timeline: Vec<String>,
    /// Live segments of each input buffer, in input order.
    pub buffers: Vec<Segments>,
    /// `component/name` of every non-persistent buffer the table does not
    /// map (treated as live for the whole run).
    pub unmapped: Vec<String>,
    /// Components whose class, or whose mount in their parent, the table
    /// does not know (their phases stand for the whole of their parent's).
    pub unmapped_components: Vec<String>,
}
