"""The super-image: per-pixel temporal mean of the valid intensities of a stack, and its filtering."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray


def temporal_mean(dates: Iterable[NDArray[np.floating]]) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    """Accumulate date by date (bounded memory): mean of the valid (finite) values, NaN where none.

    Returns the mean and the number of valid dates per pixel.
    """
    total: NDArray[np.float64] | None = None
    count: NDArray[np.int32] | None = None
    for img in dates:
        valid = np.isfinite(img)
        if total is None or count is None:
            total = np.zeros(img.shape, dtype=np.float64)
            count = np.zeros(img.shape, dtype=np.int32)
        total += np.where(valid, img, 0.0)
        count += valid
    if total is None or count is None:
        raise ValueError("no date to average")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return mean.astype(np.float32), count


def no_filter(super_image: NDArray[np.float32], enl: float) -> NDArray[np.float32]:
    """The plain temporal mean, unfiltered."""
    return super_image.copy()


FILTERS = ("none", "mulog")


def filter_super_image(
    super_image: NDArray[np.float32], method: str, enl: float, mulog_settings: dict[str, Any] | None = None
) -> NDArray[np.float32]:
    """Filter the super-image: ``none`` keeps the mean; ``mulog`` runs MuLoG with L = ``enl`` and
    the Gaussian denoiser of ``mulog_settings`` (by overlapping blocks). NaN stays NaN."""
    if method == "none":
        out = no_filter(super_image, enl)
    elif method == "mulog":
        from mtsar2sar.denoisers import get_denoiser
        from mtsar2sar.mulog import GammaLikelihood, mulog_blocks

        st = dict(mulog_settings or {})
        out = mulog_blocks(
            super_image, GammaLikelihood(enl), get_denoiser(st.pop("denoiser", "bm3d")), **mulog_kwargs(st)
        )
    else:
        raise ValueError(f"super_image.filter: unknown method {method!r}; expected one of {list(FILTERS)}")
    out[~np.isfinite(super_image)] = np.nan
    return out


def mulog_kwargs(settings: dict[str, Any]) -> dict[str, Any]:
    """MuLoG keyword arguments from the ``mulog`` config section (without the denoiser name)."""
    keys = ("admm_iterations", "newton_iterations", "block", "halo")
    return {k: settings[k] for k in keys if k in settings}
