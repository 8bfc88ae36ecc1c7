"""smemplan.Registry: CuBIE 0.17.0's registry, CuBIE's calls and errors."""

import json

import numpy as np
import pytest

import smemplan
from conftest import CUBIE_REFERENCE

DUMPS = sorted(CUBIE_REFERENCE.glob("*.json"))


def test_every_reference_dump_ships():
    assert len(DUMPS) == 375


def _rows(d, which):
    return [dict(zip(d[f"{which}_columns"], r)) for r in d[f"{which}s" if which == "component" else "buffers"]]


def test_replays_every_dump_with_cubies_sizes_and_slices():
    """Every dump's registrations replayed through the Python Registry give
    CuBIE's size answers for every component and CuBIE's slice (or local
    array) for every buffer."""
    checked_buffers = 0
    for path in DUMPS:
        d = json.loads(path.read_text())
        reg, parents = smemplan.Registry.from_dump(d)
        comps = [dict(zip(d["component_columns"], c)) for c in d["components"]]
        for c in comps:
            if not c["registered"]:
                continue
            p = parents[c["path"]]
            got = (reg.shared_buffer_size(p), reg.local_buffer_size(p), reg.persistent_local_buffer_size(p))
            want = (c["shared_buffer_size"], c["local_buffer_size"], c["persistent_local_buffer_size"])
            assert got == want, (path.name, c["path"])
        for b in (dict(zip(d["buffer_columns"], r)) for r in d["buffers"]):
            a = reg.get_allocator(b["name"], parents[b["component"]])
            where = (path.name, b["component"], b["name"])
            assert a.pool == b["pool"], where
            if b["slice"] is not None:
                assert (a.slice.start, a.slice.stop) == tuple(b["slice"]), where
            else:
                assert a.local_size == b["local_size"], where
            assert a.dtype == b["dtype"], where
            checked_buffers += 1
        top = dict(zip(d["component_columns"], d["components"][0]))
        f = reg.footprint(parents[top["path"]])
        assert f["shared_bytes"] == d["top_level"]["shared_bytes_per_run"], path.name
        assert f["padded_shared_bytes"] == d["launch"]["padded_shared_bytes_per_run"], path.name
    assert checked_buffers > 10000


class Parent:
    def __init__(self, precision=np.float32):
        self.precision = precision


def test_basic_calls():
    r = smemplan.Registry()
    loop, solver = Parent(), Parent()
    r.register("delta", solver, 3, "shared")
    r.register("prev_theta", solver, 1, "shared", persistent=True)
    r.register("state", loop, 3, "shared")
    assert r.register_child(loop, solver, "solver") == ("solver_shared", "solver_persistent")
    r.register("scratch", loop, 2, "local", aliases="solver_shared")
    assert r.shared_buffer_size(loop) == 7
    assert r.get_allocator("solver_shared", loop).slice == slice(3, 7)
    # An alias binds inside its target, clear of the child's persistent range.
    a = r.get_allocator("scratch", loop)
    assert a.pool == "shared" and a.slice == slice(3, 5)
    sh, pe = r.get_child_allocators(loop, solver, "solver")
    assert sh.slice == slice(3, 7) and pe.pool == "persistent_local"
    assert r.local_buffer_size(loop) == 0
    assert r.footprint(loop)["padded_shared_bytes"] == 28


def test_update_and_clear():
    r = smemplan.Registry()
    p = Parent(np.float64)
    r.register("a", p, 4, "local")
    r.register("counters", p, 3, "shared", dtype=np.int32)
    assert r.shared_buffer_size(p) == 2  # int32 in a float64 unit: ceil(3 / 2)
    assert r.update(p, a_location="shared", unrelated=1, b_location=None) == {"a_location", "b_location"}
    assert r.shared_buffer_size(p) == 6
    assert r.update_buffer("a", p, size=10) == (True, True)
    assert r.update_buffer("a", p, size=10) == (True, False)
    assert r.update_buffer("zzz", p, size=1) == (False, False)
    assert r.shared_buffer_size(p) == 12
    child = Parent(np.float64)
    r.register("x", child, 5, "shared")
    r.register_child(p, child, "kid")
    r.clear_parent(p)
    assert r.shared_buffer_size(p) == 0 and r.shared_buffer_size(child) == 0
    with pytest.raises(KeyError):
        r.get_allocator("a", p)
    r.clear_parent(Parent())  # unknown: ignored


def test_toplevel_allocators():
    class Kernel:
        precision = np.float64
        persistent_local_elements = 0

    s, p = smemplan.Registry().get_toplevel_allocators(Kernel())
    assert (s.pool, s.dtype) == ("shared", "float32")
    assert (p.elements, p.dtype) == (1, "float64")


