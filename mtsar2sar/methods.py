"""The despeckling methods of the comparison (the paper's Fig. 1), one date at a time.

* ``mulog``: MuLoG (Gamma likelihood, L = the date's looks) on the date.
* ``mulog_down2``: the same on the date decimated by 2 (every second pixel, which decorrelates
  Sentinel-1-like speckle), brought back to the full grid by bilinear interpolation of the log.
* ``sar2sar``: the network on the date itself.
* ``rabasar``: MuLoG on the ratio ``w / s`` to the filtered super-image, with the ratio likelihood of
  an L-look date over a super-image of finite ENL ``L_s`` (re-estimated on the filtered
  super-image, as in RABASAR), then ``w_hat = s * rho_hat``.
* ``rabasar_down2``: the same on the decimated date and super-image.
* ``ratio_sar2sar``: the workflow's ``despeckle`` output (ratio to the normalized super-image + SAR2SAR).
* ``mean``: the plain temporal mean, for every date. ``boxcar7``: a 7 x 7 moving average.
* ``quegan``: Quegan and Yu's multi-temporal filter with 7 x 7 boxcar local means (SNAP's, Earth
  Engine's); ``quegan_sar2sar``: the same with SAR2SAR's single-date estimates as local means
  (Meraoumia et al., IGARSS 2022). See :func:`quegan`.
"""

from __future__ import annotations

from typing import Unpack

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import map_coordinates, uniform_filter

from mtsar2sar.denoisers import GaussianDenoiser
from mtsar2sar.mulog import FisherRatioLikelihood, GammaLikelihood, MulogBlockOptions, mulog_blocks

METHODS = ("mulog", "mulog_down2", "sar2sar", "rabasar", "rabasar_down2", "ratio_sar2sar", "mean", "boxcar7", "quegan",
           "quegan_sar2sar")

Array = NDArray[np.float64]


def boxcar(image: NDArray[np.floating], size: int = 7) -> NDArray[np.float32]:
    """Moving average of the valid pixels in a ``size`` x ``size`` window; NaN stays NaN."""
    x = np.asarray(image, dtype=np.float64)
    ok = np.isfinite(x) & (x > 0)
    num = uniform_filter(np.where(ok, x, 0.0), size, mode="reflect")
    den = uniform_filter(ok.astype(np.float64), size, mode="reflect")
    return np.where(ok, num / np.maximum(den, 1e-12), np.nan).astype(np.float32)


def decimate2(image: NDArray[np.floating]) -> NDArray[np.floating]:
    return image[::2, ::2]


def upsample2_log(small: NDArray[np.floating], shape: tuple[int, int]) -> NDArray[np.float32]:
    """Bring a decimated intensity image back to ``shape``: bilinear interpolation of its log
    (pixel (i, j) of the small image sits at (2i, 2j) of the full grid)."""
    logs = np.log(np.asarray(small, dtype=np.float64))
    ok = np.isfinite(logs)
    fill = np.where(ok, logs, np.nanmean(logs[ok]) if ok.any() else 0.0)
    rr, cc = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64) / 2.0
    out = map_coordinates(fill, [rr, cc], order=1, mode="nearest")
    return np.exp(out).astype(np.float32)


def run_mulog(
    w: NDArray[np.floating], looks: float, denoiser: GaussianDenoiser, **kw: Unpack[MulogBlockOptions]
) -> NDArray[np.float32]:
    return mulog_blocks(w, GammaLikelihood(looks), denoiser, **kw)


def run_mulog_down2(
    w: NDArray[np.floating], looks: float, denoiser: GaussianDenoiser, **kw: Unpack[MulogBlockOptions]
) -> NDArray[np.float32]:
    small = run_mulog(decimate2(w), looks, denoiser, **kw)
    out = upsample2_log(small, w.shape)
    return np.where(np.isfinite(w) & (w > 0), out, np.nan).astype(np.float32)


def rabasar_ratio(
    ratio: NDArray[np.floating], looks: float, looks_super: float, denoiser: GaussianDenoiser,
    **kw: Unpack[MulogBlockOptions],
) -> NDArray[np.float32]:
    """RABASAR's despeckled ratio: MuLoG on ``w / s`` with the likelihood of an L-look date over a
    super-image of ENL ``looks_super``."""
    return mulog_blocks(ratio, FisherRatioLikelihood(looks, looks_super), denoiser, **kw)


def run_rabasar(
    w: NDArray[np.floating], s: NDArray[np.floating], looks: float, looks_super: float,
    denoiser: GaussianDenoiser, **kw: Unpack[MulogBlockOptions],
) -> NDArray[np.float32]:
    ratio = np.asarray(w, dtype=np.float64) / np.asarray(s, dtype=np.float64)
    rho = rabasar_ratio(ratio, looks, looks_super, denoiser, **kw)
    return (rho * np.asarray(s, dtype=np.float64)).astype(np.float32)


def run_rabasar_down2(
    w: NDArray[np.floating], s: NDArray[np.floating], looks: float, looks_super: float,
    denoiser: GaussianDenoiser, **kw: Unpack[MulogBlockOptions],
) -> NDArray[np.float32]:
    ratio = np.asarray(w, dtype=np.float64) / np.asarray(s, dtype=np.float64)
    rho_small = rabasar_ratio(decimate2(ratio), looks, looks_super, denoiser, **kw)
    rho = upsample2_log(rho_small, w.shape)
    return np.where(np.isfinite(ratio) & (ratio > 0), rho * s, np.nan).astype(np.float32)


def quegan(
    dates: list[NDArray[np.floating]], local_means: list[NDArray[np.floating]], k: int
) -> NDArray[np.float32]:
    """Quegan & Yu's multi-temporal filter (IEEE TGRS 2001) for date ``k``:
    ``J_k = E_k / N * sum_i I_i / E_i``, ``E_i`` a local estimate of date i's mean reflectivity (a
    boxcar in SNAP's classic form, SAR2SAR's single-date estimate in Meraoumia et al., IGARSS 2022).
    Each ``I_i / E_i`` is a unit-mean speckle sample; pixels invalid in a date are left out of the sum
    and the sum is divided by the number of valid dates. NaN where date ``k`` is invalid."""
    total: NDArray[np.float64] | None = None
    count: NDArray[np.float64] | None = None
    for img, est in zip(dates, local_means, strict=True):
        i = np.asarray(img, dtype=np.float64)
        e = np.asarray(est, dtype=np.float64)
        ok = np.isfinite(i) & (i > 0) & np.isfinite(e) & (e > 0)
        r = np.where(ok, i / np.where(ok, e, 1.0), 0.0)
        total = r if total is None else total + r
        count = ok.astype(np.float64) if count is None else count + ok
    if total is None or count is None:
        raise ValueError("Quegan filter: no date")
    e_k = np.asarray(local_means[k], dtype=np.float64)
    w_k = np.asarray(dates[k], dtype=np.float64)
    ok_k = np.isfinite(w_k) & (w_k > 0) & np.isfinite(e_k) & (e_k > 0) & (count > 0)
    out = np.where(ok_k, e_k * total / np.maximum(count, 1.0), np.nan)
    return out.astype(np.float32)
