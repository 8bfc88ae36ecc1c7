"""smemplan.plan / sweep / occupancy against the command line."""

import dataclasses
import json
import subprocess
import sys

import pytest

import smemplan
from conftest import CUBIE_REFERENCE, REPO


def test_print_default_plan_works_in_a_fresh_interpreter():
    out = subprocess.run([sys.executable, "-c", "import smemplan; print(smemplan.plan())"],
                         check=True, capture_output=True, text=True).stdout
    assert "built-in model dirk" in out and "shared bytes per run" in out and "block size" in out


def test_plan_matches_cli(cli):
    want = json.loads(cli("plan", "--json", "--set", "n=20", "--precision", "f64", "--time-limit", "5"))
    p = smemplan.plan(set={"n": 20}, precision="f64", time_limit=5)
    for side in ("cubie", "optimized"):
        for key in ("shared_bytes", "local_bytes", "persistent_local_bytes", "padded_shared_bytes",
                    "block_size", "dynamic_shared_bytes"):
            assert p.data[side][key] == want[side][key], (side, key)
    assert p.optimal == want["optimal"]
    assert p.best_block_size == want["optimized"]["best_block_size"]["block_size"]
    assert p.bytes_per_run["cubie"]["shared"] == want["cubie"]["shared_bytes"]
    assert p.occupancy["resident_threads"] == want["optimized"]["best_block_size"]["resident_threads"]
    assert p.estimated_runs_per_second > 0
    assert "<smemplan.Plan dirk" in repr(p)


def test_plan_files_match_cli(cli, tmp_path):
    svg, cuh = tmp_path / "s.svg", tmp_path / "l.cuh"
    cli("plan", "--model", "firk", "--set", "n=3", "--svg", str(svg), "--cuda", str(cuh), "--time-limit", "5")
    p = smemplan.plan("firk", set={"n": 3}, time_limit=5)
    assert p.cuda_header() == cuh.read_text()
    assert p.svg() == svg.read_text()
    p.cuda_header(tmp_path / "mine.cuh")
    assert (tmp_path / "mine.cuh").read_text() == cuh.read_text()


def test_a_plan_that_fits_no_block_has_no_header(tmp_path):
    p = smemplan.plan("explicit_euler", set={"n": 100000}, time_limit=5)
    with pytest.raises(ValueError, match="no block size fits"):
        p.cuda_header(tmp_path / "none.cuh")
    assert not (tmp_path / "none.cuh").exists()


def test_precision_takes_numpy_float_types():
    # CuBIE passes np.float32 and np.float64 everywhere.
    import numpy as np

    for given, name in [(np.float64, "f64"), (np.dtype("float32"), "f32"), ("float64", "f64")]:
        assert smemplan.plan(set={"n": 3}, precision=given, time_limit=5).data["input"]["params"]["precision"] == name
    with pytest.raises(ValueError, match="precision: expected 'f32' or 'f64'"):
        smemplan.plan(set={"n": 3}, precision=np.int32, time_limit=5)
    for given in (np.float64, [np.float32, "f64"], "f32,f64"):
        rows = smemplan.sweep(set={"n": 3}, precision=given, time_limit=0.5, as_frame=False)
        assert sorted({r["params"]["precision"] for r in rows}) == (["f64"] if given is np.float64 else ["f32", "f64"])


def test_a_cubie_block_the_registers_forbid_is_named():
    p = smemplan.plan(set={"n": 1}, registers=255, block_size=1024, time_limit=5)
    assert p.data["cubie"]["block_size"] == 512
    assert "255 registers per thread" in p.data["cubie"]["launch_error"]
    assert "cubie: CuBIE's block of 512 cannot launch: device `h100`" in str(p)


def test_plan_of_a_cubie_dump_matches_cli(cli):
    dump = CUBIE_REFERENCE / "dirk__kvaerno3__float32__n100__all_shared.json"
    want = json.loads(cli("plan", "--cubie", str(dump), "--json", "--time-limit", "5"))
    p = smemplan.plan(cubie=dump, time_limit=5)
    assert p.shared_bytes == want["optimized"]["shared_bytes"]
    assert p.cubie_shared_bytes == want["cubie"]["shared_bytes"]
    q = smemplan.plan(cubie=json.loads(dump.read_text()), time_limit=5)
    assert q.shared_bytes == p.shared_bytes


