"""Faults and stress: concurrent calls, interrupts, broken wisdom files, and inputs that are
never written to, on every path."""

import errno
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.signal
from conftest import assert_close

import fftconv
import fftconv.ndimage
from fftconv import config
from fftconv.backends import fftw, pocketfft, wisdom_store


def mixed_calls(rng):
    """(call, expected) pairs over functions, methods, dtypes, shapes and thread counts."""
    calls = []
    for i in range(24):
        dtype = ["float64", "float32", "complex128", "int16"][i % 4]
        shape = [(60, 50), (33, 47), (200,), (12, 14, 9)][i % 4]
        kshape = [(7, 5), (3, 3), (31,), (3, 4, 2)][i % 4]
        x = (rng.standard_normal(shape) * 10).astype(dtype)
        h = (rng.standard_normal(kshape) * 3).astype(dtype)
        method = ["auto", "direct", "fft", "tiled"][i % 4 if dtype != "int16" else 1]
        threads = 1 + i % 3
        if i % 6 == 5:
            xf, hf = x.astype(float), h.astype(float)
            calls.append((lambda x=xf, h=hf, t=threads:
                          fftconv.ndimage.correlate(x, h, mode="mirror", threads=t),
                          scipy.ndimage.correlate(xf, hf, mode="mirror")))
        else:
            calls.append((lambda x=x, h=h, m=method, t=threads: fftconv.convolve(x, h, "same", m, threads=t),
                          scipy.signal.convolve(x, h, "same", "direct")))
    return calls


def test_an_error_in_a_thread_sharing_out_chunks_is_raised_once_all_stop():
    from fftconv.backends.threads import claim_in_turn

    done = []

    def runner():
        def run(item):
            if item == 3:
                raise ValueError("chunk 3")
            done.append(item)
        return run

    with pytest.raises(ValueError, match="chunk 3"):
        claim_in_turn(40, 2, runner)
    assert 3 not in done and len(done) == len(set(done))  # each item claimed once
    claim_in_turn(5, 2, lambda: done.append)  # the pool is still usable
    assert sorted(done[-5:]) == [0, 1, 2, 3, 4]


def test_many_threads_at_once_give_the_serial_answers(rng):
    calls = mixed_calls(rng)
    serial = [call() for call, _ in calls]
    for got, (_, want) in zip(serial, calls):
        assert_close(got, want, ulps=2000)
    with ThreadPoolExecutor(6) as pool:
        for _ in range(3):
            order = rng.permutation(len(calls))
            results = list(pool.map(lambda i: calls[i][0](), order))
            for i, got in zip(order, results):
                # no state leaks (a shared buffer would be far off). Not bit for bit: a repeated
                # signature may run a measured FFTW plan or a trial's contender by now
                assert_close(got, serial[i], ulps=64)


@pytest.mark.parametrize("effort, pair_class", [("estimate", fftw.TransformPair),
                                                 ("auto", pocketfft.PocketPair)])
def test_an_interrupted_tiled_run_leaves_the_process_usable(rng, monkeypatch, effort, pair_class):
    x, h = rng.standard_normal((600, 600)), rng.standard_normal((9, 9))
    want = scipy.signal.fftconvolve(x, h, "same")
    forwards = []
    real_forward = pair_class.forward

    def interrupted(self):
        forwards.append(1)
        if len(forwards) == 6:
            raise KeyboardInterrupt
        real_forward(self)

    fftw.clear_cache()  # a first call: 'auto' runs these small tiles on pocketfft
    monkeypatch.setattr(pair_class, "forward", interrupted)
    with config.override(planner_effort=effort), pytest.raises(KeyboardInterrupt):
        fftconv.convolve(x, h, "same", "tiled", threads=2)
    monkeypatch.setattr(pair_class, "forward", real_forward)
    assert fftw._plan_lock.acquire(blocking=False)  # nothing stays locked
    fftw._plan_lock.release()
    with config.override(planner_effort=effort):
        for threads in (2, 1):
            assert_close(fftconv.convolve(x, h, "same", "tiled", threads=threads), want)


def interrupt_third_call(monkeypatch, module, name: str):
    """Patch ``module.name`` to raise KeyboardInterrupt on its third call; returns the real one."""
    real = getattr(module, name)
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, interrupted)
    return real


@pytest.mark.parametrize("method", ["fft", "direct"])
def test_an_interrupted_streamed_run_leaves_the_process_usable(rng, monkeypatch, method):
    """Interrupted in the third read: of a tile by the boundary mode (FFT), or inside the
    compiled direct loop that reads the halo itself; both read the image with its halo."""
    from fftconv.executors import direct_compiled, spectral

    x, w = rng.standard_normal((300, 200)), rng.standard_normal((5, 5))
    module, name = (spectral, "fill_extended") if method == "fft" else (direct_compiled, "_call")
    if method == "direct" and direct_compiled.loops() is None:
        pytest.skip("the compiled loops are not built")
    real = interrupt_third_call(monkeypatch, module, name)
    with config.override(memory_limit="256KiB"):
        with pytest.raises(KeyboardInterrupt):
            fftconv.ndimage.convolve(x, w, method=method)
        monkeypatch.setattr(module, name, real)
        assert_close(fftconv.ndimage.convolve(x, w, method=method), scipy.ndimage.convolve(x, w), ulps=1000)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("method", ["tiled", "direct"])
