"""Argument checks and file I/O shared by the package's modules.

Every error names the argument it is about (``block_size: ...``), numbers
are accepted alike everywhere (Python's and numpy's), and files are read by
the Rust library's reader and written atomically.
"""

from __future__ import annotations

import math
import os
from typing import Any, Optional, Union

import numpy as np

from . import _smemplan

PathLike = Union[str, "os.PathLike[str]"]

#: One past the largest ``u64``.
U64_END = 2**64


def number_text(value: Any) -> str:
    """A number as an error message shows it: short, whatever its size
    (``1e+300``, not three hundred digits)."""
    if isinstance(value, (bool, np.bool_)):
        return repr(value)
    if isinstance(value, (int, np.integer)):
        v = int(value)
        return str(v) if abs(v) < 10**21 else f"{float(v):.6g}" if abs(v) < 10**308 else "a number beyond 1e308"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return repr(value)


def uint(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as an integer in ``[minimum, 2**64)`` (Python's or numpy's
    integers, not bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name}: expected an integer, got {value!r}")
    v = int(value)
    if v < minimum:
        raise ValueError(f"{name}: {number_text(v)} is below {minimum}" if minimum else f"{name}: negative value {number_text(v)}")
    if v >= U64_END:
        raise ValueError(f"{name}: {number_text(v)} is too large (at most 2**64 - 1)")
    return v


def optional_uint(name: str, value: Any) -> Optional[int]:
    """:func:`uint`, or None for None."""
    return None if value is None else uint(name, value)


def seconds(name: str, value: Any) -> float:
    """A time limit in seconds: a finite number from 0 up to 2**64 s (any
    of Python's or numpy's numbers but bool)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number of seconds, got {value!r}")
    try:
        v = float(value)
    except OverflowError:
        v = math.inf
    if not (math.isfinite(v) and 0 <= v < U64_END):
        raise ValueError(f"{name}: `{number_text(value)}` is not a valid time limit (seconds, at least 0, below 2**64)")
    return v


def read_text(what: str, path: Any) -> str:
    """The text of the file at ``path``, read by the library's reader (it
    refuses a file that is not UTF-8 text, naming the line and column).
    A file that cannot be read raises ``OSError`` (``FileNotFoundError``,
    ``PermissionError``, ``IsADirectoryError``): ``"{what}: cannot read
    `path`: ..."``."""
    label = what or "path"
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{label}: expected a path (str or os.PathLike), got {type(path).__name__}")
    p = os.fspath(path)
    if not isinstance(p, str):
        raise TypeError(f"{label}: expected a path as text (str), got {type(p).__name__}")
    return _smemplan.read_text(what, p)


def write_text(path: Any, text: str) -> None:
    """Writes ``text`` to ``path`` atomically (a temporary file next to it,
    then a rename). Errors name ``path``, never the temporary file."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a path (str or os.PathLike), got {type(path).__name__}")
    p = os.fspath(path)
    tmp = f"{p}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, p)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        message = f"cannot write `{os.fsdecode(p)}`: {e.strerror or e}"
        raise (type(e)(e.errno, message) if e.errno is not None else type(e)(message)) from None
