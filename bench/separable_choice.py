"""Issue [3/7] acceptance (separable part): does 'auto' take the separable path only where it
is faster?

Usage: python bench/separable_choice.py [--json PATH]

Gaussian kernels (7x7 to 65x65) on float32 and float64 images of 256² to 2048², 'same', 1
thread: every method that can run (separable, tiled, fft) is forced and timed, interleaved;
regret = time of the method 'auto' picks / the fastest. Also prints how often separable was
picked and how often it was the fastest.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np

import fftconv
from fftconv.cli.bench import machine_info, report_summary, time_interleaved
from fftconv.kernels import gaussian


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    machine = machine_info(1)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    print(f"{'case':<30} {'auto':>9} {'fastest':>9} {'regret':>7}  medians (ms)")
    rng = np.random.default_rng(0)
    rows = []
    for dtype in (np.float32, np.float64):
        for n in (256, 1024, 2048):
            for sigma in (0.75, 1.5, 3.75, 8.0):
                image = rng.standard_normal((n, n)).astype(dtype)
                kernel = gaussian(sigma).astype(dtype)
                plan = fftconv.plan(image, kernel, "same", threads=1)
                funcs = {m: (lambda m=m, x=image, k=kernel: fftconv.convolve(x, k, "same", m, threads=1))
                         for m in ("separable", "tiled", "fft")}
                for func in funcs.values():
                    func()
                times = time_interleaved(funcs, 5, 25, seconds=0.3 * len(funcs))
                med = {m: statistics.median(v) for m, v in times.items()}
                fastest = min(med, key=med.get)
                row = {"case": f"{n}x{n} * {kernel.shape[0]}x{kernel.shape[1]} {np.dtype(dtype).name}",
                       "auto": plan.method, "fastest": fastest, "regret": med[plan.method] / med[fastest],
                       "median_s": med}
                rows.append(row)
                print(f"{row['case']:<30} {plan.method:>9} {fastest:>9} {row['regret']:>7.2f}  "
                      + ", ".join(f"{m} {t * 1e3:.2f}" for m, t in med.items()), flush=True)
    regrets = [r["regret"] for r in rows]
    summary = {
        "cases": len(rows), "regret_median": statistics.median(regrets), "regret_max": max(regrets),
        "separable_chosen": sum(r["auto"] == "separable" for r in rows),
        "separable_fastest": sum(r["fastest"] == "separable" for r in rows),
        "separable_chosen_but_slower": sum(r["auto"] == "separable" and r["fastest"] != "separable"
                                           for r in rows),
    }
    report_summary(summary, machine, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