def test_plan_model_file_and_tiers(cli):
    model = REPO / "models" / "dirk.toml"
    assert model.exists()
    p = smemplan.plan(str(model), set={"n": 3}, tiers="auto", time_limit=4)
    want = json.loads(cli("plan", str(model), "--set", "n=3", "--tiers", "auto", "--json", "--time-limit", "4"))
    assert p.tiers is not None
    # One section, the README's: the same keys as the command line's, each
    # placement with its block size and its throughput against the chosen.
    assert p.tiers.keys() == want["tiers"].keys()
    for placement in ("chosen", "own_locations", "all_shared", "all_local"):
        assert p.tiers[placement].keys() == want["tiers"][placement].keys()
        for key in ("shared_bytes", "local_bytes", "block_size", "throughput_ratio"):
            assert p.tiers[placement][key] == want["tiers"][placement][key], (placement, key)
    assert p.tiers["chosen"]["throughput_ratio"] == 1.0
    assert "shared or local" in str(p)


def test_arrays_held_in_registers_have_no_memory_time(cli):
    # The Dormand-Prince integrator's model marks its buffers `registers`: all
    # local at n = 16, the estimate holds them in registers and has no memory
    # time to estimate. The rate is None (JSON null), and the summary says so.
    model = REPO / "models" / "integrators" / "dormand_prince.toml"
    p = smemplan.plan(str(model), set={"n": 16, "loc": "local"}, device="h100", runs=16384)
    want = json.loads(cli("plan", str(model), "--set", "n=16", "--set", "loc=local", "--device", "h100",
                          "--runs", "16384", "--json"))
    assert p.estimated_runs_per_second is None
    assert want["optimized"]["best_block_size"]["estimated_runs_per_second"] is None
    assert "no memory time" in str(p)
    q = smemplan.plan(str(model), set={"n": 16}, device="h100", runs=16384, tiers="auto")
    assert q.tiers["chosen"]["shared_bytes"] == 0
    assert q.tiers["chosen"]["register_bytes"] == q.tiers["chosen"]["local_bytes"] > 0


def test_models_and_devices(cli):
    m = smemplan.models()
    assert "dirk" in m and m["dirk"]["default"] and m["dirk"]["parameters"]["n"] == 100
    assert {"name": "lu_nnz", "rule": "max(n, min(n * n, 5 * n - 5))", "inputs": ["n"]} in m["dirk"]["derived"]
    # The command line's listing, entry for entry.
    listed = json.loads(cli("plan", "--list-models", "--json"))
    assert [e.pop("name") for e in listed] == list(m)
    assert listed == list(m.values())
    assert {"h100", "a100", "simulator"} <= set(smemplan.devices())


@pytest.mark.parametrize(
    "kwargs, exc, field",
    [
        (dict(model="nope"), ValueError, "nope"),
        (dict(set={"n": 2.5}), TypeError, "set"),
        (dict(set={"zzz": 1}), ValueError, "zzz"),
        (dict(precision="f16"), ValueError, "precision"),
        (dict(device="z80"), ValueError, "z80"),
        (dict(block_size=0), ValueError, "block_size"),
        (dict(runs=-1), ValueError, "runs"),
        (dict(strategy="nope"), ValueError, "strategy"),
        (dict(tiers="maybe"), ValueError, "tiers"),
        (dict(time_limit=-2), ValueError, "time_limit"),
    ],
)
def test_plan_bad_input(kwargs, exc, field):
    with pytest.raises(exc, match=field):
        smemplan.plan(**kwargs)


def test_a_value_out_of_range_is_named_without_command_line_flags():
    # The library words it for every front end: the key and the value, no
    # `--set` a Python caller never typed.
    with pytest.raises(ValueError) as e:
        smemplan.plan(set={"n": -3})
    assert "key `n`: -3 is not allowed for `n`" in str(e.value) and "--set" not in str(e.value)


