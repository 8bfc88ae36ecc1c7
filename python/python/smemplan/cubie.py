"""The CuBIE bridge: optimise a live ``cubie.Solver``'s buffer layout.

:func:`optimize` reads the solver's live buffer registry
(``cubie.buffer_registry.buffer_registry``), builds from it the registry
dump that ``smemplan plan --cubie DUMP.json`` reads (:func:`dump`), plans it
with lifetimes exactly as that command does, and installs the optimised
offsets so that CuBIE's own allocators and kernel use them.

How the layout is installed
---------------------------
CuBIE slices every buffer out of its component's arrays with the slices its
``BufferGroup`` computes in ``build_layouts()`` (``_shared_layout``,
``_persistent_layout``, ``_local_sizes``), and hands each child a window of
its parent's arrays through the child's roll-up entry (``{child}_shared``,
``{child}_persistent``). The optimised plan places every leaf buffer at an
absolute offset in the kernel's top-level array. The bridge expresses that
in CuBIE's own terms: every roll-up window becomes ``[0, total)`` (so a
child's array *is* the top-level array) and every leaf buffer's slice is its
absolute offset in parent elements. ``BufferGroup.build_layouts`` is wrapped
once so that after CuBIE builds its layout, an installed override replaces
the slices — as long as the group's registrations are the ones the layout
was planned for (any other registration change falls back to CuBIE's own
layout). The solver's compiled functions are invalidated so that its
allocators are rebuilt with the new slices.

What cannot be expressed
------------------------
CuBIE gives every non-persistent local buffer a ``cuda.local.array`` of its
own, so the optimised plan's single aliased local array cannot be installed:
local buffers keep CuBIE's layout (the report says so). A pool is installed
only if every offset there is a whole number of parent elements and the
independent checker accepts the installed slices with the plan's lifetimes;
otherwise that pool keeps CuBIE's layout, and the report says why.

Requires CuBIE 0.17.0 (``pip install cubie==0.17.0``; under Numba's CUDA
simulator, ``NUMBA_ENABLE_CUDASIM=1``, CuBIE also needs
``cuda-toolkit[cudart]`` 13.x).
"""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Tuple

import numpy as np

from . import _smemplan

#: The CuBIE release whose registry this bridge reads.
CUBIE_VERSION = "0.17.0"

_POOLS = ("shared", "persistent_local")


def _registry():
    from cubie.buffer_registry import buffer_registry

    return buffer_registry


def _kernel_of(solver: Any) -> Any:
    """The solver's ``BatchSolverKernel``: a ``cubie.Solver``'s, or the
    kernel itself (which has a ``kernel`` attribute of its own, its
    compiled function)."""
    from cubie.batchsolving.BatchSolverKernel import BatchSolverKernel

    if isinstance(solver, BatchSolverKernel):
        return solver
    kernel = getattr(solver, "kernel", None)
    if isinstance(kernel, BatchSolverKernel):
        return kernel
    raise TypeError(f"solver: expected a cubie.Solver or its BatchSolverKernel, got {type(solver).__name__}")


def _loop_of(solver: Any) -> Any:
    """The solver's integrator loop (``IVPLoop``, the top-level parent)."""
    return _kernel_of(solver).single_integrator._loop


def _dtype_name(dt: Any) -> str:
    return np.dtype(dt).name


def _walk(loop: Any) -> List[Tuple[str, Any]]:
    """``(path, parent)`` for every component below the loop, depth first,
    each once, the loop first (``kernel/loop``)."""
    reg = _registry()
    out: List[Tuple[str, Any]] = []
    seen = set()

    def visit(obj: Any, path: str) -> None:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        out.append((path, obj))
        g = reg._groups.get(obj)
        if g is None:
            return
        for base, child in g.children.items():
            visit(child, f"{path}/{base}")

    visit(loop, "kernel/loop")
    return out


def _placement(g: Any, name: str) -> Tuple[str, Optional[List[int]], Optional[int]]:
    if name in g.shared_layout:
        s = g.shared_layout[name]
        return "shared", [s.start, s.stop], None
    if name in g.persistent_layout:
        s = g.persistent_layout[name]
        return "persistent_local", [s.start, s.stop], None
    return "local", None, g.local_sizes.get(name)


