"""fftconv.nn beside torch on the CPU, side by side at the same thread count.

Usage: python bench/nn_layers.py [--threads 1 2] [--rounds 3] [--json PATH] [--full-long-torch]

Cases (float32, PyTorch's padding='same'):
- conv2d, 64 -> 64 channels on 1x64x256x256, kernels 3x3, 7x7 and 31x31;
- conv_transpose2d, 64 -> 64 channels, 4x4 stride 2 on 64x64 and 3x3 stride 2 on 128x128
  (padding 1), the decoder layers of image models;
- a long depthwise conv1d, kernel as long as the sequence (16,384), on a slice of the full
  case of batch 8 x 256 channels: 1 x 16 channels, timed side by side (channels of a depthwise
  layer are independent, so both libraries' times scale with batch x channels), then the full
  8 x 256 case through fftconv, and torch's full time extrapolated x128 from its slice
  (torch's direct sum takes ~11 minutes there on 2 threads; ``--full-long-torch`` times it).

Each implementation runs once to warm up (plans, caches; its result is compared with torch's:
largest difference over the largest value), then once per round in a fresh random order
(`fftconv.cli.bench.time_interleaved`); medians are reported. torch uses
``torch.set_num_threads(threads)``; fftconv ``threads=threads`` (FFTW threads, and BLAS threads
through threadpoolctl). Needs ``pip install torch==2.13.0`` (a CPU build on these machines).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

import fftconv.nn
from fftconv.cli.bench import machine_info, report_summary, time_interleaved


def side_by_side(name, ours, theirs, rounds):
    """Warm up, compare results, then time both interleaved: one row."""
    got = ours()
    want = theirs()
    scale = float(np.max(np.abs(want))) or 1.0
    error = float(np.max(np.abs(got - want))) / scale
    times = time_interleaved({"fftconv": ours, "torch": theirs}, rounds, rounds)
    row = {
        "case": name,
        "fftconv_s": statistics.median(times["fftconv"]),
        "torch_s": statistics.median(times["torch"]),
        "max_rel_diff": error,
    }
    row["speedup_vs_torch"] = row["torch_s"] / row["fftconv_s"]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=None)
    parser.add_argument("--full-long-torch", action="store_true")
    args = parser.parse_args()
    import torch

    machine = machine_info(args.threads[-1])
    machine["torch"] = torch.__version__
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()), flush=True)
    rng = np.random.default_rng(0)
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        x = rng.standard_normal((1, 64, 256, 256)).astype(np.float32)
        for k in (3, 7, 31):
            w = (rng.standard_normal((64, 64, k, k)) / k).astype(np.float32)
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            plan = fftconv.nn.plan_conv(x.shape, w.shape, padding="same", threads=threads)

            def theirs(tx=tx, tw=tw):
                with torch.no_grad():
                    return torch.nn.functional.conv2d(tx, tw, padding="same").numpy()

            row = side_by_side(
                f"conv2d 1x64x256x256, 64->64, {k}x{k} same, {threads} thread(s)",
                lambda x=x, w=w, t=threads: fftconv.nn.conv2d(x, w, padding="same", threads=t),
                theirs,
                args.rounds if k == 31 else 3 * args.rounds,
            )
            row["fftconv_method"] = plan.method + (
                f" {'x'.join(map(str, plan.fft_shape))}" if plan.fft_shape else ""
            )
            rows.append(row)
            print(row, flush=True)
        for k, stride, size in ((4, 2, 64), (3, 2, 128)):  # decoder layers: transposed, strided
            xt = rng.standard_normal((1, 64, size, size)).astype(np.float32)
            wt = (rng.standard_normal((64, 64, k, k)) / k).astype(np.float32)

            def theirs_t(xt=xt, wt=wt, stride=stride):
                with torch.no_grad():
                    return torch.nn.functional.conv_transpose2d(
                        torch.from_numpy(xt), torch.from_numpy(wt), stride=stride, padding=1
                    ).numpy()

            row = side_by_side(
                f"conv_transpose2d 1x64x{size}x{size}, 64->64, {k}x{k} stride {stride}, {threads} thread(s)",
                lambda xt=xt, wt=wt, stride=stride, t=threads: fftconv.nn.conv_transpose2d(
                    xt, wt, stride=stride, padding=1, threads=t
                ),
                theirs_t,
                5 * args.rounds,  # milliseconds each: more rounds against the machine's noise
            )
            rows.append(row)
            print(row, flush=True)
        sl = rng.standard_normal((1, 16, 16384)).astype(np.float32)
        wl = (rng.standard_normal((16, 1, 16384)) / 128).astype(np.float32)

        def theirs_long(sl=sl, wl=wl):
            with torch.no_grad():
                return torch.nn.functional.conv1d(
                    torch.from_numpy(sl), torch.from_numpy(wl), padding="same", groups=16
                ).numpy()

        row = side_by_side(
            f"depthwise conv1d slice 1x16x16384, kernel 16384 same, {threads} thread(s)",
            lambda sl=sl, wl=wl, t=threads: fftconv.nn.conv1d(sl, wl, padding="same", groups=16, threads=t),
            theirs_long,
            max(1, args.rounds - 1),
        )
        rows.append(row)
        print(row, flush=True)
        full = rng.standard_normal((8, 256, 16384)).astype(np.float32)
        wf = (rng.standard_normal((256, 1, 16384)) / 128).astype(np.float32)
        fftconv.nn.conv1d(full, wf, padding="same", groups=256, threads=threads)  # warm-up
        times = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            fftconv.nn.conv1d(full, wf, padding="same", groups=256, threads=threads)
            times.append(time.perf_counter() - start)
        long_row = {
            "case": f"depthwise conv1d 8x256x16384, kernel 16384 same, {threads} thread(s)",
            "fftconv_s": statistics.median(times),
            "torch_s_extrapolated_x128_from_slice": row["torch_s"] * 128,
        }
        long_row["speedup_vs_torch_extrapolated"] = (
            long_row["torch_s_extrapolated_x128_from_slice"] / long_row["fftconv_s"]
        )
        if args.full_long_torch:
            start = time.perf_counter()
            with torch.no_grad():
                want = torch.nn.functional.conv1d(
                    torch.from_numpy(full), torch.from_numpy(wf), padding="same", groups=256
                ).numpy()
            long_row["torch_s_measured_once"] = time.perf_counter() - start
            got = fftconv.nn.conv1d(full, wf, padding="same", groups=256, threads=threads)
            long_row["max_rel_diff"] = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
        rows.append(long_row)
        print(long_row, flush=True)
    report_summary({"cases": len(rows)}, machine, rows, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