def test_sweep_matches_cli(cli):
    want = json.loads(cli("sweep", "--set", "n=3,20", "--precision", "f32,f64", "--json", "--time-limit", "0.5"))
    rows = smemplan.sweep(set={"n": [3, 20]}, precision=["f32", "f64"], time_limit=0.5, as_frame=False)
    assert len(rows) == len(want["rows"]) == 8
    for a, b in zip(rows, want["rows"]):
        for key in ("strategy", "device", "shared_bytes", "local_bytes", "cubie_block_size", "best_block_size"):
            assert a[key] == b[key], key
        assert a["params"] == b["params"]
    assert rows.pareto_front == want["pareto_front"]
    assert "<svg" in rows.svg()


def test_sweep_frame():
    import pandas as pd

    df = smemplan.sweep("dirk", set={"n": [3, 10]}, time_limit=0.5)
    assert isinstance(df, pd.DataFrame) and len(df) == 4
    assert {"n", "strategy", "shared_bytes", "estimated_runs_per_second", "pareto"} <= set(df.columns)
    assert df.attrs["csv"].splitlines()[0].startswith("index") or "," in df.attrs["csv"]


def test_sweep_bad_input():
    with pytest.raises(ValueError, match="strategy"):
        smemplan.sweep(strategies=["cubie", "nope"])
    with pytest.raises(ValueError, match="precision"):
        smemplan.sweep(precision="f8")
    with pytest.raises(ValueError, match="z80"):
        smemplan.sweep(device=["z80"])
    # The command line's refusals hold here too: rows no one could tell
    # apart, and registers beyond what a thread may use.
    with pytest.raises(ValueError, match="model `dirk` is swept twice"):
        smemplan.sweep(model=["dirk", "dirk"])
    with pytest.raises(ValueError, match="model `dirk` is swept twice"):
        smemplan.sweep(model=["all", "dirk"])
    with pytest.raises(ValueError, match="300 registers per thread exceed the limit of 255"):
        smemplan.sweep(registers=300)
    with pytest.raises(ValueError, match="300 registers per thread exceed the limit of 255"):
        smemplan.plan(registers=300)


def test_occupancy_matches_cli(cli):
    want = json.loads(cli("occupancy", "--device", "a100", "--block-size", "96", "--smem-per-block", "20000",
                          "--registers", "40", "--json"))
    o = smemplan.occupancy(device="a100", block_size=96, smem_per_block=20000, registers=40)
    # One report: every field of the command line's, and no other.
    assert dataclasses.asdict(o) == want
    assert "limited by" in str(o)


def test_occupancy_bad_input():
    with pytest.raises(ValueError, match="block_size"):
        smemplan.occupancy(device="h100", block_size=0)
    with pytest.raises(ValueError):
        smemplan.occupancy(device="h100", block_size=4096)
    with pytest.raises(TypeError, match="smem_per_block"):
        smemplan.occupancy(device="h100", block_size=64, smem_per_block="lots")


def test_plan_releases_the_gil():
    import threading
    import time

    ticks, stop = [0], threading.Event()

    def spin():
        while not stop.is_set():
            ticks[0] += 1
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    t0 = time.perf_counter()
    smemplan.plan("firk", set={"n": 200}, tiers="auto", time_limit=2)
    elapsed = time.perf_counter() - t0
    stop.set()
    t.join()
    assert ticks[0] > 0.3 * elapsed * 1000 * 0.2, (ticks[0], elapsed)


# ------------------------------------------- argument checks, plan and sweep


@pytest.mark.parametrize("call", [smemplan.plan, lambda **k: smemplan.sweep(as_frame=False, **k)])
@pytest.mark.parametrize("arg", ["block_size", "runs", "registers"])
def test_integers_beyond_64_bits_name_the_argument(call, arg):
    with pytest.raises(ValueError, match=f"{arg}: 18446744073709551616 is too large"):
        call(**{arg: 2**64})


