"""Solve a MiniMalloc CSV instance from Python, check it, write the layout.

    pip install ./python
    python examples/python/solve_csv.py [INSTANCE.csv] [--time-limit SECS]
"""

import argparse
import threading
from pathlib import Path

import smemplan

REPO = Path(__file__).resolve().parents[2]
DEFAULT = REPO / "benches" / "data" / "minimalloc-challenging" / "A.1048576.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", nargs="?", default=str(DEFAULT))
    parser.add_argument("--time-limit", type=float, default=5.0)
    parser.add_argument("--out", default="solution.csv")
    args = parser.parse_args()

    problem = smemplan.read_csv(args.instance)
    print(f"{problem!r}")

    # solve() releases the GIL: this thread keeps printing while it runs.
    done = threading.Event()

    def heartbeat():
        while not done.wait(1.0):
            print("  ... still searching")

    threading.Thread(target=heartbeat, daemon=True).start()
    solution = smemplan.solve(problem, time_limit=args.time_limit)
    done.set()

    print(solution)  # peak, lower bound, gap, status, seconds
    # The independent checker: the peak, or InvalidLayout with every violation.
    assert smemplan.check(problem, offsets=solution.offsets) == solution.peak
    smemplan.write_csv(args.out, solution)
    print(f"layout written to {args.out}")

    # Columns work too (numpy arrays or lists), and so does a DataFrame.
    small = smemplan.solve([0, 3, 0], [3, 9, 9], [4, 4, 4], ids=["a", "b", "c"])
    print("small:", small.layout(), small.status)


if __name__ == "__main__":
    main()
