"""``fftconv bench --plot``: speedup over the fastest peer against image and kernel size.

matplotlib is an optional extra (``pip install "fftconv[plot]"``); without it the command says
so instead of plotting.
"""

from __future__ import annotations

import math

from .bench import Row


def plot_speedups(rows: list[Row], path: str) -> None:
    """Two panels, each point one case: speedup of ``fftconv.convolve`` over the fastest peer,
    against the image's point count and against the kernel's.

    Examples
    --------
    >>> import tempfile, os
    >>> rows = [Row("512x512 * 3x3 same float64", "fftconv.convolve", False, 1e-3, 0, 3, 0, 1.2)]
    >>> path = os.path.join(tempfile.mkdtemp(), "s.png")
    >>> plot_speedups(rows, path); os.path.getsize(path) > 0
    True
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError(
            "--plot needs matplotlib: pip install \"fftconv[plot]\" (or pip install matplotlib)"
        ) from None
    ours = [r for r in rows if r.implementation == "fftconv.convolve" and r.speedup_vs_best_peer]
    sizes = [_points(r.case, 0) for r in ours]
    kernels = [_points(r.case, 1) for r in ours]
    speedups = [r.speedup_vs_best_peer for r in ours]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, constrained_layout=True)
    panels = ((axes[0], sizes, "image size (points)"), (axes[1], kernels, "kernel size (points)"))
    for ax, xs, label in panels:
        ax.scatter(xs, speedups, c=["tab:green" if s >= 1 else "tab:red" for s in speedups])
        ax.axhline(1.0, color="grey", lw=1, ls="--")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("fftconv.convolve speedup over the best peer")
    fig.suptitle("fftconv vs its fastest peer (scipy, OpenCV, astropy) per case; above the line fftconv wins")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _points(case_name: str, which: int) -> int:
    shapes = case_name.split(" ")[0::2][:2]  # "512x512 * 3x3 same float64" -> image, kernel
    return math.prod(int(n) for n in shapes[which].split("x"))
