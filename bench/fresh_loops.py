"""A script's loop of separable filters in a fresh process, beside scipy.ndimage's, one run.

Usage: python bench/fresh_loops.py [--calls N] [--repeats N] [--threads 1] [--json PATH]

A script that blurs many small images (tiles, cutouts, frames) calls `gaussian_filter`,
`uniform_filter`, `sobel` or `laplace` thousands of times from a fresh process: what it meets
is neither the first call (`fftconv bench --suite first-calls`) nor a warm loop
(`bench/ndimage_filters.py`, where scipy is imported and everything is learnt), but the first
``--calls`` calls together. Each case runs in new Python processes with new user directories
(this CPU's calibration copied in, as after fftconv's first use here), scipy.ndimage's
function in one and fftconv.ndimage's in another (neither imports the other library; imports
are not timed): the first call, the second, the median of the next ``--calls`` and their sum.
Each cell is the median of ``--repeats`` processes; the ratio of the sums is fftconv's time
over scipy's for the whole loop.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from fftconv.cli.bench import machine_info, report_summary
from fftconv.cli.bench_first import calibrated_cache, run_fresh, side_by_side
from fftconv.cli.first_call import command

#: (function, image shape, parameters, mode, dtype): small images (scipy's loops serve them),
#: images just past that size (their rent, then a contest) and mid-size ones (planned passes).
CASES = [
    ("ndimage.gaussian_filter", (48, 48), (1.0,), "reflect", "float64"),
    ("ndimage.gaussian_filter", (64, 64), (1.0,), "reflect", "float64"),
    ("ndimage.gaussian_filter", (96, 96), (1.0,), "reflect", "float64"),
    ("ndimage.gaussian_filter", (128, 128), (2.0,), "nearest", "float32"),
    ("ndimage.gaussian_filter", (256, 256), (2.0,), "reflect", "float64"),
    ("ndimage.uniform_filter", (64, 64), (5,), "reflect", "float64"),
    ("ndimage.uniform_filter", (512, 512), (5,), "nearest", "float32"),
    ("ndimage.sobel", (64, 64), (), "reflect", "float64"),
    ("ndimage.laplace", (96, 96), (), "reflect", "float32"),
    ("ndimage.laplace", (256, 256), (), "reflect", "float64"),
    ("ndimage.gaussian_filter1d", (48, 160), (1.5,), "mirror", "float64"),
    ("ndimage.uniform_filter1d", (200, 300), (7,), "wrap", "float32"),
]
STAGES = ("first_s", "second_s", "loop_s", "loop_total_s")


def run_case(case: tuple, root: Path, calibrated: Path, threads: int, calls: int, repeats: int) -> dict:
    """One row: medians over ``repeats`` fresh processes of each library's stages."""
    name, shape, params, mode, dtype = case
    spec = json.dumps([name, list(shape), list(params), mode, dtype])
    args = ", ".join(map(str, params))
    row: dict[str, object] = {"case": f"{name.removeprefix('ndimage.')} {'x'.join(map(str, shape))}"
                                      f"{' (' + args + ')' if args else ''} {mode} {dtype}"}
    samples: dict[str, list[dict]] = {"scipy": [], "fftconv": []}
    for i in range(repeats):
        for who in ("scipy", "fftconv"):  # alternated: a busy minute meets both
            home = root / f"{who}-{i}"
            if who == "fftconv":
                shutil.copytree(calibrated, home / "cache")
            samples[who].append(run_fresh(command(spec, who, "--loop", str(calls)), home, threads))
            shutil.rmtree(home, ignore_errors=True)
    side_by_side(row, samples, STAGES)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls timed after the second (default 1000)")
    parser.add_argument("--repeats", type=int, default=3, help="processes per case and library (default 3)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    machine = machine_info(args.threads)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    print(f"{args.repeats} fresh processes per case and library; the first call, the second, then "
          f"{args.calls} calls: their median and sum\n")
    print(f"{'case':<48} {'scipy: 1st ms':>13} {'2nd':>6} {'loop us':>8} {'sum ms':>7}   "
          f"{'fftconv/scipy: 1st':>18} {'2nd':>6} {'loop':>5} {'sum':>5}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="fftconv-fresh-loops-") as scratch:
        root = Path(scratch)
        calibrated = calibrated_cache(root / "calibrating", args.threads)
        for case in CASES:
            r = run_case(case, root, calibrated, args.threads, args.calls, args.repeats)
            rows.append(r)
            print(f"{r['case']:<48} {r['scipy_first_s'] * 1e3:13.2f} {r['scipy_second_s'] * 1e3:6.2f} "
                  f"{r['scipy_loop_s'] * 1e6:8.1f} {r['scipy_loop_total_s'] * 1e3:7.1f}   "
                  f"{r['ratio_first']:17.2f}x {r['ratio_second']:5.2f}x {r['ratio_loop']:4.2f}x "
                  f"{r['ratio_loop_total']:4.2f}x", flush=True)
    summary: dict[str, object] = {"cases": len(rows), "calls": args.calls}
    for stage in ("first", "second", "loop", "loop_total"):
        ratios = [r[f"ratio_{stage}"] for r in rows]
        summary[f"{stage}_ratio_median"] = round(statistics.median(ratios), 3)
        summary[f"{stage}_ratio_max"] = round(max(ratios), 3)
        summary[f"{stage}_slower_than_scipy"] = sum(v > 1.0 for v in ratios)
    report_summary(summary, machine, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
