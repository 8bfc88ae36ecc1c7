"""smemplan: GPU shared/local memory planning for batched ODE solver kernels.

A thin Python layer over the Rust library ``smemplan`` (the same semantics and
defaults as the ``smemplan`` command line):

* :func:`solve`, :func:`check`, :func:`read_csv`, :func:`write_csv`: the
  offset-assignment problem in MiniMalloc's columns (``lower``, ``upper``,
  ``size``, optional ``alignment``, ``offset``, ``gaps``, ``id``);
* :func:`plan`, :func:`sweep`, :func:`occupancy`: solver-kernel models,
  CuBIE's layout next to the optimised one, block sizes and throughput;
* :class:`Registry`: CuBIE 0.17.0's buffer registry, answering as CuBIE does;
* :mod:`smemplan.cubie`: optimise a live ``cubie.Solver``'s buffer layout.

Every long call releases the GIL and honours its time limit. Bad input raises
``ValueError`` or ``TypeError`` naming the field; a bug inside the Rust library
raises :class:`InternalError`, never aborts the interpreter.

>>> import smemplan
>>> s = smemplan.solve([0, 3, 0], [3, 9, 9], [4, 4, 4])
>>> s.peak, s.status
(8, <Status.OPTIMAL: 'optimal'>)
"""

from __future__ import annotations

import enum
import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _smemplan
from ._smemplan import InternalError
from ._registry import Registry, Allocator, ArrayAllocator
from ._args import optional_uint as _optional_uint, read_text as _read_text, seconds as _seconds, write_text as _write_text

__version__ = _smemplan.__version__

__all__ = [
    "InternalError",
    "InvalidLayout",
    "Status",
    "Problem",
    "Solution",
    "solve",
    "check",
    "read_csv",
    "write_csv",
    "strategies",
    "DEFAULT_STRATEGY",
    "models",
    "devices",
    "Plan",
    "SweepResult",
    "plan",
    "sweep",
    "Occupancy",
    "occupancy",
    "Registry",
    "Allocator",
    "ArrayAllocator",
]

#: The default strategy (the command line's ``--strategy`` default).
DEFAULT_STRATEGY: str = _smemplan.default_strategy()

#: The command line's default time limits, seconds.
SOLVE_TIME_LIMIT = 10.0
PLAN_TIME_LIMIT = 10.0
SWEEP_TIME_LIMIT = 1.0


class InvalidLayout(ValueError):
    """A layout the independent checker rejects.

    ``violations`` lists every violation (one message each), ``peak`` is the
    layout's peak as far as it was placed.
    """

    def __init__(self, violations: List[str], peak: int):
        self.violations = list(violations)
        self.peak = peak
        n = len(self.violations)
        head = "; ".join(self.violations[:5])
        more = f" (and {n - 5} more)" if n > 5 else ""
        super().__init__(f"invalid layout: {n} violation{'s' if n != 1 else ''}: {head}{more}")

    def __reduce__(self) -> Tuple[Any, Tuple[List[str], int]]:
        # Rebuilt from its fields (the default would call __init__ with the
        # message alone): pickle, and so multiprocessing, carry it whole.
        return (type(self), (self.violations, self.peak))


class Status(enum.Enum):
    """What a solution establishes (the command line's ``status``)."""

    #: The peak is proven minimal.
    OPTIMAL = "optimal"
    #: Nothing proved the peak minimal, and nothing cut the solver short.
    UNPROVEN = "unproven"
    #: The capacity is proven too small (the layout is the best found).
    INFEASIBLE = "infeasible"
    #: The time limit stopped the search before a proof.
    DEADLINE_REACHED = "deadline_reached"


# ----------------------------------------------------------------- columns


def _is_frame(obj: Any) -> bool:
    return type(obj).__name__ == "DataFrame" and hasattr(obj, "columns")


#: One past the largest value of a ``u64`` column.
_U64_END = 2**64


