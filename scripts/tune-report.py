#!/usr/bin/env python3
"""Reads `smemplan-lab tune --json` results (scripts/gpu-levels.sh writes
them for the stand-in, scripts/gpu-tune-real.sh for the real integrators,
scripts/gpu-tune-kernel.sh for a user kernel)
and prints, per case, the figures of issue 18's acceptance; with --table,
also writes every timed stand-in candidate as a block-size table for
`smemplan-lab calibrate --table` (exact stand-in accesses, the compiled
kernel's registers and stack bytes; an integrator's accesses are not exact,
so its candidates are left out).

Usage: scripts/tune-report.py [--table OUT.csv] TUNE.json...
(each file one `tune --json` output, or a collection of them under "cases")
"""
import json
import math
import sys


def words(nbytes):
    return (nbytes + 3) // 4


def main(argv):
    table = None
    if len(argv) > 1 and argv[0] == "--table":
        table, argv = argv[1], argv[2:]
    rows = []
    print("| case | card | plan's pick: layout, block | measured | best all shared | best all local | "
          "pick ÷ faster of the two | tune: timed / candidates | tuned ÷ best of all | CuBIE's pick ÷ best | "
          "CUDA occupancy API ÷ best |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    results = []
    for path in argv:
        with open(path) as f:
            r = json.load(f)
        # A collection ({"note", "cases": [...]}, as docs/results keeps
        # them) or one `tune --json` output.
        results.extend(r["cases"] if "model" not in r and "cases" in r else [r])
    for r in results:
        # An integrator names its case; the stand-in its model and settings;
        # a user kernel (`tune --kernel`) its source file before them.
        case = r.get("case") or r["model"] + " " + " ".join(r["sets"])
        if r.get("source"):
            case = r["source"].rsplit("/", 1)[-1] + " on " + case
        layouts = r["layouts"]
        # CuBIE's layouts ("cubie", an integrator's "cubie all-shared, ...")
        # are its own column.
        shared = [l for l in layouts if l["local_bytes"] == 0 and not l["layout"].startswith("cubie")]
        local = [l for l in layouts if l["stride"] == 0]
        best_of = lambda ls: min((l["best_ms"] for l in ls if l["best_ms"] is not None), default=None)
        s, l = best_of(shared), best_of(local)
        faster = min((x for x in (s, l) if x is not None), default=None)
        # What `plan --tiers auto` picks (`planner_pick`); stand-in files
        # from before it was recorded there fall back to the model's pick
        # (rank 1).
        pick = r.get("planner_pick") or r["model_pick"]
        best = r["best_timed"]["measured_ms"]
        share = lambda p: "-" if p is None or p["measured_ms"] is None else f"{best / p['measured_ms']:.3f}"
        ratio = "-" if pick["measured_ms"] is None or faster is None else f"{faster / pick['measured_ms']:.3f}"
        tuned = r["tuned_share_of_best"]
        print(f"| {case} | {r['device']['name']} | {pick['layout']}, {pick['block']} | "
              f"{pick['measured_ms'] or math.nan:.3f} ms | {s or math.nan:.3f} ms | {l or math.nan:.3f} ms | {ratio} | "
              f"{r['share_timed']} / {r['candidates']} | {'-' if tuned is None else f'{tuned:.3f}'} | "
              f"{share(r.get('cubie_pick'))} | {share(r.get('occupancy_api_pick'))} |")
        if r.get("kernel", "stand-in") != "stand-in":
            continue
        it = r["iterations"]
        for c in r["all"]:
            if c["measured_ms"] is None:
                continue
            lay = layouts[c["layout"]]
            rows.append((f"{r['model']}-{'-'.join(x.split('=')[1] for x in r['sets'])}/{lay['layout'].replace(' ', '-')}",
                         words(lay["stride"]) * 4, lay["registers"], r["runs"], c["block"], c["measured_ms"],
                         2 * it * words(lay["stride"]), 2 * it * words(lay["local_bytes"]), lay["stack_bytes"]))
    if table:
        with open(table, "w") as f:
            f.write("# Timed stand-in candidates of smemplan-lab tune (scripts/tune-report.py).\n")
            f.write("plan,stride,registers,runs,block,ms,shared_accesses,local_accesses,local_bytes\n")
            for row in rows:
                f.write(",".join(str(x) for x in row) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
