"""The ``dask`` suite of ``fftconv bench``: fftconv.dask beside dask-image on one
dask.distributed LocalCluster, and the same filter through the in-memory engine.

A float32 image of ``size``² in ``chunk``² chunks is generated on the workers (no data rides
in the graph), then convolved ('reflect' border) with a random kernel of each size by
``fftconv.dask.ndimage.convolve`` and, when dask-image is installed, by
``dask_image.ndfilters.convolve`` (scipy.ndimage per chunk through ``map_overlap``), each on a
freshly restarted cluster of ``workers`` processes with one thread each, so each run's peak
worker memory (VmHWM, the persisted image included) is its own. Then the same convolution in
memory with ``fftconv.ndimage.convolve`` on ``workers`` threads. Results are compared on a
grid of outputs (every 97th row and column): the largest difference over the largest value.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class DaskRow:
    """One kernel size of the dask suite: seconds, speedup, peak worker memory, differences."""

    case: str
    fftconv_dask_s: float
    dask_image_s: float | None
    speedup_vs_dask_image: float | None
    in_memory_s: float
    peak_worker_mib: dict[str, float]
    max_rel_diff_vs_in_memory: dict[str, float]


def _peak_rss_mib() -> float:
    """This process's peak resident memory (Linux ``/proc``; NaN elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run_dask_suite(size: int, chunk: int, kernels: tuple[int, ...], workers: int, say=print) -> list[DaskRow]:
    """Run the suite (see the module docstring); ``say`` reports each row as it is measured.

    Examples
    --------
    >>> rows = run_dask_suite(256, 128, (3,), 1, say=lambda line: None)  # a LocalCluster: a few seconds
    >>> rows[0].max_rel_diff_vs_in_memory["fftconv.dask"] < 1e-5
    True
    """
    import dask.array as da
    import distributed

    import fftconv.dask.ndimage
    import fftconv.ndimage

    try:
        import dask_image.ndfilters
    except ImportError:
        dask_image = None
        say("note: dask-image is not installed: its runs are skipped (pip install dask-image)")
    rows = []
    with distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None, memory_limit=0,
                                  silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster) as client:
        def fresh_image():
            image = da.random.default_rng(0).standard_normal((size, size), chunks=chunk, dtype=np.float32)
            image = client.persist(image)
            distributed.wait(image)
            return image

        for k in kernels:
            kernel = np.random.default_rng(k).standard_normal((k, k)).astype(np.float32)
            runs = {"fftconv.dask": lambda image, kernel=kernel: fftconv.dask.ndimage.convolve(image, kernel)}
            if dask_image is not None:
                runs["dask_image"] = lambda image, kernel=kernel: dask_image.ndfilters.convolve(
                    image, kernel, mode="reflect")
            samples, seconds, peaks = {}, {}, {}
            for name, make in runs.items():
                client.restart()
                image = fresh_image()
                start = time.perf_counter()
                result = client.persist(make(image))
                distributed.wait(result)
                seconds[name] = time.perf_counter() - start
                peaks[name] = round(max(client.run(_peak_rss_mib).values()), 1)
                samples[name] = result[::97, ::97].compute()
                del result
            local = image.compute()
            start = time.perf_counter()
            in_memory = fftconv.ndimage.convolve(local, kernel, threads=workers)
            memory_seconds = time.perf_counter() - start
            reference = in_memory[::97, ::97]
            scale = float(np.max(np.abs(reference))) or 1.0
            row = DaskRow(
                f"{size}² float32 * {k}x{k} reflect, {chunk}² chunks, {workers} workers",
                seconds["fftconv.dask"], seconds.get("dask_image"),
                seconds["dask_image"] / seconds["fftconv.dask"] if "dask_image" in seconds else None,
                memory_seconds, peaks,
                {name: float(np.max(np.abs(sample - reference))) / scale for name, sample in samples.items()})
            rows.append(row)
            say(format_dask_row(row))
            del local, in_memory
    return rows


def format_dask_row(row: DaskRow) -> str:
    """One row as two lines of text.

    Examples
    --------
    >>> row = DaskRow("c", 2.0, 8.0, 4.0, 1.0, {"fftconv.dask": 900.0}, {"fftconv.dask": 1e-7})
    >>> print(format_dask_row(row))
    c: fftconv.dask 2.00 s, dask_image 8.00 s (4.0x), in memory 1.00 s
      peak worker MiB {'fftconv.dask': 900.0}; max rel diff vs in-memory {'fftconv.dask': '1.0e-07'}
    """
    other = (f", dask_image {row.dask_image_s:.2f} s ({row.speedup_vs_dask_image:.1f}x)"
             if row.dask_image_s is not None else "")
    diffs = {name: f"{d:.1e}" for name, d in row.max_rel_diff_vs_in_memory.items()}
    return (f"{row.case}: fftconv.dask {row.fftconv_dask_s:.2f} s{other}, in memory {row.in_memory_s:.2f} s\n"
            f"  peak worker MiB {row.peak_worker_mib}; max rel diff vs in-memory {diffs}")


def rows_as_dicts(rows: list[DaskRow]) -> list[dict]:
    """The rows for JSON."""
    return [asdict(r) for r in rows]
