"""The seed's plain-Python loops as a second oracle, including the Keras/scipy confusion:
deep-learning 'convolution' is cross-correlation, and 'same' centres even kernels at n // 2."""

from itertools import product

import numpy as np
import pytest
from conftest import GENERAL_METHODS

import fftconv


def convolve_paint(img, ker):
    img_w, img_h = len(img[0]), len(img)
    ker_w, ker_h = len(ker[0]), len(ker)
    out = [[0] * (img_w + ker_w - 1) for i in range(img_h + ker_h - 1)]
    for x, y in product(range(img_w), range(img_h)):
        for dx, dy in product(range(ker_w), range(ker_h)):
            out[y + dy][x + dx] += img[y][x] * ker[dy][dx]
    return out


def convolve_sum(img, ker, sign=-1):
    """With sign=+1 this is the correlation Keras computes (up to the output offset)."""
    img_w, img_h = len(img[0]), len(img)
    ker_w, ker_h = len(ker[0]), len(ker)
    out_w, out_h = img_w + ker_w - 1, img_h + ker_h - 1
    out = [[0] * out_w for i in range(out_h)]
    for x, y in product(range(out_w), range(out_h)):
        for dx, dy in product(range(ker_w), range(ker_h)):
            if sign < 0:
                yy, xx = y - dy, x - dx
            else:  # correlation: shift so that index 0 of the output is lag -(ker - 1)
                yy, xx = y - (ker_h - 1) + dy, x - (ker_w - 1) + dx
            if 0 <= yy < img_h and 0 <= xx < img_w:
                out[y][x] += img[yy][xx] * ker[dy][dx]
    return out


SHAPES = [((5, 7), (3, 3)), ((6, 6), (4, 2)), ((3, 4), (5, 6)), ((1, 8), (1, 3)), ((8, 1), (2, 1))]


@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("method", GENERAL_METHODS)
def test_integer_convolution_equals_both_loops_exactly(shapes, method):
    rng = np.random.default_rng(7)
    img = rng.integers(-50, 50, shapes[0])
    ker = rng.integers(-5, 5, shapes[1])
    painted = np.array(convolve_paint(img.tolist(), ker.tolist()))
    summed = np.array(convolve_sum(img.tolist(), ker.tolist()))
    np.testing.assert_array_equal(painted, summed)
    np.testing.assert_array_equal(fftconv.convolve(img, ker, method=method), painted)
    np.testing.assert_array_equal(fftconv.convolve2d(img, ker, method=method), painted)


@pytest.mark.parametrize("shapes", SHAPES)
@pytest.mark.parametrize("method", GENERAL_METHODS)
def test_correlation_equals_the_plus_sign_loop(shapes, method):
    rng = np.random.default_rng(8)
    img = rng.integers(-50, 50, shapes[0])
    ker = rng.integers(-5, 5, shapes[1])
    expected = np.array(convolve_sum(img.tolist(), ker.tolist(), sign=+1))
    np.testing.assert_array_equal(fftconv.correlate(img, ker, method=method), expected)
    np.testing.assert_array_equal(fftconv.correlate2d(img, ker, method=method), expected)


def test_keras_same_is_correlate2d_same_not_convolve2d():
    """Keras Conv2D(padding='same') with an even 2x2 kernel: out[i, j] = sum k[a, b] x[i + a, j + b]
    (TF pads the extra row/column at the bottom/right)."""
    rng = np.random.default_rng(9)
    x = rng.integers(0, 9, (4, 5))
    k = rng.integers(-3, 4, (2, 2))
    padded = np.pad(x, ((0, 1), (0, 1)))
    keras = np.array([[np.sum(padded[i:i + 2, j:j + 2] * k) for j in range(5)] for i in range(4)])
    np.testing.assert_array_equal(fftconv.correlate2d(x, k, "same"), keras)
    assert not np.array_equal(fftconv.convolve2d(x, k, "same"), keras)
    assert not np.array_equal(fftconv.correlate(x, k, "same"), keras)
