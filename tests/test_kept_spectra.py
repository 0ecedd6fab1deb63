"""Kernel spectra kept for the calls that repeat a kernel (`fftconv.executors.kept_spectra`)."""

import numpy as np
import pytest
import scipy.signal
from conftest import in_threads

import fftconv
from fftconv.executors import kept_spectra, spectral


@pytest.fixture
def made(monkeypatch):
    """Counts the kernel transforms made, from an empty store."""
    kept_spectra.clear()
    count = [0]
    transformed = spectral._transformed

    def counting(*args):
        count[0] += 1
        return transformed(*args)

    monkeypatch.setattr(spectral, "_transformed", counting)
    yield count
    kept_spectra.clear()


def test_a_repeated_kernel_is_transformed_once(rng, made):
    kernel = rng.standard_normal((31, 31))
    for _ in range(3):
        image = rng.standard_normal((200, 180))
        got = fftconv.convolve(image, kernel, "same", method="fft")
        np.testing.assert_allclose(got, scipy.signal.convolve(image, kernel, "same", method="direct"),
                                   rtol=1e-10, atol=1e-10)
    assert made[0] == 1
    fftconv.convolve(image, kernel.copy(), "same", method="fft")  # equal values, another array
    assert made[0] == 1
    assert kept_spectra.kept_bytes() > 0


def test_a_kernel_changed_in_place_is_transformed_again(rng, made):
    """The whole kernel is compared, not the sample that picks its entry: a change in the
    middle of a zero-edged kernel, which leaves every sampled byte alone, is seen."""
    image = rng.standard_normal((150, 150))
    kernel = np.zeros((65, 65))
    kernel[32, 32] = 1.0
    first = fftconv.convolve(image, kernel, "same", method="fft")
    np.testing.assert_allclose(first, image, atol=1e-12)
    kernel[31, 33] = 0.5  # not among the sampled values (every 66th of 4,225)
    second = fftconv.convolve(image, kernel, "same", method="fft")
    np.testing.assert_allclose(second, scipy.signal.convolve(image, kernel, "same", method="direct"),
                               rtol=1e-10, atol=1e-10)
    assert made[0] == 2


def test_what_decides_a_spectrum_keys_it(rng, made):
    kernel = rng.standard_normal(40)
    image = rng.standard_normal(3000)
    for dtype in (np.float64, np.float32, np.complex128):
        a, k = image.astype(dtype), kernel.astype(dtype)
        got = fftconv.convolve(a, k, "full", method="fft")
        want = scipy.signal.convolve(a, k, "full", method="direct")
        np.testing.assert_allclose(got, want, rtol=2e-4 if dtype == np.float32 else 1e-10,
                                   atol=2e-4 if dtype == np.float32 else 1e-10)
    assert made[0] == 3  # one spectrum a dtype
    fftconv.convolve(image[:1000], kernel, "full", method="fft")  # another transform length
    assert made[0] == 4


def test_kept_spectra_are_read_only_and_within_the_budget(rng, made, monkeypatch):
    monkeypatch.setattr(kept_spectra, "BUDGET_BYTES", 300_000)
    kernels = [rng.standard_normal((9, 9)) for _ in range(40)]
    float64 = np.dtype(np.float64)
    for kernel in kernels:
        spectral.kernel_spectrum(kernel, (108, 108), True, float64, 1)  # 93 KiB each
        assert kept_spectra.kept_bytes() <= 300_000
    assert made[0] == 40
    spectral.kernel_spectrum(kernels[-1], (108, 108), True, float64, 1)  # the most recent is kept
    assert made[0] == 40
    spectral.kernel_spectrum(kernels[0], (108, 108), True, float64, 1)  # the oldest was dropped
    assert made[0] == 41
    spectrum = spectral.kernel_spectrum(kernels[0], (108, 108), True, float64, 1)
    assert made[0] == 41 and not spectrum.flags.writeable
    with pytest.raises(ValueError):
        spectrum *= 2
    assert spectral.kernel_spectrum(kernels[0], (400, 400), True, float64, 1) is not None  # 1.2 MiB
    assert made[0] == 42 and kept_spectra.kept_bytes() <= 300_000  # made, not kept


def test_a_memory_limit_bounds_what_is_kept(rng, made):
    image, kernel = rng.standard_normal((300, 300)), rng.standard_normal((41, 41))
    with fftconv.config.override(memory_limit="3MiB"):
        assert kept_spectra.budget() == 768 * 1024
        got = fftconv.convolve(image, kernel, "same", method="fft")
        assert kept_spectra.kept_bytes() <= 768 * 1024
    np.testing.assert_allclose(got, scipy.signal.convolve(image, kernel, "same", method="direct"),
                               rtol=1e-10, atol=1e-10)
    fftconv.convolve(image, kernel, "same", method="fft")
    assert 0 < kept_spectra.kept_bytes() <= kept_spectra.BUDGET_BYTES


def test_threads_repeating_their_own_kernels_get_their_own_answers(rng):
    kept_spectra.clear()
    image = rng.standard_normal((120, 120))
    kernels = [rng.standard_normal((15, 15)) for _ in range(4)]
    wants = [scipy.signal.convolve(image, k, "same", method="direct") for k in kernels]
    failures = []

    def work(i: int) -> None:
        for _ in range(10):
            got = fftconv.convolve(image, kernels[i], "same", method="fft")
            if not np.allclose(got, wants[i], rtol=1e-10, atol=1e-10):
                failures.append(i)

    in_threads(work)
    assert failures == []


def test_a_kept_kernel_is_a_copy_of_the_callers(rng, made):
    """A contiguous kernel's bytes are copied when kept, a strided one's copied once: either
    way the caller's array changing afterwards is seen."""
    image = rng.standard_normal((100, 100))
    for kernel in (rng.standard_normal((21, 21)), rng.standard_normal((21, 42))[:, ::2]):
        fftconv.convolve(image, kernel, "same", method="fft")
        kernel[10, 10] += 1.0
        got = fftconv.convolve(image, kernel, "same", method="fft")
        np.testing.assert_allclose(got, scipy.signal.convolve(image, kernel, "same", method="direct"),
                                   rtol=1e-10, atol=1e-10)
    assert made[0] == 4
