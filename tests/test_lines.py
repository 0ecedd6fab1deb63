"""Filters of images of three or more axes by a kernel longer than 1 on one axis alone (a
spectral smoothing of a cube, a (25, 1, 1) kernel built by reshaping a 1-D one): run on the
image seen as lines along that axis (`fftconv.core.lines.line_shape`), with every
boundary, origin, output, layout and hole treatment as in the image's own shape."""

import numpy as np
import pytest
import scipy.ndimage
from test_holes import assert_close_nan, reference

import fftconv
import fftconv.ndimage as nd
from fftconv.engine import blocks
from fftconv.ndimage import filters

MODES = ["reflect", "constant", "nearest", "mirror", "wrap"]


def line_kernel(rng, taps: int, axis: int, ndim: int, dtype=np.float64) -> np.ndarray:
    return (rng.random(taps) + 0.1).astype(dtype).reshape([taps if a == axis else 1 for a in range(ndim)])


@pytest.fixture
def filtered_shapes(monkeypatch) -> list:
    """The shapes the blocks of each filter are run in (the memory limit set by the tests
    keeps the lane's routes out, so that every call reaches `filter_in_blocks`)."""
    shapes = []
    real = filters.filter_in_blocks

    def recording(source, work, *args, **kwargs):
        shapes.append((tuple(source.shape), work.kernel.shape))
        return real(source, work, *args, **kwargs)

    monkeypatch.setattr(filters, "filter_in_blocks", recording)
    return shapes


@pytest.mark.parametrize("shape, axis, seen", [
    ((6, 7, 8), 0, (6, 56)),
    ((6, 7, 8), 2, (42, 8)),
    ((3, 4, 5, 6), 1, (3, 4, 30)),
    ((3, 4, 5, 6), 2, (12, 5, 6)),
])
def test_a_volume_is_filtered_as_the_lines_of_its_kernels_axis(rng, shape, axis, seen, filtered_shapes):
    image = rng.standard_normal(shape)
    kernel = line_kernel(rng, 3, axis, len(shape))
    with fftconv.config.override(memory_limit="64MiB"):  # (a forced method: not scipy's loop for tiny calls)
        got = nd.convolve(image, kernel, mode="nearest", method="direct")
    want = scipy.ndimage.convolve(image, kernel, mode="nearest")
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert filtered_shapes == [(seen, tuple(3 if n > 1 and n == shape[axis] else 1 for n in seen))]


