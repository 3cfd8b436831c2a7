"""Gaussian denoisers plugged into MuLoG: ``denoise(image, sigma) -> image`` for additive white
Gaussian noise of standard deviation ``sigma`` (in the units of ``image``, any range).

* ``bm3d``: BM3D (PyPI ``bm3d``, Mäkinen, Azzari & Foi), the choice of the MuLoG and RABASAR papers.
  BM3D is tuned to images in [0, 255] with a noise std up to about 40 grey levels: the image is
  mapped onto [0, 255]; when its noise would exceed 40 grey levels there, it is mapped onto a
  narrower range instead, so that its noise is exactly 40 grey levels (scaling the image scales its
  noise), and mapped back after.
  ``step``: BM3D's reference-patch step (both stages; 3 in its normal profile). 4 computes about 60 %
  fewer groups: the super-image filter uses it (``super_image.filter_bm3d_step``), measured in the README.
  ``strips``: BM3D by bands of rows with a halo, in threads (``super_image.filter_bm3d_strips``: a
  super-image that is one MuLoG block uses the job's cores; the result does not depend on the threads).
* ``dct``: sliding-window 8 x 8 DCT hard thresholding at 2.7 sigma with weighted aggregation
  (Yu & Sapiro, IPOL 2011); numpy/scipy only, several times faster than BM3D.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.fft import dct

GaussianDenoiser = Callable[[NDArray[np.float64], float], NDArray[np.float64]]

BM3D_MAX_SIGMA_8BIT = 40.0
BM3D_STEP = 3  # BM3D's normal profile


BM3D_MIN_SIDE = 16  # two of BM3D's 8 x 8 patches


def bm3d_denoiser(
    image: NDArray[np.float64], sigma: float, step: int = BM3D_STEP, *,
    profile_fields: Mapping[str, int] | None = None, hard_thresholding_only: bool = False,
    strips: int = 1, workers: int = 1,
) -> NDArray[np.float64]:
    """BM3D on ``image`` (see the module doc). ``profile_fields``: other fields of BM3D's profile
    (``bm3d.BM3DProfile``, set after ``step``), and ``hard_thresholding_only`` (BM3D's first stage, no
    Wiener stage): the variants measured by ``benchmarks/super_image_filter.py``.

    ``strips`` > 1 denoises the image as that many bands of rows (:func:`strip_layout`), each with
    ``STRIP_HALO`` rows of context, in ``workers`` threads (BM3D's C code releases the GIL): the result
    depends on ``strips``, never on ``workers``."""
    import bm3d

    if min(image.shape) < BM3D_MIN_SIDE:  # the bm3d package fails below its patch size, and crashes on 8 x 8
        raise ValueError(f"BM3D needs an image of at least {BM3D_MIN_SIDE} pixels on each side, not {image.shape}")
    lo, hi = float(image.min()), float(image.max())
    span = hi - lo if hi > lo else 1.0
    sigma_8bit = 255.0 * sigma / span
    shrink = min(1.0, BM3D_MAX_SIGMA_8BIT / sigma_8bit) if sigma_8bit > 0 else 1.0
    scaled = (image - lo) * (255.0 / span) * shrink
    profile = bm3d.BM3DProfile()  # the "np" (normal) profile
    profile.num_threads = 1  # measured: with several threads, repeated runs differ (~1e-6): not deterministic
    profile.step_ht = profile.step_wiener = int(step)
    for field, value in (profile_fields or {}).items():
        setattr(profile, field, value)
    stage = bm3d.BM3DStages.HARD_THRESHOLDING if hard_thresholding_only else bm3d.BM3DStages.ALL_STAGES
    noise = np.array([sigma_8bit * shrink / 255.0])

    def run(rows: tuple[int, int]) -> NDArray[np.float64]:
        return np.asarray(bm3d.bm3d(scaled[rows[0] : rows[1]] / 255.0, noise, profile, stage_arg=stage), dtype=np.float64)

    layout = strip_layout(image.shape[0], strips)
    if len(layout) == 1:
        out = run((0, image.shape[0]))
    else:
        reads = [r for _, r in layout]
        if workers > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(min(workers, len(layout))) as pool:
                parts = list(pool.map(run, reads))
        else:
            parts = [run(r) for r in reads]
        out = np.concatenate([part[c0 - r0 : c1 - r0] for ((c0, c1), (r0, _)), part in zip(layout, parts)])
    return out * 255.0 / shrink * (span / 255.0) + lo


STRIP_HALO = 32  # rows of context of a BM3D strip: patches of 8 matched within 19 px, then a Wiener stage
STRIP_ALIGN = 8  # strip boundaries on multiples of BM3D's patch size
MIN_STRIP = 64  # rows: below that a strip's halo would cost more than the split saves


def strip_layout(height: int, strips: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """``strips`` bands of rows covering ``height``: each as (the rows it writes, the rows it reads:
    those and up to ``STRIP_HALO`` around), boundaries on multiples of ``STRIP_ALIGN``; fewer bands
    (down to one) when they would be shorter than ``MIN_STRIP``."""
    n = max(1, min(int(strips), height // MIN_STRIP))
    cuts = [0, *(round(height * i / n / STRIP_ALIGN) * STRIP_ALIGN for i in range(1, n)), height]
    return [((a, b), (max(0, a - STRIP_HALO), min(height, b + STRIP_HALO))) for a, b in itertools.pairwise(cuts)]


def _dct_matrix(n: int) -> NDArray[np.float64]:
    return dct(np.eye(n), norm="ortho", axis=0)


def dct_denoiser(
    image: NDArray[np.float64], sigma: float, patch: int = 8, threshold: float = 2.7, rows_per_chunk: int = 64
) -> NDArray[np.float64]:
    """Sliding-window DCT hard thresholding (every patch position), aggregated with weights
    ``1 / (1 + number of kept coefficients)``; processed by chunks of rows to bound memory."""
    img = np.asarray(image, dtype=np.float64)
    h, w = img.shape
    pad = patch - 1
    padded = np.pad(img, pad, mode="reflect")
    d = _dct_matrix(patch)
    num = np.zeros(padded.shape)
    den = np.zeros(padded.shape)
    n_rows = padded.shape[0] - patch + 1
    for r0 in range(0, n_rows, rows_per_chunk):
        r1 = min(n_rows, r0 + rows_per_chunk)
        block = padded[r0 : r1 + patch - 1]
        patches = np.lib.stride_tricks.sliding_window_view(block, (patch, patch))  # (nr, nc, p, p)
        coef = d @ patches @ d.T
        keep = np.abs(coef) >= threshold * sigma
        keep[..., 0, 0] = True  # always keep the patch mean
        coef = np.where(keep, coef, 0.0)
        weight = 1.0 / (1.0 + keep.sum(axis=(-1, -2)))
        recon = (d.T @ coef @ d) * weight[..., None, None]
        for i in range(patch):
            for j in range(patch):
                num[r0 + i : r1 + i, j : j + recon.shape[1]] += recon[:, :, i, j]
                den[r0 + i : r1 + i, j : j + recon.shape[1]] += weight
    out = num / np.maximum(den, 1e-300)
    return out[pad : pad + h, pad : pad + w]


DENOISERS: dict[str, GaussianDenoiser] = {"bm3d": bm3d_denoiser, "dct": dct_denoiser}


def get_denoiser(name: str, bm3d_step: int = BM3D_STEP) -> GaussianDenoiser:
    if name not in DENOISERS:
        raise ValueError(f"unknown Gaussian denoiser {name!r}; expected one of {sorted(DENOISERS)}")
    if name == "bm3d" and bm3d_step != BM3D_STEP:
        return functools.partial(bm3d_denoiser, step=int(bm3d_step))
    return DENOISERS[name]


def denoiser_of_settings(settings: Mapping[str, Any], workers: int = 1) -> GaussianDenoiser:
    """The Gaussian denoiser of MuLoG settings (``denoiser``, and ``bm3d_step`` and ``bm3d_strips`` where
    the super-image filter sets them); BM3D's strips run in ``workers`` threads (the same numbers with any)."""
    name, step = str(settings.get("denoiser", "bm3d")), int(settings.get("bm3d_step", BM3D_STEP))
    strips = int(settings.get("bm3d_strips", 1))
    if name == "bm3d" and strips > 1:
        return functools.partial(bm3d_denoiser, step=step, strips=strips, workers=max(1, int(workers)))
    return get_denoiser(name, step)