def _u64_column(name: str, values: Any, n: Optional[int], ids: Optional[Sequence[str]] = None) -> np.ndarray:
    """``values`` as a uint64 array, every value taken exactly:
    ``TypeError``/``ValueError`` name ``name`` and the row.

    Integers are taken as they are; floats only when integral and in range
    (``2.0`` is 2, ``1e30`` is too large, ``1.5`` is no integer). A plain
    list is never read through floats: numpy makes a float array of
    ``[4, 2**64 - 4]``, which would round the large value, so such a list is
    read value by value."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{name}: expected a sequence of integers, got {type(values).__name__}")
    arr: Optional[np.ndarray] = None
    if isinstance(values, np.ndarray):
        arr = values
    else:
        try:
            arr = np.asarray(values)
        except (TypeError, ValueError, OverflowError):
            arr = None  # ragged lists and the like: value by value below
        if arr is not None and arr.ndim == 1 and arr.dtype.kind not in "iub":
            # Floats may be rounded big integers, and strings are named by
            # row: value by value, exactly.
            arr = None
        if arr is None:
            try:
                items = list(values)
            except TypeError:
                raise TypeError(f"{name}: expected a sequence of integers, got {type(values).__name__}") from None
            arr = np.empty(len(items), dtype=object)
            for i, v in enumerate(items):
                arr[i] = v
    if arr.ndim == 0:
        raise TypeError(f"{name}: expected a sequence of integers, got a scalar {values!r}")
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a one-dimensional column, got shape {arr.shape}")
    if n is not None and len(arr) != n:
        raise ValueError(f"{name}: {len(arr)} values for {n} buffers")
    if arr.dtype == object:
        out = np.empty(len(arr), dtype=np.uint64)
        for i, v in enumerate(arr):
            out[i] = _u64_value(name, v, i, ids)
        arr = out
    elif arr.dtype.kind == "b":
        raise TypeError(f"{name}: expected integers, got booleans")
    elif arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.floor(arr))
        if bad.any():
            i = int(np.argmax(bad))
            raise TypeError(f"{name}: row {i}{_who(ids, i)} is {float(arr[i])!r}, not an integer")
        if (arr < 0).any():
            i = int(np.argmax(arr < 0))
            raise ValueError(f"{name}: row {i}{_who(ids, i)} is negative ({float(arr[i])!r})")
        if (arr >= float(_U64_END)).any():
            i = int(np.argmax(arr >= float(_U64_END)))
            raise ValueError(f"{name}: row {i}{_who(ids, i)} is too large ({float(arr[i])!r}; at most 2**64 - 1)")
        # Integral and below 2**64: the cast is exact.
        arr = arr.astype(np.uint64)
    elif arr.dtype.kind == "i":
        if (arr < 0).any():
            i = int(np.argmax(arr < 0))
            raise ValueError(f"{name}: row {i}{_who(ids, i)} is negative ({int(arr[i])})")
        arr = arr.astype(np.uint64)
    elif arr.dtype.kind == "u":
        arr = arr.astype(np.uint64)
    else:
        raise TypeError(f"{name}: expected integers, got {arr.dtype} values")
    return np.ascontiguousarray(arr, dtype="<u8")


def _u64_value(name: str, v: Any, i: int, ids: Optional[Sequence[str]]) -> int:
    """Row ``i`` of column ``name`` as an exact integer in ``[0, 2**64)``."""
    if isinstance(v, (bool, np.bool_)):
        raise TypeError(f"{name}: row {i}{_who(ids, i)} is {v!r}, not an integer")
    if isinstance(v, (int, np.integer)):
        x = int(v)
    elif isinstance(v, (float, np.floating)):
        f = float(v)
        if not math.isfinite(f) or not f.is_integer():
            raise TypeError(f"{name}: row {i}{_who(ids, i)} is {f!r}, not an integer")
        x = int(f)
    else:
        raise TypeError(f"{name}: row {i}{_who(ids, i)} is {v!r}, not an integer")
    if x < 0:
        raise ValueError(f"{name}: row {i}{_who(ids, i)} is negative ({v!r})")
    if x >= _U64_END:
        raise ValueError(f"{name}: row {i}{_who(ids, i)} is too large ({v!r}; at most 2**64 - 1)")
    return x


def _sequence(name: str, value: Any, what: str) -> List[Any]:
    """``value``'s items; ``TypeError`` naming ``name`` for a string or a
    scalar."""
    if isinstance(value, (str, bytes)) or (np.ndim(value) == 0 and not isinstance(value, Iterable)):
        raise TypeError(f"{name}: expected a sequence of {what}, got {type(value).__name__}")
    try:
        return list(value)
    except TypeError:
        raise TypeError(f"{name}: expected a sequence of {what}, got {type(value).__name__}") from None


def _is_missing(v: Any) -> bool:
    """None, NaN, or pandas' NA: no value in this row."""
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return bool(np.isnan(v))
    return type(v).__name__ in ("NAType", "NaTType")


