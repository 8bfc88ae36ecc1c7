"""CuBIE 0.17.0's buffer registry, in CuBIE's shape.

:class:`Registry` takes CuBIE's calls (``register``, ``update_buffer``,
``update``, ``clear_parent``, ``register_child``, the three size queries,
``get_allocator``, ``get_toplevel_allocators``, ``get_child_allocators``) with
CuBIE's arguments — a *parent* is any object with a ``precision`` attribute —
and answers as CuBIE 0.17.0 does, raising CuBIE's exception types with CuBIE's
messages. The layout behind every answer is the Rust library's exact
reproduction of CuBIE's (``smemplan::registry``).

Allocators cannot be CUDA device functions here: :meth:`Registry.get_allocator`
returns an :class:`Allocator` that says where the buffer lives (pool, slice in
parent elements, or a local array's size) and the dtype it is viewed as.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Dict, List, Literal, Mapping, Optional, Set, Tuple, overload

import numpy as np

from . import _smemplan

_counter = itertools.count()


def _dtype_name(dtype: Any, what: str) -> str:
    """``float32``/``float64``/``int32`` from a numpy dtype, a type or a
    name."""
    if isinstance(dtype, str):
        name = dtype
    else:
        try:
            import numpy as np

            name = np.dtype(dtype).name
        except TypeError:
            raise ValueError(f"{what}: {dtype!r} is not a supported NumPy type") from None
    aliases = {"f32": "float32", "f64": "float64", "i32": "int32"}
    name = aliases.get(name, name)
    if name not in ("float32", "float64", "int32"):
        raise ValueError(f"{what}: {dtype!r} is not a supported NumPy type (float32, float64 or int32)")
    return name


def _size(name: str, size: Any) -> int:
    """A buffer's size in elements: an integer in ``[0, 2**64)``."""
    if not isinstance(size, (bool, np.bool_)) and isinstance(size, (int, np.integer)) and 0 <= int(size) < 2**64:
        return int(size)
    raise ValueError(f"size: buffer '{name}' needs a non-negative integer size below 2**64, got {size!r}")


@dataclass(frozen=True)
class Allocator:
    """Where one buffer lives, as CuBIE's allocator for it would slice.

    ``pool`` is ``"shared"``, ``"persistent_local"`` or ``"local"``;
    ``shared_slice`` / ``persistent_slice`` index the parent's array in
    *parent elements* (None when not in that pool); ``local_size`` is the
    length of the buffer's own local array (None unless ``pool == "local"``);
    ``dtype`` is the buffer's element type, ``parent_dtype`` the array's.
    """

    name: str
    pool: str
    shared_slice: Optional[slice]
    persistent_slice: Optional[slice]
    local_size: Optional[int]
    size: int
    dtype: str
    parent_dtype: str
    zero: bool = False

    @property
    def slice(self) -> Optional[slice]:
        """The slice in whichever array holds the buffer (None for a local
        array of its own)."""
        return self.shared_slice if self.shared_slice is not None else self.persistent_slice


@dataclass(frozen=True)
class ArrayAllocator:
    """One of a kernel's two top-level arrays (``get_toplevel_allocators``):
    the dynamic shared array (``elements == 0``: sized at launch, viewed as
    float32, as CuBIE declares it) or the persistent local array."""

    pool: str
    elements: int
    dtype: str


