"""Bad input to the layers of `fftconv.nn`, with PyTorch as the oracle (run where torch is
installed: ``pip install torch==2.13.0`` gets a CPU build): what torch refuses, fftconv refuses
with a ValueError or TypeError (torch's RuntimeError is a ValueError here, as documented in
`fftconv.nn.functional`; a TypeError stays a TypeError), in one line; what torch accepts,
fftconv accepts with torch's answer. Deliberate differences are listed at the end."""


import numpy as np
import pytest
from conftest import outcome

from fftconv import nn

torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")

RNG = np.random.default_rng(0)
X1, W1 = RNG.standard_normal((2, 4, 9)), RNG.standard_normal((6, 4, 3))
X2, W2 = RNG.standard_normal((2, 4, 7, 8)), RNG.standard_normal((6, 4, 3, 2))
X3, W3 = RNG.standard_normal((1, 2, 5, 6, 4)), RNG.standard_normal((3, 2, 2, 3, 2))
B6 = RNG.standard_normal(6)

LAYERS = {
    "conv1d": (nn.conv1d, torch.nn.functional.conv1d, X1, W1),
    "conv2d": (nn.conv2d, torch.nn.functional.conv2d, X2, W2),
    "conv3d": (nn.conv3d, torch.nn.functional.conv3d, X3, W3),
}

#: (label, layer, input, weight, bias, keyword arguments): torch's functional conv arguments.
CASES = [
    ("unbatched input", "conv2d", X2[0], W2, None, {}),
    ("input of 2 dims too many", "conv2d", X2[None, None], W2, None, {}),
    ("input of one dim too few", "conv2d", X2[0, 0], W2, None, {}),
    ("weight of one dim too few", "conv2d", X2, W2[0], None, {}),
    ("channels that do not match", "conv2d", X2[:, :3], W2, None, {}),
    ("groups 2", "conv2d", X2, W2[:, :2], B6, {"groups": 2}),
    ("groups 4, depthwise", "conv2d", X2, W2[:4, :1], None, {"groups": 4}),
    ("groups 2 on a weight for groups 1", "conv2d", X2, W2, None, {"groups": 2}),
    ("groups 0", "conv2d", X2, W2, None, {"groups": 0}),
    ("groups -2", "conv2d", X2, W2, None, {"groups": -2}),
    ("groups not dividing the output channels", "conv2d", X2, W2[:5, :2], None, {"groups": 2}),
    ("groups a float", "conv2d", X2, W2[:, :2], None, {"groups": 2.0}),
    ("stride 0", "conv2d", X2, W2, None, {"stride": 0}),
    ("stride -1", "conv2d", X2, W2, None, {"stride": -1}),
    ("stride of 3 axes", "conv2d", X2, W2, None, {"stride": (1, 1, 1)}),
    ("stride of 1 axis in 2-D", "conv2d", X2, W2, None, {"stride": (2,)}),
    ("stride (2, 3)", "conv2d", X2, W2, None, {"stride": (2, 3)}),
    ("stride a float", "conv2d", X2, W2, None, {"stride": 1.5}),
    ("stride of no axes", "conv2d", X2, W2, None, {"stride": ()}),
    ("stride a string", "conv2d", X2, W2, None, {"stride": "2"}),
    ("stride a list", "conv2d", X2, W2, None, {"stride": [2, 1]}),
    ("dilation of 1 axis in 2-D", "conv2d", X2, W2, None, {"dilation": [2]}),
    ("padding of 1 axis in 2-D", "conv2d", X2, W2, None, {"padding": (1,)}),
    ("padding -1", "conv2d", X2, W2, None, {"padding": -1}),
    ("padding (1, 2)", "conv2d", X2, W2, None, {"padding": (1, 2)}),
    ("padding of 3 axes", "conv2d", X2, W2, None, {"padding": (1, 1, 1)}),
    ("padding 'same' with stride 2", "conv2d", X2, W2, None, {"padding": "same", "stride": 2}),
    ("padding 'same'", "conv2d", X2, W2, None, {"padding": "same", "dilation": 2}),
    ("padding 'valid'", "conv2d", X2, W2, None, {"padding": "valid"}),
    ("padding 'full'", "conv2d", X2, W2, None, {"padding": "full"}),
    ("padding a float", "conv2d", X2, W2, None, {"padding": 1.5}),
    ("dilation 0", "conv2d", X2, W2, None, {"dilation": 0}),
    ("dilation -1", "conv2d", X2, W2, None, {"dilation": -1}),
    ("dilation (2, 3)", "conv2d", X2, W2, None, {"dilation": (2, 3)}),
    ("kernel longer than the input", "conv2d", X2[..., :2, :], W2, None, {}),
    ("kernel dilated past the input", "conv2d", X2, W2, None, {"dilation": 4}),
    ("kernel reaching the input once padded", "conv2d", X2[..., :2, :], W2, None, {"padding": 1}),
    ("bias of the wrong length", "conv2d", X2, W2, B6[:5], {}),
    ("bias of 2 dims", "conv2d", X2, W2, B6.reshape(2, 3), {}),
    ("bias of 0 dims", "conv2d", X2, W2[:1], np.array(B6[0]), {}),
    ("empty batch", "conv2d", X2[:0], W2, None, {}),
    ("empty spatial axis", "conv2d", X2[:, :, :0], W2, None, {}),
    ("no output channels", "conv2d", X2, W2[:0], None, {}),
    ("kernel of length 0", "conv2d", X2, W2[..., :0], None, {}),
    ("NaN in the input", "conv2d", np.where(X2 > 1.5, np.nan, X2), W2, None, {}),
    ("1-D stride 2 padding 1", "conv1d", X1, W1, B6, {"stride": 2, "padding": 1}),
    ("1-D groups 2", "conv1d", X1, W1[:, :2], B6, {"groups": 2}),
    ("1-D channels that do not match", "conv1d", X1[:, :3], W1, None, {}),
    ("1-D 2-D weight", "conv1d", X1, W1[0], None, {}),
    ("1-D padding 'same' of an even kernel", "conv1d", X1, W1[..., :2], None, {"padding": "same"}),
    ("1-D padding of 2 axes", "conv1d", X1, W1, None, {"padding": (1, 1)}),
    ("3-D stride (1, 2, 1)", "conv3d", X3, W3, None, {"stride": (1, 2, 1)}),
    ("3-D padding 'same' dilated", "conv3d", X3, W3, None, {"padding": "same", "dilation": (1, 2, 1)}),
    ("3-D weight of 4 dims", "conv3d", X3, W3[0], None, {}),
]

