"""fftconv.dask: lazy dask arrays chunk by chunk, equal to the in-memory engine's answers, with
halos wider than chunks, uneven chunks and every boundary mode, on dask's threads and on a
real distributed LocalCluster of two worker processes (one of them killed mid-computation)."""

import contextlib
import itertools
import os
import pickle
import time

import numpy as np
import pytest
from conftest import assert_close, run_peer_tests
from hypothesis import given, settings
from hypothesis import strategies as st

da = pytest.importorskip("dask.array")  # the `dask` extra; `.[test]` installs it

import fftconv  # noqa: E402
import fftconv.dask  # noqa: E402
import fftconv.dask.ndimage  # noqa: E402
import fftconv.ndimage  # noqa: E402
from fftconv.core.boundary import MODES  # noqa: E402


def values(rng, shape, dtype):
    data = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        data = data + 1j * rng.standard_normal(shape)
    return data.astype(dtype)


@pytest.mark.parametrize("mode", MODES)
def test_ndimage_every_mode_equals_the_in_memory_filter(rng, mode):
    cases = [((23, 17), (5, 4), (7, 5), "float64"), ((30, 20), (9, 9), (4, 3), "float32"),  # halo > chunk
             ((9, 10, 11), (3, 2, 5), (4, 5, 3), "float64"), ((16, 12), (3, 3), (5, 7), "complex128"),
             ((40,), (13,), (6,), "float64")]
    for shape, wshape, chunks, dtype in cases:
        x = values(rng, shape, dtype)
        w = rng.standard_normal(wshape)
        cval = 0.5 - 0.25j if x.dtype.kind == "c" else 0.5
        for func, origin in itertools.product(("correlate", "convolve"), ((0,) * len(wshape),
                                              tuple(-(k // 2) for k in wshape))):
            lazy = getattr(fftconv.dask.ndimage, func)
            got = lazy(da.from_array(x, chunks=chunks), w, mode=mode, cval=cval, origin=origin)
            assert isinstance(got, da.Array) and got.chunks == da.from_array(x, chunks=chunks).chunks
            want = getattr(fftconv.ndimage, func)(x, w, mode=mode, cval=cval, origin=origin)
            assert got.dtype == want.dtype
            assert_close(got.compute(), want, ulps=1000 if dtype == "float32" else 200)


def test_ndimage_axes_and_integer_outputs(rng):
    x = rng.integers(0, 255, (3, 40, 30)).astype(np.uint8)
    w = rng.random((5, 5)).astype(np.float32)
    got = fftconv.dask.ndimage.correlate(x, w, axes=(1, 2), chunks=(1, 13, 11), mode="mirror")
    np.testing.assert_array_equal(got.compute(), fftconv.ndimage.correlate(x, w, axes=(1, 2), mode="mirror"))


SEPARABLE_CALLS = [
    ("gaussian_filter", (1.5,), {}), ("gaussian_filter", ([2.0, 0.7],), {"order": [1, 0], "radius": [9, 2]}),
    ("gaussian_filter1d", (3.0,), {"axis": 0, "order": 2}), ("uniform_filter", ([5, 2],), {"origin": [1, 0]}),
    ("uniform_filter1d", (4,), {"axis": 0}), ("correlate1d", ([1.0, -2.0, 0.5, 3.0],), {"origin": -1}),
    ("convolve1d", ([1.0, -2.0, 0.5, 3.0],), {"axis": 0}), ("sobel", (), {"axis": 0}), ("prewitt", (), {}),
    ("laplace", (), {}), ("gaussian_laplace", ([1.0, 2.0],), {}),
    ("gaussian_gradient_magnitude", (1.2,), {"truncate": 3.0}),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, args, kwargs", SEPARABLE_CALLS)
def test_separable_filters_equal_scipys_across_chunks(rng, mode, name, args, kwargs):
    import scipy.ndimage

    x = rng.standard_normal((37, 29))
    chunks = (6, 5)  # a Gaussian of sigma 3 reads 12 rows on either side: halos of several chunks
    got = getattr(fftconv.dask.ndimage, name)(da.from_array(x, chunks=chunks), *args, mode=mode, cval=0.75,
                                              **kwargs)
    assert isinstance(got, da.Array) and got.chunks == da.from_array(x, chunks=chunks).chunks
    want = getattr(scipy.ndimage, name)(x, *args, mode=mode, cval=0.75, **kwargs)
    assert_close(got.compute(), want, ulps=400)


@pytest.mark.parametrize("name, kwargs", [("sobel", {"axis": 0}), ("prewitt", {"axis": 1}),
                                          ("correlate1d", {"weights": [1.0, 0.0, -1.0]})])
def test_separable_passes_sum_a_zero_weight_over_an_infinity_as_scipys(rng, name, kwargs):
    """scipy's 1-D filters sum every weight: a derivative's zero tap over an inf pixel makes
    NaN. The chunks' passes had gone through the N-D correlate, which leaves zero weights out
    (as scipy.ndimage.correlate does): finite there."""
    import scipy.ndimage

    x = rng.standard_normal((13, 31))
    x[5, 7], x[9, 30] = np.inf, -np.inf
    want = getattr(scipy.ndimage, name)(x, **kwargs)
    got = getattr(fftconv.dask.ndimage, name)(da.from_array(x, chunks=(10, 5)), **kwargs).compute()
    assert np.isnan(want).sum() >= 2
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[np.isinf(want)], want[np.isinf(want)])
    finite = np.isfinite(want)
    assert_close(got[finite], want[finite])


def test_separable_filters_keep_scipys_dtypes_and_truncation(rng):
    import scipy.ndimage

    x = rng.integers(0, 255, (30, 41)).astype(np.uint8)
    for name, args in [("gaussian_filter", (2.0,)), ("uniform_filter", (4,)), ("sobel", ()),
                       ("gaussian_gradient_magnitude", (1.0,)), ("laplace", ())]:
        got = getattr(fftconv.dask.ndimage, name)(x, *args, chunks=(7, 9))
        want = getattr(scipy.ndimage, name)(x, *args)
        assert got.dtype == want.dtype == np.uint8
        np.testing.assert_array_equal(got.compute(), want)  # every pass truncates, as scipy's do
    f32 = rng.standard_normal((20, 20)).astype(np.float32)
    got = fftconv.dask.ndimage.gaussian_filter(f32, 2.0, output=np.float64, chunks=7)
    assert got.dtype == np.float64
    assert_close(got.compute(), scipy.ndimage.gaussian_filter(f32, 2.0, output=np.float64))
    cplx = values(rng, (12, 9), "complex128")
    assert_close(fftconv.dask.ndimage.uniform_filter(cplx, 3, chunks=4).compute(),
                 scipy.ndimage.uniform_filter(cplx, 3))


@pytest.mark.parametrize("name, args", [("correlate", (np.ones((3, 3)),)), ("gaussian_filter", (1.5,))])
def test_big_endian_chunks_give_scipys_native_dtype(rng, name, args):
    import scipy.ndimage

    x = rng.standard_normal((20, 30)).astype(">f4")
    got = getattr(fftconv.dask.ndimage, name)(da.from_array(x, chunks=(7, 11)), *args)
    want = getattr(scipy.ndimage, name)(x, *args)
    assert got.dtype == want.dtype == np.float32
    result = got.compute()
    assert result.dtype == np.float32
    assert_close(result, want)


def test_separable_filters_are_lazy_and_refuse_what_scipy_refuses(rng, monkeypatch):
    from fftconv.ndimage import separable

    monkeypatch.setattr(separable, "run", lambda job: pytest.fail("ran in memory"))
    x = da.from_array(rng.standard_normal((20, 20)), chunks=10)
    lazy = fftconv.dask.ndimage.gaussian_laplace(x, 2.0)
    assert isinstance(lazy, da.Array)
    with pytest.raises(RuntimeError, match="incorrect filter size"):
        fftconv.dask.ndimage.uniform_filter1d(x, 0)
    with pytest.raises(RuntimeError, match="sequence argument must have length equal to input rank"):
        fftconv.dask.ndimage.gaussian_filter(x, [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="output must be a dtype or None"):
        fftconv.dask.ndimage.sobel(x, output=np.empty((20, 20)))


def test_bad_dtypes_are_refused_when_the_graph_is_built():
    from fftconv.core.dtypes import UnsupportedDtypeError

    for func in (fftconv.dask.convolve, fftconv.dask.correlate, fftconv.dask.fftconvolve):
        with pytest.raises(UnsupportedDtypeError, match="in1 has dtype <U1"):
            func(np.array(["a", "b", "c"]), np.ones(2))
        with pytest.raises(UnsupportedDtypeError, match="in2 has dtype <U1"):
            func(np.ones(3), np.array(["a", "b"]))
    with pytest.raises(UnsupportedDtypeError, match="cannot be filtered"):
        fftconv.dask.ndimage.gaussian_filter(np.array([["a", "b"]]), 1.0)


def test_dask_ndimage_is_reachable_after_importing_fftconv_dask():
    import subprocess
    import sys

    code = ("import fftconv.dask, numpy as np; "
            "print(fftconv.dask.ndimage.correlate(np.ones(3), [1.0]).sum().compute())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "3.0"


@pytest.mark.parametrize("name", ["convolve", "correlate", "fftconvolve"])
def test_signal_modes_equal_the_in_memory_convolution(rng, name):
    cases = [((50,), (7,), (8,), "float64"), ((31, 27), (6, 5), (8, 5), "float32"),
             ((20, 22), (9, 11), (4, 3), "float64"),  # kernel longer than the chunks
             ((8, 9, 10), (3, 4, 2), (3, 5, 4), "complex128"), ((12, 12), (3, 3), (5, 5), "int64")]
    for (s1, s2, chunks, dtype), mode in itertools.product(cases, ("full", "same", "valid")):
        a, b = values(rng, s1, dtype) if dtype != "int64" else rng.integers(-9, 9, s1), \
            values(rng, s2, dtype) if dtype != "int64" else rng.integers(-9, 9, s2)
        got = getattr(fftconv.dask, name)(da.from_array(a, chunks=chunks), b, mode)
        want = getattr(fftconv, name)(a, b, mode)
        assert got.shape == want.shape and got.dtype == want.dtype
        if mode == "same":
            assert got.chunks == da.from_array(a, chunks=chunks).chunks
        assert_close(got.compute(), want, ulps=1000 if dtype == "float32" else 200)


def test_valid_needs_the_larger_array_first_and_errors_are_scipys():
    with pytest.raises(ValueError, match="larger array first"):
        fftconv.dask.convolve(np.ones(3), np.ones(5), "valid")
    with pytest.raises(ValueError, match="Acceptable mode"):
        fftconv.dask.convolve(np.ones(3), np.ones(2), "nope")
    with pytest.raises(RuntimeError, match="boundary mode"):
        fftconv.dask.ndimage.correlate(np.ones(3), np.ones(2), mode="nope")
    with pytest.raises(TypeError, match="output must be a dtype"):
        fftconv.dask.ndimage.correlate(np.ones(3), np.ones(2), output=np.empty(3))


def test_the_kernel_enters_the_graph_once(rng):
    x = da.from_array(rng.standard_normal((256, 256)), chunks=32)  # 64 chunks

    def graph_bytes(w):
        return len(pickle.dumps(dict(fftconv.dask.ndimage.correlate(x, w, mode="wrap").__dask_graph__())))

    big, small = rng.standard_normal((41, 41)), rng.standard_normal((3, 3))  # 13 KiB, 72 bytes
    assert graph_bytes(big) - graph_bytes(small) < 2 * big.nbytes  # once, not per chunk (64x)


def test_lazy_until_computed(rng, monkeypatch):
    from fftconv.engine import run

    calls = []
    real = run.execute
    monkeypatch.setattr(run, "execute", lambda *a, **k: calls.append(1) or real(*a, **k))
    x = rng.standard_normal((40, 40))
    y = fftconv.dask.convolve(x, np.ones((3, 3)), "same", chunks=10)
    assert calls == [] and y.shape == (40, 40) and y.dtype == np.float64 and y.numblocks == (4, 4)
    y.compute(scheduler="sync")
    assert len(calls) == 16


@pytest.mark.parametrize("method", ["fft", "direct"])
def test_plans_and_kernel_work_are_made_once_per_chunk_shape(rng, monkeypatch, method):
    from fftconv.engine import run

    prepared = []
    real = run.prepare
    monkeypatch.setattr(run, "prepare", lambda *a, **k: prepared.append(a[0].x.shape) or real(*a, **k))
    x = rng.standard_normal((96, 80))
    w = rng.standard_normal((9, 9))
    got = fftconv.dask.ndimage.correlate(da.from_array(x, chunks=(32, 40)), w, method=method).compute()
    assert_close(got, fftconv.ndimage.correlate(x, w, method=method))
    assert prepared == [(40, 48)]  # 6 chunks, every one extended to the same shape: one plan
    prepared.clear()
    fftconv.dask.convolve(da.from_array(x, chunks=(32, 40)), w, "full", method=method).compute()
    assert sorted(set(prepared)) == sorted(prepared) and len(prepared) < 10  # once per distinct shape


def test_a_chunk_filter_travels_without_its_plans(rng):
    from fftconv.core.problem import SIGNAL
    from fftconv.dask.tasks import ChunkFilter

    chunk = ChunkFilter(rng.standard_normal(3), (0,), False, SIGNAL, "fft", None, 1, np.dtype("f8"))
    x = rng.standard_normal(20)
    first = chunk(x)
    assert len(chunk._plans) == 1
    copy = pickle.loads(pickle.dumps(chunk))
    assert copy._plans == {} and copy._lock is not chunk._lock
    np.testing.assert_array_equal(copy(x), first)


def test_a_task_stays_within_the_memory_limit(rng):
    import tracemalloc

    from fftconv.core.problem import NDIMAGE
    from fftconv.dask.tasks import ChunkFilter
    from fftconv.planning.plan import MemoryLimitError

    limit = 12 << 20
    with fftconv.config.override(memory_limit=limit):
        extended = rng.standard_normal((542, 542))  # a 512² chunk and a 31x31 kernel's halo: 9 MB of operands
        w = rng.standard_normal((31, 31))
        chunk = ChunkFilter(w, (0, 1), True, NDIMAGE, "auto", None, 1, np.dtype("f8"))
        tracemalloc.start()
        got = chunk(extended)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak <= limit + (64 << 10)  # the budget, give or take the tracer's own records
        assert_close(got, fftconv.ndimage.correlate(extended, w, mode="constant")[15:-15, 15:-15])
        with pytest.raises(MemoryLimitError, match="smaller chunks"):
            chunk(rng.standard_normal((1030, 1030)))  # 34 MB of operands


def test_threads_per_task_follow_the_scheduler(rng, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from fftconv.backends import threads
    from fftconv.dask.tasks import task_threads

    assert task_threads(None) == fftconv.config.get().threads or os.cpu_count()  # main thread: sync scheduler
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(task_threads, None).result() == 1  # one of dask's local threads
    monkeypatch.setattr(threads, "available_cores", lambda: 4)
    assert task_threads(3) == 3
    assert task_threads(5) == 4  # at most the cores
    with pytest.raises(ValueError, match="positive"):
        fftconv.dask.convolve(np.ones(5), np.ones(2), threads=0)


def test_suggested_chunks_make_fast_ffts_within_the_byte_budget():
    from fftconv.executors.fft_lengths import next_fast_length

    for shape, kernel, dtype, budget in [((16384, 16384), (31, 31), "float32", 64 << 20),
                                         ((5000, 3000), (9, 12), "float64", 16 << 20),
                                         ((600, 700, 800), (5, 5, 5), "float32", 32 << 20)]:
        chunks = fftconv.dask.suggest_chunks(shape, kernel, dtype, chunk_bytes=budget)
        for n, c, k in zip(shape, chunks, kernel):
            assert c == n or (next_fast_length(c + k - 1) == c + k - 1 and c >= 4 * (k - 1))
        assert np.prod(chunks) * np.dtype(dtype).itemsize <= 1.25 * budget
    assert fftconv.dask.suggest_chunks((100, 5000), (9, 9)) == (100, 5000)  # small: one chunk
    stack = fftconv.dask.suggest_chunks((50, 4096, 4096), (1, 31, 31), "float32", axes=(1, 2),
                                        chunk_bytes=128 << 20)
    assert stack[1:] == (4096, 4096) and stack[0] == 2  # whole images, dask's auto on the stack axis
    with pytest.raises(ValueError, match="one per axis"):
        fftconv.dask.suggest_chunks((10, 10), (3,))


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        yield client


def test_on_a_local_cluster_of_two_processes(client, rng):
    x = rng.standard_normal((300, 260)).astype(np.float32)
    w = rng.standard_normal((31, 31)).astype(np.float32)
    for mode in ("reflect", "wrap"):
        got = client.compute(fftconv.dask.ndimage.correlate(da.from_array(x, chunks=(70, 90)), w, mode=mode))
        assert_close(got.result(), fftconv.ndimage.correlate(x, w, mode=mode), ulps=1000)
    got = client.compute(fftconv.dask.correlate(da.from_array(x, chunks=64), w, "full"))
    assert_close(got.result(), fftconv.correlate(x, w, "full"), ulps=1000)


def test_a_worker_gives_each_task_its_share_of_threads_and_memory(client):
    from fftconv.dask.tasks import task_budget, task_threads

    client.wait_for_workers(2, timeout=60)  # a worker restarted by an earlier test may still be joining
    workers = client.scheduler_info()["workers"]
    memory = next(iter(workers.values()))["memory_limit"]
    assert client.submit(task_threads, None, pure=False).result() == 1  # the nanny's OMP_NUM_THREADS
    assert client.submit(task_threads, 2, pure=False).result() == 2
    assert client.submit(task_budget, pure=False).result() == int(memory * 0.6)  # 1 thread per worker


def test_a_worker_killed_mid_computation_is_recomputed(client, rng):
    # generated on the workers (no data in the graph): 128 chunks of a few ms each, still
    # running when one worker is killed
    chunked = da.random.default_rng(7).standard_normal((128 * 64, 256), chunks=(64, 256))
    w = rng.standard_normal((31, 31))
    want = fftconv.ndimage.correlate(chunked.compute(), w, mode="reflect", method="direct")
    lazy = fftconv.dask.ndimage.correlate(chunked, w, mode="reflect", method="direct")
    future = client.compute(lazy)
    before = set(client.scheduler_info()["workers"])
    deadline = time.monotonic() + 20
    while not any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.01)
    victim = next(addr for addr, tasks in client.processing().items() if tasks)
    with contextlib.suppress(Exception):  # the worker dies before it can answer
        client.run(os._exit, 1, workers=[victim])
    assert_close(future.result(timeout=60), want, ulps=200)
    now = set(client.scheduler_info()["workers"])
    assert victim not in now and now != before  # the worker died, and its nanny started another


def test_fftconvolve_broadcasts_unit_axes_as_scipy_does(rng):
    a, b = rng.standard_normal((1, 9)), rng.standard_normal((3, 3))
    for mode in ("full", "same"):
        got = fftconv.dask.fftconvolve(da.from_array(a, chunks=(1, 4)), b, mode)
        want = fftconv.fftconvolve(a, b, mode)
        assert got.shape == want.shape
        assert_close(got.compute(), want)


def test_axes_carry_the_other_axes_through(rng):
    stack = rng.standard_normal((3, 40, 30))
    k = rng.standard_normal((5, 4))
    for name in ("convolve", "correlate", "fftconvolve"):
        for mode in ("full", "same", "valid"):
            got = getattr(fftconv.dask, name)(da.from_array(stack, chunks=(1, 15, 9)), k, mode, axes=(1, 2))
            want = getattr(fftconv, name)(stack, k, mode, axes=(1, 2))
            assert got.shape == want.shape
            assert_close(got.compute(), want)
    with pytest.raises(ValueError, match="length 1 on the other axes"):
        fftconv.dask.convolve(stack, rng.standard_normal((2, 5, 4)), axes=(1, 2))


@pytest.mark.parametrize("mode", MODES)
def test_kernels_longer_than_the_array_fold_alike_in_chunks(rng, mode):
    x = rng.random((30, 40))
    w = rng.random((5, 301))  # one sign: folded to a period (or 2 n + 1 taps) of the whole array
    got = fftconv.dask.ndimage.correlate(da.from_array(x, chunks=(7, 9)), w, mode=mode, cval=0.3)
    assert_close(got.compute(), fftconv.ndimage.correlate(x, w, mode=mode, cval=0.3))
    got = fftconv.dask.ndimage.gaussian_filter(da.from_array(x, chunks=(7, 9)), 500.0, mode=mode)
    assert_close(got.compute(), fftconv.ndimage.gaussian_filter(x, 500.0, mode=mode))


DASK_IMAGE_TESTS = ("test__conv.py", "test__gaussian.py", "test__smooth.py", "test__edge.py", "test__diff.py")


def test_dask_images_own_filter_tests_pass_with_the_drop_ins(tmp_path):
    """dask-image's own ``ndfilters`` tests, from the source distribution of the installed
    version (its wheel holds none), with its filters rebound to fftconv.dask.ndimage's
    (tests/peers/dask_image_rebind.py): the tests where dask-image asks for another error than
    scipy.ndimage gives are strict expected failures, every other one must pass."""
    import re
    import subprocess
    import sys
    import tarfile
    from importlib.metadata import PackageNotFoundError, version

    pytest.importorskip("dask_image.ndfilters")
    try:
        installed = version("dask-image")
    except PackageNotFoundError:
        pytest.skip("dask-image is installed without its metadata: its source distribution cannot be named")
    fetched = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
         "--dest", str(tmp_path), f"dask-image=={installed}"],
        capture_output=True, text=True, timeout=300,
    )
    archives = list(tmp_path.glob("dask*image-*.tar.gz"))
    if fetched.returncode != 0 or not archives:
        pytest.skip(f"dask-image {installed}'s source distribution could not be downloaded: "
                    f"{fetched.stderr.strip()[-300:]}")
    folder = "tests/test_dask_image/test_ndfilters/"
    with tarfile.open(archives[0]) as archive:
        for member in archive.getmembers():
            name = member.name.split("/", 1)[-1]
            if name.startswith(folder) and name[len(folder):] in DASK_IMAGE_TESTS:
                (tmp_path / name[len(folder):]).write_bytes(archive.extractfile(member).read())
    assert sorted(p.name for p in tmp_path.glob("test__*.py")) == sorted(DASK_IMAGE_TESTS)
    lines = run_peer_tests("dask_image_rebind", ["-o", "addopts=", *DASK_IMAGE_TESTS], tmp_path)
    assert any(line.startswith("dask_image_rebind: ") for line in lines), "\n".join(lines[-20:])
    summary = lines[-1]
    assert re.search(r"\d{3,} passed", summary), summary
    # dask_image's own filters would pass these: the rebinding took
    assert re.search(r"\b7 xfailed", summary), summary


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_chunking_gives_the_in_memory_filter(data):
    """Random images, chunkings (chunks narrower than the halo among them), kernels (one long
    axis among them: the chunks' lines view), modes, origins, holes and masks: the lazy filter
    equals the in-memory one."""
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.integers(1, 24 if ndim < 3 else 10)) for _ in range(ndim))
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    long_axis = data.draw(st.integers(0, ndim - 1))
    lines = data.draw(st.booleans())
    kernel_shape = tuple((data.draw(st.integers(1, 9)) if a == long_axis else 1) if lines
                         else data.draw(st.integers(1, 5)) for a in range(ndim))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    x = rng.standard_normal(shape).astype(data.draw(st.sampled_from([np.float32, np.float64])))
    nan = data.draw(st.sampled_from(["propagate", "interpolate", "fill"]))
    mask = None
    if nan != "propagate":
        x[rng.random(shape) < 0.15] = np.nan
        mask = rng.random(shape) < 0.1 if data.draw(st.booleans()) else None
    weights = rng.random(kernel_shape) + 0.1
    options = dict(
        mode=data.draw(st.sampled_from(list(MODES))),
        cval=data.draw(st.sampled_from([0.0, 1.5])),
        origin=tuple(data.draw(st.integers(-(k // 2), (k - 1) // 2)) for k in kernel_shape),
        nan=nan,
        mask=mask,
    )
    name = data.draw(st.sampled_from(["correlate", "convolve"]))
    want = getattr(fftconv.ndimage, name)(x, weights, **options)
    lazy = getattr(fftconv.dask.ndimage, name)(da.from_array(x, chunks=chunks), weights, **options)
    got = lazy.compute(scheduler="synchronous")
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    tol = 1e-5 if x.dtype == np.float32 else 1e-12
    # a 'constant' border's cval is read as a pixel: an image of holes filled from it gives
    # outputs of its size (a 1-pixel NaN image, cval 1.5: 2.6 either way, one float32 ulp apart)
    border = abs(options["cval"]) if options["mode"] in ("constant", "grid-constant") else 0.0
    largest = max(float(np.nanmax(np.abs(x), initial=0)), border, 1e-30)
    scale = largest * float(weights.sum())
    np.testing.assert_allclose(np.nan_to_num(got), np.nan_to_num(want), rtol=0, atol=tol * scale)


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_any_chunking_gives_the_in_memory_convolution_and_separable_filters(data):
    """Random chunkings of fftconv.dask's scipy.signal functions (every mode, dtypes, axes)
    and separable ndimage filters (every mode, a mode per axis, origins): the in-memory answer."""
    ndim = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.integers(1, 30 if ndim < 3 else 10)) for _ in range(ndim))
    chunks = tuple(data.draw(st.integers(1, n)) for n in shape)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    dtype = data.draw(st.sampled_from(["float32", "float64", "complex128"]))
    x = values(rng, shape, dtype)
    lazy_x = da.from_array(x, chunks=chunks)
    if data.draw(st.booleans()):
        name = data.draw(st.sampled_from(["convolve", "correlate", "fftconvolve"]))
        kernel = values(rng, tuple(data.draw(st.integers(1, n)) for n in shape), dtype)
        mode = data.draw(st.sampled_from(["full", "same", "valid"]))
        lazy = getattr(fftconv.dask, name)(lazy_x, kernel, mode)
        want = getattr(fftconv, name)(x, kernel, mode)
    else:
        name = data.draw(st.sampled_from(["gaussian_filter", "uniform_filter", "correlate1d", "sobel",
                                          "gaussian_laplace"]))
        mode = data.draw(st.one_of(st.sampled_from(list(MODES)),
                                   st.tuples(*[st.sampled_from(list(MODES)) for _ in range(ndim)])))
        args = {"gaussian_filter": (data.draw(st.floats(0.3, 4.0)),),
                "uniform_filter": (data.draw(st.integers(1, 9)),),
                "correlate1d": (rng.standard_normal(data.draw(st.integers(1, 9))),), "sobel": (),
                "gaussian_laplace": (data.draw(st.floats(0.5, 2.0)),)}[name]
        if name == "correlate1d":
            mode = mode if isinstance(mode, str) else mode[0]
        lazy = getattr(fftconv.dask.ndimage, name)(lazy_x, *args, mode=mode)
        want = getattr(fftconv.ndimage, name)(x, *args, mode=mode)
    got = lazy.compute(scheduler="synchronous")
    assert got.shape == want.shape and got.dtype == want.dtype
    scale = max(float(np.abs(want).max(initial=0)), float(np.abs(x).max(initial=0)), 1e-30)
    np.testing.assert_allclose(got, want, rtol=0, atol=(1e-5 if dtype == "float32" else 1e-12) * scale)


@pytest.mark.parametrize("shapes", [((40,), (1,)), ((12, 9), (1, 1)), ((1,), (1,))])
@pytest.mark.parametrize("dtype", ["float32", "int16", "complex128"])
def test_fftconvolve_of_a_one_sample_kernel_is_scipys_product(rng, shapes, dtype):
    """Every axis of a one-sample kernel broadcasts in fftconvolve: scipy returns ``in1 *
    in2`` (an int16 pair stays int16). The chunks had planned a transform of no axis and
    raised IndexError."""
    import scipy.signal

    (s1, s2) = shapes
    a = values(rng, s1, dtype) if dtype != "int16" else rng.integers(-9, 9, s1).astype(dtype)
    b = values(rng, s2, dtype) if dtype != "int16" else rng.integers(-9, 9, s2).astype(dtype)
    for mode in ("full", "same", "valid"):
        got = fftconv.dask.fftconvolve(da.from_array(a, chunks=5), b, mode)
        want = scipy.signal.fftconvolve(a, b, mode)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got.compute(), want)
