"""Debiasing of the despeckled ratio by level, robust to outliers.

The noisy ratio ``tau'`` is an unbiased estimate of the true ratio, so a despeckler that removes only
speckle keeps ``E[tau' | tau_hat'] = tau_hat'``. A network can be biased in a way that depends on the
level it sees (too dark on the homogeneous areas near the stack's mean, too bright on dark changes):
one global factor per date cannot correct that, and one extreme pixel moves it for the whole date.

:class:`LevelDebias` accumulates, by bins of ``log tau_hat'`` (``BIN_DB`` wide, relative to the ratio's
geometric mean), the sums of ``tau'`` and ``tau_hat'``; each bin's factor ``sum tau' / sum tau_hat'`` is
shrunk towards the factor of all bins by ``PRIOR_PIXELS`` pseudo-pixels (a bin of a few pixels keeps
the overall factor), and the factor applied to a pixel is interpolated linearly in ``log tau_hat'``
between the mean levels of the bins. ``tau'`` is counted at most ``CLIP`` times ``tau_hat'`` (an L-look speckle
sample exceeds 30 times its mean with probability ``e^-30`` for L = 1), so an undeclared fill value
or a corrupt pixel weighs as little as a bright speckle sample. Accumulated by bands of rows, so the
correction streams with the rest of the chain.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

BIN_DB = 2.0  # width of a level bin (dB of tau_hat')
SPAN_DB = 30.0  # bins cover +-SPAN_DB around the reference level; beyond, the end bins
PRIOR_PIXELS = 200.0  # shrinkage of a bin's factor towards the overall factor
CLIP = 30.0  # tau' counted at most CLIP * tau_hat'


class LevelDebias:
    """Per-level debiasing factors of ``tau_hat'`` (see module doc); ``reference`` is the ratio's level."""

    def __init__(self, reference: float, enabled: bool = True) -> None:
        if not reference > 0 or not math.isfinite(reference):
            raise ValueError(f"LevelDebias: the reference level must be positive and finite, got {reference}")
        self.log_ref = math.log(reference)
        self.enabled = enabled
        self.nbins = int(round(2 * SPAN_DB / BIN_DB))
        self.sum_tau = np.zeros(self.nbins)
        self.sum_hat = np.zeros(self.nbins)
        self.count = np.zeros(self.nbins)
        self.sum_db = np.zeros(self.nbins)
        self._factors: NDArray[np.float64] | None = None

    def _db(self, tau_hat: NDArray[np.float64]) -> NDArray[np.float64]:
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.log(tau_hat) - self.log_ref) * (10 / math.log(10))

    def _bin(self, db: NDArray[np.float64]) -> NDArray[np.int64]:
        return np.clip(np.floor((db + SPAN_DB) / BIN_DB), 0, self.nbins - 1).astype(np.int64)

    def add(self, tau: NDArray[np.floating], tau_hat: NDArray[np.floating], valid: NDArray[np.bool_]) -> None:
        """Accumulate a band of rows (pixels where ``valid`` and both are finite and positive)."""
        t = np.asarray(tau, dtype=np.float64)
        h = np.asarray(tau_hat, dtype=np.float64)
        ok = valid & np.isfinite(t) & np.isfinite(h) & (h > 0) & (t >= 0)
        t, h = t[ok], h[ok]
        db = self._db(h)
        b = self._bin(db)
        self.sum_db += np.bincount(b, db, self.nbins)
        self.sum_tau += np.bincount(b, np.minimum(t, CLIP * h), self.nbins)
        self.sum_hat += np.bincount(b, h, self.nbins)
        self.count += np.bincount(b, minlength=self.nbins)
        self._factors = None

    @property
    def overall(self) -> float:
        """The factor of all bins together (1 without data or when disabled)."""
        total = float(self.sum_hat.sum())
        return float(self.sum_tau.sum()) / total if self.enabled and total > 0 else 1.0

    def factors(self) -> NDArray[np.float64]:
        """The factor of each bin, shrunk towards :attr:`overall`."""
        if self._factors is None:
            k = self.overall
            if not self.enabled:
                self._factors = np.ones(self.nbins)
            else:
                mean_hat = np.where(self.count > 0, self.sum_hat / np.maximum(self.count, 1), 1.0)
                prior = PRIOR_PIXELS * mean_hat
                self._factors = (self.sum_tau + k * prior) / (self.sum_hat + prior)
        return self._factors

    def apply(self, tau_hat: NDArray[np.floating]) -> NDArray[np.float64]:
        """``k(tau_hat') * tau_hat'``, ``k`` interpolated in ``log tau_hat'`` between the mean levels of
        the bins that hold pixels (constant beyond the first and the last)."""
        h = np.asarray(tau_hat, dtype=np.float64)
        used = self.count > 0
        if not self.enabled or not used.any():
            return h.copy()
        nodes = self.sum_db[used] / self.count[used]
        db = np.nan_to_num(self._db(h), nan=0.0, posinf=SPAN_DB, neginf=-SPAN_DB)
        return h * np.interp(db, nodes, self.factors()[used])

    def summary(self) -> dict[str, float]:
        """The overall factor and the range of the per-bin factors over bins holding 1 % of the pixels."""
        f = self.factors()
        big = self.count >= 0.01 * max(float(self.count.sum()), 1.0)
        lo, hi = (float(f[big].min()), float(f[big].max())) if big.any() else (1.0, 1.0)
        return {"overall": self.overall, "min": lo, "max": hi}