def test_an_interrupted_filter_of_holes_leaves_the_process_usable(rng, monkeypatch, threads, method):
    """Interrupted in the third read of values and weights (a tile's on the FFTs, a band's on
    direct sums), on a worker thread or the calling one: the next call gives the whole answer."""
    from fftconv.engine import holes

    x = rng.standard_normal((1000, 800))  # tiles of a 9x9 kernel, or bands: many on any machine
    x[rng.random(x.shape) < 0.05] = np.nan
    w = rng.random((9, 9)) + 0.1
    want = fftconv.ndimage.convolve(x, w, nan="interpolate", method="fft")
    real = interrupt_third_call(monkeypatch, holes, "fill_extended")  # what reads the planes
    with pytest.raises(KeyboardInterrupt):
        fftconv.ndimage.convolve(x, w, nan="interpolate", method=method, threads=threads)
    monkeypatch.setattr(holes, "fill_extended", real)
    got = fftconv.ndimage.convolve(x, w, nan="interpolate", method=method, threads=threads)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want), atol=1e-12 * np.nanmax(np.abs(want)))


@pytest.fixture
def fresh_wisdom(tmp_path):
    fftw.forget_wisdom()
    yield tmp_path / "cache" / "wisdom"
    fftw.forget_wisdom()


def measured_convolution(rng):
    x, h = rng.standard_normal((96, 80)), rng.standard_normal((5, 5))
    return fftconv.convolve(x, h, method="fft", threads=1), scipy.signal.fftconvolve(x, h)


@pytest.mark.parametrize("failure", [PermissionError(errno.EACCES, "Permission denied"),
                                     OSError(errno.ENOSPC, "No space left on device")])
def test_wisdom_that_cannot_be_saved_is_a_warning(rng, fresh_wisdom, monkeypatch, failure):
    real_fdopen = os.fdopen

    def failing(fd, *args, **kwargs):
        handle = real_fdopen(fd, *args, **kwargs)

        class Failing:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                handle.close()

            def write(self, text):
                raise failure

        return Failing()

    monkeypatch.setattr(wisdom_store.os, "fdopen", failing)
    with config.override(wisdom=str(fresh_wisdom), planner_effort="measure"):
        with pytest.warns(RuntimeWarning, match="cannot save FFTW wisdom"):
            got, want = measured_convolution(rng)
    assert_close(got, want)
    assert list(fresh_wisdom.iterdir()) == []  # no temporary left


def test_truncated_wisdom_is_a_warning(rng, fresh_wisdom):
    with config.override(wisdom=str(fresh_wisdom), planner_effort="measure"):
        measured_convolution(rng)
    (saved,) = fresh_wisdom.iterdir()  # one transform size: one file
    text = saved.read_text()
    assert json.loads(text)["format"] == wisdom_store.FORMAT
    saved.write_text(text[: len(text) // 2])
    fftw.forget_wisdom()
    with config.override(wisdom=str(fresh_wisdom)):
        with pytest.warns(RuntimeWarning, match="wisdom"):
            got, want = measured_convolution(rng)
    assert_close(got, want)


CASES = ["signal", "fft", "2d", "ndimage", "convolver", "separable"]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32", "complex128", "int32"])
def test_inputs_are_never_written_to(rng, case, dtype):
    """Read-only inputs (a write would raise), NaN and inf included (the repair paths)."""
    x = (rng.standard_normal((70, 64)) * 5).astype(dtype)
    k = np.outer(np.hanning(7), np.hanning(5)).astype(dtype) if case == "separable" else \
        (rng.standard_normal((7, 5)) * 2).astype(dtype)
    if x.dtype.kind in "fc":
        x[3, 4] = np.nan
        x[40, 9] = np.inf
    copies = x.copy(), k.copy()
    x.flags.writeable = False
    k.flags.writeable = False
    separable = ["separable"] if case == "separable" and dtype != "int32" else []
    methods = ["auto", "direct", "fft", "tiled"] + separable
    for method in methods:
        if case in ("signal", "separable"):
            fftconv.convolve(x, k, "same", method, threads=2)
            fftconv.correlate(x, k, "full", method, threads=1)
        elif case == "fft":
            fftconv.fftconvolve(x, k, "valid")
            fftconv.oaconvolve(x, k, "same")
        elif case == "2d":
            fftconv.convolve2d(x, k, "same", "symm", method=method)
            fftconv.correlate2d(x, k, "full", "wrap", method=method)
        elif case == "ndimage":
            fftconv.ndimage.convolve(x, k, mode="reflect", method=method)
        elif case == "convolver":
            fftconv.Convolver(k, x.shape, "same", method, dtype=x.dtype)(x)
    np.testing.assert_array_equal(x, copies[0])
    np.testing.assert_array_equal(k, copies[1])


def test_threads_share_no_scratch_with_a_convolver(rng):
    conv = fftconv.Convolver(rng.standard_normal((9, 9)), (128, 128), "same", "tiled", threads=1)
    images = [rng.standard_normal((128, 128)) for _ in range(6)]
    serial = [conv(image) for image in images]
    barrier = threading.Barrier(3)

    def run(i):
        barrier.wait()
        return [conv(images[j]) for j in range(i, 6, 3)]

    with ThreadPoolExecutor(3) as pool:
        for i, results in enumerate(pool.map(run, range(3))):
            for j, got in zip(range(i, 6, 3), results):
                np.testing.assert_array_equal(got, serial[j])
