"""``fftconv bench --plot``: speedup over the fastest peer against image and kernel size.

matplotlib is an optional extra (``pip install "fftconv[plot]"``); without it the command says
so instead of plotting.
"""

from __future__ import annotations

from .bench import Row


def plot_speedups(rows: list[Row], path: str) -> None:
    """One line per case, labelled with it: how many times faster ``fftconv.convolve`` ran than
    each peer (one marker and legend entry per peer), on a log scale with ticks at 0.25x ...
    16x; right of the 1x line fftconv wins.

    Examples
    --------
    >>> import tempfile, os
    >>> rows = [Row("512x512 * 3x3 same float64", "fftconv.convolve", False, 1e-3, 0, 3, 0, 1.2),
    ...         Row("512x512 * 3x3 same float64", "scipy.signal.convolve", True, 2e-3, 0, 3, 0, 1.0)]
    >>> path = os.path.join(tempfile.mkdtemp(), "s.png")
    >>> plot_speedups(rows, path); os.path.getsize(path) > 0
    True
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FixedLocator, NullLocator
    except ImportError:
        raise RuntimeError(
            "--plot needs matplotlib: pip install \"fftconv[plot]\" (or pip install matplotlib)"
        ) from None
    cases = list(dict.fromkeys(r.case for r in rows))
    ours = {r.case: r.median_s for r in rows if r.implementation == "fftconv.convolve"}
    peers = list(dict.fromkeys(r.implementation for r in rows if r.peer))
    fig, ax = plt.subplots(figsize=(11, 1.4 + 0.45 * len(cases)), constrained_layout=True)
    markers = "osD^vP*X<>"
    speeds = []
    for i, peer in enumerate(peers):
        points = [(r.median_s / ours[r.case], cases.index(r.case)) for r in rows
                  if r.implementation == peer and r.case in ours]
        speeds += [x for x, _ in points]
        ax.scatter([x for x, _ in points], [y for _, y in points], marker=markers[i % len(markers)],
                   label=peer, s=40, alpha=0.85)
    ax.axvline(1.0, color="grey", lw=1, ls="--")
    ax.set_xscale("log")
    ticks = [t for t in (1 / 16, 1 / 8, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64)
             if min(speeds, default=1) / 2 <= t <= max(speeds, default=1) * 2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{t:g}x" for t in ticks])
    ax.set_yticks(range(len(cases)), cases)
    ax.invert_yaxis()
    ax.set_xlabel("how many times faster fftconv.convolve ran than the peer (right of 1x: fftconv wins)")
    ax.grid(True, axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", title="peer")
    ax.set_title("fftconv.convolve beside each peer (medians of one run)")
    fig.savefig(path, dpi=120)
    plt.close(fig)
