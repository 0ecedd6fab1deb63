"""fftconv.dask beside dask-image on one dask.distributed LocalCluster, and the in-memory engine.

Usage: python bench/dask_cluster.py [--size 16384] [--chunk 2048] [--kernels 31 9]
                                    [--workers 2] [--json PATH]

A float32 image of ``size``² in ``chunk``² chunks (generated on the workers, so no data rides
in the graph), 'reflect' border, convolved with random kernels: ``fftconv.dask.ndimage.convolve``
and ``dask_image.ndfilters.convolve`` (scipy.ndimage per chunk through ``map_overlap``) on the
same LocalCluster of ``workers`` processes with one thread each (restarted before each run),
then the same convolution in memory with ``fftconv.ndimage.convolve`` on ``workers`` threads;
results compared on a grid of outputs (every 97th row and column: largest difference over the
largest value). The peak memory of the busiest worker process is read from its ``/proc``
status (VmHWM) after each run, the persisted image included.
Needs ``pip install "fftconv[dask]" dask-image``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import fftconv.dask.ndimage
import fftconv.ndimage
from fftconv.cli.bench import machine_info, report_summary


def peak_rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16384)
    parser.add_argument("--chunk", type=int, default=2048)
    parser.add_argument("--kernels", type=int, nargs="+", default=[31, 9])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    import dask.array as da
    import distributed

    try:
        import dask_image.ndfilters
    except ImportError:
        dask_image = None
    machine = machine_info(args.workers)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    rows = []
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None, memory_limit=0) as cluster, \
            distributed.Client(cluster) as client:
        def fresh_image():
            image = da.random.default_rng(0).standard_normal((args.size, args.size), chunks=args.chunk,
                                                             dtype=np.float32)
            image = client.persist(image)
            distributed.wait(image)
            return image

        for k in args.kernels:
            kernel = np.random.default_rng(k).standard_normal((k, k)).astype(np.float32)
            runs = {"fftconv.dask": lambda image, kernel=kernel: fftconv.dask.ndimage.convolve(image, kernel)}
            if dask_image is not None:
                runs["dask_image"] = lambda image, kernel=kernel: dask_image.ndfilters.convolve(
                    image, kernel, mode="reflect")
            samples, seconds, peaks = {}, {}, {}
            for name, make in runs.items():
                client.restart()  # fresh worker processes: each run's own peak memory
                image = fresh_image()
                start = time.perf_counter()
                result = client.persist(make(image))
                distributed.wait(result)
                seconds[name] = time.perf_counter() - start
                peaks[name] = round(max(client.run(peak_rss_mib).values()), 1)
                samples[name] = result[::97, ::97].compute()  # a grid of outputs to compare
                del result
            local = image.compute()
            start = time.perf_counter()
            in_memory = fftconv.ndimage.convolve(local, kernel, threads=args.workers)
            memory_seconds = time.perf_counter() - start
            reference = in_memory[::97, ::97]
            scale = float(np.max(np.abs(reference)))
            diffs = {name: float(np.max(np.abs(sample - reference))) / scale
                     for name, sample in samples.items()}
            row = {"case": f"{args.size}² float32 * {k}x{k} reflect, {args.chunk}² chunks, "
                           f"{args.workers} workers",
                   "fftconv_dask_s": seconds["fftconv.dask"], "dask_image_s": seconds.get("dask_image"),
                   "speedup_vs_dask_image": (seconds["dask_image"] / seconds["fftconv.dask"]
                                             if "dask_image" in seconds else None),
                   "peak_worker_MiB": peaks, "in_memory_s": memory_seconds,
                   "max_rel_diff_vs_in_memory_on_a_grid": diffs}
            rows.append(row)
            print(row, flush=True)
            del local, in_memory
    report_summary({"cases": len(rows)}, machine, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
