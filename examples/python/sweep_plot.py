"""Sweep a kernel model over the number of states and plot shared bytes per
thread and estimated throughput, CuBIE's layout against the optimised one.

    pip install ./python pandas matplotlib
    python examples/python/sweep_plot.py
"""

import smemplan


def main() -> None:
    rows = smemplan.sweep("dirk", set={"n": [3, 10, 20, 50, 100]}, precision=["f32", "f64"],
                          strategies=["cubie", "auto"], time_limit=0.5, as_frame=False)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: the table instead, and smemplan's own picture")
        for r in rows:
            print(r["params"]["n"], r["params"]["precision"], r["strategy"], r["shared_bytes"],
                  f"{r['estimated_runs_per_second']:.3e}")
        rows.svg("sweep.svg")
        print("wrote sweep.svg")
        return

    fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(7, 7))
    for strategy in ("cubie", "auto"):
        for precision in ("f32", "f64"):
            pts = sorted((int(r["params"]["n"]), r) for r in rows
                         if r["strategy"] == strategy and r["params"]["precision"] == precision)
            label = f"{strategy} {precision}"
            top.plot([n for n, _ in pts], [r["shared_bytes"] for _, r in pts], marker="o", label=label)
            bottom.plot([n for n, _ in pts], [r["estimated_runs_per_second"] for _, r in pts], marker="o", label=label)
    top.set_ylabel("shared bytes per run")
    bottom.set_ylabel("estimated runs per second")
    bottom.set_xlabel("states (n)")
    top.legend()
    fig.tight_layout()
    fig.savefig("sweep.png")
    print("wrote sweep.png")


if __name__ == "__main__":
    main()
