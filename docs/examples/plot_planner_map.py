"""
Which method the planner picks, and why
=======================================

``fftconv.plan`` says how a call would run without running it: the chosen method and every
executor's estimated time. Over a grid of image and kernel sizes (float64, 'same', one thread)
the map shows where direct sums, whole FFTs, overlap-save tiles and separable passes win on the
machine that built this page; on part of the grid every method is then timed, to compare the
estimate with the clock.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

import fftconv

images = [64, 128, 256, 512, 1024, 2048]
kernels = [3, 5, 9, 17, 33, 65]
methods = ["direct", "fft", "tiled", "separable"]
choice = np.zeros((len(kernels), len(images)), int)
for i, k in enumerate(kernels):
    for j, n in enumerate(images):
        kernel = np.random.default_rng(0).standard_normal((k, k))  # values known: not separable
        choice[i, j] = methods.index(fftconv.plan((n, n), kernel, "same", threads=1).method)



def draw_methods(ax, grid, image_sizes, kernel_sizes, title):
    """One cell per image and kernel size, coloured and labelled by the method in ``grid``."""
    ax.imshow(grid, cmap=plt.get_cmap("tab10", 10), vmin=0, vmax=9, origin="lower")
    ax.set_xticks(range(len(image_sizes)), [f"{n}²" for n in image_sizes])
    ax.set_yticks(range(len(kernel_sizes)), [f"{k}²" for k in kernel_sizes])
    ax.set_xlabel("image")
    ax.set_ylabel("kernel")
    for i in range(len(kernel_sizes)):
        for j in range(len(image_sizes)):
            ax.text(j, i, methods[grid[i, j]], ha="center", va="center", fontsize=8)
    ax.set_title(title)


fig, ax = plt.subplots(figsize=(6, 4.5))
draw_methods(ax, choice, images, kernels, "fftconv.plan's choice (a random kernel)")
fig.tight_layout()

# %%
# The clock's answer on the smaller part of the grid: every method timed on each cell (the
# fastest of three calls after a first one, which makes the plans), and the fastest shown. Where
# the two maps differ the estimate missed; on repeated calls fftconv's trials time the close
# contenders and keep the fastest (`fftconv.engine.trials`).
small_images, small_kernels = images[:4], kernels[:5]
fastest = np.zeros((len(small_kernels), len(small_images)), int)
for i, k in enumerate(small_kernels):
    for j, n in enumerate(small_images):
        image = np.random.default_rng(1).standard_normal((n, n))
        kernel = np.random.default_rng(2).standard_normal((k, k))
        times = []
        for method in methods[:3]:  # a random kernel: not separable
            fftconv.convolve(image, kernel, "same", method=method, threads=1)
            best = float("inf")
            for _ in range(3):
                start = time.perf_counter()
                fftconv.convolve(image, kernel, "same", method=method, threads=1)
                best = min(best, time.perf_counter() - start)
            times.append(best)
        fastest[i, j] = int(np.argmin(times))

fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
estimated = choice[: len(small_kernels), : len(small_images)]
draw_methods(axes[0], estimated, small_images, small_kernels, "estimated (fftconv.plan)")
draw_methods(axes[1], fastest, small_images, small_kernels, "measured (fastest of the methods)")
fig.tight_layout()
agree = (estimated == fastest).mean()
print(f"the estimate picked the measured fastest method on {agree:.0%} of these cells")
plt.show()