def _local_bytes(g: Any) -> int:
    """Bytes of a group's own local arrays, each of its buffer's dtype."""
    return sum(int(n) * np.dtype(g.entries[name].dtype).itemsize for name, n in g.local_sizes.items())


def dump(solver: Any, runs: int = 4096) -> Dict[str, Any]:
    """The solver's live registry as a CuBIE registry dump (the JSON format
    of ``tests/data/cubie-reference/``, what ``smemplan plan --cubie``
    reads): every component below the loop, every registration in order,
    the slices CuBIE's registry gives them and its size answers."""
    reg = _registry()
    loop = _loop_of(solver)
    comps = _walk(loop)
    path_of = {id(obj): path for path, obj in comps}
    precision = _dtype_name(loop.precision)
    components, buffers = [], []
    local_elements = local_bytes = 0
    for path, obj in comps:
        g = reg._groups.get(obj)
        if g is None:
            components.append([path, type(obj).__name__, False, None, 0, 0, 0, 0, 0, 0, [], {}])
            continue
        unit = np.dtype(g.parent_dtype).itemsize
        children = {base: path_of[id(ch)] for base, ch in g.children.items()}
        rollups = {}
        for base, ch in g.children.items():
            rollups[f"{base}_shared"] = path_of[id(ch)]
            rollups[f"{base}_persistent"] = path_of[id(ch)]
        sh, lo, pe = g.shared_buffer_size(), g.local_buffer_size(), g.persistent_local_buffer_size()
        lo_bytes = _local_bytes(g)
        local_elements += lo
        local_bytes += lo_bytes
        components.append([
            path, type(obj).__name__, True, _dtype_name(g.parent_dtype), sh, lo, pe, sh * unit, lo_bytes, pe * unit,
            [list(r) for r in g.protected_shared_ranges()], children,
        ])
        for name, e in g.entries.items():
            pool, sl, local = _placement(g, name)
            applied = None
            if e.aliases is not None:
                tpool, tsl, _ = _placement(g, e.aliases)
                applied = bool(sl is not None and tsl is not None and pool == tpool and tsl[0] <= sl[0] and sl[1] <= tsl[1])
            buffers.append([
                path, name, int(e.size), e.location, bool(e.persistent), e.aliases, _dtype_name(e.dtype),
                int(e.parent_elements), [list(r) for r in e.protected], rollups.get(name), pool, sl, local, applied,
            ])
    lg = reg._groups.get(loop)
    unit = np.dtype(lg.parent_dtype).itemsize if lg is not None else np.dtype(loop.precision).itemsize
    shared_el = lg.shared_buffer_size() if lg is not None else 0
    pers_el = lg.persistent_local_buffer_size() if lg is not None else 0
    skew = 4 if (precision == "float32" and shared_el > 0 and shared_el % 2 == 0) else 0
    kernel = _kernel_of(solver)
    sizes = getattr(kernel, "system_sizes", None)
    algorithm = next((type(o).__name__ for p, o in comps if p == "kernel/loop/algorithm"), "loop")
    return {
        "cubie_version": CUBIE_VERSION,
        "config": {
            "id": f"live__{algorithm}__{precision}",
            "family": algorithm,
            "algorithm": algorithm,
            "precision": precision,
            "n_states": int(getattr(sizes, "states", 0) or 0),
            "n_parameters": int(getattr(sizes, "parameters", 0) or 0),
            "n_drivers": int(getattr(sizes, "drivers", 0) or 0),
            "n_observables": int(getattr(sizes, "observables", 0) or 0),
            "placement": "live",
            "solver_kwargs": {},
            "resolved": {},
        },
        "top_level": {
            "shared_elements_per_run": shared_el,
            "shared_bytes_per_run": shared_el * unit,
            "persistent_local_elements": pers_el,
            "persistent_local_bytes": pers_el * unit,
            "local_elements_all_components": local_elements,
            "local_bytes_all_components": local_bytes,
            "shared_needs_skew_padding": skew > 0,
        },
        "launch": {
            "runs": runs,
            "skew_bytes": skew,
            "padded_shared_bytes_per_run": shared_el * unit + skew,
            "limit_blocksize": {},
        },
        "component_columns": [
            "path", "class", "registered", "parent_dtype", "shared_buffer_size", "local_buffer_size",
            "persistent_local_buffer_size", "shared_bytes", "local_bytes", "persistent_local_bytes",
            "protected_shared_ranges", "children",
        ],
        "components": components,
        "buffer_columns": [
            "component", "name", "size", "location", "persistent", "aliases", "dtype", "parent_elements",
            "protected", "rollup_of", "pool", "slice", "local_size", "alias_applied",
        ],
        "buffers": buffers,
    }


