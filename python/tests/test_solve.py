"""smemplan.solve / check / read_csv / write_csv against the command line."""

import json
import threading
import time

import numpy as np
import pytest

import smemplan
from conftest import CHALLENGING, REPO

INSTANCES = sorted(CHALLENGING.glob("*.csv"))


def test_eleven_challenging_instances_ship():
    assert len(INSTANCES) == 11


def test_small_instance_optimal():
    s = smemplan.solve([0, 3, 0], [3, 9, 9], [4, 4, 4])
    assert s.peak == 8 and s.lower_bound == 8 and s.gap == 0.0
    assert s.status is smemplan.Status.OPTIMAL and s.optimal
    assert s.offsets.dtype == np.uint64 and len(s.offsets) == 3
    assert smemplan.check([0, 3, 0], [3, 9, 9], [4, 4, 4], offsets=s.offsets) == 8
    assert "peak         8 bytes" in str(s)


def test_a_refuted_capacity_keeps_the_optimum_above_it(cli, tmp_path):
    # Two buffers live together need 8 bytes: a capacity of 6 is proven too
    # small, and the 8-byte layout is still the proven optimum above it, as
    # the command line's `optimal` says.
    path = tmp_path / "pair.csv"
    path.write_text("id,lower,upper,size\na,0,3,4\nb,0,9,4\n")
    want = json.loads(cli("solve", str(path), "--capacity", "6", "--json"))
    got = smemplan.solve(str(path), capacity=6)
    assert got.status is smemplan.Status.INFEASIBLE and want["status"] == "infeasible"
    assert got.optimal is True and want["optimal"] is True
    assert (got.feasible, got.infeasible) == (want["feasible"], want["infeasible"])


def test_status_enum_members():
    assert [m.name for m in smemplan.Status] == ["OPTIMAL", "UNPROVEN", "INFEASIBLE", "DEADLINE_REACHED"]


def test_capacity_infeasible():
    s = smemplan.solve([0, 0], [2, 2], [4, 4], capacity=6)
    assert s.status is smemplan.Status.INFEASIBLE and not s.feasible and s.infeasible


def test_alignment_offset_gaps():
    s = smemplan.solve([0, 0, 0], [4, 4, 4], [3, 4, 2], alignment=[1, 8, 1], offset=[None, 8, None],
                       gaps=[None, "", [(1, 2)]], ids=["a", "b", "c"])
    assert s.offsets[1] == 8 and s.offsets[1] % 8 == 0
    smemplan.check(s.problem, offsets=s.layout())


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.stem)
def test_greedy_matches_cli(cli, path):
    """Deterministic strategies: exactly the command line's peaks."""
    for strategy in ("greedy-size", "greedy-breadth", "greedy-floor"):
        want = json.loads(cli("solve", str(path), "--json", "--strategy", strategy))
        got = smemplan.solve(str(path), strategy=strategy)
        assert got.peak == want["peak"], strategy
        assert got.lower_bound == want["lower_bound"]
        assert [int(o) for o in got.offsets] == [p["offset"] for p in want["layout"]]
        # One report: the command line's figures under the same names.
        for key in ("strategy", "gap", "optimal", "capacity", "feasible", "infeasible"):
            assert getattr(got, key) == want[key], key
        assert got.status.value == want["status"]
        for key in ("winner", "nodes", "backtracks", "attempts"):
            assert getattr(got, key) == want["stats"][key], key


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.stem)
def test_auto_matches_cli(cli, path):
    """The default strategy under the same time limit: where the command
    line proves its peak optimal, the Python call proves the same peak (an
    optimum is unique); where the deadline cuts the search, both answers
    are valid layouts above the same proven bound."""
    limit = "2"
    want = json.loads(cli("solve", str(path), "--json", "--time-limit", limit))
    problem = smemplan.read_csv(path)
    got = smemplan.solve(problem, time_limit=float(limit))
    assert smemplan.check(problem, offsets=got.offsets) == got.peak
    assert got.status.value in ("optimal", "deadline_reached")
    assert got.lower_bound <= got.peak
    if want["status"] == "optimal" and got.status is smemplan.Status.OPTIMAL:
        assert got.peak == want["peak"]
    elif want["status"] == "optimal":
        assert got.peak >= want["peak"]
    elif got.status is smemplan.Status.OPTIMAL:
        assert got.peak <= want["peak"] and got.peak >= want["lower_bound"]
    else:
        # Both cut short: the same strategy's answers, each with the bound.
        assert got.peak >= want["lower_bound"] and want["peak"] >= got.lower_bound


