"""Memory and size promises: estimates before any work, refusals with the numbers, the
memmap budget, planning from shapes without allocating, and the settings that size them."""

import time
import tracemalloc

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from conftest import assert_close

import fftconv
import fftconv.ndimage
from fftconv import config
from fftconv.engine import blocks
from fftconv.timing import settle


def test_a_kernel_far_larger_than_the_image_costs_what_the_image_needs(rng):
    x = rng.standard_normal((10, 10))
    huge = np.broadcast_to(1.0, (10**6, 10**6))  # 8 TB if it were real
    start = time.perf_counter()
    got = fftconv.fftconvolve(x, huge, "same")
    assert time.perf_counter() - start < 5
    np.testing.assert_allclose(got, np.full((10, 10), x.sum()), rtol=1e-12)
    k = rng.standard_normal((41, 9))  # only the taps the 'same' window reaches are used
    for method in ("direct", "fft", "tiled"):
        assert_close(fftconv.convolve(x, k, "same", method), scipy.signal.convolve(x, k, "same", "direct"))
    assert fftconv.plan(x, k, "same").shape2 == (19, 9)


def test_what_cannot_fit_in_this_machine_is_refused_before_any_work():
    image = np.broadcast_to(np.int64(1), (10**5, 10**5))  # a 74.5 GiB result
    start = time.perf_counter()
    with pytest.raises(fftconv.MemoryLimitError, match=r"needs about 74\.5 GiB of memory.*available"):
        fftconv.convolve(image, np.ones((3, 3), np.int64))
    assert time.perf_counter() - start < 1  # the integer rule's pass over the image never ran
    with pytest.raises(MemoryError):
        fftconv.ndimage.convolve(np.broadcast_to(1.0, (10**6, 10**6)), np.ones((3, 3)))


def test_planning_from_shapes_allocates_nothing_of_the_problems_size():
    tracemalloc.start()
    plan = fftconv.plan((1000, 1000), (60000, 60000), "same", threads=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 64 << 20 and "separable" not in plan.candidates
    with pytest.raises(ValueError, match="kernel's values"):
        fftconv.plan((300, 300), (9, 9), method="separable")


def test_memmaps_are_filtered_in_blocks_without_a_limit(tmp_path, rng, monkeypatch):
    """The default budget for memmaps applies (the in-memory check once saw every memmap as
    an in-memory array and ran it as one block)."""
    source = np.lib.format.open_memmap(tmp_path / "in.npy", "w+", np.float32, (300, 200))
    source[:] = rng.standard_normal((300, 200))
    monkeypatch.setattr(fftconv.ndimage.filters, "DEFAULT_STREAM_BUDGET", 256 << 10)  # < one block
    layouts = []
    real_plan_blocks = blocks.plan_blocks
    monkeypatch.setattr(blocks, "plan_blocks", lambda *a, **k: layouts.append(real_plan_blocks(*a, **k))
                        or layouts[-1])
    w = rng.standard_normal((7, 7)).astype(np.float32)
    got = fftconv.ndimage.correlate(source, w)
    assert layouts[-1].blocks > 1
    assert_close(got, scipy.ndimage.correlate(np.asarray(source), w), ulps=1000)
    seen = len(layouts)
    fftconv.ndimage.correlate(np.asarray(source).copy(), w)  # in memory, no limit: never cut
    assert all(layout.blocks == 1 for layout in layouts[seen:])


def test_a_read_only_output_is_refused_before_any_work(rng):
    out = np.empty((50, 50))
    out.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fftconv.ndimage.convolve(rng.standard_normal((50, 50)), np.ones((3, 3)), output=out)


def test_sizes_in_files_and_the_environment_need_a_unit(tmp_path, monkeypatch):
    path = tmp_path / "c.toml"
    path.write_text("[memory]\nlimit = 512\n")
    with pytest.raises(fftconv.ConfigError, match=r'needs a unit, e\.g\. "512MiB"'):
        config.load(path)
    path.write_text('[memory]\nlimit = "512B"\n')
    assert config.load(path).memory_limit == 512
    monkeypatch.setenv("FFTCONV_MEMORY_LIMIT", "64")
    with pytest.raises(fftconv.ConfigError, match="FFTCONV_MEMORY_LIMIT: a size needs a unit"):
        config.get()
    monkeypatch.setenv("FFTCONV_MEMORY_LIMIT", "64MiB")
    assert config.get().memory_limit == 64 << 20
    with config.override(memory_limit=4096):  # Python callers pass bytes
        assert config.get().memory_limit == 4096


def test_a_wisdom_setting_that_is_no_path_is_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("FFTCONV_WISDOM", "maybe")
    with pytest.raises(fftconv.ConfigError, match="FFTCONV_WISDOM: expected true, false or a directory path"):
        config.get()
    monkeypatch.setenv("FFTCONV_WISDOM", str(tmp_path / "w"))
    assert config.get().wisdom == tmp_path / "w"


def test_misspelt_variables_are_named_in_a_warning(monkeypatch):
    monkeypatch.setenv("FFTCONV_THREDS", "2")
    monkeypatch.setattr(config, "_warned", set())
    monkeypatch.setattr(config, "_resolved", {})  # settings are resolved afresh (earlier tests' are kept)
    monkeypatch.setattr(config, "_last", [None] * 4)
    with pytest.warns(RuntimeWarning, match="FFTCONV_THREDS is not a setting.*FFTCONV_THREADS"):
        with config.override(threads=1):
            config.get()


def test_a_block_filtered_on_the_tiles_is_read_and_written_in_place(rng):
    """The tiles read the boundary extension straight from the image, and sum in the output's
    dtype: neither the image with its halo nor an image-sized result is made beside the
    output (their page faults and copies had made ndimage's tiles 1.1-1.3x slower than the
    same tiles from ``fftconv.correlate``)."""
    x = rng.standard_normal((512, 512))
    k = rng.standard_normal((15, 15))
    out = np.empty_like(x)
    # plans and FFTW buffers, the trial between tile layouts (`tiled.few`) settled
    settle(lambda: fftconv.ndimage.correlate(x, k, out, mode="reflect", method="tiled"))
    tracemalloc.start()
    try:
        got = fftconv.ndimage.correlate(x, k, out, mode="reflect", method="tiled")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert got is out
    assert_close(out, scipy.ndimage.correlate(x, k, mode="reflect"))
    # the tiles' buffers alone: 0.2 images (with the extended block copied first 1.5, and
    # with the result copied in too 2.1)
    assert peak < 0.5 * x.nbytes, peak / x.nbytes


def _largest_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, most: int = 3) -> str:
    """Where the memory that grew from ``before`` to ``after`` was allocated (the largest
    ``most``, each with its traceback and the thread that ran it): a failure's diagnosis."""
    import threading

    lines = [f"threads alive: {[t.name for t in threading.enumerate()]}"]
    for stat in after.compare_to(before, "traceback")[:most]:
        lines += [f"{stat.size_diff} bytes in {stat.count_diff} blocks:", *stat.traceback.format()]
    return "\n".join(lines)


