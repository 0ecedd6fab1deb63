"""Soak: many random calls of every public function against an independent reference.

Usage: python bench/soak.py [--calls 10000] [--seed 0] [--json PATH]

Each call draws a function (the scipy.signal drop-ins, fftconv.ndimage, Convolver), shapes
(empty, 0-d and 1-element included; kernels larger than the image along some axes), a mode,
boundary, origin, a dtype (bool, int8 ... uint64, float16 ... complex128, big-endian),
a memory layout (non-contiguous, negative strides), NaN/inf now and then, a thread count
1-4 and a method that applies, and compares the answer with a reference computed
independently: the sum over kernel taps of shifted copies of the image (extended with
np.pad for ndimage's modes, over the taps scipy.ndimage's loop sums: weights above DBL_EPSILON
in magnitude, complex ones part by part), in long double (complex long double), with integers
summed exactly in Python integers.

Error bounds, per output ``i`` (``eps``: of the dtype fftconv computes in; ``M_i``: the sum of
``|x| |h|`` over output ``i``'s terms; ``n``: the kernel's size; ``N``: the FFT's points):

* integer and boolean results: exact (wrapping like NumPy's casts);
* direct sums: ``|error_i| <= 2 n eps M_i``;
* FFT methods: ``|error_i| <= 2 n eps M_i + 8 log2(N) eps ||x||_2 ||h||_2``;
* separable passes: ``|error_i| <= 4 n eps M_i``;
* plus half a unit in the last place of the result dtype where it is coarser (float16);
* ndimage's integer outputs: the reference's truncation, or the integer it is within
  ``64 eps`` of (fftconv snaps such sums before truncating);
* NaN and inf: at exactly the reference's outputs (for complex results, the outputs that are
  not finite: which part of such an output is NaN depends on the order of the products).

It reports calls, mismatches (beyond the bound), the worst error as a fraction of its bound,
and the heap (tracemalloc) after a warm-up and at the end.
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
import tracemalloc
import warnings

import numpy as np

import fftconv
import fftconv.core.memory
import fftconv.engine.lane
import fftconv.engine.run
import fftconv.ndimage
from fftconv.cli.bench import machine_info, report_summary

INT_DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "uint64"]
FLOAT_DTYPES = ["float16", "float32", "float64", "complex64", "complex128", ">f8"]
NP_PAD = {"reflect": "symmetric", "grid-mirror": "symmetric", "mirror": "reflect", "nearest": "edge",
          "wrap": "wrap", "grid-wrap": "wrap", "constant": "constant", "grid-constant": "constant"}


def draw_array(rng, shape, dtype, special: bool) -> np.ndarray:
    """Random small values of ``dtype`` in a random memory layout: contiguous, with negative
    strides, or every other element of a bigger array; one NaN or inf when ``special``."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        values = rng.random(shape) > 0.5
    elif dtype.kind in "iu":
        values = rng.integers(0 if dtype.kind == "u" else -9, 10, shape)
    else:
        values = rng.standard_normal(shape) * 4
        if dtype.kind == "c":
            values = values + 1j * rng.standard_normal(shape) * 4
        if special:
            values.reshape(-1)[rng.integers(0, values.size)] = rng.choice([np.nan, np.inf, -np.inf])
    array = np.asarray(values).astype(dtype)
    layout = rng.integers(0, 3)
    if layout == 1:
        return np.flip(np.ascontiguousarray(np.flip(array)))  # the same values, negative strides
    if layout == 2:
        big = np.zeros(tuple(2 * n for n in array.shape), array.dtype)
        big[(slice(None, None, 2),) * array.ndim] = array
        return big[(slice(None, None, 2),) * array.ndim]
    return array


