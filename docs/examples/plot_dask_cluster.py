"""
A dask array on a LocalCluster
==============================

``fftconv.dask.ndimage`` filters dask arrays lazily: each output chunk is computed from its
input chunk and exactly the halo the kernel reads, taken from the neighbouring chunks, so the
result equals the in-memory one however the array is chunked. The same code runs on dask's
threads, a ``LocalCluster`` (here two workers in this process, so that the page builds anywhere;
``processes=True`` under ``if __name__ == "__main__":`` in a script gives worker processes) or a
cluster by scheduler address.
"""

import dask.array as da
import matplotlib.pyplot as plt
import numpy as np
from distributed import Client, LocalCluster

import fftconv.dask.ndimage
import fftconv.ndimage

image = np.random.default_rng(0).standard_normal((1024, 1024)).astype(np.float32)
lazy = fftconv.dask.ndimage.gaussian_filter(da.from_array(image, chunks=256), sigma=5.0, mode="wrap")
print(lazy)  # nothing computed yet: 16 chunks, each filtered from its halo

with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
        Client(cluster) as client:
    result = lazy.compute()

want = fftconv.ndimage.gaussian_filter(image, sigma=5.0, mode="wrap")
print(f"largest difference from the in-memory filter: {np.abs(result - want).max():.1e}")

fig, ax = plt.subplots(figsize=(5, 5))
ax.imshow(result, cmap="gray")
for edge in range(256, 1024, 256):  # the chunk boundaries: no seam
    ax.axhline(edge - 0.5, color="tab:orange", lw=0.8)
    ax.axvline(edge - 0.5, color="tab:orange", lw=0.8)
ax.set_title("gaussian_filter on 16 chunks, 2 workers")
ax.axis("off")
fig.tight_layout()
plt.show()
