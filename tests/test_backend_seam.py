"""A second FFT backend, written outside the package on numpy.fft: the spectral executors run
on it unchanged, the plan records it, and FFTW is not touched while it is selected."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
from conftest import assert_close

import fftconv
from fftconv.backends import fftw, register_backend, unregister_backend


class NumpyPair:
    """The `TransformPair` protocol on numpy.fft (out of place inside, in place to callers)."""

    def __init__(self, batch_shape, fft_shape, real, dtype):
        self.fft_shape = tuple(fft_shape)
        self.axes = tuple(range(len(batch_shape), len(batch_shape) + len(fft_shape)))
        self.real = real
        self.data = np.zeros(tuple(batch_shape) + self.fft_shape, dtype)
        last = self.fft_shape[-1] // 2 + 1 if real else self.fft_shape[-1]
        spectrum_shape = self.fft_shape[:-1] + (last,)
        complex_dtype = np.result_type(dtype, np.complex64)
        self.spectrum = np.zeros(tuple(batch_shape) + spectrum_shape, complex_dtype)
        self.transforms = 0

    def begin(self):
        pass

    def forward(self):
        transform = np.fft.rfftn if self.real else np.fft.fftn
        self.spectrum[...] = transform(self.data, axes=self.axes)
        self.transforms += 1

    def inverse(self):  # unnormalised, as the protocol asks
        points = int(np.prod(self.fft_shape))
        if self.real:
            self.data[...] = np.fft.irfftn(self.spectrum, s=self.fft_shape, axes=self.axes) * points
        else:
            self.data[...] = np.fft.ifftn(self.spectrum, axes=self.axes) * points
        self.transforms += 1


class NumpyBackend:
    name = "numpy-test"

    def __init__(self):
        self.pairs = []

    def supports(self, dtype):
        return np.dtype(dtype).type(0).real.dtype in (np.float32, np.float64)

    def transform_pair(self, batch_shape, fft_shape, real, dtype, threads=1, uses=1):
        pair = NumpyPair(batch_shape, fft_shape, real, dtype)
        self.pairs.append(pair)
        return pair

    def clear_cache(self):
        self.pairs.clear()

    def version(self):
        return f"numpy.fft {np.__version__}"


@pytest.fixture
def numpy_backend(monkeypatch):
    backend = register_backend(NumpyBackend())

    def no_fftw(*args, **kwargs):
        raise AssertionError("FFTW was used while another backend is selected")

    monkeypatch.setattr(fftw, "transform_pair", no_fftw)
    with fftconv.config.override(backend="numpy-test"):
        yield backend
    unregister_backend("numpy-test")


@pytest.mark.parametrize("method", ["fft", "tiled"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
def test_spectral_methods_run_on_another_backend(numpy_backend, rng, method, dtype):
    a = rng.standard_normal((70, 50)).astype(dtype)
    b = rng.standard_normal((9, 4)).astype(dtype)
    plan = fftconv.plan(a, b, "same", method)
    assert plan.backend == "numpy-test" and "on numpy-test" in plan.explain()
    want = scipy.signal.convolve(a, b, "same", "direct")
    assert_close(fftconv.convolve(a, b, "same", method), want, ulps=2000)
    assert sum(p.transforms for p in numpy_backend.pairs) >= 3  # the kernel's, and a tile's pair


def test_nonfinite_values_and_convolver_on_another_backend(numpy_backend, rng):
    a = rng.standard_normal((40, 40))
    a[5, 7] = np.nan
    got = fftconv.fftconvolve(a, np.ones((3, 3)), "same")
    assert np.isnan(got).sum() == 9
    blur = fftconv.Convolver(np.ones((5, 5)) / 25, (40, 40), "same", method="fft")
    assert blur.plan.backend == "numpy-test"
    image = rng.standard_normal((40, 40))
    assert_close(blur(image), scipy.signal.convolve(image, np.ones((5, 5)) / 25, "same"))


def test_a_dtype_the_backend_lacks_goes_elsewhere(numpy_backend, rng):
    a = rng.standard_normal((30, 30)).astype(np.longdouble)
    plan = fftconv.plan(a, np.ones((3, 3), np.longdouble))
    assert plan.method == "direct" and "fft" not in plan.candidates
    with pytest.raises(ValueError, match="FFT backend"):
        fftconv.convolve(a, np.ones((3, 3), np.longdouble), method="fft")


def test_unknown_backend_is_a_config_error(monkeypatch):
    with pytest.raises(fftconv.ConfigError, match="numpy-test|fftw"):
        with fftconv.config.override(backend="cufft"):
            pass
    monkeypatch.setenv("FFTCONV_BACKEND", "cufft")
    with pytest.raises(fftconv.ConfigError, match="FFTCONV_BACKEND"):
        fftconv.config.get()


@pytest.mark.parametrize("library", ["numpy.fft", "scipy.fft"])
@pytest.mark.parametrize("dtype, real", [("float32", True), ("float64", True), ("complex64", False),
                                         ("complex128", False)])
@pytest.mark.parametrize("batch, kernel, fft_shape", [((), (5,), (12,)), ((3,), (4, 7), (9, 16)),
                                                      ((), (3, 2, 5), (8, 6, 10))])
def test_pocketfft_kernel_spectra_skip_the_padding_and_equal_the_full_transform(
        rng, monkeypatch, library, dtype, real, batch, kernel, fft_shape):
    from fftconv.backends import pocketfft
    from fftconv.executors.spectral import _transformed

    monkeypatch.setattr(pocketfft, "library", lambda: library)
    values = rng.standard_normal(batch + kernel)
    if not real:
        values = values + 1j * rng.standard_normal(batch + kernel)
    values = values.astype(dtype)
    padded = np.zeros(batch + fft_shape, dtype)
    padded[(Ellipsis,) + tuple(slice(0, n) for n in kernel)] = values
    axes = tuple(range(len(batch), len(batch) + len(fft_shape)))
    want = (np.fft.rfftn if real else np.fft.fftn)(padded.astype(np.complex128 if not real else np.float64),
                                                     axes=axes) / np.prod(fft_shape)
    pair = pocketfft.PocketPair(batch, fft_shape, real, np.dtype(dtype), 1)
    got = pocketfft.scaled_spectrum(values, fft_shape, real, np.dtype(dtype))
    assert got.dtype == pair.spectrum.dtype and got.shape == want.shape
    assert np.allclose(got, want, rtol=0, atol=1e-5 if dtype in ("float32", "complex64") else 1e-13)
    for backend in ("pocketfft", "fftw"):  # fftw: by pocketfft while the size is new (2-D and more)
        spectrum = _transformed(values, fft_shape, real, np.dtype(dtype), 1, backend)
        assert spectrum.dtype == pair.spectrum.dtype and np.allclose(spectrum, want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("library", ["numpy.fft", "scipy.fft"])
@pytest.mark.parametrize("dtype, real", [("float32", True), ("float64", True), ("complex64", False),
                                         ("complex128", False)])
@pytest.mark.parametrize("batch, fft_shape", [((), (12,)), ((3,), (9, 16)), ((), (8, 6, 10)),
                                              ((2,), (5, 4, 7))])
def test_pocketfft_pairs_transform_every_axis_unnormalised(rng, monkeypatch, library, dtype, real, batch,
                                                           fft_shape):
    """A pair's forward transform is the unnormalised FFT over its axes (numpy.fft's pairs
    transform one axis at a time into their buffers), and its inverse gives the data back
    times the points transformed."""
    from fftconv.backends import pocketfft

    monkeypatch.setattr(pocketfft, "library", lambda: library)
    x = rng.standard_normal(batch + fft_shape)
    if not real:
        x = x + 1j * rng.standard_normal(batch + fft_shape)
    axes = tuple(range(len(batch), len(batch) + len(fft_shape)))
    want = (np.fft.rfftn if real else np.fft.fftn)(x, axes=axes)
    pair = pocketfft.PocketPair(batch, fft_shape, real, np.dtype(dtype), 1)
    pair.data[...] = x
    pair.forward()
    tol = 1e-5 if dtype in ("float32", "complex64") else 1e-12
    assert pair.spectrum.shape == want.shape
    assert np.abs(pair.spectrum - want).max() <= tol * np.abs(want).max()
    pair.inverse()
    points = np.prod(fft_shape)
    assert pair.data.dtype == np.dtype(dtype)
    assert np.abs(pair.data - points * x.astype(dtype)).max() <= tol * points * np.abs(x).max()


@pytest.mark.parametrize("library", ["numpy.fft", "scipy.fft"])
@pytest.mark.parametrize("fft_shape", [(5, 6), (12, 4)])
def test_a_kernel_longer_than_the_transform_is_cut_as_rfftn_cuts_it(rng, monkeypatch, library, fft_shape):
    from fftconv.backends import pocketfft

    monkeypatch.setattr(pocketfft, "library", lambda: library)
    values = rng.standard_normal((2, 9, 7))
    want = np.fft.rfftn(values, s=fft_shape, axes=(1, 2)) / np.prod(fft_shape)
    got = pocketfft.scaled_spectrum(values, fft_shape, True, np.dtype(np.float64))
    assert got.shape == want.shape and np.allclose(got, want, rtol=0, atol=1e-13)


def test_fftw_leaves_a_kernel_spectrum_to_pocketfft_only_while_its_2d_size_is_new(monkeypatch):
    from fftconv.backends import pocketfft

    asked = []
    monkeypatch.setattr(pocketfft, "scaled_spectrum", lambda *args: asked.append(args[1]) or "pruned")
    kernel = np.ones((3, 3))
    monkeypatch.setattr(fftw.FFTW, "final", lambda shape, real, dtype: False)
    assert fftw.FFTW.scaled_spectrum(kernel, (16, 16), True, np.dtype(np.float64)) == "pruned"
    # 1-D: no padding to skip
    assert fftw.FFTW.scaled_spectrum(kernel[0], (16,), True, np.dtype(np.float64)) is None
    monkeypatch.setattr(fftw.FFTW, "final", lambda shape, real, dtype: True)
    # measured plans serve
    assert fftw.FFTW.scaled_spectrum(kernel, (16, 16), True, np.dtype(np.float64)) is None
    assert asked == [(16, 16)]


@pytest.mark.parametrize("library", ["numpy.fft", "scipy.fft"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
@pytest.mark.parametrize("method", ["fft", "tiled"])
def test_pocketfft_pairs_take_whatever_buffers_their_transforms_hand_over(rng, monkeypatch, library, dtype,
                                                                         method):
    from fftconv.backends import pocketfft

    monkeypatch.setattr(pocketfft, "library", lambda: library)
    pocketfft.POCKETFFT.clear_cache()
    x = rng.standard_normal((300, 97))
    h = rng.standard_normal((9, 13))
    if dtype == "complex128":
        x, h = x + 1j * rng.standard_normal(x.shape), h + 1j * rng.standard_normal(h.shape)
    x, h = x.astype(dtype), h.astype(dtype)
    want = scipy.signal.fftconvolve(x.astype(np.complex128), h.astype(np.complex128), "same")
    if dtype != "complex128":
        want = want.real
    with fftconv.config.override(backend="pocketfft"):
        for _ in range(3):  # the buffers handed over by one call are the next call's
            assert_close(fftconv.convolve(x, h, "same", method=method, threads=1), want.astype(x.dtype))
    pair = pocketfft.PocketPair((), (8,), dtype != "complex128", np.dtype(dtype), 1)
    pair.data[...] = 1
    pair.forward()
    pair.inverse()
    assert np.allclose(pair.data, 8) and pair.data.dtype == np.dtype(dtype)


_SPIN_PROBE = """
import json, os, resource, statistics, sys, time
from fftconv.backends import fftw
core = fftw._pyfftw()
libgomp = any("gomp" in line for line in open("/proc/self/maps"))
x = core.empty_aligned((256, 256), "complex128")  # large enough for FFTW to use both threads
x[:] = 1
transform = core.FFTW(x, x, axes=(0, 1), threads=2, flags=("FFTW_ESTIMATE",))
spun = []
for _ in range(15):
    transform()
    before = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(0.03)  # this thread sleeps: the process' CPU time is the idle threads' spinning
    after = resource.getrusage(resource.RUSAGE_SELF)
    spun.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
