"""Shared fixtures: the repository's data and the command-line binary."""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# CuBIE writes generated code under `<cwd>/generated` unless told otherwise:
# a fresh folder per session keeps the tree clean and no cache carries over.
os.environ.setdefault("CUBIE_CACHE_DIR", tempfile.mkdtemp(prefix="smemplan-cubie-cache-"))
CHALLENGING = REPO / "benches" / "data" / "minimalloc-challenging"
CUBIE_REFERENCE = REPO / "tests" / "data" / "cubie-reference"


def _cli() -> str:
    env = os.environ.get("SMEMPLAN_BIN")
    if env:
        return env
    for d in (os.environ.get("CARGO_TARGET_DIR"), REPO / "target"):
        if d and (Path(d) / "release" / "smemplan").exists():
            return str(Path(d) / "release" / "smemplan")
    found = shutil.which("smemplan")
    if found:
        return found
    # Build it: the tests compare against the command line, so they need it.
    subprocess.run(["cargo", "build", "--release", "--bin", "smemplan"], cwd=REPO, check=True)
    return str(REPO / "target" / "release" / "smemplan")


@pytest.fixture(scope="session")
def cli():
    """Runs the `smemplan` command line; returns its stdout."""
    binary = _cli()

    def run(*args: str) -> str:
        return subprocess.run([binary, *args], check=True, capture_output=True, text=True).stdout

    return run
