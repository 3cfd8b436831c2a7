"""Quality measures of despeckled intensities.

* ``psnr_amplitude``: ``10 log10(P^2 / mean((A_hat - A)^2))`` on amplitudes ``A = sqrt(w)``, with the
  peak ``P`` the 99th percentile of the truth amplitude (the convention of the SAR2SAR authors' code).
* ``psnr_log``: ``10 log10(D^2 / mean((log w_hat - log v)^2))`` on log-intensity, with ``D`` the
  truth's log dynamic range (max - min of ``log v``).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def _pair(estimate: NDArray[np.floating], truth: NDArray[np.floating], mask: NDArray[np.bool_] | None):
    e, t = np.asarray(estimate, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    ok = np.isfinite(e) & np.isfinite(t) & (e > 0) & (t > 0)
    if mask is not None:
        ok &= mask
    return e, t, ok


def psnr_amplitude(estimate: NDArray[np.floating], truth: NDArray[np.floating], mask: NDArray[np.bool_] | None = None) -> float:
    e, t, ok = _pair(estimate, truth, mask)
    peak = np.percentile(np.sqrt(t[np.isfinite(t) & (t > 0)]), 99)
    mse = np.mean((np.sqrt(e[ok]) - np.sqrt(t[ok])) ** 2)
    return float(10 * np.log10(peak**2 / mse))


def psnr_log(estimate: NDArray[np.floating], truth: NDArray[np.floating], mask: NDArray[np.bool_] | None = None) -> float:
    e, t, ok = _pair(estimate, truth, mask)
    lt = np.log(t[np.isfinite(t) & (t > 0)])
    dyn = lt.max() - lt.min()
    mse = np.mean((np.log(e[ok]) - np.log(t[ok])) ** 2)
    return float(10 * np.log10(dyn**2 / mse))
