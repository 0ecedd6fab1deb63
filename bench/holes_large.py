"""A large image with holes through the command line: a memmap under a memory limit, and dask.

Usage: python bench/holes_large.py [--side 8192] [--kernel gaussian:sigma=3] [--limit 64MiB]
                                   [--workers 2] [--dir DIR]

Writes a ``side``² float32 .npy image with 2 % scattered NaN pixels and a 64² NaN block, then
fills its holes three ways and checks that they agree:

1. in memory: ``fftconv.ndimage.convolve(image, kernel, nan="interpolate")``;
2. ``fftconv filter IN.npy OUT.npy --nan interpolate --memory-limit LIMIT`` (memory-mapped
   both ways, block by block);
3. ``fftconv filter IN.zarr OUT.zarr --nan interpolate --dask --scheduler ADDRESS`` on a
   ``LocalCluster`` of ``workers`` processes with one thread each (needs ``fftconv[dask]``).

Reported: each run's time, the command-line runs' peak resident memory (the memmaps' pages
count in it: the kernel maps them as they are read), and the largest difference from the
in-memory answer relative to its largest value (NaN where it has NaN, checked).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import fftconv.ndimage
from fftconv.cli.bench import machine_info
from fftconv.kernels import from_spec


def make_image(path: Path, side: int, seed: int = 0) -> np.memmap:
    rng = np.random.default_rng(seed)
    image = np.lib.format.open_memmap(path, "w+", np.float32, (side, side))
    rows = max(1, (16 << 20) // (4 * side))
    for start in range(0, side, rows):  # written in strips: the image need not fit twice
        strip = rng.standard_normal((min(rows, side - start), side)).astype(np.float32)
        strip[rng.random(strip.shape) < 0.02] = np.nan
        image[start : start + len(strip)] = strip
    image[side // 3 : side // 3 + 64, side // 2 : side // 2 + 64] = np.nan
    image.flush()
    return image


def difference(got: np.ndarray, want: np.ndarray) -> float:
    """Largest |got - want| over the largest |want|; inf if the NaN masks differ."""
    if not np.array_equal(np.isnan(got), np.isnan(want)):
        return float("inf")
    return float(np.nanmax(np.abs(got.astype(np.float64) - want)) / np.nanmax(np.abs(want)))


#: Runs the command, then reports its own peak resident memory in KiB on its last line of
#: stderr: Linux's VmHWM, which starts afresh at exec (``ru_maxrss`` keeps the high-water mark
#: of the parent it was forked from: this script's gigabytes), and leaves out the processes
#: the command starts, such as fftconv's measuring process.
_MEASURED = ("import sys\nfrom fftconv.cli import main\ncode = main(sys.argv[1:])\n"
             "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
             "print(hwm.split()[1], file=sys.stderr)\nsys.exit(code)")


def run_cli(args: list[str]) -> tuple[float, float]:
    """(seconds, peak resident MiB) of one ``fftconv`` command in a fresh process."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MEASURED, *args], check=True, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=8192)
    parser.add_argument("--kernel", default="gaussian:sigma=3")
    parser.add_argument("--limit", default="64MiB")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dir", default=None, help="working directory (default: a temporary one)")
    args = parser.parse_args()
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine_info(1).items()))
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp = Path(tmp)
        source = make_image(tmp / "in.npy", args.side)
        kernel = from_spec(args.kernel, 2)
        started = time.perf_counter()
        want = fftconv.ndimage.convolve(np.asarray(source), kernel, nan="interpolate")
        print(
            f"in memory: {time.perf_counter() - started:.2f} s, {args.side}² float32, kernel "
            f"{kernel.shape} ({args.kernel}), {np.isnan(want).sum()} NaN outputs"
        )

        seconds, rss = run_cli(
            [
                "filter",
                str(tmp / "in.npy"),
                str(tmp / "out.npy"),
                "--kernel",
                args.kernel,
                "--nan",
                "interpolate",
                "--memory-limit",
                args.limit,
                "--no-progress",
            ]
        )
        got = np.load(tmp / "out.npy", mmap_mode="r")
        print(
            f"fftconv filter --memory-limit {args.limit}: {seconds:.2f} s, peak resident {rss:.0f} MiB, "
            f"difference {difference(np.asarray(got), want):.1e}"
        )

        try:
            import zarr
            from distributed import Client, LocalCluster
        except ImportError:
            print('dask: skipped (pip install "fftconv[dask]")')
            return 0
        stored = zarr.open_array(
            str(tmp / "in.zarr"), mode="w", shape=source.shape, dtype=source.dtype, chunks=(2048, 2048)
        )
        stored[...] = source
        with (
            LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True) as cluster,
            Client(cluster),
        ):
            seconds, _ = run_cli(
                [
                    "filter",
                    str(tmp / "in.zarr"),
                    str(tmp / "out.zarr"),
                    "--kernel",
                    args.kernel,
                    "--nan",
                    "interpolate",
                    "--dask",
                    "--scheduler",
                    cluster.scheduler_address,
                    "--no-progress",
                ]
            )
        got = zarr.open_array(str(tmp / "out.zarr"), mode="r")[...]
        print(
            f"fftconv filter --dask on a LocalCluster of {args.workers} x 1 thread: {seconds:.2f} s, "
            f"difference {difference(got, want):.1e}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