def _ids(ids: Any, n: int) -> List[str]:
    """The buffer ids, checked as the CSV reader checks them: strings (or
    integers, as a DataFrame read from a CSV has them), non-empty, printable
    (no control character but tab) and UTF-8 (no lone surrogate)."""
    if isinstance(ids, (str, bytes)):
        raise TypeError("ids: expected a sequence of buffer ids, got a string")
    items = _sequence("ids", ids, "buffer ids (strings)")
    if len(items) != n:
        raise ValueError(f"ids: {len(items)} values for {n} buffers")
    out = []
    for i, x in enumerate(items):
        if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
            x = str(int(x))
        if not isinstance(x, str):
            raise TypeError(f"ids: row {i} is {x!r}; a buffer id is a string (or an integer)")
        if not x:
            raise ValueError(f"ids: row {i} is an empty buffer id")
        bad = _NOT_IN_AN_ID.search(x)
        if bad:
            c = bad.group()
            if "\ud800" <= c <= "\udfff":
                raise ValueError(f"ids: row {i} ({x!r}) holds the lone surrogate U+{ord(c):04X}, which is not text")
            raise ValueError(f"ids: row {i} ({x!r}) holds the control character U+{ord(c):04X}; ids must be printable")
        out.append(str(x))
    return out


#: What the CSV reader refuses in an id: a control character (Unicode's Cc,
#: tab excepted), and what is no text at all (a lone surrogate).
_NOT_IN_AN_ID = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\ud800-\udfff]")


def _who(ids: Optional[Sequence[str]], i: int) -> str:
    return f" (buffer `{ids[i]}`)" if ids is not None and i < len(ids) else ""


def _parse_gaps(name: str, value: Any, i: int, ids: Sequence[str]) -> List[Tuple[int, int]]:
    """One row's gaps: ``None``/empty, ``"a-b c-d"`` (MiniMalloc's text), or
    a sequence of ``(start, end)`` pairs; every bound an integer below
    2**64."""
    where = f"{name}: row {i}{_who(ids, i)}"
    if _is_missing(value):
        return []
    out = []
    if isinstance(value, str):
        for g in value.split():
            lo, sep, hi = g.partition("-")
            # ASCII digits only: str.isdigit() also takes "²".
            if not sep or not _DIGITS.fullmatch(lo) or not _DIGITS.fullmatch(hi):
                raise ValueError(f"{where}: gap `{g}` is not of the form lower-upper")
            out.append((_bound(where, int(lo)), _bound(where, int(hi))))
        return out
    if isinstance(value, bytes) or not isinstance(value, Iterable):
        raise TypeError(f"{where}: expected (start, end) pairs or \"lower-upper\" text, got {value!r}")
    for pair in value:
        bounds = [] if isinstance(pair, (str, bytes)) or not isinstance(pair, Iterable) else list(pair)
        if len(bounds) != 2:
            raise TypeError(f"{where}: expected (start, end) pairs, got {pair!r}")
        lo, hi = bounds
        for v in (lo, hi):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{where}: gap bound {v!r} is not an integer")
        out.append((_bound(where, int(lo)), _bound(where, int(hi))))
    return out


_DIGITS = re.compile(r"[0-9]+")


def _bound(where: str, v: int) -> int:
    if v < 0:
        raise ValueError(f"{where}: gap bound {v} is negative")
    if v >= _U64_END:
        raise ValueError(f"{where}: gap bound {v} is too large (at most 2**64 - 1)")
    return v


