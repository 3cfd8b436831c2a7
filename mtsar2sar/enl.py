"""Equivalent number of looks (ENL), estimated automatically on homogeneous areas.

For L-look speckle the log-intensity has variance ``psi_1(L)`` (trigamma) whatever the reflectivity,
so in every window the sample variance ``k2`` of ``log w`` estimates ``psi_1(L)`` plus the texture of
the scene. Homogeneous windows give the *lowest* values of ``k2``, scattered around ``psi_1(L)`` by the
sampling noise of a finite window; textured or edge windows only add values above. A high quantile
of the per-window ENL (the classical recipe) is biased upward by that sampling noise; here the
homogeneous cluster is found by an iterated one-sided trimming that accounts for it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import polygamma


def inverse_trigamma(k2: float) -> float:
    """Solve ``psi_1(L) = k2`` for ``L > 0``."""
    from scipy.optimize import brentq  # here: importing scipy.optimize costs every job 0.3 s

    if not np.isfinite(k2) or k2 <= 0:
        raise ValueError(f"log-variance must be positive, got {k2}")
    f = lambda log_l: float(polygamma(1, np.exp(log_l))) - k2
    return float(np.exp(brentq(f, np.log(1e-4), np.log(1e7), xtol=1e-10)))


@dataclass(frozen=True)
class EnlEstimate:
    enl: float
    n_windows: int
    window: int
    method: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def block_view(intensity: NDArray[np.floating], window: int) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Non-overlapping ``window`` x ``window`` blocks (row-major, one per row) and which are fully valid."""
    h, w = intensity.shape
    nh, nw = h // window, w // window
    if nh == 0 or nw == 0:
        raise ValueError(f"image {intensity.shape} is smaller than the ENL window {window}")
    blocks = np.asarray(intensity[: nh * window, : nw * window], dtype=np.float64)
    blocks = blocks.reshape(nh, window, nw, window).transpose(0, 2, 1, 3).reshape(nh * nw, window * window)
    return blocks, np.all(np.isfinite(blocks) & (blocks > 0), axis=1)


def window_log_variances(intensity: NDArray[np.floating], window: int) -> NDArray[np.float64]:
    """Sample variance of log-intensity in non-overlapping ``window`` x ``window`` blocks that are fully valid."""
    blocks, ok = block_view(intensity, window)
    return np.var(np.log(blocks[ok]), axis=1, ddof=1)


def sampling_spread(enl: float, n: int) -> float:
    """Relative standard deviation of the sample log-variance of ``n`` independent L-look pixels."""
    kurt = float(polygamma(3, enl) / polygamma(1, enl) ** 2)  # excess kurtosis of log-Gamma
    return float(np.sqrt(2.0 / (n - 1) + kurt / n))


def estimate_enl(intensity: NDArray[np.floating], window: int = 15, iterations: int = 20) -> EnlEstimate:
    """ENL of an intensity image from its most homogeneous windows (see module doc).

    Start from the 5 % quantile of the per-window log-variances ``k2``; then repeatedly keep the
    windows whose ``k2`` lies below ``psi_1(L) * (1 + 3 r)`` (``r``: the sampling spread of ``k2``
    for pure L-look speckle) and re-estimate ``L`` from their mean ``k2``, until it settles. Texture
    and edges only raise ``k2``, so the kept windows are the homogeneous ones; the one-sided cut at
    3 spreads biases the result by well under 1 %.
    """
    return enl_from_log_variances(window_log_variances(intensity, window), window, iterations)


def enl_from_log_variances(k2: NDArray[np.float64], window: int = 15, iterations: int = 20) -> EnlEstimate:
    """:func:`estimate_enl` from per-window log-variances already computed (e.g. strip by strip)."""
    k2 = k2[k2 > 0]
    if k2.size < 3:
        raise ValueError(f"too few fully valid {window}x{window} windows ({k2.size}) to estimate the ENL")
    n = window * window
    enl = inverse_trigamma(float(np.quantile(k2, 0.05)))
    kept = k2
    for _ in range(iterations):
        center = float(polygamma(1, enl))
        kept = k2[k2 <= center * (1 + 3 * sampling_spread(enl, n))]
        new = inverse_trigamma(float(kept.mean()))
        if abs(new - enl) <= 1e-4 * enl:
            enl = new
            break
        enl = new
    return EnlEstimate(enl=enl, n_windows=int(kept.size), window=window, method="trimmed log-variance")