def test_solve_releases_the_gil_and_honours_the_time_limit():
    """While a long solve runs, another Python thread keeps running."""
    path = CHALLENGING / "J.1048576.csv"
    problem = smemplan.read_csv(path)
    ticks = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    t0 = time.perf_counter()
    s = smemplan.solve(problem, strategy="exact", time_limit=1.5)
    elapsed = time.perf_counter() - t0
    stop.set()
    t.join()
    assert s.status is smemplan.Status.DEADLINE_REACHED
    assert elapsed <= 1.5 * 1.1 + 0.5
    # ~1 ms per tick: a thread starved by a held GIL would count near 0.
    assert ticks[0] > 200, ticks[0]


def test_solve_in_threads_concurrently():
    paths = INSTANCES[:3]
    results = {}

    def work(p):
        results[p] = smemplan.solve(str(p), strategy="greedy-size").peak

    threads = [threading.Thread(target=work, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(results) == set(paths)


def test_csv_round_trip(tmp_path):
    path = INSTANCES[0]
    p = smemplan.read_csv(path)
    assert len(p) == 154 and p.ids[0]
    s = smemplan.solve(p, strategy="greedy-size")
    out = tmp_path / "solution.csv"
    text = smemplan.write_csv(out, s)
    assert out.read_text() == text and text.startswith("id,lower,upper,size")
    # The written solution reads back as an instance with fixed offsets,
    # which the checker accepts.
    q = smemplan.read_csv(out)
    assert q.fixed.all()
    assert list(q.offset) == list(s.offsets)
    assert smemplan.check(p, offsets=q.offset) == s.peak


def test_csv_matches_cli_out(cli, tmp_path):
    path = INSTANCES[1]
    out = tmp_path / "cli.csv"
    cli("solve", str(path), "--strategy", "greedy-size", "--out", str(out))
    s = smemplan.solve(str(path), strategy="greedy-size")
    assert smemplan.write_csv(None, s) == out.read_text()


def test_dataframe_in_and_out():
    import pandas as pd
    df = pd.DataFrame({"id": ["a", "b", "c"], "lower": [0, 3, 0], "upper": [3, 9, 9], "size": [4, 4, 4]})
    s = smemplan.solve(df)
    assert s.peak == 8
    out = s.to_frame()
    assert list(out.columns) == ["id", "lower", "upper", "size", "offset"]
    p = smemplan.read_csv(INSTANCES[0])
    assert smemplan.solve(p.to_frame(), strategy="greedy-size").peak == smemplan.solve(p, strategy="greedy-size").peak


def test_check_reports_every_violation():
    with pytest.raises(smemplan.InvalidLayout) as e:
        smemplan.check([0, 0, 0], [2, 2, 2], [4, 4, 4], offsets=[0, 0, 0])
    assert len(e.value.violations) >= 2
    assert isinstance(e.value, ValueError)
    with pytest.raises(smemplan.InvalidLayout, match="beyond the capacity"):
        smemplan.check([0], [2], [4], offsets=[4], capacity=6)


def test_svg():
    s = smemplan.solve([0, 3, 0], [3, 9, 9], [4, 4, 4])
    assert s.svg().lstrip().startswith("<svg") or "<svg" in s.svg()


# ------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, exc, field",
    [
        (dict(lower=[0, -1], upper=[2, 2], size=[1, 1]), ValueError, "lower"),
        (dict(lower=[0, 1], upper=[2, 2], size=[1, -5]), ValueError, "size"),
        (dict(lower=[0, 1], upper=[2, 2], size=[1, 0]), ValueError, "size"),
        (dict(lower=[0, 1], upper=[2], size=[1, 1]), ValueError, "upper"),
        (dict(lower=[0, 1], upper=[2, 2], size=["a", 1]), TypeError, "size"),
        (dict(lower=[0, 1.5], upper=[2, 2], size=[1, 1]), TypeError, "lower"),
        (dict(lower=[0], upper=[2], size=[1], alignment=[3]), ValueError, "alignment"),
        (dict(lower=[2], upper=[2], size=[1]), ValueError, "lifetime"),
        (dict(lower=[0], upper=[2], size=[1], gaps=["1"]), ValueError, "gaps"),
        (dict(lower=5, upper=[2], size=[1]), TypeError, "lower"),
        (dict(lower=[0], upper=[2], size=[1], ids=["a", "b"]), ValueError, "id"),
    ],
)
def test_bad_input_names_the_field(kwargs, exc, field):
    args = (kwargs.pop("lower"), kwargs.pop("upper"), kwargs.pop("size"))
    with pytest.raises(exc, match=field):
        smemplan.solve(*args, **kwargs)


def test_bad_options():
    with pytest.raises(ValueError, match="strategy: unknown strategy `nope`"):
        smemplan.solve([0], [1], [1], strategy="nope")
    with pytest.raises(ValueError, match="time_limit"):
        smemplan.solve([0], [1], [1], time_limit=-1)
    with pytest.raises(TypeError, match="time_limit"):
        smemplan.solve([0], [1], [1], time_limit="soon")
    with pytest.raises(ValueError, match="capacity"):
        smemplan.solve([0], [1], [1], capacity=-3)


def test_bad_csv(tmp_path):
    f = tmp_path / "bad.csv"
    f.write_text("id,lower,upper,size\na,0,3,-4\n")
    with pytest.raises(ValueError, match="bad.csv"):
        smemplan.read_csv(f)
    with pytest.raises(OSError, match="cannot read"):
        smemplan.read_csv(tmp_path / "missing.csv")


def test_dataframe_missing_column():
    import pandas as pd
    with pytest.raises(ValueError, match="size"):
        smemplan.solve(pd.DataFrame({"lower": [0], "upper": [1]}))


def test_panic_becomes_internal_error():
    with pytest.raises(smemplan.InternalError, match="deliberate panic"):
        smemplan._smemplan.panic_for_test()
    assert issubclass(smemplan.InternalError, RuntimeError)
    # The interpreter is still fine.
    assert smemplan.solve([0], [1], [1]).peak == 1


def test_strategies_table():
    s = smemplan.strategies()
    assert next(iter(s)) == smemplan.DEFAULT_STRATEGY == "auto"
    assert {"greedy-size", "exact", "ilp", "brute"} <= set(s)


def test_package_ships_types_and_docstrings():
    from pathlib import Path

    pkg = Path(smemplan.__file__).parent
    assert (pkg / "py.typed").exists() and (pkg / "__init__.pyi").exists()
    for name in smemplan.__all__:
        obj = getattr(smemplan, name)
        if callable(obj) and not isinstance(obj, str):
            assert obj.__doc__, name


def test_dataframe_with_missing_offsets():
    import pandas as pd

    df = pd.DataFrame({"lower": [0, 0], "upper": [2, 2], "size": [4, 4], "offset": pd.array([8, None], dtype="Int64")})
    s = smemplan.solve(df)
    assert s.offsets[0] == 8 and s.peak == 12


def test_columns_by_keyword():
    s = smemplan.solve(lower=[0, 3, 0], upper=np.array([3, 9, 9]), size=(4, 4, 4), strategy="greedy-size")
    assert s.peak == 8
    assert smemplan.check(lower=[0, 3, 0], upper=[3, 9, 9], size=[4, 4, 4], offsets=s.offsets) == 8
    with pytest.raises(TypeError, match="size: required column missing"):
        smemplan.solve(lower=[0], upper=[1])


def test_ctrl_c_stops_a_long_solve():
    """SIGINT during a long solve raises KeyboardInterrupt at once (the
    search is cancelled), not after the time limit.

    The child installs Python's own SIGINT handler: started from a
    background job (`cmd &`, `nohup`), it inherits SIGINT ignored, and
    Python then leaves it ignored, so the signal would never arrive."""
    import subprocess
    import sys

    code = f"""
import os, signal, threading, time
import smemplan
signal.signal(signal.SIGINT, signal.default_int_handler)
p = smemplan.read_csv({str(CHALLENGING / 'J.1048576.csv')!r})
threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
t0 = time.perf_counter()
try:
    smemplan.solve(p, strategy="exact", time_limit=60)
    print("finished")
except KeyboardInterrupt:
    print("interrupted", round(time.perf_counter() - t0, 2))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert out.startswith("interrupted"), out
    assert float(out.split()[1]) < 5.0


# ------------------------------------------------- values taken exactly


def test_plain_int_lists_are_taken_exactly():
    # numpy reads [4, 2**64 - 4] as floats; the values must not be rounded
    # (the layout below overlaps and ends past 2**64: the checker refuses it).
    with pytest.raises(smemplan.InvalidLayout):
        smemplan.check([0, 0], [1, 1], [4, 4], offsets=[4, 2**64 - 4])
    assert smemplan.check([0, 0], [1, 1], [4, 4], offsets=[0, 2**63 + 8]) == 2**63 + 12
    p = smemplan.Problem.from_columns([0, 0], [1, 1], [4, 2**63 + 3])
    assert [int(v) for v in p.size] == [4, 2**63 + 3]
    # Integral floats in range are their integer; others are refused by row.
    assert smemplan.check([0, 0], [1, 1], [4, 4], offsets=[0.0, 2.0**63]) == 2**63 + 4
    with pytest.raises(ValueError, match=r"offsets: row 1 .*too large \(1e\+30"):
        smemplan.check([0, 0], [1, 1], [4, 4], offsets=[0, 1e30])
    with pytest.raises(ValueError, match=r"offsets: row 1 .*too large"):
        smemplan.check([0, 0], [1, 1], [4, 4], offsets=np.array([0, 2.0**64]))
    with pytest.raises(ValueError, match=r"size: row 0 .*too large \(18446744073709551616"):
        smemplan.solve([0], [1], [2**64])
    with pytest.raises(TypeError, match=r"size: row 1 .*'a', not an integer"):
        smemplan.solve([0, 0], [1, 1], [1, "a"])
    with pytest.raises(TypeError, match=r"lower: row 0 .*\[1, 2\], not an integer"):
        smemplan.solve([[1, 2], 0], [3, 3], [1, 1])


def test_fixed_offsets_are_checked_by_row():
    with pytest.raises(TypeError, match=r"offset: row 0 .*inf, not an integer"):
        smemplan.solve([0, 0], [1, 1], [4, 4], offset=[float("inf"), None])
    with pytest.raises(ValueError, match=r"offset: row 1 .*too large"):
        smemplan.solve([0, 0], [1, 1], [4, 4], offset=[None, 2**64])
    with pytest.raises(TypeError, match="offset: expected a sequence of integers or None .*got int"):
        smemplan.solve([0, 0], [1, 1], [4, 4], offset=0)
    s = smemplan.solve([0, 0], [1, 1], [4, 4], offset=[None, 2**40])
    assert int(s.offsets[1]) == 2**40


# ------------------------------------------------------------ pickling


def test_exceptions_pickle():
    import pickle

    e = pickle.loads(pickle.dumps(smemplan.InvalidLayout(["v", "w"], 3)))
    assert type(e) is smemplan.InvalidLayout and e.violations == ["v", "w"] and e.peak == 3
    assert str(e) == str(smemplan.InvalidLayout(["v", "w"], 3))
    i = pickle.loads(pickle.dumps(smemplan.InternalError("x")))
    assert type(i) is smemplan.InternalError and str(i) == "x"


def test_a_pool_worker_raising_reraises_in_the_parent():
    # An exception that cannot be unpickled hangs multiprocessing.Pool for
    # ever; these come back as themselves.
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(1) as pool:
        bad = pool.apply_async(smemplan.check, ([0, 0], [1, 1], [4, 4]), {"offsets": [0, 0]})
        with pytest.raises(smemplan.InvalidLayout) as e:
            bad.get(timeout=60)
        assert e.value.peak == 4 and len(e.value.violations) == 1
        panic = pool.apply_async(smemplan._smemplan.panic_for_test)
        with pytest.raises(smemplan.InternalError, match="deliberate panic"):
            panic.get(timeout=60)


# ------------------------------------------------------------- buffer ids


@pytest.mark.parametrize(
    "ids, exc, message",
    [
        (["a", None], TypeError, r"ids: row 1 is None"),
        (["a", 1.5], TypeError, r"ids: row 1 is 1.5"),
        (["a", "b\nc"], ValueError, r"ids: row 1 .*control character U\+000A"),
        (["a\x01", "b"], ValueError, r"ids: row 0 .*control character U\+0001"),
        (["a\x85", "b"], ValueError, r"ids: row 0 .*control character U\+0085"),
        (["a\ud800", "b"], ValueError, r"ids: row 0 .*lone surrogate U\+D800"),
        (["a", ""], ValueError, r"ids: row 1 is an empty buffer id"),
        ("ab", TypeError, r"ids: expected a sequence"),
    ],
)
def test_ids_are_checked_as_the_csv_reader_checks_them(ids, exc, message):
    with pytest.raises(exc, match=message):
        smemplan.solve([0, 0], [1, 1], [2, 2], ids=ids)


def test_integer_ids_are_their_text():
    # A DataFrame read from a MiniMalloc CSV has integer ids.
    assert smemplan.solve([0, 0], [1, 1], [2, 2], ids=[7, np.int64(8)]).layout().keys() == {"7", "8"}


def test_written_csv_reads_back_identically(tmp_path):
    ids = ['q"uote"', "tab\tinside", "ünï", "a b"]
    s = smemplan.solve([0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 2, 2], ids=ids)
    path = tmp_path / "s.csv"
    smemplan.write_csv(path, s)
    q = smemplan.read_csv(path)
    assert q.ids == ids and list(q.offset) == list(s.offsets)


@pytest.mark.parametrize("bad, why", [("a,b", "comma"), (" a", "white space"), ("a ", "white space")])
def test_ids_the_csv_cannot_carry_are_refused_on_write(tmp_path, bad, why):
    s = smemplan.solve([0, 0], [1, 1], [2, 2], ids=["x", bad])
    with pytest.raises(ValueError, match=f"ids: row 1 .*{why}"):
        smemplan.write_csv(tmp_path / "s.csv", s)
    assert not (tmp_path / "s.csv").exists()


def test_a_fast_solve_returns_at_once():
    # The wait for the solver thread ends with its answer, not on the next
    # 50 ms tick of the Ctrl-C watch.
    smemplan.solve([0], [1], [1])
    t0 = time.perf_counter()
    for _ in range(20):
        smemplan.solve([0, 3, 0], [3, 9, 9], [4, 4, 4])
    assert (time.perf_counter() - t0) / 20 < 0.02


# ------------------------------------------------- empty problems, results


def test_an_empty_table_is_a_problem_without_buffers_as_for_the_command_line(cli, tmp_path):
    import pandas as pd

    path = tmp_path / "empty.csv"
    path.write_text("id,lower,upper,size\n")
    want = json.loads(cli("solve", str(path), "--json"))
    for given in (([], [], []), (np.array([], dtype=np.uint64),) * 3,
                  (pd.DataFrame({"lower": [], "upper": [], "size": []}),), (str(path),)):
        s = smemplan.solve(*given)
        assert len(s.problem) == 0 and len(s.offsets) == 0
        assert (s.peak, s.lower_bound, s.status.value) == (want["peak"], want["lower_bound"], want["status"]) == (
            0, 0, "optimal")
    assert smemplan.check([], [], [], offsets=[]) == 0


def test_solutions_compare_and_hash_by_identity_and_print_short():
    p = smemplan.read_csv(INSTANCES[0])
    s = smemplan.solve(p, strategy="greedy-size")
    t = smemplan.solve(p, strategy="greedy-size")
    assert s == s and s != t and np.array_equal(s.offsets, t.offsets)
    assert len({s, t, s}) == 2 and hash(s) == hash(s)
    assert repr(s) == (f"<smemplan.Solution {p.source}: 154 buffers, peak {s.peak}, lower bound {s.lower_bound}, "
                       f"{s.status.value}, greedy-size>")


def test_a_mapping_of_offsets_is_keyed_by_buffer_id():
    p = smemplan.Problem.from_columns([0, 0], [1, 1], [4, 4])
    with pytest.raises(TypeError, match=r"offsets: the keys of a mapping are buffer ids \(str\), got 0"):
        smemplan.check(p, offsets={0: 0, 1: 4})
    assert smemplan.check(p, offsets={"0": 0, "1": 4}) == 8


# ------------------------------------------------------- clearer errors


@pytest.mark.parametrize(
    "gaps, exc, message",
    [
        ([[(2, 2**70)], None], ValueError, r"gaps: row 0 .*gap bound 1180591620717411303424 is too large"),
        (["2-99999999999999999999999", None], ValueError, r"gaps: row 0 .*too large"),
        (["²-4", None], ValueError, r"gaps: row 0 .*gap `²-4` is not of the form lower-upper"),
        (["2-٣", None], ValueError, r"gaps: row 0 .*not of the form lower-upper"),
        ([[(1, 2, 3)], None], TypeError, r"gaps: row 0 .*expected \(start, end\) pairs"),
        ([5, None], TypeError, r"gaps: row 0 .*expected \(start, end\) pairs"),
    ],
)
def test_bad_gaps_name_the_row(gaps, exc, message):
    with pytest.raises(exc, match=message):
        smemplan.solve([0, 0], [9, 9], [1, 1], gaps=gaps)


@pytest.mark.parametrize("arg", [b"/path/x.csv", 42, 3.5])
def test_one_argument_of_no_known_kind_says_what_is_accepted(arg):
    with pytest.raises(TypeError, match="solve: expected a Problem, a pandas DataFrame, a CSV path"):
        smemplan.solve(arg)


def test_time_limit_messages_are_short():
    with pytest.raises(ValueError, match=r"time_limit: `1e\+300` is not a valid time limit") as e:
        smemplan.solve([0], [1], [1], time_limit=1e300)
    assert len(str(e.value)) < 120
    with pytest.raises(ValueError, match=r"time_limit: `1e\+300`") as e:
        smemplan.solve([0], [1], [1], time_limit=10**300)
    assert smemplan.solve([0], [1], [1], time_limit=np.float32(2)).peak == 1


def test_files_that_cannot_be_read_name_the_file(tmp_path):
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("id,lower,upper,size\nbüf,0,1,4\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.csv:2: column 2 holds the byte 0xfc, which is not UTF-8"):
        smemplan.read_csv(latin)
    with pytest.raises(FileNotFoundError, match=r"cannot read `.*missing.csv`"):
        smemplan.read_csv(tmp_path / "missing.csv")
    with pytest.raises(IsADirectoryError, match=r"cannot read `.*`: it is a directory"):
        smemplan.solve(str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"cubie: cannot read `nope.json`"):
        smemplan.plan(cubie="nope.json")
    with pytest.raises(FileNotFoundError, match=r"model: cannot read `nope.toml`"):
        smemplan.plan("nope.toml")
    with pytest.raises(TypeError, match=r"path: expected a path as text \(str\), got bytes"):
        smemplan.read_csv(type("P", (), {"__fspath__": lambda self: b"x.csv"})())


def test_files_that_cannot_be_written_name_the_path_given(tmp_path):
    s = smemplan.solve([0], [1], [1])
    target = tmp_path / "no" / "x.csv"
    for write in (lambda: smemplan.write_csv(target, s), lambda: s.svg(target),
                  lambda: smemplan.plan("firk", set={"n": 3}, time_limit=1).cuda_header(target)):
        with pytest.raises(FileNotFoundError) as e:
            write()
        assert f"cannot write `{target}`" in str(e.value) and ".tmp" not in str(e.value)
    assert not (tmp_path / "no").exists()


def test_the_stubs_match_the_runtime_signatures():
    # mypy reads __init__.pyi, not the code: every public function and every
    # constructor a user calls must have the runtime's parameters there
    # (Problem(...) had no __init__ in the stubs, so mypy refused the call).
    import ast
    import inspect
    from pathlib import Path

    tree = ast.parse((Path(smemplan.__file__).parent / "__init__.pyi").read_text())

    def params(fn):
        a = fn.args
        return [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs if p.arg not in ("self", "cls")] + (
            ["*" + a.vararg.arg] if a.vararg else [])

    def runtime(obj):
        return [("*" + p.name if p.kind is p.VAR_POSITIONAL else p.name)
                for p in inspect.signature(obj).parameters.values() if p.kind is not p.VAR_KEYWORD]

    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    for name in smemplan.__all__:
        obj = getattr(smemplan, name)
        if name in functions:
            assert sorted(params(functions[name])) == sorted(runtime(obj)), name
    for name in ("Problem", "InvalidLayout"):
        methods = {n.name: n for n in classes[name].body if isinstance(n, ast.FunctionDef)}
        assert "__init__" in methods, name
        assert params(methods["__init__"]) == runtime(getattr(smemplan, name).__init__)[1:], name
