"""
Which method the planner picks, and why
=======================================

``fftconv.plan`` says how a call would run without running it: the chosen method and every
executor's estimated time. Over a grid of image and kernel sizes (float64, 'same', one thread)
the map shows where direct sums, whole FFTs, overlap-save tiles and separable passes win on the
machine that built this page. A few cells are then timed to compare the estimate with the clock.
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

fig, ax = plt.subplots(figsize=(6, 4.5))
ax.imshow(choice, cmap=plt.get_cmap("tab10", 10), vmin=0, vmax=9, origin="lower")
ax.set_xticks(range(len(images)), [f"{n}²" for n in images])
ax.set_yticks(range(len(kernels)), [f"{k}²" for k in kernels])
ax.set_xlabel("image")
ax.set_ylabel("kernel")
for i in range(len(kernels)):
    for j in range(len(images)):
        ax.text(j, i, methods[choice[i, j]], ha="center", va="center", fontsize=8)
ax.set_title("fftconv.plan's choice (a random kernel)")
fig.tight_layout()

# %%
# The estimates against the clock, for a few cells: the fastest of five calls after a first one
# (which makes the plans).
for n, k in [(256, 5), (1024, 17), (2048, 65)]:
    image = np.random.default_rng(1).standard_normal((n, n))
    kernel = np.random.default_rng(2).standard_normal((k, k))
    plan = fftconv.plan(image, kernel, "same", threads=1)
    fftconv.convolve(image, kernel, "same", threads=1)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        fftconv.convolve(image, kernel, "same", threads=1)
        best = min(best, time.perf_counter() - start)
    estimate = plan.candidates[plan.executor].seconds
    print(f"{n}² * {k}²: {plan.method:<9} estimated {estimate * 1e3:7.2f} ms, measured {best * 1e3:7.2f} ms")
