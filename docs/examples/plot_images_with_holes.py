"""
Filling holes: normalised convolution
=====================================

Pixels marked NaN (saturated, masked, missing) spread through a plain filter: each hole grows
by the kernel's footprint. ``nan="interpolate"`` fills them from the valid pixels around them
instead (astropy's ``nan_treatment='interpolate'``): the sums over valid pixels divided by the
kernel's weight on them. Where no valid pixel is in the kernel's reach (the middle of the
masked block) the output stays NaN.
"""

import matplotlib.pyplot as plt
import numpy as np

import fftconv.kernels
import fftconv.ndimage

rng = np.random.default_rng(0)
y, x = np.mgrid[0:200, 0:200]
image = np.sin(x / 17.0) + np.cos(y / 23.0) + 0.1 * rng.standard_normal((200, 200))
holes = image.copy()
holes[rng.random(image.shape) < 0.003] = np.nan  # scattered bad pixels
holes[80:110, 60:100] = np.nan  # and a masked block

kernel = fftconv.kernels.gaussian(2.0)
plain = fftconv.ndimage.convolve(holes, kernel)
filled = fftconv.ndimage.convolve(holes, kernel, nan="interpolate")
print(f"NaN pixels: input {np.isnan(holes).mean():.1%}, plain filter {np.isnan(plain).mean():.1%}, "
      f"interpolated {np.isnan(filled).mean():.1%}")

fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
for ax, (title, values) in zip(axes, [("with holes", holes), ("plain convolve", plain),
                                      ('nan="interpolate"', filled)]):
    ax.imshow(values, cmap="coolwarm", vmin=-2.2, vmax=2.2)
    ax.set_title(title)
    ax.axis("off")
fig.tight_layout()
plt.show()
