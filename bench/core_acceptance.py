"""Issue [1/7] acceptance benchmark: fftconv beside scipy, 1 thread, warm plans, one run.

Usage: python bench/core_acceptance.py [--rounds N] [--json PATH]

Checks the targets: fftconvolve 4096x4096 * 31x31 'same' >= 1.8x scipy.signal.fftconvolve in
float64 and >= 2x in float32; 63x63 'valid' >= 2.5x; fftconv.convolve (auto) >= 0.9x the best
scipy function on 512^2 * 3^2, 1024^2 * 5^2 and 2048^2 * 11^2.
"""

from __future__ import annotations

import argparse
import sys

from fftconv.cli.bench import format_table, load_suite, machine_info, run_case, to_json

TARGETS = {  # case name -> (our implementation, scipy implementation or None for best peer, ratio)
    "4096x4096 * 31x31 same float64": ("fftconv.fftconvolve", "scipy.signal.fftconvolve", 1.8),
    "4096x4096 * 31x31 same float32": ("fftconv.fftconvolve", "scipy.signal.fftconvolve", 2.0),
    "4096x4096 * 63x63 valid float64": ("fftconv.fftconvolve", "scipy.signal.fftconvolve", 2.5),
}
CORE = load_suite("core").cases
for case in CORE[3:]:
    TARGETS[case.name] = ("fftconv.convolve", None, 0.9)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    machine = machine_info(1)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in machine.items()))
    rows, failures = [], 0
    for case in CORE:
        case_rows = run_case(case, threads=1, rounds=args.rounds)
        rows.extend(case_rows)
        print(format_table(case_rows), flush=True)
        ours_name, peer_name, target = TARGETS[case.name]
        by_name = {r.implementation: r for r in case_rows}
        # the targets are against scipy (OpenCV and astropy, when installed, are not counted)
        peer = (by_name[peer_name].median_s if peer_name
                else min(r.median_s for r in case_rows if r.implementation.startswith("scipy.")))
        ratio = peer / by_name[ours_name].median_s
        verdict = "ok" if ratio >= target else "BELOW TARGET"
        failures += ratio < target
        print(f"  -> {ours_name} vs {peer_name or 'best scipy'}: {ratio:.2f}x (target {target}x) {verdict}\n")
    if args.json:
        with open(args.json, "w") as f:
            f.write(to_json(rows, machine))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
