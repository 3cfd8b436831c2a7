"""The super-image: per-pixel temporal mean of the valid intensities of a stack, and its filtering."""

from __future__ import annotations

from collections.abc import Callable, Iterable

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


SuperImageFilter = Callable[[NDArray[np.float32], float], NDArray[np.float32]]


def no_filter(super_image: NDArray[np.float32], enl: float) -> NDArray[np.float32]:
    """The plain temporal mean, unfiltered."""
    return super_image.copy()


FILTERS: dict[str, SuperImageFilter] = {"none": no_filter}


def filter_super_image(super_image: NDArray[np.float32], method: str, enl: float) -> NDArray[np.float32]:
    """Filter the super-image with a registered method (``none`` keeps the mean); NaN stays NaN."""
    if method not in FILTERS:
        raise ValueError(f"super_image.filter: unknown method {method!r}; expected one of {sorted(FILTERS)}")
    out = FILTERS[method](super_image, enl)
    out[~np.isfinite(super_image)] = np.nan
    return out