print(json.dumps({"libgomp": libgomp, "spun": statistics.median(spun),
                  "left": os.environ.get("GOMP_SPINCOUNT")}))
"""


def _spin_after_a_transform(extra_env: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")} | extra_env
    done = subprocess.run([sys.executable, "-c", _SPIN_PROBE], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@pytest.mark.skipif(_cores() < 2 or not os.path.exists("/proc/self/maps"),
                    reason="libgomp does not spin where its threads outnumber the cores")
def test_fftw_threads_spin_briefly_after_a_transform_unless_the_user_chose():
    """pyFFTW's wheels run FFTW's threads on a libgomp of their own, whose idle threads spin
    300,000 times after each transform (milliseconds on a core fftconv's own threads, BLAS or
    the user's work then lack); fftconv loads it with `fftw.GOMP_SPINS` and leaves the
    environment as it was, and a user's own GOMP_SPINCOUNT is kept."""
    ours = _spin_after_a_transform({})
    if not ours["libgomp"]:
        pytest.skip("this pyFFTW's FFTW threads are not OpenMP's")
    theirs = _spin_after_a_transform({"GOMP_SPINCOUNT": "300000"})
    for _ in range(2):  # a probe sharing the cores with other work spins less: the longest of three
        if theirs["spun"] > 1e-3 and ours["spun"] < theirs["spun"] / 3:
            break
        theirs = max(theirs, _spin_after_a_transform({"GOMP_SPINCOUNT": "300000"}), key=lambda r: r["spun"])
    assert ours["left"] is None and theirs["left"] == "300000"
    assert theirs["spun"] > 1e-3  # the default spins for milliseconds...
    assert ours["spun"] < theirs["spun"] / 3  # ... fftconv's a tenth of that
