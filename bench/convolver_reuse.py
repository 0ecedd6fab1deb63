"""Issue [3/7] acceptance (Convolver part): a reused Convolver vs a bare FFTW round trip.

Usage: python bench/convolver_reuse.py [--size 4096] [--kernel 31] [--dtype float32]

A `fftconv.Convolver` (method 'fft', 'same', 1 thread) is called on fresh images; beside it, in
the same run and interleaved, a bare pyFFTW forward + inverse real transform (MEASURE plans,
in place, nothing else) at every 7-smooth length that can hold the 'same' result. Target: the
Convolver within 1.15x of the fastest bare round trip.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np
import pyfftw

import fftconv
from fftconv.cli.bench import machine_info, time_interleaved


def seven_smooth_between(lo: int, hi: int) -> list[int]:
    out = []
    for n in range(lo, hi + 1):
        m = n
        for p in (2, 3, 5, 7):
            while m % p == 0:
                m //= p
        if m == 1 and n % 2 == 0:
            out.append(n)
    return out


def bare_round_trip(n: int, dtype: np.dtype):
    spectrum = pyfftw.empty_aligned((n, n // 2 + 1), np.result_type(dtype, np.complex64))
    data = spectrum.view(dtype)[:, :n]
    fwd = pyfftw.FFTW(data, spectrum, axes=(0, 1), flags=("FFTW_MEASURE",), threads=1)
    inv = pyfftw.FFTW(spectrum, data, axes=(0, 1), direction="FFTW_BACKWARD",
                      flags=("FFTW_MEASURE", "FFTW_DESTROY_INPUT"), threads=1)
    data[...] = 1.0

    def run():
        fwd.execute()
        inv.execute()

    return run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--kernel", type=int, default=31)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    dtype = np.dtype(args.dtype)
    rng = np.random.default_rng(0)
    kernel = rng.standard_normal((args.kernel, args.kernel)).astype(dtype)
    images = [rng.standard_normal((args.size, args.size)).astype(dtype) for _ in range(2)]
    conv = fftconv.Convolver(kernel, images[0].shape, "same", "fft", threads=1)
    out = np.empty(conv.out_shape, conv.out_dtype)
    need = args.size + args.kernel // 2
    lengths = seven_smooth_between(need, need + need // 16)
    funcs = {f"bare FFTW {n}x{n}": bare_round_trip(n, dtype) for n in lengths}
    state = {"i": 0}

    def reuse():
        state["i"] ^= 1
        conv(images[state["i"]], out=out)

    funcs["Convolver (reused)"] = reuse
    for f in funcs.values():
        f()
        f()  # second use: MEASURE-quality plans
    times = {k: statistics.median(v) for k, v in time_interleaved(funcs, args.rounds, args.rounds).items()}
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine_info(1).items()))
    print(f"{args.size}x{args.size} {dtype} 'same' * {args.kernel}x{args.kernel}, Convolver FFT shape "
          f"{conv.plan.fft_shape}\n")
    for name, t in sorted(times.items(), key=lambda kv: kv[1]):
        print(f"{name:<24} {t * 1e3:8.2f} ms")
    best_bare = min(t for k, t in times.items() if k.startswith("bare"))
    ratio = times["Convolver (reused)"] / best_bare
    print(f"\nConvolver / fastest bare round trip: {ratio:.3f} (target <= 1.15)")
    return 0 if ratio <= 1.15 else 1


if __name__ == "__main__":
    sys.exit(main())
