"""
Blurring a photograph beside scipy.ndimage
==========================================

``fftconv.ndimage.gaussian_filter`` takes scipy.ndimage's arguments and gives its answer
(within float32 rounding here); it runs as 1-D passes on fftconv's engine. The photograph ships
with matplotlib.
"""

import time

import matplotlib.pyplot as plt
import numpy as np
import scipy.ndimage
from matplotlib import cbook

import fftconv.ndimage

with cbook.get_sample_data("grace_hopper.jpg") as file:
    photo = plt.imread(file).mean(axis=2).astype(np.float32)  # grey, float32


def fastest(call, repeats=5):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return result, best


ours, t_ours = fastest(lambda: fftconv.ndimage.gaussian_filter(photo, sigma=6, mode="nearest"))
theirs, t_scipy = fastest(lambda: scipy.ndimage.gaussian_filter(photo, sigma=6, mode="nearest"))
print(f"{photo.shape} float32, sigma 6: fftconv {t_ours * 1e3:.1f} ms, scipy.ndimage {t_scipy * 1e3:.1f} ms "
      f"({t_scipy / t_ours:.1f}x)")
print(f"largest difference relative to the image's range: {np.abs(ours - theirs).max() / np.ptp(theirs):.1e}")

fig, axes = plt.subplots(1, 2, figsize=(9, 5))
for ax, (title, values) in zip(axes, [("photograph", photo), ("gaussian_filter, sigma 6", ours)]):
    ax.imshow(values, cmap="gray")
    ax.set_title(title)
    ax.axis("off")
fig.tight_layout()
plt.show()