# ------------------------------------------------------------- installing

# parent (component) -> ({pool: {name: slice}}, the roll-up names, the
# bundle: every component of the same layout with the registrations it was
# planned for). Keyed by parent, as CuBIE's registry is: a component that
# re-registers gets a new BufferGroup.
_OVERRIDES: "weakref.WeakKeyDictionary[Any, Tuple[Dict[str, Dict[str, slice]], frozenset, _Bundle, frozenset]]" = (
    weakref.WeakKeyDictionary()
)


def _override_of(group: Any) -> Optional[Tuple[Dict[str, Dict[str, slice]], frozenset, "_Bundle", frozenset]]:
    """The installed layout of the component whose group is ``group``, if
    the whole layout still applies."""
    groups = _registry()._groups
    for parent, o in list(_OVERRIDES.items()):
        if groups.get(parent) is group:
            return o if _signature(group) == o[3] else None
    return None



_PATCHED = False


def _signature(g: Any) -> frozenset:
    """What a layout was planned for: every leaf registration, and the names
    of the roll-up entries (their sizes follow the children)."""
    rollups: Set[str] = set()
    for base in g.children:
        rollups.update((f"{base}_shared", f"{base}_persistent"))
    return frozenset(
        (name,) if name in rollups else
        (name, e.size, e.location, e.persistent, e.aliases, _dtype_name(e.dtype), _dtype_name(e.parent_dtype))
        for name, e in g.entries.items()
    )


@dataclass
class _Bundle:
    """Every component of one installed layout: the loop they hang from and
    each component with the registrations the layout was planned for."""

    loop: Any  # weakref.ref to the loop
    members: List[Tuple[Any, frozenset]]  # (weakref.ref to the component, its signature)


def _bundle_matches(bundle: _Bundle) -> bool:
    """Whether an installed layout still applies whole: the loop holds the
    same components, and each still has the registrations the layout was
    planned for (a layout is applied whole or not at all: a child's absolute
    offsets need its parents' windows)."""
    groups = _registry()._groups
    loop = bundle.loop()
    if loop is None:
        return False
    members = {id(ref()) for ref, _ in bundle.members}
    if {id(o) for _, o in _walk(loop) if groups.get(o) is not None} != members:
        return False  # a component replaced (a new algorithm) or added
    for ref, signature in bundle.members:
        parent = ref()
        g = groups.get(parent) if parent is not None else None
        if g is None or _signature(g) != signature:
            return False
    return True


def _reconcile(loop: Any) -> bool:
    """After a settings change to the kernel of ``loop``, when its
    registrations are settled: drops its installed layout if it no longer
    applies whole, so that each of its groups builds CuBIE's own slices
    again, or, if it applies, rebuilds a group whose slices were built
    without it. While CuBIE re-registers (mid-update, a group may be
    missing or half registered), no decision is made. A new algorithm left
    the other components with installed slices and the new one with
    CuBIE's, and the kernel indexed past its arrays. Returns whether any
    group's slices were dropped, so that the functions compiled from them
    are rebuilt too."""
    groups = _registry()._groups
    # Only this loop's: another solver's layout changes through its own
    # kernel's update, which rebuilds that kernel.
    bundles = {id(o[2]): o[2] for o in _OVERRIDES.values() if o[2].loop() is loop}
    changed = False
    for bundle in bundles.values():
        holds = _bundle_matches(bundle)
        for ref, _ in bundle.members:
            obj = ref()
            g = groups.get(obj) if obj is not None else None
            if not holds:
                if obj is not None:
                    _OVERRIDES.pop(obj, None)
                if g is not None:
                    g.invalidate_layouts()
                changed = True
                continue
            o = _OVERRIDES.get(obj) if obj is not None else None
            if g is None or o is None or g._shared_layout is None or g._persistent_layout is None:
                continue
            # The cached layouts, read without building them.
            if not _in_force(o[0], g._shared_layout, g._persistent_layout):
                g.invalidate_layouts()
                changed = True
    return changed