def exact_full(x: np.ndarray, h: np.ndarray, footprint: bool = False) -> np.ndarray:
    """The full convolution as a sum of shifted copies: in Python integers for integer inputs
    (exact), else in (complex) long double. ``footprint``: over the taps above DBL_EPSILON in
    magnitude only, as scipy.ndimage's N-D loop sums them, complex operands part by part as it
    filters them (``real = x.real * h.real - x.imag * h.imag``, each product its own footprint)."""
    kind = np.result_type(x, h).kind
    if footprint and kind == "c":
        xr, xi = np.real(x), np.imag(x)  # (zeros for a real image)
        hr, hi = np.real(h), np.imag(h)
        out = np.zeros(tuple(a + b - 1 for a, b in zip(x.shape, h.shape)), np.clongdouble)
        out.real = exact_full(xr, hr, True) - exact_full(xi, hi, True)
        out.imag = exact_full(xr, hi, True) + exact_full(xi, hr, True)
        return out
    if kind in "biu":
        xs = np.array([int(v) for v in x.ravel()], dtype=object).reshape(x.shape)
        taps = {j: int(h[j]) for j in np.ndindex(h.shape)}
        out = np.zeros(tuple(a + b - 1 for a, b in zip(x.shape, h.shape)), dtype=object)
    else:
        work = np.clongdouble if kind == "c" else np.longdouble
        xs = x.astype(work)
        taps = {j: h[j].astype(work) for j in np.ndindex(h.shape)
                if not (footprint and abs(float(h[j])) <= np.finfo(np.float64).eps)}
        out = np.zeros(tuple(a + b - 1 for a, b in zip(x.shape, h.shape)), work)
    with np.errstate(invalid="ignore", over="ignore"):
        for j, tap in taps.items():
            sl = tuple(slice(jj, jj + n) for jj, n in zip(j, x.shape))
            out[sl] = out[sl] + xs * tap
    return out


