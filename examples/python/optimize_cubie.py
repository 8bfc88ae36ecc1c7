"""Optimise a live CuBIE 0.17.0 solver's shared memory and check that its
results do not change.

    pip install ./python "cubie==0.17.0" "cuda-toolkit[cudart]>=13,<14"
    NUMBA_ENABLE_CUDASIM=1 python examples/python/optimize_cubie.py

(Without a GPU, Numba's CUDA simulator runs the kernel.)
"""

import os

os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")

import numpy as np  # noqa: E402

import cubie  # noqa: E402
import smemplan.cubie  # noqa: E402


def make_system():
    system = cubie.create_ODE_system(
        dxdt=["dx = -k*x + 0.1*y", "dy = -y + x*x*0.01", "dz = x - z", "w = x*y"],
        states={"x": 1.0, "y": 0.5, "z": 0.1},
        parameters={"k": 0.3},
        observables=["w"],
        precision=np.float32,
    )
    return system


def shared_everywhere(system):
    """Every `*_location` setting the Solver accepts for this algorithm, set
    to shared (CuBIE's own default is local)."""
    from cubie.buffer_registry import buffer_registry

    probe = cubie.Solver(system, algorithm="kvaerno3", dt=0.01)
    loop = probe.kernel.single_integrator._loop
    names, todo = set(), [loop]
    while todo:
        obj = todo.pop()
        names.update(buffer_registry.relocatable_buffer_names(obj))
        group = buffer_registry._groups.get(obj)
        todo.extend(group.children.values() if group is not None else ())
    accepted = {}
    for name in sorted(names):
        try:
            cubie.Solver(system, algorithm="kvaerno3", dt=0.01, **{f"{name}_location": "shared"})
            accepted[f"{name}_location"] = "shared"
        except KeyError:
            pass  # a buffer the Solver does not expose as a setting
    return accepted


def make(system, settings):
    return cubie.Solver(system, algorithm="kvaerno3", dt=0.01, **settings)


def solve(solver):
    r = solver.solve(initial_values={"x": [1.0, 0.5], "y": [0.5, 0.2], "z": [0.0, 0.1]},
                     parameters={"k": [0.3, 0.5]}, duration=0.2, grid_type="verbatim")
    return np.array(r.time_domain_array, copy=True)


def main() -> None:
    system = make_system()
    settings = shared_everywhere(system)
    reference = solve(make(system, settings))

    solver = make(system, settings)
    solve(solver)  # a first solve settles the buffers CuBIE registers
    report = smemplan.cubie.optimize(solver, time_limit=5)
    print(report)
    assert smemplan.cubie.active(solver)

    optimised = solve(solver)
    same = np.array_equal(optimised.view(np.uint32), reference.view(np.uint32))
    print("bit-for-bit equal results:", same)


if __name__ == "__main__":
    main()