# CuBIE's exceptions, type and message.
ERRORS = [
    (lambda r, p: r.register("", p, 1, "shared"), ValueError, "Buffer name cannot be empty."),
    (lambda r, p: r.register("a", p, 1, "shared", aliases="a"), ValueError, "Buffer 'a' cannot alias itself."),
    (lambda r, p: r.register("b", p, 1, "shared", aliases="zz"), ValueError,
     "Alias target 'zz' not registered. Register 'zz' before 'b'."),
    (lambda r, p: r.update(p, x_location="global"), ValueError,
     "Invalid location 'global' for buffer 'x'. Must be 'shared' or 'local'."),
    (lambda r, p: r.get_allocator("nope", p), KeyError, "Buffer 'nope' not registered for parent."),
]


@pytest.mark.parametrize("call, exc, message", ERRORS)
def test_cubie_errors(call, exc, message):
    r = smemplan.Registry()
    p = Parent()
    r.register("x", p, 1, "shared")
    with pytest.raises(exc) as e:
        call(r, p)
    assert message in str(e.value)


def test_unknown_parent_key_error():
    r = smemplan.Registry()
    p = Parent()
    with pytest.raises(KeyError, match="has no registered buffer group"):
        r.get_allocator("x", p)
    assert r.shared_buffer_size(p) == 0 and r.update(p, x_location="shared") == set()


def test_same_answers_and_errors_as_cubie():
    """The same calls on CuBIE 0.17.0's own registry (needs cubie)."""
    import os

    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
    from cubie.buffer_registry import BufferRegistry

    class P:
        def __init__(self, precision):
            self.precision = precision

    ours, theirs = smemplan.Registry(), BufferRegistry()
    loop, step, solver = P(np.float32), P(np.float32), P(np.float32)
    script = [
        ("register", ("delta", solver, 3, "shared"), {}),
        ("register", ("prev", solver, 1, "shared"), {"persistent": True}),
        ("register", ("cnt", solver, 3, "local"), {"dtype": np.int32}),
        ("register", ("acc", step, 6, "shared"), {}),
        ("register", ("base", step, 2, "local"), {"aliases": "acc"}),
        ("register_child", (step, solver, "solver"), {}),
        ("register", ("state", loop, 3, "shared"), {}),
        ("register", ("err", loop, 2, "local"), {}),
        ("register_child", (loop, step, "algorithm"), {}),
        ("register", ("tmp", loop, 4, "local"), {"aliases": "algorithm_shared"}),
    ]
    for name, args, kwargs in script:
        a = getattr(ours, name)(*args, **kwargs)
        b = getattr(theirs, name)(*args, **kwargs)
        assert a == b, name
    for p in (loop, step, solver):
        for q in ("shared_buffer_size", "local_buffer_size", "persistent_local_buffer_size"):
            assert getattr(ours, q)(p) == getattr(theirs, q)(p), q
    g = theirs._groups[loop]
    for name in ("state", "algorithm_shared", "tmp", "err", "algorithm_persistent"):
        a = ours.get_allocator(name, loop)
        assert a.shared_slice == g.shared_layout.get(name), name
        assert a.persistent_slice == g.persistent_layout.get(name), name
        assert a.local_size == g.local_sizes.get(name), name
    for bad in (lambda r: r.register("", loop, 1, "shared"),
                lambda r: r.register("q", loop, 1, "shared", aliases="q"),
                lambda r: r.register("q", loop, 1, "shared", aliases="missing")):
        with pytest.raises(ValueError) as mine:
            bad(ours)
        with pytest.raises(ValueError) as cubies:
            bad(theirs)
        assert str(mine.value) == str(cubies.value)
    assert ours.update(loop, state_location="local") == theirs.update(loop, state_location="local")
    assert ours.shared_buffer_size(loop) == theirs.shared_buffer_size(loop)
    with pytest.raises(ValueError) as mine:
        ours.update(loop, state_location="x")
    with pytest.raises(ValueError) as cubies:
        theirs.update(loop, state_location="x")
    assert str(mine.value) == str(cubies.value)


def test_sizes_are_checked_alike_by_register_and_update_buffer():
    r = smemplan.Registry()
    p = Parent()
    r.register("a", p, 3, "shared")
    for bad in (-1, "x", 2**64, 1.5, True):
        with pytest.raises(ValueError, match=f"size: buffer 'a' needs a non-negative integer size below 2\\*\\*64, "
                                             f"got {bad!r}"):
            r.update_buffer("a", p, size=bad)
        with pytest.raises(ValueError, match="size: buffer 'b' needs a non-negative integer size"):
            r.register("b", p, bad, "shared")
    assert r.shared_buffer_size(p) == 3
    assert r.update_buffer("a", p, size=np.int64(5)) == (True, True) and r.shared_buffer_size(p) == 5


def test_from_dump_names_what_is_missing():
    with pytest.raises(ValueError, match="dump: not a registry dump: no `component_columns`"):
        smemplan.Registry.from_dump({})
    d = json.loads(DUMPS[0].read_text())
    d["buffer_columns"] = [c for c in d["buffer_columns"] if c != "size"]
    with pytest.raises(ValueError, match="dump: `buffer_columns` lacks `size`"):
        smemplan.Registry.from_dump(d)
    with pytest.raises(TypeError, match="dump: expected a registry dump's parsed JSON"):
        smemplan.Registry.from_dump("x.json")