def _in_force(pools: Dict[str, Dict[str, slice]], shared_layout: Any, persistent_layout: Any) -> bool:
    """Whether a group's layouts hold every slice installed in it."""
    for pool, slices in pools.items():
        layout = shared_layout if pool == "shared" else persistent_layout
        if any(layout.get(n) != sl for n, sl in slices.items()):
            return False
    return True


def _patch() -> None:
    """Wraps ``BufferGroup.build_layouts`` once: an installed override
    replaces CuBIE's slices after CuBIE builds them."""
    global _PATCHED
    if _PATCHED:
        return
    from cubie.buffer_registry import BufferGroup

    original = BufferGroup.build_layouts

    def build_layouts(self):  # noqa: ANN001
        built = self._shared_layout is not None and self._persistent_layout is not None and self._local_sizes is not None
        original(self)
        if built:
            return
        o = _override_of(self)
        if o is None:
            return
        pools = o[0]
        for pool, slices in pools.items():
            layout = self._shared_layout if pool == "shared" else self._persistent_layout
            for name, sl in slices.items():
                layout[name] = sl

    build_layouts.__wrapped__ = original  # type: ignore[attr-defined]
    BufferGroup.build_layouts = build_layouts

    original_get = BufferGroup.get_allocator

    def get_allocator(self, name, zero=False, unroll=(True, None)):  # noqa: ANN001
        # A roll-up window now spans the whole top-level array; CuBIE
        # zero-fills `entry.size` elements of it (the child's size when it
        # was rolled up), so the allocator is built for the window's own
        # length instead.
        o = _override_of(self) if name in self.entries else None
        if o is not None and name in o[1]:
            self.build_layouts()
            sl = self.shared_layout.get(name) or self.persistent_layout.get(name)
            entry = self.entries[name]
            if sl is not None:
                import attrs

                sized = attrs.evolve(entry, size=sl.stop - sl.start)
                return sized.build_allocator(self.shared_layout.get(name), self.persistent_layout.get(name),
                                             self.local_sizes.get(name), zero, unroll)
        return original_get(self, name, zero, unroll)

    get_allocator.__wrapped__ = original_get  # type: ignore[attr-defined]
    BufferGroup.get_allocator = get_allocator

    from cubie.batchsolving.BatchSolverKernel import BatchSolverKernel

    original_update = BatchSolverKernel.update

    def update(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003
        # Every settings change reaches the kernel here (`Solver.update`
        # and `solve` pass theirs on); once it has settled, a layout that
        # no longer applies whole is dropped and what was compiled from it
        # rebuilt. Checked any earlier, mid-update, the registry is half
        # re-registered; any later, at the kernel's build, functions
        # compiled during the update already hold the old slices.
        out = original_update(self, *args, **kwargs)
        loop = getattr(getattr(self, "single_integrator", None), "_loop", None)
        if loop is not None and _reconcile(loop):
            _invalidate(self, _walk(loop))
        return out

    update.__wrapped__ = original_update  # type: ignore[attr-defined]
    BatchSolverKernel.update = update
    _PATCHED = True


def _invalidate(solver: Any, comps: List[Tuple[str, Any]]) -> None:
    """Marks every compiled function of the solver stale, so that its
    allocators are rebuilt from the registry's (new) slices."""
    kernel = _kernel_of(solver)
    objs = [kernel, getattr(kernel, "single_integrator", None)] + [o for _, o in comps]
    core = getattr(kernel, "single_integrator", None)
    for attr in ("_algo_step", "_step_controller", "_loop"):
        objs.append(getattr(core, attr, None))
    for o in objs:
        if o is not None and hasattr(o, "_invalidate_cache"):
            o._invalidate_cache()
    for attr in ("_specialization_cache",):
        if hasattr(kernel, attr):
            try:
                setattr(kernel, attr, None)
            except AttributeError:  # pragma: no cover
                pass
    for _, o in comps:
        g = _registry()._groups.get(o)
        if g is not None:
            g.invalidate_layouts()
    # Device functions are captured in the parents' compile settings (the
    # loop's in the run's `loop_fn`): CuBIE's own update path recaptures
    # them, rebuilding each from the (new) allocators.
    if core is not None and hasattr(core, "_update"):
        core._update({}, silent=True)
    if hasattr(kernel, "_invalidate_cache"):
        kernel._invalidate_cache()


def _check_pool(pool_rows: List[Dict[str, Any]]) -> List[str]:
    """The independent checker on installed byte offsets with the plan's
    lifetimes: the violations (empty when valid)."""
    # A nested alias (CuBIE's own `aliases`, kept by the plan) shares its
    # target's storage by design: it must lie inside the target, and the
    # target carries it through the checker.
    by_id = {r["id"]: r for r in pool_rows}
    violations = []
    for r in pool_rows:
        t = r.get("inside")
        if t is None or r["bytes"] == 0:
            continue
        target = by_id.get(t)
        if target is None or not (target["offset"] <= r["offset"] and
                                  r["offset"] + r["bytes"] <= target["offset"] + target["bytes"]):
            violations.append(f"nested alias `{r['id']}` is not inside its target `{t}`")
    if violations:
        return violations
    rows = [r for r in pool_rows if r["bytes"] > 0 and r["lifetime"] and r.get("inside") is None]
    if not rows:
        return []
    lower, upper, size, offsets, gaps, ids = [], [], [], [], [], []
    for r in rows:
        segs = sorted(tuple(s) for s in r["lifetime"])
        lower.append(segs[0][0])
        upper.append(segs[-1][1])
        gaps.append([(a[1], b[0]) for a, b in zip(segs, segs[1:]) if a[1] < b[0]])
        size.append(r["bytes"])
        offsets.append(r["offset"])
        ids.append(r["id"])
    from . import InvalidLayout, check

    try:
        check(lower, upper, size, ids=ids, gaps=gaps, offsets=offsets)
    except InvalidLayout as e:
        return e.violations
    return []


def _slices(reg: Any, by_path: Dict[str, Any], planned: Dict[Tuple[str, str], Dict[str, Any]],
            offsets: Dict[Tuple[str, str], int]):
    """CuBIE slices for byte ``offsets``: ``(slices per component, checker
    rows, total elements, why not, whether why is a unit problem)``."""
    slices: Dict[str, Dict[str, slice]] = {}
    rows: List[Dict[str, Any]] = []
    total_el = 0
    for (path, name), off in sorted(offsets.items()):
        obj = by_path.get(path)
        g = reg._groups.get(obj) if obj is not None else None
        if g is None or name not in g.entries:
            return slices, rows, total_el, f"`{path}/{name}` is not in the live registry", False
        e = g.entries[name]
        unit = np.dtype(g.parent_dtype).itemsize
        if off % unit or off % e.itemsize:
            why = f"`{path}/{name}` at byte {off} is not on a whole {_dtype_name(g.parent_dtype)} element"
            return slices, rows, total_el, why, True
        start = off // unit
        stop = start + int(e.parent_elements)
        total_el = max(total_el, stop)
        slices.setdefault(path, {})[name] = slice(start, stop)
        info = planned.get((path, name), {})
        rows.append({"id": f"{path}/{name}", "bytes": stop * unit - start * unit, "offset": start * unit,
                     "lifetime": info.get("lifetime") or [[0, 1]], "inside": info.get("inside")})
    return slices, rows, total_el, None, False


def _unit_replan(reg: Any, by_path: Dict[str, Any], planned: Dict[Tuple[str, str], Dict[str, Any]],
                 offsets: Dict[Tuple[str, str], int], time_limit: float) -> Optional[Dict[Tuple[str, str], int]]:
    """The pool planned again with every buffer a whole number of parent
    elements at a whole-element offset (same lifetimes; a nested alias keeps
    its place inside its target). None if that cannot be done."""
    from . import solve

    keys, lower, upper, size, gaps, align = [], [], [], [], [], []
    nested = {}
    units = set()
    for key in offsets:
        path, name = key
        g = reg._groups.get(by_path.get(path))
        if g is None or name not in g.entries:
            return None
        unit = np.dtype(g.parent_dtype).itemsize
        units.add(unit)
        info = planned.get(key, {})
        inside = info.get("inside")
        if inside is not None:
            nested[key] = inside
            continue
        segs = sorted(tuple(x) for x in (info.get("lifetime") or [[0, 1]]))
        keys.append(key)
        lower.append(segs[0][0])
        upper.append(segs[-1][1])
        gaps.append([(a[1], b[0]) for a, b in zip(segs, segs[1:]) if a[1] < b[0]])
        size.append(max(1, int(g.entries[name].parent_elements)) * unit)
        align.append(unit)
    if len(units) > 1 or not keys:
        return None
    unit = units.pop()
    s = solve(lower, upper, size, ids=[f"{p}/{n}" for p, n in keys], gaps=gaps, alignment=align,
              time_limit=time_limit)
    out = {k: int(o) for k, o in zip(keys, s.offsets)}
    by_id = {f"{p}/{n}": (p, n) for p, n in offsets}
    for key, target in nested.items():
        tkey = by_id.get(target)
        if tkey is None or tkey not in out:
            return None
        rel = offsets[key] - offsets[tkey]
        if rel % unit:
            return None
        out[key] = out[tkey] + rel
    return out


@dataclass
class Report:
    """What :func:`optimize` did.

    ``before`` and ``after``: per-run bytes of CuBIE's pools as the solver's
    kernel reports them (``shared``, ``local`` — every component's own
    local arrays —, ``persistent_local``) and the block size CuBIE picks
    (``block_size``, ``dynamic_shared_bytes``) for ``requested_block_size``
    threads; ``planned``: the optimised plan's figures (as ``smemplan plan
    --cubie``); ``installed``: the pools installed; ``kept``: the pools (or
    parts) that keep CuBIE's layout, with the reason; ``plan``: the whole
    :class:`smemplan.Plan`; ``dump``: the registry dump it was planned from.
    """

    before: Dict[str, Any]
    after: Dict[str, Any]
    planned: Dict[str, Any]
    installed: List[str]
    kept: Dict[str, str]
    requested_block_size: int
    notes: List[str]
    plan: Any = field(repr=False)
    dump: Dict[str, Any] = field(repr=False)

    def __str__(self) -> str:
        lines = [f"{'':28}{'before':>10}{'after':>10}{'planned':>10}"]
        for k, label in (("shared", "shared bytes per run"), ("persistent_local", "persistent local bytes"),
                         ("local", "local bytes per thread")):
            lines.append(f"{label:28}{self.before[k]:>10}{self.after[k]:>10}{self.planned[k]:>10}")
        bs = lambda v: "-" if v is None else str(v)  # noqa: E731
        lines.append(f"{'block size (CuBIE picks)':28}{bs(self.before['block_size']):>10}{bs(self.after['block_size']):>10}")
        lines.append(f"installed: {', '.join(self.installed) or 'nothing'}")
        for pool, why in self.kept.items():
            lines.append(f"kept CuBIE's layout for {pool}: {why}")
        lines.extend(self.notes)
        return "\n".join(lines)


def _figures(solver: Any, requested: int, runs: int) -> Dict[str, Any]:
    reg = _registry()
    kernel = _kernel_of(solver)
    loop = _loop_of(solver)
    unit = np.dtype(loop.precision).itemsize
    local = 0
    for _, o in _walk(loop):
        g = reg._groups.get(o)
        if g is not None:
            local += _local_bytes(g)
    out: Dict[str, Any] = {
        "shared": int(kernel.shared_memory_elements) * unit,
        "persistent_local": int(kernel.persistent_local_elements) * unit,
        "local": local,
    }
    try:
        bsz, dyn = kernel._launch_shape(requested, runs)
        out["block_size"], out["dynamic_shared_bytes"] = int(bsz), int(dyn)
    except Exception as e:  # no block size launches
        out["block_size"], out["dynamic_shared_bytes"] = None, None
        out["block_error"] = str(e)
    return out


def plan_layout(solver: Any, *, strategy: str = "auto", time_limit: float = 10.0, block_size: int = 64,
                runs: int = 4096, device: str = "h100") -> Tuple[Any, Dict[str, Any]]:
    """Plans the solver's live registry as ``smemplan plan --cubie DUMP
    --block-size B --runs R --device D`` does: returns ``(plan, dump)``."""
    from . import plan as plan_

    d = dump(solver, runs=runs)
    plan = plan_(cubie=d, strategy=strategy, time_limit=time_limit, block_size=block_size, runs=runs, device=device)
    return plan, d


def layout_of(plan: Any) -> Dict[str, Dict[Tuple[str, str], int]]:
    """The optimised plan's byte offsets: ``{pool: {(component, name):
    offset}}`` for the shared and persistent local pools."""
    out: Dict[str, Dict[Tuple[str, str], int]] = {p: {} for p in _POOLS}
    for b in plan.buffers("optimized"):
        if b["pool"] in out and b["offset"] is not None:
            out[b["pool"]][(b["component"], b["name"])] = int(b["offset"])
    return out


def install(solver: Any, plan: Any, offsets: Optional[Dict[str, Dict[Tuple[str, str], int]]] = None, *,
            verify: bool = True, notes: Optional[List[str]] = None,
            time_limit: float = 10.0) -> Tuple[List[str], Dict[str, str]]:
    """Installs byte offsets (default: the plan's, :func:`layout_of`) into
    the solver's live registry: ``(pools installed, {pool: why kept})``.

    With ``verify`` (the default) a pool is installed only if the checker
    accepts its offsets with the plan's lifetimes; ``verify=False`` installs
    whatever it is given (for tests that show a wrong layout is caught by
    the results). Where the plan's own offsets put a narrower buffer between
    whole elements of the component's precision, that pool is planned again
    in whole elements (``notes`` says so)."""
    _patch()
    reg = _registry()
    loop = _loop_of(solver)
    comps = _walk(loop)
    by_path = {path: obj for path, obj in comps}
    replan = offsets is None
    notes = [] if notes is None else notes
    offsets = layout_of(plan) if offsets is None else offsets
    planned = {(b["component"], b["name"]): b for b in plan.buffers("optimized")}
    installed: List[str] = []
    kept: Dict[str, str] = {"local": "CuBIE gives every non-persistent local buffer an array of its own"}
    per_group: Dict[str, Dict[str, Dict[str, slice]]] = {}
    for pool in _POOLS:
        why = None
        slices: Dict[str, Dict[str, slice]] = {}
        rows = []
        total_el = 0
        # Every leaf CuBIE has in this pool must be placed by the plan, and
        # vice versa.
        cubie_leaves = set()
        for path, obj in comps:
            g = reg._groups.get(obj)
            if g is None:
                continue
            rollups = {f"{b}_{s}" for b in g.children for s in ("shared", "persistent")}
            layout = g.shared_layout if pool == "shared" else g.persistent_layout
            for name in layout:
                if name not in rollups:
                    cubie_leaves.add((path, name))
        placed = set(offsets[pool])
        zero = {k for k in cubie_leaves - placed if planned.get(k, {}).get("bytes", 1) == 0}
        if (cubie_leaves - zero) != placed:
            diff = sorted((cubie_leaves - zero) ^ placed)[:3]
            why = f"the plan and CuBIE put different buffers in this pool (e.g. {diff})"
        pool_offsets = dict(offsets[pool])
        attempt = 0
        while why is None:
            slices, rows, total_el, why, unit_issue = _slices(reg, by_path, planned, pool_offsets)
            if why is None or not unit_issue or not replan or attempt:
                break
            # The plan places a narrower buffer (int32 in a float64
            # component) between whole elements, which CuBIE's
            # element-indexed slices cannot express: the pool is planned
            # again in whole elements, with the same lifetimes.
            attempt += 1
            redone = _unit_replan(reg, by_path, planned, pool_offsets, time_limit)
            if redone is None:
                break
            notes.append(f"{pool}: {why}; planned again in whole elements of the component's precision")
            pool_offsets, why = redone, None
        if why is None and verify:
            violations = _check_pool(rows)
            if violations:
                why = f"the checker rejects the installed slices: {violations[0]}"
        if why is not None:
            kept[pool] = why
            continue
        # Every roll-up window spans the whole top-level array.
        for path, obj in comps:
            g = reg._groups.get(obj)
            if g is None:
                continue
            suffix = "_shared" if pool == "shared" else "_persistent"
            for base in g.children:
                slices.setdefault(path, {})[f"{base}{suffix}"] = slice(0, total_el)
            for name in (g.shared_layout if pool == "shared" else g.persistent_layout):
                if (path, name) in zero:
                    slices.setdefault(path, {})[name] = slice(0, 0)
        for path, s in slices.items():
            per_group.setdefault(path, {})[pool] = s
        installed.append(pool)
    groups = [(path, obj, reg._groups.get(obj)) for path, obj in comps]
    groups = [(path, obj, g) for path, obj, g in groups if g is not None]
    bundle = _Bundle(weakref.ref(loop), [(weakref.ref(obj), _signature(g)) for _, obj, g in groups])
    for path, obj, g in groups:
        pools = per_group.get(path)
        if pools:
            windows = frozenset(f"{b}_{k}" for b in g.children for k in ("shared", "persistent"))
            _OVERRIDES[obj] = (pools, windows, bundle, _signature(g))
        else:
            _OVERRIDES.pop(obj, None)
    _invalidate(solver, comps)
    return installed, kept


def restore(solver: Any) -> None:
    """Removes any installed layout: the solver goes back to CuBIE's."""
    comps = _walk(_loop_of(solver))
    for _, obj in comps:
        _OVERRIDES.pop(obj, None)
    _invalidate(solver, comps)


def active(solver: Any) -> bool:
    """Whether an installed layout is in force for every component of the
    solver (False after registrations changed, or when none is)."""
    reg = _registry()
    comps = [(p, o) for p, o in _walk(_loop_of(solver)) if reg._groups.get(o) is not None]
    if not comps or not all(o in _OVERRIDES for _, o in comps if _OVERRIDES.get(o, (None,))[0]):
        return False
    installed = [o for _, o in comps if o in _OVERRIDES]
    if not installed:
        return False
    for o in installed:
        pools, _, bundle, _ = _OVERRIDES[o]
        if not _bundle_matches(bundle):
            return False
        g = reg._groups[o]
        if not _in_force(pools, g.shared_layout, g.persistent_layout):
            return False
    return True


def optimize(solver: Any, *, strategy: str = "auto", time_limit: float = 10.0, block_size: int = 64,
             runs: int = 4096, device: str = "h100") -> Report:
    """Plans ``solver``'s live buffer registry with lifetimes (as ``smemplan
    plan --cubie`` on its dump, with ``block_size``, ``runs`` and ``device``)
    and installs the optimised offsets, so that CuBIE's own allocators and
    kernel use them. Returns a :class:`Report`: bytes per run before and
    after, the block size CuBIE then picks on the live device for
    ``block_size`` requested threads, and what kept CuBIE's layout. Called
    again, it plans from CuBIE's own layout afresh (the layout installed
    before is removed first, so if that plan raises, the solver is left on
    CuBIE's layout)."""
    # A layout already installed would be read back as CuBIE's own: the
    # dump and its replay would disagree, and the plan start from it.
    if any(o in _OVERRIDES for _, o in _walk(_loop_of(solver))):
        restore(solver)
    before = _figures(solver, block_size, runs)
    plan, d = plan_layout(solver, strategy=strategy, time_limit=time_limit, block_size=block_size, runs=runs,
                          device=device)
    notes: List[str] = []
    installed, kept = install(solver, plan, notes=notes, time_limit=time_limit)
    if installed and not active(solver):
        # CuBIE rebuilt part of the kernel from other registrations: never
        # leave a partly applied layout.
        restore(solver)
        kept = {pool: "CuBIE re-registered its buffers while rebuilding; its own layout is kept" for pool in _POOLS}
        kept["local"] = "CuBIE gives every non-persistent local buffer an array of its own"
        installed = []
    after = _figures(solver, block_size, runs)
    planned = {"shared": plan.shared_bytes, "local": plan.local_bytes,
               "persistent_local": plan.persistent_local_bytes}
    return Report(before, after, planned, installed, kept, block_size, notes, plan, d)
