"""fftconv.dask beside dask-image on one dask.distributed LocalCluster: the ``dask`` suite of
``fftconv bench`` (``fftconv bench --suite dask``), as a script.

Usage: python bench/dask_cluster.py [--size 16384] [--chunk 2048] [--kernels 31 9]
                                    [--workers 2] [--json PATH]

What is measured: `fftconv.cli.bench_dask`. Needs ``pip install "fftconv[dask]" dask-image``.
"""

from __future__ import annotations

import argparse
import sys

from fftconv.cli.bench import machine_info, report_summary
from fftconv.cli.bench_dask import rows_as_dicts, run_dask_suite


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=16384)
    parser.add_argument("--chunk", type=int, default=2048)
    parser.add_argument("--kernels", type=int, nargs="+", default=[31, 9])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    machine = machine_info(args.workers)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    rows = run_dask_suite(args.size, args.chunk, tuple(args.kernels), args.workers)
    report_summary({"cases": len(rows)}, machine, rows_as_dicts(rows), args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