def test_release_memory_hands_back_what_calls_keep(rng):
    """Plans, transform buffers, kernel spectra and scratch kept between calls are dropped,
    and the next calls still answer right."""
    x, k = rng.standard_normal((400, 300)), rng.standard_normal((41, 41))
    fftconv.release_memory()
    tracemalloc.start(20)
    try:
        before = tracemalloc.take_snapshot()
        start = tracemalloc.get_traced_memory()[0]
        for method in ("fft", "tiled", "direct"):
            fftconv.convolve(x, k, "same", method)
        fftconv.ndimage.correlate(x, np.outer(np.hanning(9), np.hanning(9)))
        kept = tracemalloc.get_traced_memory()[0] - start
        fftconv.release_memory()
        left = tracemalloc.get_traced_memory()[0] - start
        after = tracemalloc.take_snapshot() if left >= kept / 10 else None
    finally:
        tracemalloc.stop()
    assert kept > x.nbytes  # the transforms' buffers and spectra, at least
    assert left < kept / 10, (kept, left, _largest_growth(before, after))
    assert_close(fftconv.convolve(x, k, "same"), scipy.signal.convolve(x, k, "same", "direct"))


def test_release_memory_drops_the_scratch_other_threads_keep():
    """A thread of fftconv's pool keeps its scratch between calls (`core.memory.kept_buffer`);
    `release_memory` drops it too (it had dropped the calling thread's only)."""
    import threading

    from fftconv.core import memory

    made, release, done = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def worker():
        memory.kept_buffer("test", 0, (1000,), np.dtype(np.float64), 1 << 20)
        made.set()
        release.wait(10)
        seen["left"] = dict(memory._kept.buffers.by_slot)
        done.set()

    thread = threading.Thread(target=worker)
    thread.start()
    assert made.wait(10)
    fftconv.release_memory()
    release.set()
    assert done.wait(10)
    thread.join(10)
    assert seen["left"] == {}


def test_a_call_on_the_pool_lets_go_of_its_arrays_when_it_returns():
    """Neither a helper that ran nor one cancelled unstarted keeps the call's objects once the
    call is back: the pool's queue and worker held them a while (199 of the 200 `claim_in_turn`
    calls here still held theirs on return; a probable cause of
    `test_release_memory_hands_back_what_calls_keep` failing in CI with 1 MB left)."""
    import weakref

    from fftconv.backends.threads import claim_in_turn, shared_pool

    class Image:
        pass

    def held_after(call) -> int:
        held = 0
        for count in [1, 2, 4, 64] * 50:
            image = Image()
            alive = weakref.ref(image)
            call(count, image)
            del image
            held += alive() is not None
        return held

    assert held_after(lambda count, image: claim_in_turn(count, 2, lambda: lambda item: image)) == 0
    assert held_after(lambda count, image: list(shared_pool(2).map(lambda item: image, range(count)))) == 0
