"""Issue [3/7] acceptance: filtering under a memory limit, and separable Gaussian blurs.

Usage: python bench/large_images.py [--size 8192] [--limit 64MiB] [--blur-size 4096] [--json PATH]
                                    [--skip-scipy-memmap]

1. Memory-bounded streaming: a ``size``² float32 memmap (a .npy file) convolved with a random
   31x31 kernel, ``mode='reflect'``, into an output memmap, with ``[memory] limit`` set.
   Reports the peak heap growth during the call (tracemalloc: every NumPy and pyFFTW buffer)
   and the growth of anonymous resident memory (the process's heap as the OS sees it; the
   memmaps' file pages are not heap), the time of a cold (first) and a warm call, the time
   of ``scipy.ndimage.convolve`` on the same memmap, and the largest difference between the
   two outputs relative to the largest output. Targets: heap under 128 MiB, 5x scipy.
2. Gaussian blurs (13x13 and 31x31) of a ``blur-size``² float32 image, 'reflect': the auto
   choice (the separable passes) beside every other fftconv method forced and beside
   ``scipy.ndimage.convolve`` with the full 2-D kernel, medians of interleaved rounds.
   Targets: auto never slower than the best non-separable fftconv method, 5x scipy.

Everything runs on 1 thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import scipy.ndimage

import fftconv
import fftconv.ndimage
from fftconv.cli.bench import machine_info, time_interleaved
from fftconv.kernels import gaussian


def anon_rss() -> int:
    """Anonymous resident bytes of this process (Linux; 0 elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def streaming(size: int, limit: str, run_scipy: bool) -> dict:
    rng = np.random.default_rng(0)
    folder = Path(tempfile.mkdtemp(prefix="fftconv-large-"))
    image = np.lib.format.open_memmap(folder / "image.npy", "w+", np.float32, (size, size))
    for r in range(0, size, 1024):
        image[r:r + 1024] = rng.standard_normal((min(1024, size - r), size), dtype=np.float32)
    image.flush()
    del image
    image = np.load(folder / "image.npy", mmap_mode="r")
    out = np.lib.format.open_memmap(folder / "out.npy", "w+", np.float32, (size, size))
    kernel = rng.standard_normal((31, 31)).astype(np.float32)
    result = {"size": size, "limit": limit}
    with fftconv.config.override(memory_limit=fftconv.config.parse_size(limit, "limit"), threads=1):
        for label in ("cold", "warm"):
            rss0 = anon_rss()
            tracemalloc.start()
            t0 = time.perf_counter()
            fftconv.ndimage.convolve(image, kernel, output=out, mode="reflect", threads=1)
            seconds = time.perf_counter() - t0
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            result[f"fftconv_{label}_s"] = seconds
            result[f"heap_peak_{label}_MiB"] = peak / 2**20
            result[f"anon_rss_growth_{label}_MiB"] = (anon_rss() - rss0) / 2**20
            print(f"fftconv.ndimage.convolve {label}: {seconds:.2f} s, heap peak {peak / 2**20:.1f} MiB, "
                  f"anonymous RSS growth {(anon_rss() - rss0) / 2**20:.1f} MiB", flush=True)
    out.flush()
    if run_scipy:
        t0 = time.perf_counter()
        want = scipy.ndimage.convolve(image, kernel, mode="reflect")
        result["scipy_ndimage_s"] = time.perf_counter() - t0
        scale = float(np.abs(want).max())
        worst = 0.0
        for r in range(0, size, 1024):
            worst = max(worst, float(np.abs(out[r:r + 1024] - want[r:r + 1024]).max()))
        result["max_rel_diff"] = worst / scale
        result["speedup_vs_scipy"] = result["scipy_ndimage_s"] / result["fftconv_warm_s"]
        print(f"scipy.ndimage.convolve: {result['scipy_ndimage_s']:.2f} s -> "
              f"{result['speedup_vs_scipy']:.1f}x; max |difference| / max |output| = "
              f"{result['max_rel_diff']:.2e}", flush=True)
    for f in folder.iterdir():
        f.unlink()
    folder.rmdir()
    return result


def blurs(size: int) -> list[dict]:
    rng = np.random.default_rng(1)
    image = rng.standard_normal((size, size), dtype=np.float32)
    rows = []
    for sigma in (1.5, 3.75):  # 13x13 and 31x31 at truncate=4
        kernel = gaussian(sigma).astype(np.float32)
        plan = fftconv.plan(image, kernel, "same", threads=1)
        funcs = {"auto": lambda k=kernel: fftconv.ndimage.convolve(image, k, threads=1)}
        for method in ("separable", "fft", "tiled"):
            funcs[method] = lambda k=kernel, m=method: fftconv.ndimage.convolve(image, k, method=m, threads=1)
        for func in funcs.values():
            func()
        times = time_interleaved(funcs, 5, 9)
        med = {name: statistics.median(v) for name, v in times.items()}
        t0 = time.perf_counter()
        scipy.ndimage.convolve(image, kernel, mode="reflect")
        med["scipy.ndimage (2-D kernel)"] = time.perf_counter() - t0
        best_general = min(med["fft"], med["tiled"])
        row = {"kernel": kernel.shape, "planner": plan.method, "median_s": med,
               "auto_vs_best_non_separable": best_general / med["auto"],
               "auto_vs_scipy": med["scipy.ndimage (2-D kernel)"] / med["auto"]}
        rows.append(row)
        print(f"gaussian {kernel.shape[0]}x{kernel.shape[1]} on {size}^2 float32: auto ({plan.method}) "
              f"{med['auto'] * 1e3:.1f} ms, separable {med['separable'] * 1e3:.1f}, "
              f"fft {med['fft'] * 1e3:.1f}, "
              f"tiled {med['tiled'] * 1e3:.1f}, scipy.ndimage {med['scipy.ndimage (2-D kernel)']:.2f} s -> "
              f"{row['auto_vs_best_non_separable']:.2f}x the best non-separable, "
              f"{row['auto_vs_scipy']:.0f}x scipy", flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--limit", default="64MiB")
    parser.add_argument("--blur-size", type=int, default=4096)
    parser.add_argument("--skip-scipy-memmap", action="store_true", help="skip the ~30 s scipy run")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    machine = machine_info(1)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()), flush=True)
    report = {"machine": machine, "streaming": streaming(args.size, args.limit, not args.skip_scipy_memmap),
              "gaussian_blurs": blurs(args.blur_size)}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
