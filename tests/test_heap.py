"""`fftconv.heap`: glibc's malloc thresholds raised at import, so that arrays of 128 KiB to a
few MiB reuse the heap instead of faulting in fresh pages on every call."""

import os
import resource
import subprocess
import sys

import pytest

from fftconv import heap

#: Allocating and freeing these (in KiB, how many) three times, the third round's page faults
#: are counted: with the default thresholds every round maps (or trims and regrows) afresh.
ROUNDS = ((192, 5), (1024, 4))


def _faults_of_a_third_round(prelude: str, **malloc_settings: str) -> int:
    """Page faults of the third round of `ROUNDS` in a new process that ran ``prelude``, with
    glibc's ``MALLOC_*`` environment variables as given (none by default: dask's nanny sets
    ``MALLOC_TRIM_THRESHOLD_`` in the process that starts a cluster, and its children inherit it)."""
    code = f"""
import resource, numpy as np
{prelude}
total = 0
for kib, count in {ROUNDS!r}:
    for round in range(3):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        arrays = [np.ones(kib * 128) for _ in range(count)]
        del arrays
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    total += faults
print(total)
"""
    env = {name: value for name, value in os.environ.items() if not name.startswith("MALLOC_")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          env=env | malloc_settings)
    return int(done.stdout)


@pytest.mark.skipif(not heap.glibc(), reason="glibc's malloc thresholds only")
def test_importing_fftconv_lets_mid_size_arrays_reuse_the_heap():
    plain = _faults_of_a_third_round("")
    adapted = _faults_of_a_third_round("import fftconv")
    assert plain > 200  # the default thresholds: pages faulted in again every round
    assert adapted < plain / 10
    # a threshold the user set turns glibc's adaptation, and so fftconv's, off
    assert _faults_of_a_third_round("import fftconv", MALLOC_TRIM_THRESHOLD_="65536") > 200


def test_adapting_is_cheap_and_says_where_it_applies():
    # this thread's faults: the process' count takes in other threads' work (the background
    # thread, a helper making FFTW plans), which once made it 16 in the full suite
    who = getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF)
    before = resource.getrusage(who).ru_minflt
    assert heap.adapt_malloc() == heap.glibc()
    assert resource.getrusage(who).ru_minflt - before < 16  # the block is never touched
