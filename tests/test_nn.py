"""fftconv.nn: PyTorch's and Keras' convolution layers, checked against independent NumPy
references (tests/nn_reference.py) on random configurations, on both the direct and the
spectral path, and against torch itself when it is installed."""

import itertools

import nn_reference as ref
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fftconv.nn as nn

LAYERS = {1: nn.conv1d, 2: nn.conv2d, 3: nn.conv3d}


def random_layer(rng, nd, max_kernel=4):
    groups = int(rng.integers(1, 4))
    c_group, out_group = int(rng.integers(1, 3)), int(rng.integers(1, 3))
    kernel = tuple(int(v) for v in rng.integers(1, max_kernel + 1, nd))
    stride = tuple(int(v) for v in rng.integers(1, 4, nd))
    dilation = tuple(int(v) for v in rng.integers(1, 3, nd))
    sizes = tuple(int(v) for v in rng.integers(6, 13 if nd < 3 else 9, nd))
    x = rng.standard_normal((int(rng.integers(1, 3)), groups * c_group) + sizes)
    w = rng.standard_normal((groups * out_group, c_group) + kernel)
    return x, w, rng.standard_normal(groups * out_group), stride, dilation, groups


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
def test_random_layers_match_the_reference(rng, nd, method):
    checked = 0
    for _ in range(40):
        x, w, b, stride, dilation, groups = random_layer(rng, nd)
        mode = str(rng.choice(list(ref.NUMPY_PAD)))
        padding = tuple(int(v) for v in rng.integers(0, 3, nd))
        want_fits = all(
            n + 2 * p >= d * (k - 1) + 1 for n, p, d, k in zip(x.shape[2:], padding, dilation, w.shape[2:])
        )
        if not want_fits:
            with pytest.raises(ValueError, match="kernel size"):
                LAYERS[nd](x, w, b, stride, padding, dilation, groups, mode, method=method, threads=1)
            continue
        got = LAYERS[nd](x, w, b, stride, padding, dilation, groups, mode, method=method, threads=1)
        want = ref.conv(x, w, b, stride, [(p, p) for p in padding], dilation, groups, mode)
        assert got.shape == want.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_winograd_3x3_layers_match_the_reference(rng, dtype):
    for _ in range(15):
        groups = int(rng.integers(1, 4))
        x = rng.standard_normal(
            (int(rng.integers(1, 3)), groups * int(rng.integers(1, 4)))
            + tuple(int(v) for v in rng.integers(3, 20, 2))
        ).astype(dtype)
        w = rng.standard_normal((groups * int(rng.integers(1, 4)), x.shape[1] // groups, 3, 3)).astype(dtype)
        b = rng.standard_normal(w.shape[0]).astype(dtype)
        mode = str(rng.choice(list(ref.NUMPY_PAD)))
        padding = int(rng.integers(0, 2))
        got = nn.conv2d(x, w, b, 1, padding, 1, groups, mode, method="winograd")
        want = ref.conv(x, w, b, 1, padding, 1, groups, mode)
        tol = 1e-12 if dtype == "float64" else 2e-5
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())
    assert nn.plan_conv((1, 64, 256, 256), (64, 64, 3, 3), padding=1, threads=1).method in (
        "winograd",
        "direct",
    )
    with pytest.raises(ValueError, match="3x3 kernel, stride 1"):
        nn.conv2d(x, w, stride=2, method="winograd")


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_same_padding_puts_the_extra_sample_after_as_pytorch_does(rng, method):
    x = rng.standard_normal((2, 3, 11, 10))
    for kernel, dilation in [((4, 3), (1, 1)), ((2, 5), (2, 1)), ((3, 3), (1, 2))]:
        w = rng.standard_normal((4, 3) + kernel)
        pads = [(d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation)]
        got = nn.conv2d(x, w, padding="same", dilation=dilation, method=method)
        assert got.shape == (2, 4, 11, 10)
        np.testing.assert_allclose(got, ref.conv(x, w, pads=pads, dilation=dilation), rtol=1e-10, atol=1e-10)
        np.testing.assert_array_equal(
            nn.conv2d(x, w, padding="valid", dilation=dilation, method=method).shape,
            ref.conv(x, w, dilation=dilation).shape,
        )


@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("method", ["direct", "fft"])
def test_transposed_layers_match_their_scatter_definition(rng, nd, method):
    for _ in range(25):
        _, w, b, stride, dilation, groups = random_layer(rng, nd)
        w = np.swapaxes(w.reshape((groups, -1) + w.shape[1:]), 1, 2).reshape(
            (groups * w.shape[1], w.shape[0] // groups) + w.shape[2:]
        )  # (C_in, C_out / groups, k...)
        x = rng.standard_normal(
            (int(rng.integers(1, 3)), w.shape[0]) + tuple(int(v) for v in rng.integers(2, 7, nd))
        )
        output_padding = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
        padding = tuple(int(v) for v in rng.integers(0, 3, nd))
        layer = nn.conv_transpose1d if nd == 1 else nn.conv_transpose2d
        try:
            want = ref.conv_transpose(x, w, b, stride, padding, output_padding, groups, dilation)
        except ValueError:
            continue
        if min(want.shape[2:], default=1) < 1:
            with pytest.raises(ValueError, match="no output"):
                layer(x, w, b, stride, padding, output_padding, groups, dilation, method=method)
            continue
        got = layer(x, w, b, stride, padding, output_padding, groups, dilation, method=method)
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("method", ["direct", "fft"])
def test_keras_same_follows_tensorflows_rule_for_odd_even_strided_and_dilated_kernels(rng, method):
    assert (
        ref.tf_same(5, 3, 2) == (1, 1) and ref.tf_same(6, 4, 1) == (1, 2) and ref.tf_same(4, 2, 2) == (0, 0)
    )
    for sizes, kernel, strides, dilation in [
        ((9, 8), (2, 4), (1, 1), (1, 1)),
        ((9, 8), (3, 2), (2, 3), (1, 1)),
        ((10, 7), (4, 3), (1, 1), (2, 3)),
        ((7, 7), (5, 5), (3, 2), (1, 1)),
    ]:
        x = rng.standard_normal((2,) + sizes + (3,))
        k = rng.standard_normal(kernel + (3, 5))
        b = rng.standard_normal(5)
        got = nn.keras_conv(x, k, b, strides, "same", dilation, method=method)
        pads = [ref.tf_same(n, kk, s, d) for n, kk, s, d in zip(sizes, kernel, strides, dilation)]
        want = ref.conv(np.moveaxis(x, -1, 1), np.moveaxis(k, (-1, -2), (0, 1)), b, strides, pads, dilation)
        assert got.shape == (2,) + tuple(-(-n // s) for n, s in zip(sizes, strides)) + (5,)
        np.testing.assert_allclose(got, np.moveaxis(want, 1, -1), rtol=1e-10, atol=1e-10)


def test_keras_valid_causal_and_groups(rng):
    x = rng.standard_normal((2, 20, 4))
    k = rng.standard_normal((5, 2, 6))  # groups=2: 2 input channels per group
    got = nn.keras_conv(x, k, padding="causal", dilation_rate=2, groups=2)
    want = ref.conv(
        np.moveaxis(x, -1, 1), np.moveaxis(k, (-1, -2), (0, 1)), pads=[(8, 0)], dilation=2, groups=2
    )
    np.testing.assert_allclose(got, np.moveaxis(want, 1, -1), rtol=1e-10, atol=1e-10)
    valid = nn.keras_conv(x, k[..., :4], strides=3, groups=2)
    assert valid.shape == (2, 6, 4)
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.keras_conv(x, k[..., :3], groups=2)
    with pytest.raises(ValueError, match="1-D"):
        nn.keras_conv(rng.standard_normal((1, 5, 5, 1)), np.ones((2, 2, 1, 1)), padding="causal")
    with pytest.raises(ValueError, match="'valid', 'same' or 'causal'"):
        nn.keras_conv(x, k, padding="full", groups=2)


def test_long_depthwise_convolution_is_a_first_class_case(rng):
    x = rng.standard_normal((2, 4, 3000)).astype(np.float32)
    w = rng.standard_normal((4, 1, 3000)).astype(np.float32)
    plan = nn.plan_conv(x.shape, w.shape, padding="same", groups=4, dtype="float32", threads=1)
    assert plan.method == "fft" and "elementwise product per frequency" in plan.explain()
    got = nn.conv1d(x, w, padding="same", groups=4)
    want = ref.conv(x, w, pads=[(1499, 1500)], groups=4)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-5 * np.abs(want).max())


def test_the_plan_explains_its_choice():
    big = nn.plan_conv((1, 16, 128, 128), (16, 16, 31, 31), padding="same", threads=1)
    assert big.method == "fft" and "summed in the frequency domain" in big.explain()
    assert "direct (matrix products)" in big.explain() and big.output_shape == (1, 16, 128, 128)
    small = nn.plan_conv((1, 8, 64, 64), (8, 8, 3, 3), stride=2, padding=1, threads=1, method="direct")
    assert small.method == "direct" and "only the strided outputs" in small.explain()
    strided = nn.plan_conv((1, 4, 256, 256), (4, 4, 31, 31), stride=2, threads=1, method="fft")
    assert "then subsampled" in strided.explain()


def test_a_memory_limit_bounds_the_layers_workspace(rng):
    import tracemalloc

    import fftconv
    from fftconv.planning.plan import MemoryLimitError

    x = rng.standard_normal((1, 8, 96, 96))
    w = rng.standard_normal((8, 8, 15, 15))
    want = nn.conv2d(x, w, padding="same", method="direct", threads=1)
    with fftconv.config.override(memory_limit=1 << 20):
        plan = nn.plan_conv(x.shape, w.shape, padding="same", dtype="float64", threads=1)
        assert plan.workspace <= 1 << 20
        tracemalloc.start()
        got = nn.conv2d(x, w, padding="same", threads=1)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        with pytest.raises(MemoryLimitError, match="raise"):
            nn.plan_conv((1, 64, 256, 256), (64, 64, 31, 31), padding="same", threads=1, method="fft")
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)
    operands = x.nbytes + 2 * want.nbytes + (x.shape[2] + 14) ** 2 * 8 * 8  # input, output, padded input
    assert peak <= operands + (1 << 20) + (256 << 10)


def test_hopeless_sizes_are_refused_before_any_work():
    from fftconv.planning.plan import MemoryLimitError

    with pytest.raises(MemoryLimitError, match="memory"):
        nn.conv_transpose2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)), stride=10**7)
    with pytest.raises(MemoryLimitError, match="memory"):
        nn.conv1d(np.ones((1, 1, 10)), np.ones((10**6, 1, 1)), padding=10**6)
    with pytest.raises(MemoryLimitError, match="padded input"):
        nn.conv1d(np.ones((1, 1, 10)), np.ones((1, 1, 1)), padding=10**14)


