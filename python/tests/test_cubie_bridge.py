"""smemplan.cubie: optimising live CuBIE 0.17.0 solvers (Numba's CUDA
simulator). For each configuration: the optimised solver's results are
bit-for-bit those of the unoptimised one, and its shared bytes per run are
`smemplan plan --cubie`'s figure for the same registry."""

import ast
import json
import os

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import smemplan  # noqa: E402
import smemplan.cubie as bridge  # noqa: E402

cubie = pytest.importorskip("cubie")  # ci.sh installs it: never skipped there

# (algorithm, precision): explicit Runge–Kutta, DIRK, FIRK, Rosenbrock and
# the Euler family, in both precisions.
CONFIGS = [
    ("euler", np.float32),
    ("euler", np.float64),
    ("classical-rk4", np.float32),
    ("dormand-prince-54", np.float64),
    ("kvaerno3", np.float32),
    ("kvaerno3", np.float64),
    ("radau_iia_5", np.float32),
    ("radau_iia_5", np.float64),
    ("ros3p", np.float32),
    ("ros3p", np.float64),
    ("backwards_euler", np.float32),
    ("backwards_euler", np.float64),
    ("crank_nicolson", np.float32),
    ("l_stable_sdirk_4", np.float64),
]


def system(precision):
    return cubie.create_ODE_system(
        dxdt=["dx = -k*x + 0.1*y", "dy = -y + x*x*0.01", "dz = x - z", "w = x*y"],
        states={"x": 1.0, "y": 0.5, "z": 0.1},
        parameters={"k": 0.3},
        observables=["w"],
        precision=precision,
    )


_LOCATIONS = {}


def all_shared(algorithm, precision):
    """Every `*_location` setting the Solver accepts, set to shared."""
    key = (algorithm, np.dtype(precision).name)
    if key in _LOCATIONS:
        return _LOCATIONS[key]
    from cubie.buffer_registry import buffer_registry

    probe = cubie.Solver(system(precision), algorithm=algorithm, dt=0.01)
    locs = {}
    for _, obj in bridge._walk(bridge._loop_of(probe)):
        locs.update({f"{n}_location": "shared" for n in buffer_registry.relocatable_buffer_names(obj)})
    while True:
        try:
            cubie.Solver(system(precision), algorithm=algorithm, dt=0.01, **locs)
            break
        except KeyError as e:
            text = str(e.args[0])
            for k in ast.literal_eval(text[text.index("["): text.rindex("]") + 1]):
                locs.pop(k)
    _LOCATIONS[key] = locs
    return locs


def make(algorithm, precision):
    return cubie.Solver(system(precision), algorithm=algorithm, dt=0.01, **all_shared(algorithm, precision))


def run(solver):
    r = solver.solve(
        initial_values={"x": [1.0, 0.5], "y": [0.5, 0.2], "z": [0.0, 0.1]},
        parameters={"k": [0.3, 0.5]},
        duration=0.1,
        grid_type="verbatim",
    )
    return np.array(r.time_domain_array, copy=True)


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype.itemsize == 4 else np.uint64)