#: Transposed layers: (label, layer, input, weight, bias, keyword arguments).
TRANSPOSED = {
    "conv_transpose1d": (nn.conv_transpose1d, torch.nn.functional.conv_transpose1d),
    "conv_transpose2d": (nn.conv_transpose2d, torch.nn.functional.conv_transpose2d),
}
XT, WT = RNG.standard_normal((2, 4, 5, 6)), RNG.standard_normal((4, 3, 3, 2))
TRANSPOSED_CASES = [
    ("plain", "conv_transpose2d", XT, WT, None, {}),
    ("stride 2, output_padding 1", "conv_transpose2d", XT, WT, None, {"stride": 2, "output_padding": 1}),
    ("output_padding as large as the stride", "conv_transpose2d", XT, WT, None,
     {"stride": 2, "output_padding": 2}),
    ("output_padding below the dilation", "conv_transpose2d", XT, WT, None,
     {"dilation": 3, "output_padding": 2}),
    ("groups 2", "conv_transpose2d", XT, WT, RNG.standard_normal(6), {"groups": 2}),
    ("groups 3 not dividing the channels", "conv_transpose2d", XT, WT, None, {"groups": 3}),
    ("padding eating the output", "conv_transpose2d", XT[..., :1, :1], WT[..., :1, :1], None, {"padding": 1}),
    ("padding -1", "conv_transpose2d", XT, WT, None, {"padding": -1}),
    ("stride and output_padding of 1 axis", "conv_transpose2d", XT, WT, None,
     {"stride": (2,), "output_padding": (1,), "padding": (1,)}),
    ("stride of 3 axes", "conv_transpose2d", XT, WT, None, {"stride": (2, 2, 2)}),
    ("groups a float", "conv_transpose2d", XT, WT, None, {"groups": 1.0}),
    ("stride 0", "conv_transpose2d", XT, WT, None, {"stride": 0}),
    ("channels that do not match", "conv_transpose2d", XT[:, :3], WT, None, {}),
    ("bias of the wrong length", "conv_transpose2d", XT, WT, RNG.standard_normal(4), {}),
    ("unbatched 1-D", "conv_transpose1d", XT[0, :, 0], WT[..., 0], None, {"stride": 3}),
    ("1-D input of 2 dims too many", "conv_transpose1d", XT, WT[..., 0], None, {}),
]