def test_unbatched_inputs_bias_float32_and_integer_inputs(rng):
    x = rng.standard_normal((3, 9, 9)).astype(np.float32)
    w = rng.standard_normal((2, 3, 3, 3)).astype(np.float32)
    b = np.array([1.0, -1.0], np.float32)
    got = nn.conv2d(x, w, b, padding=1)
    assert got.shape == (2, 9, 9) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref.conv(x[None], w, b, pads=1)[0], rtol=1e-5, atol=1e-5)
    ints = nn.conv1d(np.arange(6).reshape(1, 1, 6), np.ones((1, 1, 2), np.int64))
    assert ints.dtype == np.float64 and ints.tolist() == [[[1.0, 3.0, 5.0, 7.0, 9.0]]]
    assert nn.conv2d(np.ones((0, 3, 5, 5)), w).shape == (0, 2, 3, 3)


@pytest.mark.parametrize("method", ["auto", "fft", "winograd"])
def test_nan_and_inf_reach_only_the_outputs_that_read_them(rng, method):
    x = rng.standard_normal((1, 2, 24, 24))
    x[0, 1, 10, 12] = np.nan
    x[0, 0, 3, 3] = np.inf
    w = rng.standard_normal((3, 2, 3, 3))
    got = nn.conv2d(x, w, padding=1, method=method)
    want = ref.conv(x, w, pads=1)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-10, atol=1e-10)
    assert np.isfinite(got).sum() > 0.9 * got.size


