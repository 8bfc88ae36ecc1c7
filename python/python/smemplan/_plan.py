"""Kernel plans, sweeps and occupancy: ``smemplan plan``, ``sweep`` and
``occupancy`` from Python."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _smemplan
from ._args import PathLike, read_text, seconds as _seconds, uint as _uint, write_text as _write


#: The precisions' spellings: the command line's and numpy's names.
_PRECISIONS = {"f32": "f32", "f64": "f64", "float32": "f32", "float64": "f64"}


def _str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name}: expected a string, got {value!r}")
    return value


def _precision(value: Any) -> str:
    """``f32``/``f64`` from any of :data:`_PRECISIONS`' spellings, or a NumPy
    float type (``np.float64``, ``np.dtype("float32")``), as CuBIE passes
    its precision."""
    if not isinstance(value, str) and value is not None:
        try:
            value = np.dtype(value).name
        except TypeError:
            pass
    if not isinstance(value, str) or value not in _PRECISIONS:
        raise ValueError(f"precision: expected 'f32' or 'f64' (or 'float32', 'float64', or a NumPy float type), "
                         f"got {value!r}")
    return _PRECISIONS[value]


def _set_value(name: str, v: Any) -> str:
    """One parameter value as ``--set`` takes it."""
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, str):
        return v
    raise TypeError(f"set: parameter `{name}` must be an integer, a bool or a string, got {v!r}")


def _mapping(set_: Any) -> Mapping[Any, Any]:
    if set_ is None:
        return {}
    if not isinstance(set_, Mapping):
        raise TypeError(f"set: expected a mapping of parameter names to values, got {type(set_).__name__}")
    return set_


def _name(k: Any) -> str:
    if not isinstance(k, str) or not k.strip():
        raise ValueError(f"set: parameter name {k!r} is not a non-empty string")
    return k.strip()


def _sets(set_: Any) -> List[Tuple[str, str]]:
    return [(_name(k), _set_value(k, v)) for k, v in _mapping(set_).items()]


def _source(model: Any, cubie: Any) -> Tuple[str, str, str]:
    """``(kind, name, text)`` for the Rust half."""
    if cubie is not None:
        if model is not None:
            raise ValueError("cubie: give a model or a CuBIE dump, not both")
        if isinstance(cubie, Mapping):
            return ("cubie", "<dump>", json.dumps(cubie))
        if isinstance(cubie, (str, os.PathLike)):
            return ("cubie", os.fspath(cubie), read_text("cubie", cubie))
        raise TypeError(f"cubie: expected a dump's path or its parsed JSON, got {type(cubie).__name__}")
    if model is None:
        return ("default", "", "")
    if isinstance(model, os.PathLike) or (isinstance(model, str) and (model.endswith(".toml") or os.sep in model)):
        return ("file", os.fspath(model), read_text("model", model))
    if isinstance(model, str):
        return ("builtin", model, "")
    raise TypeError(f"model: expected a built-in model's name or a model file, got {type(model).__name__}")


class Plan:
    """A solver kernel's memory, CuBIE's layout next to the optimised one
    (``smemplan plan``).

    ``data`` is the whole report as ``smemplan plan --json`` prints it; the
    attributes below read it:

    * ``cubie``, ``optimized``: each side's dict (bytes per run per pool,
      buffers with offsets and lifetimes, the block size CuBIE's rule picks);
    * ``shared_bytes``, ``local_bytes``, ``persistent_local_bytes``: the
      optimised side's bytes per run (``cubie_*``: CuBIE's);
    * ``block_size`` (CuBIE's halving rule on the optimised stride),
      ``best_block_size`` (highest estimated throughput), ``occupancy``
      (resident blocks/threads at the best block size),
      ``estimated_runs_per_second``;
    * ``optimal``: every pool's peak proven minimal; ``tiers``: the
      ``tiers="auto"`` section, or None.
    """

    def __init__(self, data: Dict[str, Any], svg: Optional[str], cuda: Optional[str]):
        self.data = data
        self._svg = svg
        self._cuda = cuda

    # -- the two sides
    @property
    def cubie(self) -> Dict[str, Any]:
        """CuBIE 0.17.0's side."""
        return self.data["cubie"]

    @property
    def optimized(self) -> Dict[str, Any]:
        """The optimised side."""
        return self.data["optimized"]

    @property
    def optimal(self) -> bool:
        """Whether every pool's peak is proven minimal."""
        return bool(self.data["optimal"])

    @property
    def status(self) -> str:
        """``"optimal"`` or ``"unproven"``."""
        return "optimal" if self.optimal else "unproven"

    @property
    def strategy(self) -> str:
        return self.data["strategy"]

    @property
    def device(self) -> str:
        return self.data["device"]

    @property
    def shared_bytes(self) -> int:
        """Optimised shared bytes per run (before padding)."""
        return self.optimized["shared_bytes"]

    @property
    def padded_shared_bytes(self) -> int:
        """Optimised per-run shared stride."""
        return self.optimized["padded_shared_bytes"]

    @property
    def local_bytes(self) -> int:
        return self.optimized["local_bytes"]

    @property
    def persistent_local_bytes(self) -> int:
        return self.optimized["persistent_local_bytes"]

    @property
    def cubie_shared_bytes(self) -> int:
        return self.cubie["shared_bytes"]

    @property
    def cubie_local_bytes(self) -> int:
        return self.cubie["local_bytes"]

    @property
    def cubie_persistent_local_bytes(self) -> int:
        return self.cubie["persistent_local_bytes"]

    @property
    def bytes_per_run(self) -> Dict[str, Dict[str, int]]:
        """``{"cubie": {...}, "optimized": {...}}``, each ``{"shared",
        "local", "persistent_local"}`` bytes per run."""
        return {
            side: {"shared": d["shared_bytes"], "local": d["local_bytes"], "persistent_local": d["persistent_local_bytes"]}
            for side, d in (("cubie", self.cubie), ("optimized", self.optimized))
        }

    @property
    def block_size(self) -> Optional[int]:
        """The optimised side's block size under CuBIE's halving rule."""
        return self.optimized["block_size"]

    @property
    def cubie_block_size(self) -> Optional[int]:
        return self.cubie["block_size"]

    @property
    def best_block_size(self) -> Optional[int]:
        """The block size of highest estimated throughput."""
        b = self.optimized.get("best_block_size")
        return b["block_size"] if b else None

    @property
    def occupancy(self) -> Optional[Dict[str, Any]]:
        """At the best block size: ``blocks_per_sm``, ``resident_threads``,
        ``limiter``, ``dynamic_shared_bytes``."""
        b = self.optimized.get("best_block_size")
        if not b:
            return None
        return {k: b[k] for k in ("block_size", "blocks_per_sm", "resident_threads", "limiter", "dynamic_shared_bytes")}

    @property
    def estimated_runs_per_second(self) -> Optional[float]:
        b = self.optimized.get("best_block_size")
        return b["estimated_runs_per_second"] if b else None

    @property
    def tiers(self) -> Optional[Dict[str, Any]]:
        return self.data.get("tiers")

    def buffers(self, side: str = "optimized") -> List[Dict[str, Any]]:
        """One dict per buffer of ``side`` (``"optimized"`` or ``"cubie"``)."""
        if side not in ("optimized", "cubie"):
            raise ValueError(f"side: expected 'optimized' or 'cubie', got {side!r}")
        return list(self.data[side]["buffers"])

    def to_frame(self, side: str = "optimized") -> Any:
        """:meth:`buffers` as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.buffers(side))

    def cuda_header(self, path: Optional[PathLike] = None) -> str:
        """The generated CUDA C++ header of the optimised layout (``plan
        --cuda``); written atomically to ``path`` too when given."""
        if self._cuda is None:
            raise ValueError("cuda_header: this plan has no CUDA header (no block size fits)")
        if path is not None:
            _write(path, self._cuda)
        return self._cuda

    def svg(self, path: Optional[PathLike] = None) -> str:
        """The optimised shared layout as SVG (``plan --svg``); written
        atomically to ``path`` too when given."""
        if self._svg is None:
            raise ValueError("svg: this plan has no shared pool to draw")
        if path is not None:
            _write(path, self._svg)
        return self._svg

    def to_json(self) -> str:
        """The report as ``smemplan plan --json`` prints it."""
        return json.dumps(self.data, indent=2)

    def __repr__(self) -> str:
        c, o = self.cubie, self.optimized
        return (
            f"<smemplan.Plan {self.data['input']['name']}: shared {c['shared_bytes']} → {o['shared_bytes']} B/run, "
            f"local {c['local_bytes']} → {o['local_bytes']} B, block {c['block_size']} → {o['block_size']} "
            f"(best {self.best_block_size}), {self.status}>"
        )

    def __str__(self) -> str:
        d, c, o = self.data, self.cubie, self.optimized
        inp = d["input"]
        lines = []
        src = f"CuBIE dump {inp['file']} ({inp['name']})" if inp["kind"] == "cubie" else (
            f"model {inp['name']} ({inp['file']})" if inp.get("file") else f"built-in model {inp['name']}")
        lines.append(f"input     {src}")
        if inp.get("params"):
            lines.append("params    " + " ".join(f"{k}={v}" for k, v in inp["params"].items()))
        lines.append(f"strategy  {d['strategy']} ({'proven optimal' if self.optimal else 'not proven optimal'})")
        lines.append(f"device    {d['device']}; requested block size {d['requested_block_size']}, {d['runs']} runs")
        lines.append("")

        def saved(a, b):
            return "-" if not a else f"{100.0 * (a - b) / a:.1f} %"

        def opt(v):
            return "-" if v is None else str(v)

        rows = [
            ["", "cubie", "optimised", "saved"],
            ["shared bytes per run", str(c["shared_bytes"]), str(o["shared_bytes"]), saved(c["shared_bytes"], o["shared_bytes"])],
            ["  padded stride", str(c["padded_shared_bytes"]), str(o["padded_shared_bytes"]), ""],
            ["local bytes per thread", str(c["local_bytes"]), str(o["local_bytes"]), saved(c["local_bytes"], o["local_bytes"])],
            ["persistent local bytes", str(c["persistent_local_bytes"]), str(o["persistent_local_bytes"]),
             saved(c["persistent_local_bytes"], o["persistent_local_bytes"])],
            ["block size (CuBIE's rule)", opt(c["block_size"]), opt(o["block_size"]), ""],
            ["  dynamic shared per block", opt(c["dynamic_shared_bytes"]), opt(o["dynamic_shared_bytes"]), ""],
        ]
        b = o.get("best_block_size")
        if b:
            rows.append(["best block size (throughput)", "", str(b["block_size"]), f"{b['resident_threads']} threads/SM"])
            rate = b["estimated_runs_per_second"]
            # None: no memory time to estimate (every access held in registers).
            rows.append(["estimated runs per second", "", "no memory time" if rate is None else f"{rate:.3e}", ""])
        lines.extend(_table(rows, [False, True, True, True]))
        t = self.tiers
        if t:
            lines.append("")
            lines.append(f"shared or local (tiers='auto'): {len(t['groups'])} groups; chosen split keeps "
                         f"{t['chosen']['shared_bytes']} B/run shared, {t['chosen']['local_bytes']} B/thread local")
        notes = []
        for side, s in (("cubie", c), ("optimised", o)):
            if s.get("block_error"):
                notes.append(f"{side}: no block size: {s['block_error']}")
            if s.get("block_warning"):
                notes.append(f"{side}: {s['block_warning']}")
            if s.get("launch_error"):
                notes.append(f"{side}: CuBIE's block of {s['block_size']} cannot launch: {s['launch_error']}")
        for a in o.get("refused_aliases", []):
            notes.append(f"alias refused: `{a['buffer']}` → `{a['target']}`: {a['detail']}")
        if notes:
            lines.append("")
            lines.extend(notes)
        return "\n".join(lines)


def _table(rows: List[List[str]], numeric: List[bool]) -> List[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [(c.rjust(w) if num else c.ljust(w)) for c, w, num in zip(r, widths, numeric)]
        out.append("  ".join(cells).rstrip())
    return out


def plan(
    model: Union[str, PathLike, None] = None,
    *,
    set: Optional[Mapping[str, Any]] = None,  # noqa: A002 (the command line's --set)
    precision: Any = None,
    cubie: Union[PathLike, Mapping[str, Any], None] = None,
    strategy: str = "auto",
    device: str = "h100",
    block_size: int = 64,
    runs: int = 4096,
    registers: int = 0,
    time_limit: float = 10.0,
    tiers: str = "fixed",
) -> Plan:
    """Plans a solver kernel (``smemplan plan``): CuBIE 0.17.0's layout and
    block size next to the optimised ones.

    ``model``: a built-in model's name (:func:`smemplan.models`), a model
    file (``*.toml``), or None for the built-in default (``dirk``);
    ``cubie``: a CuBIE registry dump (its path, or the parsed JSON) instead;
    ``set``: model parameters (``{"n": 20, "algorithm": "kvaerno5"}``);
    ``precision``: ``"f32"`` or ``"f64"`` (or ``"float32"``, ``"float64"``, or a NumPy float type;
    not beside ``set={"precision": ...}``); ``block_size``: at most the
    device's threads per block; ``tiers``: ``"fixed"`` or
    ``"auto"`` (choose shared or local per buffer group for the highest
    estimated throughput). The rest as the command line's flags. The GIL is
    released while it plans.
    """
    sets = _sets(set)
    if precision is not None:
        p = _precision(precision)
        if cubie is not None:
            raise ValueError("precision: a CuBIE dump carries its own precision")
        if any(k == "precision" for k, _ in sets):
            raise ValueError("precision: given twice (with precision= and in set=); give it once")
        sets.append(("precision", p))
    if tiers not in ("fixed", "auto"):
        raise ValueError(f"tiers: expected 'fixed' or 'auto', got {tiers!r}")
    _check_strategy(strategy)
    source = _source(model, cubie)
    raw, svg, cuda = _smemplan.plan(
        source, sets, strategy, _str("device", device), _uint("block_size", block_size, 1), _uint("runs", runs, 1),
        _uint("registers", registers), _seconds("time_limit", time_limit), tiers == "auto",
    )
    return Plan(json.loads(raw), svg, cuda)


def _check_strategy(strategy: Any, allow_cubie: bool = False) -> None:
    if not isinstance(strategy, str):
        raise TypeError(f"strategy: expected a strategy name, got {strategy!r}")
    known = [s for s, _ in _smemplan.strategies()]
    if strategy not in known and not (allow_cubie and strategy == "cubie"):
        extra = "cubie, " if allow_cubie else ""
        raise ValueError(f"strategy: unknown strategy `{strategy}` (known: {extra}{', '.join(known)})")


def _list(name: str, v: Any) -> List[str]:
    if isinstance(v, str):
        return [s.strip() for s in v.split(",") if s.strip()]
    if isinstance(v, Iterable):
        out = []
        for x in v:
            if not isinstance(x, str):
                raise TypeError(f"{name}: expected strings, got {x!r}")
            out.append(x)
        return out
    raise TypeError(f"{name}: expected a string or a list of strings, got {v!r}")


class SweepResult(list):
    """A sweep's rows (a list of dicts), with ``pareto_front`` (the rows'
    indices), ``stats``, ``csv`` (the command line's CSV text), ``data``
    (``smemplan sweep --json``) and ``svg()``."""

    def __init__(self, data: Dict[str, Any], csv: str, svg: Optional[str]):
        super().__init__(data["rows"])
        self.data = data
        self.csv = csv
        self._svg = svg

    @property
    def pareto_front(self) -> List[int]:
        return list(self.data.get("pareto_front", []))

    @property
    def stats(self) -> Dict[str, Any]:
        return dict(self.data.get("stats", {}))

    def svg(self, path: Optional[PathLike] = None) -> str:
        """Shared bytes per thread, the saving against CuBIE's layout and
        resident threads per SM against the swept parameter (``sweep
        --svg``)."""
        if self._svg is None:
            raise ValueError("svg: the sweep has no swept parameter to draw against")
        if path is not None:
            _write(path, self._svg)
        return self._svg


def _flatten_rows(rows: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    out = []
    for r in rows:
        flat = {}
        for k, v in r.items():
            if k == "params" and isinstance(v, Mapping):
                for pk, pv in v.items():
                    flat[pk] = pv
            else:
                flat[k] = v
        out.append(flat)
    return out


def sweep(
    model: Union[str, PathLike, Sequence[Union[str, PathLike]], None] = None,
    *,
    set: Optional[Mapping[str, Any]] = None,  # noqa: A002
    precision: Any = None,
    device: Union[str, Sequence[str]] = "h100",
    strategies: Union[str, Sequence[str]] = ("cubie", "auto"),
    tiers: str = "fixed",
    block_size: int = 64,
    runs: int = 4096,
    registers: int = 0,
    time_limit: float = 1.0,
    x: Optional[str] = None,
    as_frame: Optional[bool] = None,
) -> Any:
    """Sweeps kernel models over parameter values, precisions, devices and
    strategies (``smemplan sweep``).

    ``model``: built-in names and/or model files (``"all"``: every built-in
    model; None: the default model); ``set``: ``{"n": [3, 10, 30]}`` (a
    value list, each element one value; one value; or a string alone, the
    command line's text: ``"3,10,30"``, ``"1..=200"``);
    ``precision``: ``"f32"``, ``"f64"`` (or ``"float32"``, ``"float64"``)
    or a list of them; ``block_size``: at most the device's threads per
    block; ``device`` and
    ``strategies``: lists (``"cubie"`` is CuBIE's own layout).

    Returns a pandas DataFrame (one row per configuration, swept parameters
    as columns, ``pareto`` marking the front) when pandas is importable and
    ``as_frame`` is not False; otherwise a :class:`SweepResult` (a list of
    dicts). The DataFrame's ``attrs`` hold ``pareto_front``, ``stats``,
    ``csv`` and ``svg``.
    """
    models: List[str] = []
    files: List[Tuple[str, str]] = []
    if model is None:
        items: List[Any] = []
    elif isinstance(model, (str, os.PathLike)):
        items = [model]
    elif isinstance(model, Iterable):
        items = list(model)
    else:
        raise TypeError(f"model: expected a built-in model's name, a model file or a list of them, "
                        f"got {type(model).__name__}")
    for m in items:
        kind = _source(m, None)
        if kind[0] == "file":
            files.append((kind[1], kind[2]))
        elif kind[0] == "builtin":
            models.extend(_list("model", kind[1]))
    # Each axis as (name, the command line's text or None, values): a
    # string alone is `--set`'s text (`"3,10"`, `"1..=200"`); in a list,
    # every element is one value.
    axes: List[Tuple[str, Optional[str], List[str]]] = []
    for k, v in _mapping(set).items():
        name = _name(k)
        if isinstance(v, (list, tuple, range, np.ndarray)):
            vals = [_set_value(k, e) for e in v]
            if not vals:
                raise ValueError(f"set: parameter `{name}` has no values")
            for value in vals:
                if "," in value:
                    raise ValueError(f"set: parameter `{name}`: the value {value!r} holds a comma; in a list each "
                                     f"element is one value (give {value.split(',')!r}, or the text {value!r} alone)")
            axes.append((name, None, vals))
        elif isinstance(v, str):
            axes.append((name, v, []))
        else:
            axes.append((name, None, [_set_value(k, v)]))
    if precision is not None:
        # Names ("f32,f64"), a list of names and NumPy types, or one type.
        if isinstance(precision, str):
            given = _list("precision", precision)
        elif isinstance(precision, (list, tuple)):
            given = list(precision)
        else:
            given = [precision]
        ps = [_precision(p) for p in given]
        if any(name == "precision" for name, _, _ in axes):
            raise ValueError("precision: swept twice (give it with precision= or set={'precision': ...}, not both)")
        axes.append(("precision", None, ps))
    strategies_ = _list("strategies", strategies)
    for s in strategies_:
        _check_strategy(s, allow_cubie=True)
    if tiers not in ("fixed", "auto"):
        raise ValueError(f"tiers: expected 'fixed' or 'auto', got {tiers!r}")
    if x is not None and not isinstance(x, str):
        raise TypeError(f"x: expected a swept parameter's name (str), got {x!r}")
    raw, csv, svg = _smemplan.sweep(
        models, files, axes, _list("device", device), strategies_, _uint("block_size", block_size, 1),
        _uint("runs", runs, 1), _uint("registers", registers), _seconds("time_limit", time_limit), tiers, x,
    )
    result = SweepResult(json.loads(raw), csv, svg)
    if as_frame is None:
        try:
            import pandas  # noqa: F401

            as_frame = True
        except ImportError:
            as_frame = False
    if not as_frame:
        return result
    import pandas as pd

    df = pd.DataFrame(_flatten_rows(list(result)))
    df.attrs["pareto_front"] = result.pareto_front
    df.attrs["stats"] = result.stats
    df.attrs["csv"] = csv
    df.attrs["svg"] = svg
    return df


@dataclass(frozen=True)
class Occupancy:
    """The driver's occupancy rule for one launch (``smemplan occupancy``)."""

    device: str
    description: str
    block_size: int
    smem_per_block: int
    registers: int
    active_blocks_per_sm: int
    active_warps_per_sm: int
    active_threads_per_sm: int
    max_warps_per_sm: int
    occupancy: float
    limiter: str
    warps_per_block: int
    active_threads: int
    multiprocessors: int

    def __str__(self) -> str:
        regs = "registers not counted" if self.registers == 0 else f"{self.registers} registers per thread"
        rows = [
            ["active blocks per SM", str(self.active_blocks_per_sm)],
            ["active warps per SM", f"{self.active_warps_per_sm} of {self.max_warps_per_sm}"],
            ["active threads per SM", str(self.active_threads_per_sm)],
            ["occupancy", f"{100 * self.occupancy:.1f} %"],
            ["limited by", self.limiter.replace("_", " ")],
            [f"active threads on {self.multiprocessors} SMs", str(self.active_threads)],
        ]
        head = (f"device {self.device} ({self.description}): blocks of {self.block_size} threads, "
                f"{self.smem_per_block} B of dynamic shared memory, {regs}")
        return "\n".join([head] + _table(rows, [False, True]))


def occupancy(*, device: str = "h100", block_size: int, smem_per_block: int = 0, registers: int = 0) -> Occupancy:
    """The driver's occupancy rule (as CUDA's ``cuda_occupancy.h``) for one
    launch on a device profile: resident blocks, warps and threads per SM
    and what limits them."""
    raw = _smemplan.occupancy(
        _str("device", device), _uint("block_size", block_size, 1), _uint("smem_per_block", smem_per_block),
        _uint("registers", registers),
    )
    return Occupancy(**json.loads(raw))