def _tensor(value):
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value if value.flags.c_contiguous else value.copy())  # keeps 0-d 0-d
    return value


def same_outcome(ours, theirs):
    got, our_error = outcome(ours)
    want, torch_error = outcome(theirs)
    if torch_error is not None:
        assert our_error is not None, f"torch raised {torch_error!r}; fftconv returned {np.shape(got)}"
        expected = TypeError if isinstance(torch_error, TypeError) else ValueError
        assert isinstance(our_error, expected), (our_error, torch_error)
        message = str(our_error)
        assert message and "\n" not in message and "Traceback" not in message, message
    else:
        assert our_error is None, f"torch returned {tuple(want.shape)}; fftconv raised {our_error!r}"
        want = want.numpy()
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("label, layer, x, w, b, kwargs", CASES, ids=[c[0] for c in CASES])
def test_layers_refuse_what_torch_refuses_and_answer_what_it_answers(label, layer, x, w, b, kwargs):
    ours, theirs = LAYERS[layer][:2]
    same_outcome(lambda: ours(x, w, b, **kwargs),
                 lambda: theirs(_tensor(x), _tensor(w), _tensor(b), **kwargs))


@pytest.mark.parametrize("label, layer, x, w, b, kwargs", TRANSPOSED_CASES,
                         ids=[c[0] for c in TRANSPOSED_CASES])
def test_transposed_layers_refuse_what_torch_refuses(label, layer, x, w, b, kwargs):
    ours, theirs = TRANSPOSED[layer]
    same_outcome(lambda: ours(x, w, b, **kwargs),
                 lambda: theirs(_tensor(x), _tensor(w), _tensor(b), **kwargs))


@pytest.mark.parametrize("layer", list(LAYERS))
@pytest.mark.parametrize("padding_mode", ["reflect", "replicate", "circular", "zeros", "wrap"])
@pytest.mark.parametrize("padding", [0, 1, 3, "same"])
def test_padding_modes_as_the_torch_modules_take_them(layer, padding_mode, padding):
    ours, _, x, w = LAYERS[layer]
    nd = x.ndim - 2
    module = getattr(torch.nn, f"Conv{nd}d")

    def theirs():
        conv = module(x.shape[1], w.shape[0], w.shape[2:], padding=padding, padding_mode=padding_mode,
                      bias=False, dtype=torch.float64)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(w))
            return conv(torch.from_numpy(x))

    same_outcome(lambda: ours(x, w, padding=padding, padding_mode=padding_mode), theirs)


def test_deliberate_differences():
    """Dtypes follow NumPy's and scipy's rules (`fftconv.nn.engine.compute_dtype`), not
    torch's: mixed precisions are promoted instead of refused, integers compute in float64
    (torch sums int64 exactly), float16 in float32 (torch keeps float16)."""
    x, w = RNG.standard_normal((1, 2, 5, 5)), RNG.standard_normal((3, 2, 2, 2))
    with pytest.raises(RuntimeError, match="expected"):
        torch.nn.functional.conv2d(_tensor(x.astype(np.float32)), _tensor(w))
    mixed = nn.conv2d(x.astype(np.float32), w)
    assert mixed.dtype == np.float64
    np.testing.assert_allclose(mixed, nn.conv2d(x.astype(np.float32).astype(np.float64), w), rtol=1e-12)
    xi, wi = (x * 10).astype(np.int64), (w * 10).astype(np.int64)
    exact = torch.nn.functional.conv2d(_tensor(xi), _tensor(wi)).numpy()
    assert exact.dtype == np.int64
    ours = nn.conv2d(xi, wi)
    assert ours.dtype == np.float64 and np.array_equal(ours, exact)  # small integers: exact in float64
    half = torch.nn.functional.conv2d(_tensor(x.astype(np.float16)), _tensor(w.astype(np.float16))).numpy()
    assert half.dtype == np.float16
    assert nn.conv2d(x.astype(np.float16), w.astype(np.float16)).dtype == np.float32
