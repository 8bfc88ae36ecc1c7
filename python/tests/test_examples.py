"""The examples under examples/python/ run."""

import os
import subprocess
import sys

import pytest

from conftest import REPO

EXAMPLES = REPO / "examples" / "python"


@pytest.mark.parametrize(
    "name, expect",
    [
        ("solve_csv.py", "status       optimal"),
        ("plan_model.py", "wrote layout.cuh and shared.svg"),
        ("sweep_plot.py", "wrote sweep."),
        ("optimize_cubie.py", "bit-for-bit equal results: True"),
    ],
)
def test_example_runs(tmp_path, name, expect):
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", RUST_BACKTRACE="0")
    out = subprocess.run([sys.executable, "-W", "ignore", str(EXAMPLES / name)], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert expect in out.stdout
