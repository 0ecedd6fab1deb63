"""Separable filters of integer images (uint8 to uint32) beside scipy.ndimage's, warm, one run.

Usage: python bench/integer_images.py [--threads 1] [--dtypes uint8 int16 ...] [--json PATH]

Photographs and detector frames are integers: `gaussian_filter`, `uniform_filter` and `sobel`
of uint8, int16, int32 and uint32 images (``--dtypes``: some of them) of 64² to 1024², each
filter into the image's own dtype (scipy's default), fftconv's call timed beside scipy's in the
same process (each warmed, then the median of calls over ~0.15 s, alternated), with the largest
difference between the two answers (fftconv snaps sums within round-off of an integer before
truncating them: 0 or 1).
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys

import numpy as np
import scipy.ndimage as sn

import fftconv
import fftconv.ndimage as nd
from fftconv.cli.bench import machine_info, report_summary
from fftconv.timing import typical_time

SIDES = (64, 128, 256, 512, 1024)
DTYPES = ("uint8", "int16", "int32", "uint32")
FILTERS = (("gaussian_filter", (2.0,)), ("uniform_filter", (5,)), ("sobel", ()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=DTYPES)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    machine = machine_info(args.threads)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    print(f"{'case':<34} {'scipy':>10} {'fftconv':>10} {'speedup':>8} {'max diff':>8}")
    rows = []
    rng = np.random.default_rng(0)
    with fftconv.config.override(threads=args.threads):
        for dtype in args.dtypes:
            for side in SIDES:
                image = (rng.random((side, side)) * 200).astype(dtype)
                for name, params in FILTERS:
                    ours, theirs = getattr(nd, name), getattr(sn, name)
                    for _ in range(30):  # settled: plans, contests, FFTW's wisdom
                        ours(image, *params)
                    calls = {"scipy": functools.partial(theirs, image, *params),
                             "fftconv": functools.partial(ours, image, *params)}
                    times: dict[str, list[float]] = {"fftconv": [], "scipy": []}
                    for _ in range(3):  # alternated
                        for who, call in calls.items():
                            times[who].append(typical_time(call, 0.05))
                    scipy_s, ours_s = (statistics.median(times[k]) for k in ("scipy", "fftconv"))
                    diff = int(np.abs(ours(image, *params).astype(np.int64) - theirs(image, *params)).max())
                    row = {"case": f"{name} {side}x{side} {dtype}", "scipy_s": scipy_s, "fftconv_s": ours_s,
                           "speedup": scipy_s / ours_s, "max_diff": diff}
                    rows.append(row)
                    print(f"{row['case']:<34} {scipy_s * 1e3:8.3f}ms {ours_s * 1e3:8.3f}ms "
                          f"{row['speedup']:7.2f}x {diff:8d}", flush=True)
    speedups = [r["speedup"] for r in rows]
    summary = {"cases": len(rows), "speedup_median": round(statistics.median(speedups), 3),
               "speedup_min": round(min(speedups), 3), "slower_than_scipy": sum(s < 1.0 for s in speedups),
               "max_diff": max(r["max_diff"] for r in rows)}
    report_summary(summary, machine, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
