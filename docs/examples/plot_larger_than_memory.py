"""
An image on disk, filtered in blocks under a memory limit
=========================================================

``fftconv.ndimage`` reads memory-mapped images (and h5py or zarr datasets) block by block: each
block's halo is read with the boundary mode, filtered, and written into ``output``, which may be
a memmap too. Blocks are sized so that the working memory stays under ``[memory] limit``; the
image and its result never need to fit in memory. Here a small image stands in for a large one,
with a limit small enough to need many blocks; the result equals the in-memory one.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import fftconv
import fftconv.kernels
import fftconv.ndimage

folder = Path(tempfile.mkdtemp())
image = np.lib.format.open_memmap(folder / "image.npy", "w+", np.float32, (1500, 1200))
y, x = np.mgrid[0:1500, 0:1200]
image[:] = (np.sin(x / 40.0) * np.cos(y / 55.0) + 0.3 * np.random.default_rng(0).random((1500, 1200))).astype(
    np.float32
)
image.flush()

source = np.load(folder / "image.npy", mmap_mode="r")  # read-only, on disk
out = np.lib.format.open_memmap(folder / "blurred.npy", "w+", np.float32, source.shape)
kernel = fftconv.kernels.gaussian(4.0)
with fftconv.config.override(memory_limit="2MiB"):
    plan = fftconv.ndimage.plan("convolve", source, kernel)
    print(plan.explain().splitlines()[1])  # the blocks
    fftconv.ndimage.convolve(source, kernel, output=out, mode="reflect", progress=True)

in_memory = fftconv.ndimage.convolve(np.asarray(source), kernel, mode="reflect")
print(f"largest difference from the in-memory result: {np.abs(out - in_memory).max():.1e}")

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, (title, values) in zip(axes, [("on disk", source), ("blurred, in blocks of 2 MiB", out)]):
    ax.imshow(values, cmap="magma")
    ax.set_title(title)
    ax.axis("off")
fig.tight_layout()
plt.show()