def enl_moments(intensity: NDArray[np.floating]) -> float:
    """Classical ENL ``mean^2 / var`` of intensity over the finite pixels given (a homogeneous area)."""
    x = np.asarray(intensity, dtype=np.float64)
    x = x[np.isfinite(x)]
    return float(x.mean() ** 2 / x.var())


AMPLITUDE_EVIDENCE = 0.10  # above: the values are an amplitude (see amplitude_evidence)
AMPLITUDE_MIN_WINDOWS = 32  # windows of 15 x 15 px needed to tell


def amplitude_evidence(values: NDArray[np.floating], window: int = 15, share: float = 0.25) -> float | None:
    """Whether positive real values read as an intensity are in fact an amplitude ``|z|``: ``log(ENL from
    the moments / ENL from the log-variance)`` pooled over the ``share`` most homogeneous ``window`` x
    ``window`` windows (each normalized by its mean); None with fewer than :data:`AMPLITUDE_MIN_WINDOWS`.

    For Gamma-distributed speckle (an intensity, any looks) the two ENLs agree: the score reads about 0,
    slightly below (the windows kept for their low log-variance; -0.09 to -0.01 on 256 x 256 simulated
    dates of 1 to 4 looks, at most +0.07 on the repository's 220 real OPERA dates). The square root of
    1-look speckle has ENL 3.66 from its moments but 2.9 from its log-variance: the score reads +0.14 to
    +0.18 (256 x 256), +0.07 to +0.10 for 2 looks; from 3 looks on the two domains are not told apart.
    Above :data:`AMPLITUDE_EVIDENCE`, the values are an amplitude. ``benchmarks/amplitude_evidence.py``
    prints these figures."""
    try:
        blocks, ok = block_view(values, window)
    except ValueError:  # smaller than a window
        return None
    if int(ok.sum()) < AMPLITUDE_MIN_WINDOWS:
        return None
    b = blocks[ok]
    logs = np.log(b)
    lv = np.var(logs, axis=1, ddof=1)
    b, logs = b[lv <= np.quantile(lv, share)], logs[lv <= np.quantile(lv, share)]
    n = window * window
    var = float(np.var((b / b.mean(axis=1, keepdims=True)).ravel()))
    log_var = float(np.var((logs - logs.mean(axis=1, keepdims=True)).ravel())) * n / (n - 1)
    if not (var > 0 and log_var > 0):  # constant windows: no speckle to judge
        return None
    return float(np.log(1.0 / var / inverse_trigamma(log_var)))