class Problem:
    """An instance: buffers with a size, an alignment, a half-open lifetime
    ``[lower, upper)``, optional gaps (instants inside the lifetime where the
    buffer is dead) and an optional fixed offset.

    Build one with :meth:`Problem.from_columns`, :func:`read_csv` or from a
    pandas DataFrame (:meth:`Problem.from_frame`). Construction validates
    everything the library requires (errors name the field and the buffer).

    Attributes: ``ids`` (list of str), ``lower``, ``upper``, ``size``,
    ``alignment`` (numpy uint64 arrays), ``offset`` (a numpy uint64 array,
    with ``fixed`` the boolean mask of rows that have one), ``gaps`` (per row,
    a list of ``(start, end)``).
    """

    __slots__ = ("ids", "lower", "upper", "size", "alignment", "offset", "fixed", "gaps", "source")

    def __init__(self, ids, lower, upper, size, alignment, offset, fixed, gaps, source="<columns>"):
        self.ids: List[str] = ids
        self.lower: np.ndarray = lower
        self.upper: np.ndarray = upper
        self.size: np.ndarray = size
        self.alignment: np.ndarray = alignment
        self.offset: np.ndarray = offset
        self.fixed: np.ndarray = fixed
        self.gaps: List[List[Tuple[int, int]]] = gaps
        self.source: str = source

    @classmethod
    def from_columns(
        cls,
        lower: Any,
        upper: Any,
        size: Any,
        *,
        ids: Optional[Sequence[Any]] = None,
        alignment: Any = None,
        offset: Any = None,
        gaps: Any = None,
    ) -> "Problem":
        """Builds and validates a problem from MiniMalloc's columns.

        ``offset`` may hold ``None`` (or NaN) for buffers free to move;
        ``gaps`` holds per row ``None``, MiniMalloc's ``"a-b c-d"`` text or a
        list of ``(start, end)`` pairs. Without ``ids`` the buffers are named
        ``"0"``, ``"1"``, ...
        """
        if lower is None or upper is None or size is None:
            missing = [n for n, v in (("lower", lower), ("upper", upper), ("size", size)) if v is None]
            raise TypeError(f"{', '.join(missing)}: required column missing")
        lo_probe = _u64_column("lower", lower, None)
        # No rows is a problem without buffers, as a CSV with only its
        # header is for the command line: its peak is 0.
        n = len(lo_probe)
        id_list = [str(i) for i in range(n)] if ids is None else _ids(ids, n)
        lo = _u64_column("lower", lower, n, id_list)
        up = _u64_column("upper", upper, n, id_list)
        sz = _u64_column("size", size, n, id_list)
        al = np.ones(n, dtype="<u8") if alignment is None else _u64_column("alignment", alignment, n, id_list)
        if offset is None:
            off = np.zeros(n, dtype="<u8")
            fixed = np.zeros(n, dtype=bool)
        else:
            seq = _sequence("offset", offset, "integers or None (one per buffer)")
            if len(seq) != n:
                raise ValueError(f"offset: {len(seq)} values for {n} buffers")
            fixed = np.array([not _is_missing(v) for v in seq], dtype=bool)
            vals = np.empty(n, dtype=object)
            for i, (v, f) in enumerate(zip(seq, fixed)):
                vals[i] = v if f else 0
            off = _u64_column("offset", vals, n, id_list)
        if gaps is None:
            gp: List[List[Tuple[int, int]]] = [[] for _ in range(n)]
        else:
            if isinstance(gaps, (str, bytes)):
                raise TypeError("gaps: expected one entry per buffer, got a string")
            gl = list(gaps)
            if len(gl) != n:
                raise ValueError(f"gaps: {len(gl)} values for {n} buffers")
            gp = [_parse_gaps("gaps", g, i, id_list) for i, g in enumerate(gl)]
        p = cls(id_list, lo, up, sz, al, off, fixed, gp)
        _smemplan.validate(p._columns())
        return p

    @classmethod
    def from_frame(cls, df: Any) -> "Problem":
        """From a pandas DataFrame with columns ``lower``, ``upper``, ``size``
        and optionally ``alignment``, ``offset``, ``gaps``, ``id``."""
        cols = {str(c).strip().lower(): c for c in df.columns}
        for need in ("lower", "upper", "size"):
            if need not in cols:
                raise ValueError(f"{need}: the DataFrame has no `{need}` column (columns: {list(df.columns)})")

        def col(name):
            return df[cols[name]].tolist() if name in cols else None

        def num(name):
            c = df[cols[name]]
            return c.to_numpy() if c.dtype.kind in "iuf" else c.tolist()

        ids = col("id")
        offset = None
        if "offset" in cols:
            import pandas as pd

            offset = [None if (isinstance(v, str) and v == "") or pd.isna(v) else v for v in col("offset")]
        return cls.from_columns(
            num("lower"),
            num("upper"),
            num("size"),
            ids=ids,
            alignment=num("alignment") if "alignment" in cols else None,
            offset=offset,
            gaps=col("gaps"),
        )

    def _columns(self) -> Dict[str, Any]:
        has_fixed = bool(self.fixed.any())
        has_gaps = any(self.gaps)
        return {
            "ids": self.ids,
            "lower": self.lower.tobytes(),
            "upper": self.upper.tobytes(),
            "size": self.size.tobytes(),
            "alignment": self.alignment.tobytes(),
            "offset": self.offset.tobytes() if has_fixed else None,
            "offset_mask": self.fixed.astype(np.uint8).tobytes() if has_fixed else None,
            "gaps": self.gaps if has_gaps else None,
        }

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"<smemplan.Problem {self.source}: {len(self)} buffers>"

    def to_frame(self) -> Any:
        """The columns as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        data: Dict[str, Any] = {"id": self.ids, "lower": self.lower, "upper": self.upper, "size": self.size}
        if (self.alignment != 1).any():
            data["alignment"] = self.alignment
        if self.fixed.any():
            data["offset"] = [int(o) if f else None for o, f in zip(self.offset, self.fixed)]
        if any(self.gaps):
            data["gaps"] = [" ".join(f"{a}-{b}" for a, b in g) for g in self.gaps]
        return pd.DataFrame(data)


def _problem_from(args: Tuple[Any, ...], kwargs: Dict[str, Any], what: str) -> Problem:
    """The problem a call's leading arguments describe."""
    keys = ("ids", "alignment", "offset", "gaps")
    if len(args) == 1 and not any(kwargs.get(k) is not None for k in ("lower", "upper", "size")):
        (first,) = args
        extra = [k for k in keys if kwargs.get(k) is not None]
        if isinstance(first, Problem):
            if extra:
                raise TypeError(f"{what}: {', '.join(extra)} given with a Problem")
            return first
        if _is_frame(first):
            if extra:
                raise TypeError(f"{what}: {', '.join(extra)} given with a DataFrame (make them columns)")
            return Problem.from_frame(first)
        if isinstance(first, (str, os.PathLike)):
            return read_csv(first)
        if isinstance(first, Mapping):
            d = {str(k).lower(): v for k, v in first.items()}
            return Problem.from_columns(
                d.get("lower"), d.get("upper"), d.get("size"), ids=d.get("id", d.get("ids")),
                alignment=d.get("alignment"), offset=d.get("offset"), gaps=d.get("gaps"),
            )
        if isinstance(first, bytes) or not isinstance(first, Iterable):
            raise TypeError(
                f"{what}: expected a Problem, a pandas DataFrame, a CSV path (str or os.PathLike), a mapping of "
                f"columns, or the columns lower, upper, size; got {type(first).__name__}"
            )
    if args and kwargs.get("lower") is not None:
        raise TypeError(f"{what}: lower given both by position and by keyword")
    lower = args[0] if len(args) > 0 else kwargs.get("lower")
    upper = args[1] if len(args) > 1 else kwargs.get("upper")
    size = args[2] if len(args) > 2 else kwargs.get("size")
    if len(args) > 3:
        raise TypeError(f"{what}: at most three positional columns (lower, upper, size)")
    return Problem.from_columns(
        lower, upper, size, ids=kwargs.get("ids"), alignment=kwargs.get("alignment"),
        offset=kwargs.get("offset"), gaps=kwargs.get("gaps"),
    )