def test_complex_layers_correlate_without_conjugating(rng):
    x = rng.standard_normal((2, 2, 9, 9)) + 1j * rng.standard_normal((2, 2, 9, 9))
    w = rng.standard_normal((2, 2, 4, 3)) + 1j * rng.standard_normal((2, 2, 4, 3))
    for method in ("direct", "fft"):
        got = nn.conv2d(x, w, padding=(1, 2), method=method)
        assert got.dtype == np.complex128
        np.testing.assert_allclose(got, ref.conv(x, w, pads=[(1, 1), (2, 2)]), rtol=1e-10, atol=1e-10)


def test_inputs_are_never_modified(rng):
    x = rng.standard_normal((1, 2, 12, 12))
    w = rng.standard_normal((2, 2, 5, 5))
    copies = x.copy(), w.copy()
    for method in ("direct", "fft"):
        nn.conv2d(x, w, padding=2, padding_mode="reflect", method=method)
        nn.conv_transpose2d(x, np.swapaxes(w, 0, 1), stride=2, method=method)
    np.testing.assert_array_equal(x, copies[0])
    np.testing.assert_array_equal(w, copies[1])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: nn.conv2d(np.ones((1, 3, 5, 5)), np.ones((2, 2, 3, 3))), "expected input"),
        (lambda: nn.conv2d(np.ones((1, 4, 5, 5)), np.ones((3, 2, 3, 3)), groups=2), "divisible by groups"),
        (
            lambda: nn.conv2d(np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), stride=2, padding="same"),
            "strided",
        ),
        (lambda: nn.conv2d(np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), padding="full"), "Invalid padding"),
        (lambda: nn.conv2d(np.ones((1, 2, 2, 2)), np.ones((2, 2, 3, 3))), "kernel size"),
        (
            lambda: nn.conv2d(
                np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), padding=5, padding_mode="reflect"
            ),
            "smaller than the input",
        ),
        (
            lambda: nn.conv2d(np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), padding_mode="mirror"),
            "padding_mode",
        ),
        (lambda: nn.conv2d(np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), bias=np.ones(3)), "bias"),
        (lambda: nn.conv2d(np.ones((2, 5, 5)), np.ones((2, 2, 3))), "4-D"),
        (lambda: nn.conv2d(np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), stride=0), "at least 1"),
        (lambda: nn.conv2d(np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), method="im2col"), "method"),
        (
            lambda: nn.conv_transpose2d(np.ones((1, 2, 5, 5)), np.ones((2, 2, 3, 3)), output_padding=1),
            "output padding",
        ),
    ],
)
def test_bad_arguments_say_what_is_wrong(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_types_raise_type_errors():
    with pytest.raises(TypeError, match="stride"):
        nn.conv1d(np.ones((1, 1, 5)), np.ones((1, 1, 2)), stride=1.5)
    with pytest.raises(TypeError, match="numeric"):
        nn.conv1d(np.array([[["a", "b"]]]), np.ones((1, 1, 2)))
    with pytest.raises(TypeError, match="float64"):
        nn.conv1d(np.ones((1, 1, 5), np.longdouble), np.ones((1, 1, 2)))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_layers_are_linear_and_both_paths_agree(seed):
    rng = np.random.default_rng(seed)
    x, w, _, stride, dilation, groups = random_layer(rng, 2)
    y = rng.standard_normal(x.shape)
    a, c = rng.standard_normal(2)
    paths = [
        nn.conv2d(a * x + c * y, w, None, stride, 2, dilation, groups, method=m) for m in ("direct", "fft")
    ]
    separate = a * nn.conv2d(x, w, None, stride, 2, dilation, groups) + c * nn.conv2d(
        y, w, None, stride, 2, dilation, groups
    )
    np.testing.assert_allclose(paths[0], paths[1], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(paths[0], separate, rtol=1e-9, atol=1e-9)


# ---- against torch itself (optional: pip install torch==2.13.0 gets a CPU build) ----------

try:
    import torch
except ImportError:
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch is not installed (pip install torch==2.13.0)")


def torch_layer(nd, x, w, b, stride, padding, dilation, groups, padding_mode):
    """torch.nn.Conv*d with these weights (padding_mode needs the module, as in PyTorch)."""
    module = getattr(torch.nn, f"Conv{nd}d")(
        w.shape[1] * groups,
        w.shape[0],
        w.shape[2:],
        stride,
        padding,
        dilation,
        groups,
        b is not None,
        padding_mode,
        dtype=torch.from_numpy(x).dtype,
    )
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(w))
        if b is not None:
            module.bias.copy_(torch.from_numpy(b))
        return module(torch.from_numpy(x)).numpy()


@needs_torch
@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_random_configurations_match_torch(rng, nd, dtype):
    tol = 2e-5 if dtype == "float32" else 1e-11
    checked, configurations = 0, {1: 60, 2: 40, 3: 15}[nd]  # 3-D kernels up to 16³ are slow to plan
    for _ in range(configurations):
        groups = int(rng.integers(1, 5))
        c_group, out_group = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        kernel = tuple(int(v) for v in rng.integers(1, 17, nd))
        stride = tuple(int(v) for v in rng.integers(1, 4, nd))
        dilation = tuple(int(v) for v in rng.integers(1, 4, nd))
        # inputs a little longer than the dilated kernel (sometimes shorter: torch refuses those)
        sizes = tuple(
            max(1, d * (k - 1) + int(rng.integers(-2, 12 if nd < 3 else 5))) for k, d in zip(kernel, dilation)
        )
        x = rng.standard_normal((int(rng.integers(1, 4)), groups * c_group) + sizes).astype(dtype)
        w = rng.standard_normal((groups * out_group, c_group) + kernel).astype(dtype)
        b = rng.standard_normal(groups * out_group).astype(dtype) if rng.random() < 0.7 else None
        padding_mode = str(rng.choice(["zeros", "reflect", "replicate", "circular"]))
        padding = [int(rng.integers(0, 3)), tuple(int(v) for v in rng.integers(0, 3, nd)), "valid", "same"][
            int(rng.integers(0, 4))
        ]
        if padding == "same":
            stride = (1,) * nd
        try:
            want = torch_layer(nd, x, w, b, stride, padding, dilation, groups, padding_mode)
        except RuntimeError:  # torch refuses it: so must we
            with pytest.raises(ValueError):
                LAYERS[nd](x, w, b, stride, padding, dilation, groups, padding_mode)
            continue
        winograd = nd == 2 and w.shape[2:] == (3, 3) and stride == (1, 1) and dilation == (1, 1)
        for method in ("auto", "direct", "fft") + (("winograd",) if winograd else ()):
            got = LAYERS[nd](x, w, b, stride, padding, dilation, groups, padding_mode, method=method)
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_allclose(got, want, rtol=tol, atol=tol * max(1.0, np.abs(want).max()))
        checked += 1
    assert checked >= configurations // 2


@needs_torch
@pytest.mark.parametrize("nd", [1, 2])
def test_transposed_layers_match_torch(rng, nd):
    layer = {
        1: (nn.conv_transpose1d, torch.nn.functional.conv_transpose1d),
        2: (nn.conv_transpose2d, torch.nn.functional.conv_transpose2d),
    }[nd]
    for _ in range(40):
        groups = int(rng.integers(1, 4))
        kernel = tuple(int(v) for v in rng.integers(1, 6, nd))
        stride = tuple(int(v) for v in rng.integers(1, 4, nd))
        dilation = tuple(int(v) for v in rng.integers(1, 3, nd))
        output_padding = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
        padding = tuple(int(v) for v in rng.integers(0, 3, nd))
        x = rng.standard_normal((2, 2 * groups) + tuple(int(v) for v in rng.integers(3, 9, nd)))
        w = rng.standard_normal((2 * groups, int(rng.integers(1, 3))) + kernel)
        b = rng.standard_normal(w.shape[1] * groups)
        args = (stride, padding, output_padding, groups, dilation)
        try:
            want = layer[1](*(torch.from_numpy(a) for a in (x, w, b)), *args).numpy()
        except RuntimeError:
            with pytest.raises(ValueError):
                layer[0](x, w, b, *args)
            continue
        for method in ("direct", "fft"):
            np.testing.assert_allclose(layer[0](x, w, b, *args, method=method), want, rtol=1e-10, atol=1e-10)


@needs_torch
def test_keras_conv_is_torch_with_tensorflow_padding(rng):
    for sizes, kernel, strides in itertools.product([(9, 12), (8, 8)], [(2, 2), (3, 4)], [(1, 1), (2, 3)]):
        x = rng.standard_normal((2,) + sizes + (3,)).astype(np.float32)
        k = rng.standard_normal(kernel + (3, 4)).astype(np.float32)
        pads = [ref.tf_same(n, kk, s) for n, kk, s in zip(sizes, kernel, strides)]
        padded = torch.nn.functional.pad(
            torch.from_numpy(np.moveaxis(x, -1, 1).copy()), [p for pair in reversed(pads) for p in pair]
        )
        want = torch.nn.functional.conv2d(
            padded, torch.from_numpy(np.moveaxis(k, (-1, -2), (0, 1)).copy()), stride=strides
        ).numpy()
        np.testing.assert_allclose(
            nn.keras_conv(x, k, strides=strides, padding="same"),
            np.moveaxis(want, 1, -1),
            rtol=2e-5,
            atol=2e-5,
        )


def test_threads_calling_layers_at_once_get_the_serial_answers(rng):
    from concurrent.futures import ThreadPoolExecutor

    x = rng.standard_normal((2, 4, 40, 40)).astype(np.float32)
    weights = {k: rng.standard_normal((4, 4, k, k)).astype(np.float32) for k in (3, 4, 15)}
    calls = [
        lambda: nn.conv2d(x, weights[3], padding=1, threads=2),  # Winograd
        lambda: nn.conv2d(x, weights[15], padding="same", threads=2),  # FFT tiles
        lambda: nn.conv2d(x, weights[4], stride=2, method="direct", threads=2),
        lambda: nn.conv_transpose2d(x, weights[4], stride=2, padding=1, threads=2),
        lambda: nn.keras_conv(
            np.moveaxis(x, 1, -1), np.moveaxis(weights[4], (0, 1), (-1, -2)), padding="same"
        ),
    ]
    serial = [call() for call in calls]
    with ThreadPoolExecutor(6) as pool:
        for _ in range(3):
            order = rng.permutation(30) % len(calls)
            results = list(pool.map(lambda i: calls[i](), order))
            mismatched = sorted(
                {int(i) for i, got in zip(order, results) if not np.array_equal(got, serial[i])}
            )
            assert mismatched == [], f"calls {mismatched} differ from their serial answers"