@pytest.mark.parametrize("algorithm, precision", CONFIGS, ids=lambda v: v if isinstance(v, str) else np.dtype(v).name)
def test_optimised_solver_is_bit_for_bit(cli, tmp_path, algorithm, precision):
    reference = run(make(algorithm, precision))
    solver = make(algorithm, precision)
    run(solver)  # settle the registrations a solve makes
    report = bridge.optimize(solver, time_limit=2)
    assert "shared" in report.installed, report.kept
    assert bridge.active(solver)
    got = run(solver)
    assert bridge.active(solver), "the layout stayed in force through the solve"
    assert got.dtype == reference.dtype and got.shape == reference.shape
    assert np.array_equal(bits(got), bits(reference)), f"{algorithm}: results differ"

    # Shared bytes per run: the plan's figure for the same registry.
    dump = tmp_path / "live.json"
    dump.write_text(json.dumps(report.dump))
    want = json.loads(cli("plan", "--cubie", str(dump), "--json", "--time-limit", "2"))
    unit = np.dtype(precision).itemsize
    planned = want["optimized"]["shared_bytes"]
    assert report.planned["shared"] == planned
    # The plan places shared buffers in whole elements of each component's
    # precision, as CuBIE's slices need: it installs as planned, nothing is
    # planned again, and the figure after is the plan's.
    assert not any(n.startswith("shared:") for n in report.notes), report.notes
    assert report.after["shared"] == -(-planned // unit) * unit
    assert report.before["shared"] == want["cubie"]["shared_bytes"]
    assert report.after["shared"] <= report.before["shared"]
    assert report.after["block_size"] is not None
    assert "local" in report.kept  # CuBIE's own local arrays are kept, and said so
    assert "shared bytes per run" in str(report)


def test_a_wrong_lifetime_shows_in_the_results():
    """Two buffers made to overlap while both live: the checker refuses the
    layout, and installed anyway (verify=False) it changes the results —
    the bit-for-bit comparison can fail."""
    reference = run(make("kvaerno3", np.float32))
    solver = make("kvaerno3", np.float32)
    run(solver)
    plan, _ = bridge.plan_layout(solver, time_limit=2)
    offsets = bridge.layout_of(plan)
    shared = offsets["shared"]
    shared[("kernel/loop", "parameters")] = shared[("kernel/loop", "state")]
    installed, kept = bridge.install(solver, plan, offsets)
    assert "shared" not in installed and "checker rejects" in kept["shared"]
    installed, kept = bridge.install(solver, plan, offsets, verify=False)
    assert "shared" in installed and bridge.active(solver)
    assert not np.array_equal(bits(run(solver)), bits(reference))
    bridge.restore(solver)
    assert not bridge.active(solver)
    assert np.array_equal(bits(run(solver)), bits(reference))


def test_dump_replays_as_cubie_laid_out():
    """The dump built from the live registry is what smemplan's replay of
    CuBIE reproduces: the Python Registry gets the same slices."""
    solver = make("kvaerno3", np.float64)
    run(solver)
    d = bridge.dump(solver)
    reg, parents = smemplan.Registry.from_dump(d)
    for row in d["buffers"]:
        b = dict(zip(d["buffer_columns"], row))
        a = reg.get_allocator(b["name"], parents[b["component"]])
        assert a.pool == b["pool"]
        if b["slice"] is not None:
            assert (a.slice.start, a.slice.stop) == tuple(b["slice"])


def test_not_a_solver():
    with pytest.raises(TypeError, match="solver"):
        bridge.optimize(object())


DIRK_SHARED = dict(state_location="shared", proposed_state_location="shared", stage_increment_location="shared",
                   accumulator_location="shared", stage_base_location="shared")


@pytest.mark.parametrize("change", [{"algorithm": "kvaerno5"}, {"algorithm": "radau_iia_5"},
                                    {"stage_base_location": "local"}], ids=lambda c: "-".join(map(str, c.values())))
def test_a_changed_solver_falls_back_whole(change):
    """CuBIE re-registers what a change touches: the installed layout no
    longer applies, and the whole kernel goes back to CuBIE's layout. The
    components it did not touch kept their installed slices while the new
    algorithm took CuBIE's, and the kernel indexed past its arrays."""
    def changed(optimise):
        solver = cubie.Solver(system(np.float32), algorithm="kvaerno3", dt=0.01, **DIRK_SHARED)
        run(solver)
        if optimise:
            assert "shared" in bridge.optimize(solver, time_limit=2).installed
        solver.update(**change)
        return solver
    reference = run(changed(False))
    solver = changed(True)
    assert not bridge.active(solver)
    assert not any(o in bridge._OVERRIDES for _, o in bridge._walk(bridge._loop_of(solver)))
    assert np.array_equal(bits(run(solver)), bits(reference))


def test_optimize_again_plans_from_cubies_layout():
    """A second `optimize` read the installed slices back as CuBIE's own,
    and the dump's replay refused them."""
    reference = run(make("kvaerno3", np.float32))
    solver = make("kvaerno3", np.float32)
    run(solver)
    first = bridge.optimize(solver, time_limit=2)
    again = bridge.optimize(solver.kernel, time_limit=2)  # the kernel serves as the solver
    assert again.installed == first.installed and bridge.active(solver)
    assert again.before == first.before and again.planned == first.planned and again.dump == first.dump
    assert np.array_equal(bits(run(solver)), bits(reference))


def test_optimize_plans_for_its_block_size_runs_and_device(cli, tmp_path):
    solver = make("kvaerno3", np.float32)
    run(solver)
    report = bridge.optimize(solver, time_limit=2, block_size=256, runs=1000, device="a100")
    dump = tmp_path / "live.json"
    dump.write_text(json.dumps(report.dump))
    want = json.loads(cli("plan", "--cubie", str(dump), "--json", "--time-limit", "2", "--block-size", "256",
                          "--runs", "1000", "--device", "a100"))
    got = report.plan.data
    assert (got["requested_block_size"], got["runs"], got["device"]) == (256, 1000, "a100")
    assert got["optimized"]["best_block_size"] == want["optimized"]["best_block_size"]
    for side in ("cubie", "optimized"):
        for key in ("block_size", "dynamic_shared_bytes"):
            assert got[side][key] == want[side][key], (side, key)


def test_cubies_live_block_is_the_plans_for_a_small_batch():
    """CuBIE halves the block on the runs it holds, min(runs, block): for
    two runs it keeps 1024 threads, where smemplan's model of its rule
    halved on the whole block."""
    solver = make("kvaerno3", np.float64)
    run(solver)
    report = bridge.optimize(solver, time_limit=2, block_size=1024, runs=2, device="simulator")
    cubie_side = report.plan.data["cubie"]
    assert report.before["block_size"] == cubie_side["block_size"] == 1024
    assert report.before["dynamic_shared_bytes"] == cubie_side["dynamic_shared_bytes"]


def test_a_change_to_one_solver_leaves_anothers_layout():
    a, b = (cubie.Solver(system(np.float32), algorithm="kvaerno3", dt=0.01, **DIRK_SHARED) for _ in range(2))
    for s in (a, b):
        run(s)
        assert "shared" in bridge.optimize(s, time_limit=2).installed
    a.update(algorithm="kvaerno5")
    assert not bridge.active(a) and bridge.active(b)
    run(a)
    assert bridge.active(b)
    want = cubie.Solver(system(np.float32), algorithm="kvaerno3", dt=0.01, **DIRK_SHARED)
    assert np.array_equal(bits(run(b)), bits(run(want)))