# ---------------------------------------------------------------- solving


@dataclass(frozen=True, eq=False)
class Solution:
    """A solver's answer; its layout has passed the independent checker.

    ``offsets`` (numpy uint64, one per buffer in the problem's order),
    ``peak`` (bytes), ``lower_bound`` (no layout peaks below it), ``gap``
    ((peak − bound) ÷ bound), ``status`` (:class:`Status`), ``seconds``,
    ``strategy`` (asked for) and ``winner`` (the portfolio member that found
    the layout), ``capacity``/``feasible``/``infeasible`` (why a capacity is
    proven too small), the search's ``nodes``/``backtracks``/``attempts``,
    and the ``problem`` itself.

    Two solutions are equal only if they are the same object (hashable by
    identity); compare layouts with ``np.array_equal(a.offsets, b.offsets)``.
    """

    offsets: np.ndarray
    peak: int
    lower_bound: int
    gap: float
    status: Status
    seconds: float
    strategy: str
    winner: str
    capacity: Optional[int]
    feasible: bool
    infeasible: Optional[str]
    nodes: int
    backtracks: int
    attempts: int
    problem: Problem = field(repr=False)

    @property
    def optimal(self) -> bool:
        """Whether the peak is proven minimal (the bound has reached it).
        Also true beside a capacity proven too small (``INFEASIBLE``), when
        the best layout's peak is the optimum above it, as the command
        line's ``optimal``."""
        return self.peak <= self.lower_bound

    def layout(self) -> Dict[str, int]:
        """``{buffer id: offset}``."""
        return dict(zip(self.problem.ids, (int(o) for o in self.offsets)))

    def to_frame(self) -> Any:
        """The problem's columns plus ``offset`` as a pandas DataFrame."""
        df = self.problem.to_frame()
        df["offset"] = self.offsets
        return df

    def svg(self, path: Union[str, os.PathLike, None] = None, title: Optional[str] = None) -> str:
        """The layout drawn as SVG (time on x, address on y); written to
        ``path`` too when given."""
        text = _smemplan.layout_svg(
            self.problem._columns(), self.offsets.tobytes(), title or f"{self.problem.source} — {self.strategy}",
            self.lower_bound, self.capacity,
        )
        if path is not None:
            _write_text(path, text)
        return text

    def __repr__(self) -> str:
        return (
            f"<smemplan.Solution {self.problem.source}: {len(self.problem)} buffers, peak {self.peak}, "
            f"lower bound {self.lower_bound}, {self.status.value}, {self.strategy}>"
        )

    def __str__(self) -> str:
        rows = [
            ("instance", self.problem.source),
            ("buffers", str(len(self.problem))),
            ("strategy", self.strategy if self.winner in ("", self.strategy) else f"{self.strategy} (layout by {self.winner})"),
            ("peak", f"{self.peak} bytes"),
            ("lower bound", f"{self.lower_bound} bytes"),
            ("gap", f"{self.gap * 100:.2f} %"),
            ("status", self.status.value),
        ]
        if self.infeasible:
            rows.append(("infeasible", self.infeasible))
        rows.append(("seconds", f"{self.seconds:.3f}"))
        return "\n".join(f"{k:<12} {v}" for k, v in rows)