def test_occupancy_integers_beyond_64_bits_name_the_argument():
    for arg in ("block_size", "smem_per_block", "registers"):
        kwargs = {"block_size": 64, arg: 2**64}
        with pytest.raises(ValueError, match=f"{arg}: 18446744073709551616 is too large"):
            smemplan.occupancy(device="h100", **kwargs)


@pytest.mark.parametrize("block_size", [1025, 100000, 2**64 - 1])
def test_a_block_beyond_the_device_is_refused_as_occupancy_refuses_it(block_size):
    with pytest.raises(ValueError, match=rf"block_size: {block_size} threads per block exceed device `h100`'s limit "
                                         r"of 1024"):
        smemplan.plan(block_size=block_size)
    with pytest.raises(ValueError, match=rf"block_size: {block_size} threads .* limit of 1024"):
        smemplan.sweep(block_size=block_size, as_frame=False)
    with pytest.raises(ValueError, match="1 to 1024 threads"):
        smemplan.occupancy(device="h100", block_size=block_size)


@pytest.mark.parametrize(
    "kwargs, exc, message",
    [
        (dict(model=3), TypeError, "model: expected a built-in model's name, a model file or a list of them, got int"),
        (dict(set=[("n", 3)]), TypeError, "set: expected a mapping of parameter names to values, got list"),
        (dict(set={"n": [3, 4]}, x=3), TypeError, r"x: expected a swept parameter's name \(str\), got 3"),
        (dict(set={"n": ["3,4"]}), ValueError, r"set: parameter `n`: the value '3,4' holds a comma; in a list each "
                                               r"element is one value"),
        (dict(set={"n": []}), ValueError, "set: parameter `n` has no values"),
        (dict(precision="f16"), ValueError, "precision: expected 'f32' or 'f64'"),
        (dict(precision="f32", set={"precision": "f64"}), ValueError, "precision: swept twice"),
    ],
)
def test_sweep_arguments_are_named(kwargs, exc, message):
    with pytest.raises(exc, match=message):
        smemplan.sweep(as_frame=False, time_limit=0.2, **kwargs)


def test_plan_arguments_are_named():
    with pytest.raises(TypeError, match="set: expected a mapping of parameter names to values, got list"):
        smemplan.plan(set=[("n", 3)])
    with pytest.raises(ValueError, match="precision: given twice"):
        smemplan.plan(set={"precision": "f64"}, precision="f32")


def test_sweep_values_in_a_list_are_one_each_and_text_alone_is_the_command_lines():
    listed = smemplan.sweep("dirk", set={"n": [3, 4]}, strategies="auto", time_limit=0.2, as_frame=False)
    text = smemplan.sweep("dirk", set={"n": "3,4"}, strategies="auto", time_limit=0.2, as_frame=False)
    ranged = smemplan.sweep("dirk", set={"n": "3..=4"}, strategies="auto", time_limit=0.2, as_frame=False)
    assert [r["params"]["n"] for r in listed] == [r["params"]["n"] for r in text] == [
        r["params"]["n"] for r in ranged] == ["3", "4"]
    # A range's text inside a list is one value, which `n` refuses.
    with pytest.raises(ValueError, match="3..=4"):
        smemplan.sweep("dirk", set={"n": ["3..=4"]}, time_limit=0.2, as_frame=False)


def test_plan_and_sweep_take_the_same_numbers_and_spellings():
    import numpy as np

    a = smemplan.plan("firk", set={"n": np.int64(3)}, precision="float64", time_limit=np.int64(2),
                      block_size=np.int32(64), runs=np.uint64(4096))
    b = smemplan.plan("firk", set={"n": 3}, precision="f64", time_limit=2.0)
    assert a.data["input"] == b.data["input"] and a.shared_bytes == b.shared_bytes
    rows = smemplan.sweep("firk", set={"n": np.array([3])}, precision=["float64", "f32"], time_limit=np.float64(0.5),
                          strategies="auto", as_frame=False)
    assert [r["params"]["precision"] for r in rows] == ["f64", "f32"]
