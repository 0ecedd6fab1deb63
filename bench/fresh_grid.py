"""Everyday calls as a script meets them: each case of a random mid-size grid in fresh processes.

Usage: python bench/fresh_grid.py [--seed S] [--cases N] [--loop N] [--repeats N] [--threads 1]
       [--new-machine | --rerun [--no-verdicts]] [--json PATH]

The warm-loop benchmarks (`bench/planner_regret.py`) time calls once everything a process
learns is learnt; `fftconv bench --suite first-calls` times the first calls of large
problems. This one draws the mid-size grid of `planner_regret.py` (1-D 200-200,000 samples with
kernels up to 4,000 taps, 2-D 48²-720² with kernels 3-41, 3-D 16³-96³ with kernels 3-11, every
mode, float32 and float64; the seed is printed) and runs each case in new Python processes
with new user directories (no FFTW wisdom), `scipy.signal.convolve` in one and
`fftconv.convolve` in another (this CPU's calibration copied in, as after fftconv's first use
here; ``--new-machine``: nothing cached, calibration in the background): the first call, the
second, and the median of the next ``--loop`` calls (what a loop meets while fftconv's
measured plans are made in the background; ``--rerun``: a machine where the same script ran
before, its cache left by an earlier process that called until the case's trial was decided:
FFTW's wisdom of its sizes and the trial's verdict; ``--no-verdicts``: the same with
``[planner] verdicts = "off"`` in both processes' configuration file, wisdom alone). Each cell
is the median of ``--repeats`` processes. Imports are not timed.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from planner_regret import mid_size_grid

from fftconv.cli.bench import machine_info, report_summary
from fftconv.cli.bench_first import calibrated_cache, run_fresh, side_by_side
from fftconv.cli.first_call import command

STAGES = ("first_s", "second_s", "loop_s")


def run_case(case: tuple, root: Path, calibrated: Path | None, threads: int, loop: int, repeats: int,
             rerun: bool = False, verdicts: bool = True) -> dict:
    """One row: medians over ``repeats`` fresh processes of each library's stages (``rerun``:
    fftconv's timed process follows one that settled the case in the same user directories;
    ``verdicts``: with the trial's verdict kept between them)."""
    s1, s2, mode, dtype = case
    row: dict[str, object] = {"case": f"{'x'.join(map(str, s1))} * {'x'.join(map(str, s2))} {mode} {dtype}"}
    samples: dict[str, list[dict]] = {"scipy": [], "fftconv": []}
    for who in ("scipy", "fftconv"):
        for i in range(repeats):
            home = root / f"{who}-{i}"
            if who == "fftconv" and calibrated is not None:
                shutil.copytree(calibrated, home / "cache")
            spec = json.dumps(["convolve", list(s1), list(s2), mode, dtype])
            if who == "fftconv" and not verdicts:
                settings = home / "config" / "fftconv" / "config.toml"
                settings.parent.mkdir(parents=True, exist_ok=True)
                settings.write_text('[planner]\nverdicts = "off"\n')
            if who == "fftconv" and rerun:
                run_fresh(command(spec, who, "--settle"), home, threads)
            samples[who].append(run_fresh(command(spec, who, "--loop", str(loop)), home, threads))
            shutil.rmtree(home, ignore_errors=True)
    side_by_side(row, samples, STAGES)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=None, help="the grid's seed (default: random, printed)")
    parser.add_argument("--cases", type=int, default=24, help="cases drawn (default 24)")
    parser.add_argument("--loop", type=int, default=20, help="calls timed after the second (default 20)")
    parser.add_argument("--repeats", type=int, default=2, help="processes per case and library (default 2)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--new-machine", action="store_true", help="fftconv with nothing cached")
    parser.add_argument("--rerun", action="store_true",
                        help="fftconv where an earlier process of the script settled the case")
    parser.add_argument("--no-verdicts", action="store_true",
                        help="with --rerun: the trial's verdict not kept (FFTW's wisdom alone)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    machine = machine_info(args.threads)
    seed = args.seed if args.seed is not None else int(np.random.default_rng().integers(1 << 31))
    machine["seed"] = seed
    if args.new_machine and args.rerun:
        parser.error("--new-machine and --rerun are two different machines: choose one")
    if args.no_verdicts and not args.rerun:
        parser.error("--no-verdicts goes with --rerun")
    machine["fftconv_machine"] = state = (
        "new" if args.new_machine else "calibrated" if not args.rerun
        else "rerun (settled before, verdicts off)" if args.no_verdicts else "rerun (settled before)")
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    print(f"mid-sizes grid, seed {seed}; {args.repeats} fresh processes per case and library; "
          f"fftconv on a {state} machine\n")
    print(f"{'case':<42} {'scipy ms: 1st':>13} {'2nd':>6} {'loop':>6}   {'fftconv/scipy: 1st':>18} "
          f"{'2nd':>5} {'loop':>5}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="fftconv-fresh-grid-") as scratch:
        root = Path(scratch)
        calibrated = None if args.new_machine else calibrated_cache(root / "calibrating", args.threads)
        for case in mid_size_grid(seed, args.cases):
            r = run_case(case, root, calibrated, args.threads, args.loop, args.repeats, args.rerun,
                         not args.no_verdicts)
            rows.append(r)
            print(f"{r['case']:<42} {r['scipy_first_s'] * 1e3:13.2f} {r['scipy_second_s'] * 1e3:6.2f} "
                  f"{r['scipy_loop_s'] * 1e3:6.2f}   {r['ratio_first']:17.2f}x {r['ratio_second']:4.2f}x "
                  f"{r['ratio_loop']:4.2f}x", flush=True)
    summary: dict[str, object] = {"cases": len(rows)}
    for stage in ("first", "second", "loop"):
        ratios = [r[f"ratio_{stage}"] for r in rows]
        summary[f"{stage}_ratio_median"] = round(statistics.median(ratios), 3)
        summary[f"{stage}_ratio_max"] = round(max(ratios), 3)
        summary[f"{stage}_slower_than_scipy"] = sum(v > 1.0 for v in ratios)
        summary[f"{stage}_worst"] = sorted(((round(r[f"ratio_{stage}"], 2), r["case"]) for r in rows),
                                           reverse=True)[:3]
    report_summary(summary, machine, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