class Registry:
    """CuBIE 0.17.0's ``BufferRegistry``, reproduced.

    >>> import numpy as np
    >>> class Loop: precision = np.float32
    >>> r = Registry(); loop = Loop()
    >>> r.register("state", loop, 3, "shared")
    >>> r.shared_buffer_size(loop)
    3
    """

    def __init__(self) -> None:
        self._raw = _smemplan.RawRegistry()
        # id(parent) -> (component id, parent): parents are held strongly
        # (CuBIE holds them weakly; drop them with clear_parent or reset).
        self._ids: Dict[int, Tuple[str, Any]] = {}
        # Components with a live buffer group (CuBIE's `parent in _groups`).
        self._live: Set[str] = set()
        # Mirror of each group's entries in registration order (name ->
        # registration), for update_buffer.
        self._entries: Dict[str, Dict[str, Dict[str, Any]]] = {}
        # Child edges: component id -> {base name: child object}.
        self._children: Dict[str, Dict[str, Any]] = {}

    # -- components
    @overload
    def _cid(self, parent: Any, create: Literal[True]) -> str: ...

    @overload
    def _cid(self, parent: Any, create: bool = False) -> Optional[str]: ...

    def _cid(self, parent: Any, create: bool = False) -> Optional[str]:
        known = self._ids.get(id(parent))
        if known is not None and known[1] is parent:
            cid = known[0]
        elif not create:
            return None
        else:
            cid = f"{type(parent).__name__}#{next(_counter)}"
            self._ids[id(parent)] = (cid, parent)
        if create:
            if not hasattr(parent, "precision"):
                raise AttributeError(f"'{type(parent).__name__}' object has no attribute 'precision'")
            precision = _dtype_name(parent.precision, "precision")
            try:
                self._raw.add_component(cid, type(parent).__name__, precision)
            except ValueError:
                # A new precision: CuBIE re-registers everything after one;
                # start the group afresh under a new id.
                cid = f"{type(parent).__name__}#{next(_counter)}"
                self._ids[id(parent)] = (cid, parent)
                self._raw.add_component(cid, type(parent).__name__, precision)
                self._entries.pop(cid, None)
            self._live.add(cid)
            self._entries.setdefault(cid, {})
            self._children.setdefault(cid, {})
        return cid

    def _live_cid(self, parent: Any) -> Optional[str]:
        cid = self._cid(parent)
        return cid if cid is not None and cid in self._live else None

    def component_id(self, parent: Any) -> Optional[str]:
        """The id this registry gives ``parent`` (None if never seen)."""
        return self._cid(parent)

    # -- registrations
    def register(
        self,
        name: str,
        parent: Any,
        size: int,
        location: str,
        persistent: bool = False,
        aliases: Optional[str] = None,
        dtype: Any = None,
        protected: Tuple[Tuple[int, int], ...] = (),
    ) -> None:
        """Registers (or replaces in place) buffer ``name`` of ``parent``:
        ``size`` elements of ``dtype`` (default: the parent's precision) at
        ``location`` (``"shared"``/``"local"``), ``persistent`` if it
        survives across steps, optionally aliasing an earlier buffer.

        Raises ``ValueError`` as CuBIE does: empty name, self-alias, unknown
        alias target, invalid location, unsupported dtype. ``protected``
        ranges come only from children here (:meth:`register_child`).
        """
        if protected:
            raise NotImplementedError("protected: ranges are carried from children by register_child only")
        cid = self._cid(parent, create=True)
        if not name:
            raise ValueError("Buffer name cannot be empty.")
        if aliases is not None and aliases == name:
            raise ValueError(f"Buffer '{name}' cannot alias itself.")
        if aliases is not None and aliases not in self._entries[cid]:
            raise ValueError(f"Alias target '{aliases}' not registered. Register '{aliases}' before '{name}'.")
        if location not in ("shared", "local"):
            raise ValueError(f"Invalid location '{location}' for buffer '{name}'. Must be 'shared' or 'local'.")
        elements = _size(name, size)
        dt = _dtype_name(parent.precision if dtype is None else dtype, "dtype")
        self._raw.register(name, cid, elements, location, bool(persistent), aliases, dt)
        self._entries[cid][name] = {
            "size": elements, "location": location, "persistent": bool(persistent), "aliases": aliases, "dtype": dt,
        }

    def update_buffer(self, name: str, parent: Any, **kwargs: Any) -> Tuple[bool, bool]:
        """Updates buffer ``name``'s properties (``size``, ``location``,
        ``persistent``, ``aliases``, ``dtype``): ``(recognised, changed)``.
        Unknown parents and names are ignored, as in CuBIE."""
        cid = self._live_cid(parent)
        if cid is None or name not in self._entries[cid]:
            return False, False
        old = self._entries[cid][name]
        unknown = set(kwargs) - set(old)
        if unknown:
            raise TypeError(f"update_buffer: unknown properties {sorted(unknown)}")
        new = dict(old)
        new.update(kwargs)
        if "size" in kwargs:
            new["size"] = _size(name, kwargs["size"])
        if "dtype" in kwargs:
            new["dtype"] = _dtype_name(kwargs["dtype"], "dtype")
        if new == old:
            return True, False
        if new["location"] not in ("shared", "local"):
            raise ValueError(f"Invalid location '{new['location']}' for buffer '{name}'. Must be 'shared' or 'local'.")
        if old.get("rollup") is not None:
            raise ValueError(f"update_buffer: `{name}` is a child's roll-up; register the child again instead")
        if set(kwargs) == {"location"}:
            self._raw.update(cid, name, new["location"])
        else:
            self._raw.register(name, cid, new["size"], new["location"], new["persistent"], new["aliases"], new["dtype"])
        self._entries[cid][name] = new
        return True, True

    def update(self, parent: Any, updates_dict: Optional[Dict[str, Any]] = None, silent: bool = False,
               **kwargs: Any) -> Set[str]:
        """Moves buffers by ``{name}_location`` settings (``"shared"`` or
        ``"local"``; None keeps the location): the set of keys recognised.
        Raises ``ValueError`` for any other location value."""
        settings = dict(updates_dict or {})
        settings.update(kwargs)
        if not settings:
            return set()
        cid = self._live_cid(parent)
        if cid is None:
            return set()
        recognised: Set[str] = set()
        for key, value in settings.items():
            if not key.endswith("_location"):
                continue
            buffer_name = key[: -len("_location")]
            if value is None:
                recognised.add(key)
                continue
            if value not in ("shared", "local"):
                raise ValueError(f"Invalid location '{value}' for buffer '{buffer_name}'. Must be 'shared' or 'local'.")
            ok, _ = self.update_buffer(buffer_name, parent, location=value)
            if ok:
                recognised.add(key)
        return recognised

    def clear_parent(self, parent: Any) -> None:
        """Drops ``parent``'s registrations and, by cascade, its children's.
        Unknown parents are ignored."""
        cid = self._live_cid(parent)
        if cid is None:
            return
        self._live.discard(cid)
        self._entries[cid] = {}
        children = self._children.pop(cid, {})
        self._children[cid] = {}
        for child in children.values():
            self.clear_parent(child)
        # The Rust registry keeps the declaration; its registrations go.
        try:
            self._raw.clear_parent(cid)
        except KeyError:  # pragma: no cover
            pass

    def clear_own(self, parent: Any) -> None:
        """Drops ``parent``'s own registrations, sparing its children."""
        cid = self._live_cid(parent)
        if cid is None:
            return
        self._live.discard(cid)
        self._entries[cid] = {}
        self._children[cid] = {}
        # A fresh id: the Rust registry's clear would cascade.
        known = self._ids.pop(id(parent), None)
        del known

    def reset(self) -> None:
        """Clears every parent's registrations."""
        for cid, parent in list(self._ids.values()):
            self.clear_parent(parent)

    def register_child(self, parent: Any, child: Any, name: Optional[str] = None,
                       aliases: Optional[str] = None) -> Tuple[str, str]:
        """Rolls ``child``'s current footprint up into ``parent`` as
        ``{name}_shared`` (aliasing ``aliases`` if given, carrying the
        child's protected ranges) and ``{name}_persistent``; returns the two
        names. ``name`` defaults to ``child_{id(child)}``."""
        base = f"child_{id(child)}" if name is None else name
        pid = self._cid(parent, create=True)
        shared_name, persistent_name = f"{base}_shared", f"{base}_persistent"
        if aliases is not None and aliases == shared_name:
            raise ValueError(f"Buffer '{shared_name}' cannot alias itself.")
        if aliases is not None and aliases not in self._entries[pid]:
            raise ValueError(f"Alias target '{aliases}' not registered. Register '{aliases}' before '{shared_name}'.")
        cid = self._live_cid(child)
        if cid is None:
            # CuBIE rolls up an unregistered child as zero-sized entries.
            cid = self._cid(child, create=True) if hasattr(child, "precision") else None
        if cid is None:
            self._raw.register(shared_name, pid, 0, "shared", False, aliases, _dtype_name(parent.precision, "precision"))
            self._raw.register(persistent_name, pid, 0, "local", True, None, _dtype_name(parent.precision, "precision"))
        else:
            self._raw.register_child(pid, base, cid, aliases)
        prec = _dtype_name(parent.precision, "precision")
        self._entries[pid][shared_name] = {"size": None, "location": "shared", "persistent": False, "aliases": aliases,
                                           "dtype": prec, "rollup": cid}
        self._entries[pid][persistent_name] = {"size": None, "location": "local", "persistent": True, "aliases": None,
                                               "dtype": prec, "rollup": cid}
        self._children[pid][base] = child
        return shared_name, persistent_name

    # -- answers
    def shared_buffer_size(self, parent: Any) -> int:
        """Shared elements ``parent`` needs per run, children included (0
        for an unknown parent)."""
        cid = self._live_cid(parent)
        return 0 if cid is None else self._raw.sizes(cid)[0]

    def local_buffer_size(self, parent: Any) -> int:
        """Elements of ``parent``'s own local arrays (children not
        included)."""
        cid = self._live_cid(parent)
        return 0 if cid is None else self._raw.sizes(cid)[1]

    def persistent_local_buffer_size(self, parent: Any) -> int:
        """Persistent-local elements ``parent`` needs, children included."""
        cid = self._live_cid(parent)
        return 0 if cid is None else self._raw.sizes(cid)[2]

    def get_allocator(self, name: str, parent: Any, zero: bool = False) -> Allocator:
        """Where buffer ``name`` of ``parent`` lives. Raises ``KeyError``
        as CuBIE does for an unknown parent or buffer."""
        cid = self._live_cid(parent)
        if cid is None:
            raise KeyError(f"Parent {parent} has no registered buffer group.")
        if name not in self._entries[cid]:
            raise KeyError(f"Buffer '{name}' not registered for parent.")
        pool, start, stop, local, precision, unit = self._raw.allocator(name, cid)
        sl = slice(start, stop) if start is not None else None
        return Allocator(
            name=name,
            pool=pool,
            shared_slice=sl if pool == "shared" else None,
            persistent_slice=sl if pool == "persistent_local" else None,
            local_size=local,
            size=self._size_of(cid, name),
            dtype=precision,
            parent_dtype=unit,
            zero=bool(zero),
        )

    def _size_of(self, cid: str, name: str) -> int:
        e = self._entries[cid][name]
        if e.get("size") is not None:
            return e["size"]
        for row in self._raw.layout(cid):
            if row[0] == name:
                return (row[3] or 0) - (row[2] or 0) if row[2] is not None else (row[3] or 0)
        return 0  # pragma: no cover

    def get_child_allocators(self, parent: Any, child: Any, name: Optional[str] = None,
                             aliases: Optional[str] = None) -> Tuple[Allocator, Allocator]:
        """Registers the child (:meth:`register_child`) and returns the
        allocators of its shared and persistent windows in ``parent``."""
        shared_name, persistent_name = self.register_child(parent, child, name, aliases)
        return self.get_allocator(shared_name, parent), self.get_allocator(persistent_name, parent)

    def get_toplevel_allocators(self, kernel: Any) -> Tuple[ArrayAllocator, ArrayAllocator]:
        """A kernel's two arrays: the dynamic shared array (float32, sized at
        launch) and the persistent local array of
        ``max(1, kernel.persistent_local_elements)`` elements of
        ``kernel.precision`` (CuBIE reads both off the kernel object)."""
        persistent = max(1, int(kernel.persistent_local_elements))
        return (
            ArrayAllocator("shared", 0, "float32"),
            ArrayAllocator("persistent_local", persistent, _dtype_name(kernel.precision, "precision")),
        )

    # -- beyond CuBIE
    def layout(self, parent: Any) -> List[Dict[str, Any]]:
        """CuBIE's layout of ``parent``'s group: per entry, in registration
        order, ``{"name", "pool", "slice" (parent elements) or "local_size",
        "alias_applied"}``."""
        cid = self._live_cid(parent)
        if cid is None:
            raise KeyError(f"Parent {parent} has no registered buffer group.")
        out = []
        for name, pool, start, stop, applied in self._raw.layout(cid):
            row: Dict[str, Any] = {"name": name, "pool": pool, "alias_applied": applied}
            if start is None:
                row["local_size"] = stop
            else:
                row["slice"] = (start, stop)
            out.append(row)
        return out

    def footprint(self, kernel: Any) -> Dict[str, Any]:
        """A kernel's per-run numbers from its top-level component: elements
        and bytes per pool, the float32 skew and the padded shared stride."""
        import json

        cid = self._live_cid(kernel)
        if cid is None:
            raise KeyError(f"Parent {kernel} has no registered buffer group.")
        return json.loads(self._raw.footprint(cid))

    def children(self, parent: Any) -> Dict[str, Any]:
        """The children ``parent`` rolled up, by base name."""
        cid = self._live_cid(parent)
        return {} if cid is None else dict(self._children.get(cid, {}))

    @classmethod
    def from_dump(cls, dump: Dict[str, Any]) -> Tuple["Registry", Dict[str, Any]]:
        """Replays a CuBIE registry dump (the format of
        ``tests/data/cubie-reference/``): every registration in order, a
        child completed before its parent rolls it up. Returns the registry
        and ``{component path: parent object}``."""
        if not isinstance(dump, Mapping):
            raise TypeError(f"dump: expected a registry dump's parsed JSON (a mapping), got {type(dump).__name__}")
        missing = [k for k in ("component_columns", "components", "buffer_columns", "buffers", "config")
                   if k not in dump]
        if missing:
            raise ValueError(f"dump: not a registry dump: no {', '.join(f'`{k}`' for k in missing)}")
        if not isinstance(dump["config"], Mapping) or "precision" not in dump["config"]:
            raise ValueError("dump: not a registry dump: no `config.precision`")
        comp_cols = dump["component_columns"]
        buf_cols = dump["buffer_columns"]
        comps = [dict(zip(comp_cols, c)) for c in dump["components"]]
        bufs = [dict(zip(buf_cols, b)) for b in dump["buffers"]]
        for what, cols, need in (
            ("component_columns", comp_cols, ("class", "parent_dtype", "path", "children", "registered")),
            ("buffer_columns", buf_cols, ("component", "name", "size", "location", "persistent", "aliases", "dtype",
                                          "rollup_of")),
        ):
            lacking = [c for c in need if c not in cols]
            if lacking:
                raise ValueError(f"dump: `{what}` lacks {', '.join(f'`{c}`' for c in lacking)}")
        run_precision = dump["config"]["precision"]
        parents: Dict[str, Any] = {}
        for c in comps:
            cls_ = type(c["class"], (), {})
            obj = cls_()
            obj.precision = c["parent_dtype"] or run_precision
            obj.path = c["path"]
            parents[c["path"]] = obj
        reg = cls()
        by_comp: Dict[str, List[Dict[str, Any]]] = {c["path"]: [] for c in comps}
        for b in bufs:
            by_comp.setdefault(b["component"], []).append(b)
        children_of = {c["path"]: c["children"] for c in comps}
        done: Set[str] = set()

        def replay(path: str, started: Set[str]) -> None:
            if path in done:
                return
            started.add(path)
            for b in by_comp.get(path, []):
                child = b["rollup_of"]
                if child is None:
                    reg.register(b["name"], parents[path], b["size"], b["location"], b["persistent"], b["aliases"],
                                 b["dtype"])
                elif b["name"].endswith("_shared"):
                    base = b["name"][: -len("_shared")]
                    if children_of[path].get(base) != child:
                        raise ValueError(f"dump: `{b['name']}` of `{path}` is not recorded as a child at `{child}`")
                    if child not in done:
                        if child in started:
                            raise ValueError(f"dump: `{child}` is its own ancestor")
                        replay(child, started)
                    reg.register_child(parents[path], parents[child], base, b["aliases"])
            done.add(path)

        for c in comps:
            if c["registered"]:
                replay(c["path"], set())
        return reg, parents
