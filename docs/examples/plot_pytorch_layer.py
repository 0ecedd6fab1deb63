"""
A PyTorch layer, reproduced
===========================

``fftconv.nn.conv2d`` computes what ``torch.nn.functional.conv2d`` computes (a cross-correlation
summed over input channels, with stride, padding, dilation and groups) on NumPy arrays, planned
like every fftconv call: small kernels by BLAS products over tap copies or Winograd's
F(2x2, 3x3), large ones in the frequency domain. Here the layer's definition, written out as
loops, is the reference (the test suite also compares with torch itself): the same numbers to
the last bits of rounding, which depend on the order of the sums. The plan says how the layer
ran.
"""

import matplotlib.pyplot as plt
import numpy as np

import fftconv.nn

rng = np.random.default_rng(0)
x = rng.standard_normal((2, 3, 20, 24))  # batch, channels in, height, width
weight = rng.standard_normal((4, 3, 5, 5))  # channels out, channels in, kernel
bias = rng.standard_normal(4)
stride, padding = 2, 2

got = fftconv.nn.conv2d(x, weight, bias, stride=stride, padding=padding)

# the definition: out[n, o, i, j] = bias[o] + sum over c, u, v of w[o, c, u, v] * x_padded[n, c, s*i + u, s*j + v]
padded = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
rows = (padded.shape[2] - weight.shape[2]) // stride + 1
cols = (padded.shape[3] - weight.shape[3]) // stride + 1
want = np.empty((2, 4, rows, cols))
for n in range(2):
    for o in range(4):
        for i in range(rows):
            for j in range(cols):
                window = padded[n, :, stride * i : stride * i + 5, stride * j : stride * j + 5]
                want[n, o, i, j] = bias[o] + np.sum(window * weight[o])

print(f"output {got.shape}; largest difference from the definition: {np.abs(got - want).max():.1e}")
print(fftconv.nn.plan_conv(x.shape, weight.shape, stride=stride, padding=padding, dtype=x.dtype).explain())

fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
for o, ax in enumerate(axes):
    ax.imshow(got[0, o], cmap="RdBu_r")
    ax.set_title(f"output channel {o}")
    ax.axis("off")
fig.tight_layout()
plt.show()