def window(full, s1, s2, mode: str, centred: bool = False):
    """The part of the full convolution of shapes ``s1`` and ``s2`` that ``mode`` keeps
    ('valid': relative to the larger input, as scipy does)."""
    if mode == "full":
        return full
    if mode == "same":
        starts = [(k // 2 if centred else (k - 1) // 2) for k in s2]
        return full[tuple(slice(s, s + n) for s, n in zip(starts, s1))]
    small = [min(a, b) for a, b in zip(s1, s2)]
    return full[tuple(slice(k - 1, n + m - k) for n, m, k in zip(s1, s2, small))]


def wrap_to(values, dtype: np.dtype) -> np.ndarray:
    """Exact integers (or long doubles holding them) as ``dtype``, wrapping as NumPy's casts
    from 64-bit integers do."""
    dtype = np.dtype(dtype)
    ints = np.array([int(v) for v in np.asarray(values).ravel()], dtype=object).reshape(np.shape(values))
    if dtype.kind == "b":
        return ints != 0
    bits = 8 * dtype.itemsize
    wrapped = ints % (1 << bits)
    if dtype.kind == "i":
        wrapped = np.where(wrapped >= 1 << (bits - 1), wrapped - (1 << bits), wrapped)
    return wrapped.astype(dtype)


def error_bound(x, h, result: np.ndarray, want, fft: bool):
    """The bound of the module docstring for each output (zero for integer results)."""
    precision = np.dtype(result.dtype).type(0).real.dtype
    eps = float(np.finfo(np.float32 if precision.itemsize <= 4 else np.float64).eps)
    xf, hf = (np.where(np.isfinite(a), np.abs(a), 0).astype(np.float64) for a in (x, h))
    largest = float(np.max(exact_full(xf, hf).astype(np.float64), initial=0.0))
    bound = 4 * h.size * eps * largest
    if fft:
        points = math.prod(a + b for a, b in zip(x.shape, h.shape))
        bound += 8 * math.log2(max(points, 2)) * eps * float(np.linalg.norm(xf) * np.linalg.norm(hf))
    coarse = float(np.finfo(result.dtype).eps) if result.dtype.kind in "fc" else 0.0
    return bound + coarse * np.abs(np.asarray(want, np.clongdouble)).astype(np.float64) + 1e-300


class Soak:
    """Random calls, each checked against `exact_full`; what went wrong is kept."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.calls = 0
        self.mismatches: list[str] = []
        self.worst = 0.0

    def check(self, label: str, got, want, x, h, fft: bool) -> None:
        self.calls += 1
        got = np.asarray(got)
        if got.shape != np.shape(want):
            self.mismatches.append(f"{label}: shape {got.shape} vs {np.shape(want)}")
            return
        if got.dtype.kind in "biu":
            if not np.array_equal(got, wrap_to(want, got.dtype)):
                self.mismatches.append(f"{label}: integers differ")
            return
        g, w = got.astype(np.clongdouble), np.asarray(want, np.clongdouble)
        # which part of a complex non-finite output is NaN depends on the order of the products
        # (C's complex multiplication): for complex results only where they are is compared
        flags = (lambda a: ~np.isfinite(a),) if got.dtype.kind == "c" else \
            (np.isnan, lambda a: np.isinf(a) & ~np.isnan(a))
        for flag in flags:
            if not np.array_equal(flag(g), flag(w)):
                self.mismatches.append(f"{label}: NaN/inf at different outputs")
                return
        finite = np.isfinite(w)
        if finite.any():
            ratio = float(np.max((np.abs(g - w) / error_bound(x, h, got, want, fft))[finite]))
            self.worst = max(self.worst, ratio)
            if ratio > 1:
                self.mismatches.append(f"{label}: error {ratio:.2f}x its bound")

    def one_call(self) -> None:
        rng = self.rng
        family = rng.choice(["signal", "signal", "fft", "2d", "ndimage", "convolver"])
        dtype = rng.choice(INT_DTYPES + FLOAT_DTYPES + FLOAT_DTYPES)
        ndim = 2 if family == "2d" else int(rng.integers(1, 4))
        s1 = tuple(int(n) for n in rng.integers(1, 9, ndim))
        s2 = tuple(int(n) for n in rng.integers(1, 7, ndim))  # larger than the image at times
        x = draw_array(rng, s1, dtype, np.dtype(dtype).kind in "fc" and rng.random() < 0.1)
        h = draw_array(rng, s2, dtype if rng.random() < 0.7 else "float64", False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(self, f"call_{family}")(x, h, int(rng.integers(1, 5)))

    def call_signal(self, x, h, threads) -> None:
        name = self.rng.choice(["convolve", "correlate"])
        mode = self.rng.choice(["full", "same", "valid"])
        method = self.rng.choice(["auto", "direct", "fft", "tiled"])
        if mode == "valid" and not (all(a >= b for a, b in zip(x.shape, h.shape))
                                    or all(a <= b for a, b in zip(x.shape, h.shape))):
            return
        kernel = np.conj(np.flip(h)) if name == "correlate" else h
        want = window(exact_full(x, kernel), x.shape, h.shape, mode)
        got = getattr(fftconv, name)(x, h, mode, method, threads=threads)
        self.check(f"{name} {x.shape}{x.dtype} * {h.shape}{h.dtype} {mode} {method}", got, want, x, h,
                   method in ("fft", "tiled") or got.dtype.kind in "fc")

    def call_fft(self, x, h, threads) -> None:
        mode = self.rng.choice(["full", "same"])
        name = self.rng.choice(["fftconvolve", "oaconvolve"])
        got = getattr(fftconv, name)(x, h, mode, threads=threads)
        want = window(exact_full(x, h), x.shape, h.shape, mode)
        if got.dtype.kind in "biu":  # every axis broadcast: NumPy's product, exact
            want = want.astype(object)
        self.check(f"{name} {x.shape}{x.dtype} * {h.shape}{h.dtype} {mode}", got, want, x, h, True)

    def call_2d(self, x, h, threads) -> None:
        name = self.rng.choice(["convolve2d", "correlate2d"])
        mode = self.rng.choice(["full", "same"])
        boundary = self.rng.choice(["fill", "wrap", "symm"])
        kernel = np.conj(np.flip(h)) if name == "correlate2d" else h
        ext = extend(x, [(k - 1, k - 1) for k in h.shape], {"fill": "constant", "wrap": "wrap",
                                                              "symm": "symmetric"}[boundary])
        full = window(exact_full(ext, kernel), ext.shape, kernel.shape, "valid")
        want = window(full, x.shape, h.shape, mode, centred=name == "correlate2d")
        got = getattr(fftconv, name)(x, h, mode, boundary, threads=threads)
        self.check(f"{name} {x.shape}{x.dtype} * {h.shape} {mode} {boundary}", got, want, x, h,
                   got.dtype.kind in "fc")

    def call_ndimage(self, x, h, threads) -> None:
        if x.dtype.kind == "b" or x.dtype == np.float16 or h.dtype.kind == "b":
            return
        mode = self.rng.choice(list(NP_PAD))
        name = self.rng.choice(["convolve", "correlate"])
        origin = [int(self.rng.integers(-(k // 2), (k - 1) // 2 + 1)) for k in h.shape]
        # as a correlation: weights flipped for convolve (origin mirrored), conjugated for correlate
        weights, o = (np.flip(h), [-oo - (1 - k % 2) for oo, k in zip(origin, h.shape)]) \
            if name == "convolve" else (np.conj(h), origin)
        pads = [k + 2 * (k + n) for k, n in zip(h.shape, x.shape)]
        ext = extend(x.astype(np.result_type(x, np.float64)), [(p, p) for p in pads], NP_PAD[mode])
        full = exact_full(ext, np.flip(weights), footprint=True)
        starts = [p + k - 1 - (k // 2 + oo) for p, k, oo in zip(pads, h.shape, o)]
        want = full[tuple(slice(s, s + n) for s, n in zip(starts, x.shape))]
        got = getattr(fftconv.ndimage, name)(x, h, mode=mode, origin=origin, threads=threads)
        label = f"ndimage.{name} {x.shape}{x.dtype} * {h.shape}{h.dtype} {mode} origin {origin}"
        if got.dtype.kind not in "iu":
            self.check(label, got, want, ext, h, True)
            return
        values = np.asarray(want).real.astype(np.longdouble)  # truncated, or snapped then truncated
        nearest = np.rint(values)
        scale = max(float(np.max(np.abs(values))), 1.0)
        close = np.abs(values - nearest) <= 64 * np.finfo(np.float64).eps * scale
        self.calls += 1
        if not any(np.array_equal(got, wrap_to(np.trunc(v), got.dtype))
                   for v in (values, np.where(close, nearest, values))):
            self.mismatches.append(f"{label}: integers differ")

    def call_convolver(self, x, h, threads) -> None:
        mode = self.rng.choice(["full", "same"])
        conv = fftconv.Convolver(h, x.shape, mode, dtype=np.result_type(x.dtype, h.dtype, np.float16),
                                 threads=threads)
        want = window(exact_full(x, h), x.shape, h.shape, mode)
        self.check(f"Convolver {x.shape}{x.dtype} * {h.shape} {mode}", conv(x), want, x, h, True)


def extend(x: np.ndarray, widths, np_mode: str) -> np.ndarray:
    """``x`` padded by ``widths`` per axis, one axis at a time, as far as any width asks (an
    axis of length 1 repeats its sample where 'reflect' would need two)."""
    for axis, width in enumerate(widths):
        per_axis = [(0, 0)] * x.ndim
        per_axis[axis] = width
        name = "edge" if np_mode == "reflect" and x.shape[axis] == 1 else np_mode
        x = np.pad(x, per_axis, mode=name)
    return x


def every_module() -> list:
    """Every module of fftconv, imported (before the heap is traced: importing fftconv.astropy,
    fftconv.dask and fftconv.nn loads astropy and dask, tens of MiB that no call leaked)."""
    import importlib
    import pkgutil

    return [importlib.import_module(info.name) for info in pkgutil.walk_packages(fftconv.__path__, "fftconv.")
            if not info.name.endswith("__main__")]  # the command line, not a library module


def clear_caches(modules: list) -> None:
    """Empty every cache fftconv keeps in ``modules`` (`every_module`): what
    `fftconv.release_memory` drops (routes, kept kernels and kernel spectra, FFTW's pairs,
    scratch buffers), the memoised plans and every function's lru_cache; what the heap holds
    afterwards is what calls leaked."""
    fftconv.release_memory()
    for module in modules:
        for value in list(vars(module).values()):
            if callable(getattr(value, "cache_clear", None)):
                value.cache_clear()
    fftconv.engine.run._memo.clear()
    gc.collect()  # a trial and its contending plans refer to each other: a cycle the collector frees


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    machine = machine_info(1)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    soak = Soak(args.seed)
    modules = every_module()
    tracemalloc.start()
    start = time.perf_counter()
    heap = {}
    while soak.calls < args.calls:
        soak.one_call()
        for mark in (args.calls // 10, args.calls // 2, args.calls):
            if soak.calls == mark and mark not in heap:
                heap[mark] = tracemalloc.get_traced_memory()[0]
    clear_caches(modules)
    cleared = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    for line in soak.mismatches[:20]:
        print("MISMATCH", line)
    summary = {"calls": soak.calls, "mismatches": len(soak.mismatches), "worst_error_over_bound": soak.worst}
    summary.update({f"heap_MiB_after_{mark}_calls": nbytes / 2**20 for mark, nbytes in heap.items()})
    summary["heap_MiB_after_clearing_caches"] = cleared / 2**20
    summary["seconds"] = time.perf_counter() - start
    report_summary(summary, machine, soak.mismatches, args.json)
    return 1 if soak.mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
