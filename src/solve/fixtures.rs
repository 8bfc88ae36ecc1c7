//! Small problems the solvers' unit tests share, each with a known answer.

use smemplan_core::problem::{Buffer, Interval, Problem};

/// Eight plain buffers (no holes, alignment or fixed offsets) whose live
/// bytes peak at 16, while every layout needs 18: only a search can prove
/// 17 too small. One independent sub-problem; `greedy-time` finds 18, the
/// other greedy strategies 19.
pub fn interlock() -> Problem {
    Problem::new(
        vec![
            Buffer::new("b0", 5, 7, 1),
            Buffer::new("b1", 6, 8, 8),
            Buffer::new("b2", 1, 2, 8),
            Buffer::new("b3", 5, 8, 7),
            Buffer::new("b4", 2, 5, 3),
            Buffer::new("b5", 4, 6, 5),
            Buffer::new("b6", 3, 6, 3),
            Buffer::new("b7", 1, 4, 8),
        ],
        None,
    )
    .expect("valid")
}

/// Three buffers whose live bytes never exceed 2, yet any layout needs 3:
/// the holes make each pair meet, so they form a triangle of the
/// interference graph that is never live at once.
///
/// ```text
///  time  2   3   4   5   6
///  a     [===)···[=======)     gap [4, 5)
///  b         [=======)
///  c     [===)···[=======)     gap [3, 4)     a–c meet at 2, a–b at 3, b–c at 4
/// ```
pub fn triangle() -> Problem {
    Problem::new(
        vec![
            Buffer::new("a", 2, 6, 1).with_gaps(vec![Interval::new(4, 5)]),
            Buffer::new("b", 3, 5, 1),
            Buffer::new("c", 2, 6, 1).with_gaps(vec![Interval::new(3, 4)]),
        ],
        None,
    )
    .expect("valid")
}