def test_the_middle_axis_of_a_volume_and_kernels_long_on_two_axes_keep_their_shape(rng, filtered_shapes):
    image = rng.standard_normal((5, 6, 7))
    with fftconv.config.override(memory_limit="64MiB"):
        nd.convolve(image, line_kernel(rng, 3, 1, 3), method="direct")
        nd.convolve(image, rng.random((3, 1, 2)), method="direct")
    assert [s for s, _ in filtered_shapes] == [(5, 6, 7), (5, 6, 7)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("axis", [0, 1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_every_boundary_and_axis_as_scipy(rng, mode, axis, dtype):
    image = rng.standard_normal((4, 5, 6, 7)).astype(dtype)
    kernel = line_kernel(rng, 4, axis, 4)
    for function in ("convolve", "correlate"):
        got = getattr(nd, function)(image, kernel, mode=mode, cval=0.5)
        want = getattr(scipy.ndimage, function)(image, kernel, mode=mode, cval=0.5)
        assert got.dtype == want.dtype
        tol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("origin", [-2, -1, 0, 1])
def test_origins_and_axes_arguments(rng, origin):
    image = rng.standard_normal((5, 6, 9))
    weights = rng.random(5)
    got = nd.correlate(image, weights[:, None, None], origin=[origin, 0, 0], mode="mirror")
    want = scipy.ndimage.correlate(image, weights[:, None, None], origin=[origin, 0, 0], mode="mirror")
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    got = nd.convolve(image, weights, axes=(2,), origin=origin, mode="wrap")
    want = scipy.ndimage.convolve(image, weights, axes=(2,), origin=origin, mode="wrap")
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("repeats", [1, 3])
def test_outputs_views_and_layouts(rng, repeats):
    """Output arrays a view sees as lines and outputs none does, in place, and inputs of other
    layouts than the first call's, on the first call and on the lane's remembered route."""
    image = rng.standard_normal((6, 7, 8))
    kernel = line_kernel(rng, 5, 0, 3)
    want = scipy.ndimage.convolve(image, kernel)
    for _ in range(repeats):
        out = np.empty_like(image)
        assert nd.convolve(image, kernel, output=out) is out
        np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
        fortran = np.empty(image.shape, order="F")
        assert nd.convolve(image, kernel, output=fortran) is fortran
        np.testing.assert_allclose(fortran, want, rtol=1e-12, atol=1e-12)
        for layout in (np.asfortranarray(image), image[:, :, ::-1].copy()[:, :, ::-1]):
            np.testing.assert_allclose(nd.convolve(layout, kernel), want, rtol=1e-12, atol=1e-12)
        same = image.copy()
        assert nd.convolve(same, kernel, output=same) is same
        np.testing.assert_allclose(same, want, rtol=1e-12, atol=1e-12)


def test_the_input_is_not_modified_and_the_result_has_its_shape(rng):
    image = rng.standard_normal((3, 4, 5, 6)).astype(np.float32)
    before = image.copy()
    got = nd.convolve(image, line_kernel(rng, 3, 1, 4, np.float32))
    assert got.shape == image.shape and got.flags.c_contiguous
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize("mode", ["reflect", "constant", "nearest", "mirror", "grid-wrap"])
@pytest.mark.parametrize("axis", [0, 2])
def test_holes_are_filled_as_the_reference_does(rng, mode, axis):
    image = rng.standard_normal((6, 5, 7))
    image[rng.random(image.shape) < 0.15] = np.nan
    kernel = line_kernel(rng, 4, axis, 3)
    for _ in range(3):  # the first call, then the lane's route
        got = nd.correlate(image, kernel, mode=mode, cval=0.5, nan="interpolate")
        assert_close_nan(got, reference(image, kernel, mode, cval=0.5), 1e-12)


def test_masks_and_outputs_with_holes(rng):
    image = rng.standard_normal((5, 6, 8))
    mask = rng.random(image.shape) < 0.1
    kernel = line_kernel(rng, 3, 0, 3)
    want = reference(image, kernel, "nearest", mask=mask)
    for _ in range(2):
        out = np.empty(image.shape, order="F")
        got = nd.correlate(image, kernel, mode="nearest", nan="interpolate", mask=mask, output=out)
        assert got is out
        assert_close_nan(out, want, 1e-12)
        masked = np.ma.masked_array(image, mask)
        assert_close_nan(nd.correlate(masked, kernel, mode="nearest", nan="interpolate"), want, 1e-12)


def test_blocks_under_a_memory_limit_and_a_memmap(rng, tmp_path):
    image = rng.standard_normal((40, 30, 20))
    image[rng.random(image.shape) < 0.05] = np.nan
    kernel = line_kernel(rng, 7, 0, 3)
    want = nd.convolve(image, kernel, nan="interpolate")
    mapped = np.lib.format.open_memmap(tmp_path / "cube.npy", "w+", np.float64, image.shape)
    mapped[...] = image
    with fftconv.config.override(memory_limit="64KiB"):
        assert_close_nan(nd.convolve(image, kernel, nan="interpolate"), want, 1e-12)
        assert_close_nan(nd.convolve(mapped, kernel, nan="interpolate"), want, 1e-12)


def test_a_forced_separable_method_keeps_the_volume(rng):
    """The separable passes need a kernel of two or more axes: forcing them keeps the image's
    shape, whose kernel has them."""
    image = rng.standard_normal((6, 7, 8))
    kernel = line_kernel(rng, 3, 0, 3)
    want = scipy.ndimage.convolve(image, kernel)
    np.testing.assert_allclose(nd.convolve(image, kernel, method="separable"), want, rtol=1e-12, atol=1e-12)
    with fftconv.config.override(method="separable"):
        np.testing.assert_allclose(nd.convolve(image, kernel), want, rtol=1e-12, atol=1e-12)


def test_the_astropy_drop_in_smooths_a_cube_along_its_spectra(rng):
    astropy_convolution = pytest.importorskip("astropy.convolution")
    import fftconv.astropy

    cube = rng.standard_normal((30, 12, 10)).astype(np.float32)
    cube[rng.random(cube.shape) < 0.05] = np.nan
    kernel = astropy_convolution.Gaussian1DKernel(2).array[:, None, None]
    for boundary in ("fill", "extend", "wrap"):
        want = astropy_convolution.convolve(cube, kernel, boundary=boundary)
        got = fftconv.astropy.convolve(cube, kernel, boundary=boundary)
        assert_close_nan(got, want, 1e-6)


def test_a_block_filter_along_lines_reads_its_kernels_axis(rng):
    kernel = line_kernel(rng, 5, 1, 4)
    work = blocks.BlockFilter(kernel, (0, 1, 2, 3), (0, 2, 0, 0), "reflect", 0.0, True, "auto", 1)
    lines = work.along_lines(1, 1, 3)
    assert lines.kernel.shape == (1, 5, 1) and lines.axes == (0, 1, 2) and lines.before == (0, 2, 0)
    np.testing.assert_array_equal(lines.kernel.ravel(), kernel.ravel())


def test_the_plan_shows_the_shape_the_filter_runs_in():
    volume = np.zeros((100, 128, 128), np.float32)
    text = nd.plan("convolve", volume, np.ones((25, 1, 1), np.float32), threads=1).explain()
    assert "the image seen as (100, 16384)" in text and "output (100, 16384)" in text
    first_pass = nd.plan("gaussian_filter", volume, 2.0, threads=1).explain().split("2. pass")[0]
    assert "output (100, 16384)" in first_pass


@pytest.mark.parametrize("function", ["convolve", "correlate", "fftconvolve", "oaconvolve"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("shape, axis", [((5, 6, 7), 0), ((5, 6, 7), 2), ((4, 3, 5, 6), 1),
                                         ((4, 3, 5, 6), 3), ((6, 7, 3), 1), ((3, 6, 2, 2), 1)])
@pytest.mark.parametrize("dtype", [np.float32, np.complex128])
def test_scipy_signal_calls_along_lines(rng, function, mode, shape, axis, dtype):
    in1 = rng.standard_normal(shape).astype(dtype)
    in2 = line_kernel(rng, 3, axis, len(shape), dtype)
    if dtype == np.complex128:
        in1 = in1 + 1j * rng.standard_normal(shape)
    for _ in range(2):  # the first call, then the lane's route
        got = getattr(fftconv, function)(in1, in2, mode=mode)
        want = getattr(scipy.signal, function)(in1, in2, mode=mode)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == np.float32 else 1e-11,
                                   atol=1e-4 if dtype == np.float32 else 1e-11)


def test_signal_calls_are_summed_along_lines_where_a_view_serves(rng, monkeypatch):
    planned = []
    real = fftconv.signal.run.plan

    def recording(problem, *args, **kwargs):
        planned.append(tuple(problem.x.shape))
        return real(problem, *args, **kwargs)

    monkeypatch.setattr(fftconv.signal.run, "plan", recording)
    volume = rng.standard_normal((20, 30, 40))
    kernel = line_kernel(rng, 5, 0, 3)
    want = scipy.signal.convolve(volume, kernel, method="direct")
    for image in (volume, np.asfortranarray(volume)):  # the second needs a copy to be lines: its own shape
        got = fftconv.convolve(image, kernel, method="direct")
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert planned == [(20, 1200), (20, 30, 40)]
    short = rng.standard_normal((3, 1, 1))  # a 'valid' call whose kernel is the longer: its own shape
    np.testing.assert_allclose(fftconv.convolve(short, kernel, mode="valid", method="direct"),
                               scipy.signal.convolve(short, kernel, mode="valid"), rtol=1e-12, atol=1e-12)
    assert planned[2:] == [(5, 1, 1)]  # swapped, as scipy swaps them
    assert "seen as the lines along axis 0" in fftconv.plan((20, 30, 40), (5, 1, 1), threads=1).explain()


@pytest.fixture
def moved(monkeypatch) -> list:
    """The shapes of the images copied with their lines moved last (`fftconv.core.lines`)."""
    shapes = []
    for module in (filters, fftconv.signal):
        real = module.moved_last

        def recording(x, lines, real=real):
            shapes.append(tuple(x.shape))
            return real(x, lines)

        monkeypatch.setattr(module, "moved_last", recording)
    return shapes


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_rgb_image_blurred_along_its_rows(rng, mode, dtype, moved):
    image = rng.standard_normal((20, 30, 3)).astype(dtype)
    kernel = line_kernel(rng, 5, 1, 3, dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for function in ("convolve", "correlate"):
        want = getattr(scipy.ndimage, function)(image, kernel, mode=mode, cval=0.5)
        for _ in range(3):  # the first call, then the lane's route
            got = getattr(nd, function)(image, kernel, mode=mode, cval=0.5, method="direct")
            assert got.dtype == want.dtype and got.flags.c_contiguous
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    assert moved and set(moved) == {(20, 30, 3)}


def test_moved_lines_with_outputs_layouts_and_holes(rng, moved):
    image = rng.standard_normal((8, 9, 4))
    kernel = line_kernel(rng, 3, 1, 3)
    want = scipy.ndimage.convolve(image, kernel, mode="wrap")
    for _ in range(3):
        outputs = (np.empty_like(image), np.empty(image.shape, order="F"), np.empty(image.shape, np.float32))
        for out in outputs:
            assert nd.convolve(image, kernel, mode="wrap", output=out, method="direct") is out
            np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)
        fortran = nd.convolve(np.asfortranarray(image), kernel, mode="wrap", method="direct")
        np.testing.assert_allclose(fortran, want, rtol=1e-12, atol=1e-12)
        same = image.copy()
        assert nd.convolve(same, kernel, mode="wrap", output=same, method="direct") is same
        np.testing.assert_allclose(same, want, rtol=1e-12, atol=1e-12)
    holes = image.copy()
    holes[rng.random(image.shape) < 0.15] = np.nan
    mask = rng.random(image.shape) < 0.05
    for _ in range(3):
        got = nd.correlate(holes, kernel, mode="nearest", nan="interpolate", mask=mask)
        assert_close_nan(got, reference(holes, kernel, "nearest", mask=mask), 1e-12)
    assert moved


def test_no_lines_moved_under_a_memory_limit(rng, moved):
    image = rng.standard_normal((8, 9, 4))
    kernel = line_kernel(rng, 3, 1, 3)
    with fftconv.config.override(memory_limit="64MiB"):
        got = nd.convolve(image, kernel, method="direct")
        np.testing.assert_allclose(fftconv.convolve(image, kernel, "same", method="direct"),
                                   scipy.signal.convolve(image, kernel, "same"), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got, scipy.ndimage.convolve(image, kernel), rtol=1e-12, atol=1e-12)
    assert moved == []


def test_signal_calls_move_short_lines_last(rng, moved):
    image = rng.standard_normal((20, 30, 3)).astype(np.float32)
    kernel = line_kernel(rng, 7, 1, 3, np.float32)
    for mode in ("full", "same", "valid"):
        got = fftconv.convolve(image, kernel, mode, method="direct")
        want = scipy.signal.convolve(image, kernel, mode)
        assert got.shape == want.shape and got.flags.c_contiguous
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert moved == [(20, 30, 3)] * 3
    text = fftconv.plan((20, 30, 3), (1, 7, 1), threads=1).explain()
    assert "seen as the lines along axis 1 (copied with that axis moved last)" in text
    text = nd.plan("convolve", image, kernel, threads=1).explain()
    assert "the image seen as (60, 30), a copy with the kernel's axis moved last" in text


def test_a_box_along_a_middle_axis_keeps_the_image_in_place(rng, moved):
    """A box's running sums read short rows as fast as long ones: no copy is made for it."""
    image = rng.standard_normal((20, 30, 3))
    box = np.full((1, 5, 1), 0.2)
    np.testing.assert_allclose(nd.convolve(image, box, method="direct"), scipy.ndimage.convolve(image, box),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fftconv.convolve(image, box, "same", method="direct"),
                               scipy.signal.convolve(image, box, "same"), rtol=1e-12, atol=1e-12)
    assert moved == []


@pytest.mark.parametrize("function", ["convolve", "fftconvolve", "oaconvolve"])
@pytest.mark.parametrize("mode", ["full", "same"])
def test_an_image_of_one_sample_along_the_kernels_axis_is_left_to_scipys_rules(rng, function, mode):
    """scipy's FFT functions broadcast an axis of one sample: such calls keep their own shape."""
    in1, in2 = rng.standard_normal((5, 1, 7)), line_kernel(rng, 3, 1, 3)
    got = getattr(fftconv, function)(in1, in2, mode=mode)
    want = getattr(scipy.signal, function)(in1, in2, mode=mode)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


@pytest.fixture
def chunk_shapes(monkeypatch) -> list:
    """The shapes of the extended chunks' problems (plain filters) and blocks (with holes)."""
    shapes = []
    tasks = pytest.importorskip("fftconv.dask.tasks")
    prepare, block = tasks.run.prepare_problem, tasks.filter_block

    def preparing(problem, *args, **kwargs):
        shapes.append(tuple(problem.x.shape))
        return prepare(problem, *args, **kwargs)

    def filtering(source, *args, **kwargs):
        shapes.append(tuple(source.shape))
        return block(source, *args, **kwargs)

    monkeypatch.setattr(tasks.run, "prepare_problem", preparing)
    monkeypatch.setattr(tasks, "filter_block", filtering)
    return shapes


@pytest.mark.parametrize("nan", ["propagate", "interpolate"])
def test_dask_chunks_are_filtered_along_lines(rng, nan, chunk_shapes):
    da = pytest.importorskip("dask.array")
    import fftconv.dask.ndimage

    cube = rng.standard_normal((24, 10, 12))
    cube[rng.random(cube.shape) < 0.05] = np.nan
    kernel = line_kernel(rng, 5, 0, 3)
    want = nd.convolve(cube, kernel, mode="nearest", nan=nan)
    chunked = da.from_array(cube, chunks=(12, 5, 12))
    got = fftconv.dask.ndimage.convolve(chunked, kernel, mode="nearest", nan=nan)
    assert_close_nan(got.compute(scheduler="synchronous"), want, 1e-12)
    assert chunk_shapes and all(len(shape) == 2 for shape in chunk_shapes)  # (channels + halo, 5 * 12)


def test_dask_convolutions_are_summed_along_lines(rng, chunk_shapes):
    da = pytest.importorskip("dask.array")
    import fftconv.dask

    cube = rng.standard_normal((24, 10, 12))
    kernel = line_kernel(rng, 5, 0, 3)
    got = fftconv.dask.convolve(da.from_array(cube, chunks=(12, 5, 12)), kernel, "same")
    want = scipy.signal.convolve(cube, kernel, "same")
    np.testing.assert_allclose(got.compute(scheduler="synchronous"), want, rtol=1e-12, atol=1e-12)
    assert chunk_shapes and all(len(shape) == 2 for shape in chunk_shapes)


@pytest.fixture
def small_slabs(monkeypatch):
    """Lines moved last slab by slab (`filters._moved_in_slabs`) from images of a few KiB: slabs
    of 3 rows' lines, the last one partial."""
    monkeypatch.setattr(filters, "MOVED_SLABS_ABOVE", 1024)
    monkeypatch.setattr(filters, "MOVED_SLAB_BYTES", 3 * 30 * 3 * 8)


@pytest.mark.parametrize("mode", MODES)
def test_lines_moved_slab_by_slab(rng, mode, small_slabs, moved):
    image = rng.standard_normal((20, 30, 3))
    kernel = line_kernel(rng, 5, 1, 3)
    for function in ("convolve", "correlate"):
        want = getattr(scipy.ndimage, function)(image, kernel, mode=mode, cval=0.5)
        got = getattr(nd, function)(image, kernel, mode=mode, cval=0.5)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
        outputs = (np.empty_like(image), np.empty(image.shape, order="F"), np.empty(image.shape, np.float32))
        for out in outputs:
            assert getattr(nd, function)(image, kernel, mode=mode, cval=0.5, output=out) is out
            np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)
        same = image.copy()
        assert getattr(nd, function)(same, kernel, mode=mode, cval=0.5, output=same) is same
        np.testing.assert_allclose(same, want, rtol=1e-12, atol=1e-12)
    assert moved and set(moved) == {(3, 30, 3), (2, 30, 3)}  # 20 rows: six slabs of 3, one of 2


def test_holes_and_masks_slab_by_slab(rng, small_slabs, moved):
    image = rng.standard_normal((7, 5, 30, 2))
    image[rng.random(image.shape) < 0.1] = np.nan
    mask = rng.random(image.shape) < 0.05
    kernel = line_kernel(rng, 4, 2, 4)
    got = nd.correlate(image, kernel, mode="mirror", nan="interpolate", mask=mask)
    assert_close_nan(got, reference(image, kernel, "mirror", mask=mask), 1e-12)
    assert moved
