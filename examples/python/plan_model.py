"""Plan a solver-kernel model: CuBIE's layout next to the optimised one.

    pip install ./python
    python examples/python/plan_model.py
"""

import smemplan


def main() -> None:
    print("built-in models:", ", ".join(smemplan.models()))

    # The built-in default (CuBIE's DIRK step, n = 100, all shared).
    print(smemplan.plan(time_limit=5))
    print()

    # A 20-state DIRK step in double precision, tiers chosen for throughput.
    p = smemplan.plan("dirk", set={"n": 20, "algorithm": "kvaerno5"}, precision="f64", device="h100",
                      tiers="auto", time_limit=5)
    print(repr(p))
    print("bytes per run:", p.bytes_per_run)
    print("block size (CuBIE's rule):", p.block_size, "best:", p.best_block_size, p.occupancy)
    p.cuda_header("layout.cuh")
    p.svg("shared.svg")
    print("wrote layout.cuh and shared.svg")

    # Occupancy of the optimised launch.
    o = smemplan.occupancy(device="h100", block_size=p.block_size, smem_per_block=p.optimized["dynamic_shared_bytes"])
    print(o)


if __name__ == "__main__":
    main()
