"""
fftconv beside its peers, on the machine that built this page
=============================================================

``fftconv bench`` times fftconv beside scipy (and OpenCV and astropy where they are installed),
side by side in one run, and checks every answer against scipy's. Here a few cases of its quick
suite run with three rounds each, on one thread; the full suites are
``fftconv bench --quick`` and ``fftconv bench --suite core``. The machine is named below: the
ratios hold for it, not for every CPU.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.image import imread

from fftconv.cli.bench import format_table, load_suite, machine_info, run_case
from fftconv.cli.plot import plot_speedups

print(", ".join(f"{k}={v}" for k, v in machine_info(1).items() if k in ("cpu", "cores", "numpy", "scipy")))
suite = load_suite("quick")
rows = [row for case in suite.cases[:4] for row in run_case(case, threads=1, rounds=3)]
print(format_table(rows))

picture = Path(tempfile.mkdtemp()) / "bench_peers.png"  # the picture `fftconv bench --plot` draws
plot_speedups(rows, str(picture))
fig, ax = plt.subplots(figsize=(10, 3.5))
ax.imshow(imread(picture))
ax.axis("off")
fig.tight_layout()
plt.show()