def _strategy(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"strategy: expected a strategy name, got {name!r}")
    known = [s for s, _ in _smemplan.strategies()]
    if name not in known:
        raise ValueError(f"strategy: unknown strategy `{name}` (known: {', '.join(known)})")
    return name


def solve(
    *columns: Any,
    lower: Any = None,
    upper: Any = None,
    size: Any = None,
    ids: Any = None,
    alignment: Any = None,
    offset: Any = None,
    gaps: Any = None,
    capacity: Optional[int] = None,
    strategy: str = DEFAULT_STRATEGY,
    time_limit: float = SOLVE_TIME_LIMIT,
) -> Solution:
    """Places every buffer at a byte offset so that buffers live at the same
    time never overlap, minimising the peak (``smemplan solve``).

    Call it as ``solve(lower, upper, size, alignment=..., offset=..., gaps=...,
    ids=...)`` with numpy arrays or sequences, ``solve(df)`` with a pandas
    DataFrame, ``solve(problem)`` with a :class:`Problem`, or
    ``solve("instance.csv")``.

    ``capacity``: stop at the first layout that fits and say whether it does;
    ``strategy``: one of :func:`strategies` (default ``"auto"``);
    ``time_limit``: seconds, after which the best layout found is returned
    with status ``DEADLINE_REACHED``. The GIL is released while it runs.
    """
    problem = _problem_from(columns, {"lower": lower, "upper": upper, "size": size, "ids": ids,
                                      "alignment": alignment, "offset": offset, "gaps": gaps}, "solve")
    strategy = _strategy(strategy)
    limit = _seconds("time_limit", time_limit)
    cap = _optional_uint("capacity", capacity)
    raw, summary = _smemplan.solve(problem._columns(), strategy, limit, cap)
    s = json.loads(summary)
    return Solution(
        offsets=np.frombuffer(raw, dtype="<u8").astype(np.uint64),
        peak=s["peak"],
        lower_bound=s["lower_bound"],
        gap=s["gap"],
        status=Status(s["status"]),
        seconds=s["seconds"],
        strategy=s["strategy"],
        winner=s["stats"]["winner"],
        capacity=s["capacity"],
        feasible=s["feasible"],
        infeasible=s["infeasible"],
        nodes=s["stats"]["nodes"],
        backtracks=s["stats"]["backtracks"],
        attempts=s["stats"]["attempts"],
        problem=problem,
    )