class TemporalLooks:
    """The looks of the dates from the temporal variation of each pixel, streamed by bands of rows.

    Per pixel, ``c2 = var_t(w) / mean_t(w)^2`` over its valid dates is ``1 / L`` for L-look speckle on a
    stable reflectivity, whatever the spatial texture of the scene; temporal changes only add to it.
    The estimate is ``1 / median(c2)`` over the pixels with at least 3 valid dates (a log-histogram
    keeps the median in bounded memory). On a textured scene with no homogeneous window the spatial
    estimate of the super-image's ENL is far too low (measured on a real 100 x 100 land stack of 21
    5-look dates: 6.4 where ``T x`` this one gives 132, and MuLoG then smooths the super-image's
    texture away); on a scene that changes from date to date (the sea) it is this one that is low.
    The two err on the same side, so the super-image's ENL is the larger of the two."""

    BINS = np.linspace(-6.0, 3.0, 9001)  # log10(c2)
    MIN_PIXELS = 50  # fewer pixels with 3 valid dates: no estimate

    def __init__(self) -> None:
        self.hist = np.zeros(self.BINS.size - 1)
        self.dates_sum = 0.0
        self.pixels = 0
        self._s1: NDArray[np.float64] | None = None
        self._s2: NDArray[np.float64] | None = None
        self._n: NDArray[np.float64] | None = None
        self._looks: tuple[float | None] | None = None  # looks(), once the histogram is complete

    def tap(self, date: NDArray[np.floating]) -> NDArray[np.floating]:
        """Accumulate one date of the current band of rows and hand it on unchanged."""
        x = np.asarray(date, dtype=np.float64)
        ok = np.isfinite(x) & (x > 0)
        if self._s1 is None or self._s1.shape != x.shape:
            self._s1, self._s2, self._n = np.zeros(x.shape), np.zeros(x.shape), np.zeros(x.shape)
        assert self._s2 is not None and self._n is not None
        self._s1 += np.where(ok, x, 0.0)
        self._s2 += np.where(ok, x * x, 0.0)
        self._n += ok
        return date

    def end_band(self) -> None:
        """Close the band of rows: its pixels' ``c2`` go into the histogram."""
        if self._s1 is None or self._s2 is None or self._n is None:
            return
        n = self._n
        use = n >= 3
        if use.any():
            mean = self._s1[use] / n[use]
            var = (self._s2[use] - n[use] * mean**2) / (n[use] - 1)
            c2 = np.maximum(var, 0.0) / mean**2
            with np.errstate(divide="ignore"):
                self.hist += np.histogram(np.log10(c2), self.BINS)[0]
            self.dates_sum += float(n[use].sum())
            self.pixels += int(use.sum())
        self._s1 = self._s2 = self._n = None
        self._looks = None

    def looks(self) -> float | None:
        """``L`` such that the median of ``c2`` of L-look speckle over the stack's number of dates is the
        observed median (the median of a sample ``c2`` is below ``1 / L``: +29 % on 8 one-look dates
        without this); None without ``MIN_PIXELS`` pixels of 3 valid dates."""
        if self._looks is None:
            self._looks = (self._estimate_looks(),)
        return self._looks[0]

    def _estimate_looks(self) -> float | None:
        total = self.hist.sum()
        if total < self.MIN_PIXELS:
            return None
        k = int(np.searchsorted(np.cumsum(self.hist), total / 2))
        observed = 10 ** (0.5 * (self.BINS[k] + self.BINS[k + 1]))
        n = max(3, round(self.dates_sum / self.pixels))
        looks = 1.0 / observed
        for _ in range(3):  # fixed point of L = g(L, n) / observed, g = L x median c2 of pure speckle
            looks = median_c2_of_speckle(looks, n) * looks / observed
        return float(looks)

    def super_image_enl(self) -> float | None:
        """``T x L``: the looks times the mean number of valid dates of the pixels."""
        looks = self.looks()
        return None if looks is None or self.pixels == 0 else looks * self.dates_sum / self.pixels


def median_c2_of_speckle(looks: float, dates: int, pixels: int = 20000) -> float:
    """Median of the temporal ``c2`` of ``dates`` independent L-look Gamma samples (deterministic)."""
    x = np.random.default_rng(0).gamma(looks, 1.0 / looks, (pixels, dates))
    m = x.mean(axis=1)
    return float(np.median(x.var(axis=1, ddof=1) / m**2))


# The super-image ENL estimate against T x L (dates x looks) beyond which the log warns: the data are
# not what the configuration says. Amplitude declared as intensity gives 3.66 on 1-look speckle (1 / (4 / pi
# - 1); 3.35-3.8 measured) and towards 4 with more looks; real stacks of a few dates reach 2.5 (5 dates of
# the OPERA RTC-S1 stacks at their nominal 5 looks: the estimate, the larger of two, is high on few dates).
ENL_RATIO_RANGE = (0.3, 2.8)


def enl_warning(estimate: float, dates: int, looks: float) -> str | None:
    """A loud message when the super-image ENL estimate is far from ``dates x looks``, naming the likely cause."""
    expected = dates * looks
    ratio = estimate / expected
    if ratio > ENL_RATIO_RANGE[1]:
        return (
            f"the super-image ENL estimate {estimate:.1f} is {ratio:.1f} x T*L = {dates} dates x {looks:g} looks:"
            f" the dates are much smoother than {looks:g}-look speckle. Likely amplitude declared as intensity"
            " (set input_domain: amplitude), a 'looks' setting too low, or data already filtered or multi-looked"
        )
    if ratio < ENL_RATIO_RANGE[0]:
        return (
            f"the super-image ENL estimate {estimate:.1f} is only {ratio:.2f} x T*L = {dates} dates x {looks:g} looks:"
            f" the dates are much rougher than {looks:g}-look speckle averaged over {dates} dates. Likely intensity"
            " declared as amplitude (input_domain), a 'looks' setting too high, or dates that are not co-registered"
            " or differ strongly (radiometry, changes)"
        )
    return None