def check(
    *columns: Any,
    offsets: Any,
    lower: Any = None,
    upper: Any = None,
    size: Any = None,
    ids: Any = None,
    alignment: Any = None,
    offset: Any = None,
    gaps: Any = None,
    capacity: Optional[int] = None,
) -> int:
    """The independent checker (``smemplan check``): returns the layout's
    peak, or raises :class:`InvalidLayout` listing every violation.

    The problem is given as to :func:`solve`; ``offsets`` is one offset per
    buffer in the problem's order, a ``{id: offset}`` mapping, or a
    :class:`Solution`. ``capacity`` also requires every buffer to end at or
    below it.
    """
    problem = _problem_from(columns, {"lower": lower, "upper": upper, "size": size, "ids": ids,
                                      "alignment": alignment, "offset": offset, "gaps": gaps}, "check")
    if isinstance(offsets, Solution):
        offsets = offsets.offsets
    if isinstance(offsets, Mapping):
        keys = [k for k in offsets if not isinstance(k, str)]
        if keys:
            raise TypeError(f"offsets: the keys of a mapping are buffer ids (str), got {keys[0]!r}")
        missing = [i for i in problem.ids if i not in offsets]
        unknown = [k for k in offsets if str(k) not in set(problem.ids)]
        if missing or unknown:
            v = [f"buffer `{m}` has no offset" for m in missing] + [f"offset given for unknown buffer `{u}`" for u in unknown]
            raise InvalidLayout(v, 0)
        offsets = [offsets[i] for i in problem.ids]
    off = _u64_column("offsets", offsets, len(problem), problem.ids)
    cap = _optional_uint("capacity", capacity)
    peak, _lb, violations = _smemplan.check(problem._columns(), off.tobytes(), cap)
    if violations:
        raise InvalidLayout(violations, peak)
    return int(peak)


def read_csv(path: Union[str, os.PathLike]) -> Problem:
    """Reads a MiniMalloc CSV instance (every dialect the command line reads:
    ``id,lower,upper,size`` plus optional ``alignment``, ``offset``,
    ``gaps``). Errors name the file, line and buffer."""
    text = _read_text("", path)
    source = os.fspath(path)
    ids, lo, up, sz, al, off, mask, gaps = _smemplan.read_csv_text(source, text)
    u = lambda b: np.frombuffer(b, dtype="<u8").astype(np.uint64)  # noqa: E731
    return Problem(ids, u(lo), u(up), u(sz), u(al), u(off), np.frombuffer(mask, dtype=np.uint8).astype(bool),
                   [list(g) for g in gaps], source)


def write_csv(path: Union[str, os.PathLike, None], problem: Union[Problem, Solution], offsets: Any = None) -> str:
    """Writes ``problem`` as MiniMalloc CSV (half-open dialect), with an
    ``offset`` column from ``offsets`` or from a :class:`Solution` given as
    ``problem``; returns the text, and writes it atomically to ``path``
    unless ``path`` is None."""
    if isinstance(problem, Solution):
        if offsets is None:
            offsets = problem.offsets
        problem = problem.problem
    if not isinstance(problem, Problem):
        raise TypeError(f"problem: expected a Problem or a Solution, got {type(problem).__name__}")
    raw = None
    if offsets is not None:
        if isinstance(offsets, Solution):
            offsets = offsets.offsets
        raw = _u64_column("offsets", offsets, len(problem), problem.ids).tobytes()
    text = _smemplan.write_csv_text(problem._columns(), raw)
    if path is not None:
        _write_text(path, text)
    return text


def strategies() -> Dict[str, str]:
    """Every strategy by name, with its one-line summary (default first)."""
    return dict(_smemplan.strategies())


def devices() -> List[str]:
    """The device profiles (tables of ``models/devices.toml``)."""
    return list(_smemplan.devices())


def models() -> Dict[str, Dict[str, Any]]:
    """The built-in kernel models, as ``smemplan plan --list-models --json``
    lists them: ``{name: {"default", "description", "parameters",
    "derived", "algorithms"}}``; parameters map to their defaults (int or
    str), and each derived size is ``{"name", "rule", "inputs"}``."""
    return {m.pop("name"): m for m in json.loads(_smemplan.models())}


from ._plan import Plan, SweepResult, plan, sweep, Occupancy, occupancy  # noqa: E402
